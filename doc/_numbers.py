"""The numbers the user guide quotes, computed when the documentation is built.

``conf.py`` turns each entry of :func:`compute` into an reST substitution
(``|name|``) of ``rst_prolog``, so the guide never carries a hand-copied number
that the code no longer produces. Each entry is computed as the gallery
example that shows the same thing computes it; together they take about a
second.
"""

import numpy as np


def _sci(x, digits=2):
    """``x`` as reST text: plain below 1000, :math:`a \\times 10^b` above."""
    if abs(x) < 1000:
        return f"{x:.{digits}g}"
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    return rf":math:`{mantissa} \times 10^{{{int(exponent)}}}`"


def paper_example():
    """Fig. 2 and 3 of the paper on its own data (``plot_illustrative_example``)."""
    from sklearn_selfdistill import SelfDistilledKernelRidge
    from sklearn_selfdistill.datasets import load_paper_example

    X, y = load_paper_example()
    model = SelfDistilledKernelRidge(
        kernel="green_spline", epsilon=0.045, n_rounds=4, on_collapse="ignore"
    ).fit(X, y)
    B = model.basis_coefficients_
    live = np.flatnonzero(~model.collapsed_)
    ratios = [B[t, 0] / B[t, 8] for t in live]
    return {
        "paper_min_mse": f"{model.min_reachable_mse_:.5f}",
        "paper_live_rounds": str(live.size),
        "fig3_ratios": ", ".join(_sci(r) for r in ratios[:-1])
        + f" and {_sci(ratios[-1])}",
        "fig3_last_round": str(int(live[-1])),
    }


def prop6_sparsity(n=50, kappa=10.0, fractions=(0.5, 0.05, 1e-4), seed=0):
    """Sparsity after the guaranteed rounds (``plot_sparsity_near_interpolation``)."""
    from sklearn_selfdistill import SelfDistilledKernelRidge
    from sklearn_selfdistill.theory import guaranteed_rounds

    rng = np.random.RandomState(seed)
    d = np.geomspace(1.0, 1.0 / kappa, n)
    V, _ = np.linalg.qr(rng.randn(n, n))
    gram = (V * d) @ V.T * n
    y = rng.randn(n)
    mean_sq = np.mean(y**2)
    out = {}
    for key, frac in zip(("high", "mid", "low"), fractions):
        model = SelfDistilledKernelRidge(
            kernel="precomputed", epsilon=frac * mean_sq, n_rounds=2000,
            on_collapse="ignore",
        ).fit(gram, y)
        live = int((~model.collapsed_).sum())
        ratio = model.basis_coefficients_[:live, 0] / model.basis_coefficients_[
            :live, -1
        ]
        t_low = guaranteed_rounds(model.eigenvalues_, y, frac * mean_sq)
        last = int(np.ceil(t_low)) - 1  # Prop. 4: every round t < t_low
        out[f"prop6_ratio_{key}"] = f"{ratio[min(max(last, 0), live - 1)]:.3g}"
    return out


def digits_collapse(epsilon=0.1):
    """Digits classes whose 0/1 target has a mean square of at most ``epsilon``."""
    from sklearn.datasets import load_digits

    y = load_digits().target
    frequencies = np.bincount(y) / y.size
    words = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight",
             "nine", "all ten"]
    return {"digits_collapsed_classes": words[int(np.sum(frequencies <= epsilon))]}


def compute():
    """Every quoted number, by substitution name."""
    numbers = {}
    for part in (paper_example, prop6_sparsity, digits_collapse):
        numbers.update(part())
    return numbers


def rst_prolog(numbers):
    """``.. |name| replace:: text`` lines of every number."""
    return "\n".join(
        f".. |{name}| replace:: {text}" for name, text in sorted(numbers.items())
    ) + "\n"


if __name__ == "__main__":
    for name, text in sorted(compute().items()):
        print(f"{name:>28}: {text}")
