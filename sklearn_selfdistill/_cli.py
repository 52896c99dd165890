"""Command line of ``python -m sklearn_selfdistill``.

Subcommands are registered in ``SUBCOMMANDS``; ``illustrate`` (the default)
runs the paper's illustrative example (Sec. 4) on the paper's data.
"""

import argparse
import os
import warnings

import numpy as np

from .datasets import load_paper_example
from .exceptions import SelfDistillationCollapseWarning

DEFAULT_OUT = "selfdistill_output"


def _add_illustrate(subparsers):
    p = subparsers.add_parser(
        "illustrate",
        help="Sec. 4 of the paper: the spline kernel on the paper's 11 points.",
        description=(
            "Self-distillation of the spline kernel of eq. (57) on the paper's "
            "data (Sec. 4): a table per round and, with matplotlib, the fits "
            "(Fig. 2) and the basis coefficients B_t (Fig. 3)."
        ),
    )
    p.add_argument("--epsilon", type=float, default=0.045,
                   help="training MSE tolerance (default 0.045; 0.04 is unreachable)")
    p.add_argument("--rounds", type=int, default=5,
                   help="self-distillation rounds after round 0 (default 5)")
    p.add_argument("--out", default=DEFAULT_OUT,
                   help=f"folder for the figures (default ./{DEFAULT_OUT})")
    p.set_defaults(func=run_illustrate)


def run_illustrate(args):
    from ._kernel_ridge import SelfDistilledKernelRidge

    X, y = load_paper_example()
    model = SelfDistilledKernelRidge(
        kernel="green_spline", epsilon=args.epsilon, n_rounds=args.rounds,
        on_collapse="ignore",
    )
    print("Self-distillation on the paper's illustrative example (Sec. 4)")
    print("x = 0, 0.1, ..., 1; y = sin(2 pi x) + noise; spline kernel of eq. (57)")
    floor_model = SelfDistilledKernelRidge(kernel="green_spline", epsilon=1.0,
                                           n_rounds=0, on_collapse="ignore")
    floor = floor_model.fit(X, y).min_reachable_mse_
    print(
        f"The kernel vanishes at x = 0 and x = 1, so no fit reaches a training MSE "
        f"below {floor:.5f}: the paper's epsilon = 0.04 is infeasible on its own "
        f"data. Running at epsilon = {args.epsilon:g}."
    )
    try:
        model.fit(X, y)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    x_grid = np.linspace(0.0, 1.0, 501).reshape(-1, 1)
    truth = np.sin(2 * np.pi * x_grid[:, 0])
    header = (f"{'round':>5}  {'c_t':>11}  {'train MSE':>10}  {'test MSE':>9}  "
              f"{'B_t > 1%':>8}  collapsed")
    print(header)
    print("-" * len(header))
    fits = list(model.staged_predict(x_grid))
    for t, pred in enumerate(fits):
        B = model.basis_coefficients_[t]
        n_big = int(np.sum(B > 0.01 * B.max())) if B.max() > 0 else 0
        test_mse = float(np.mean((pred - truth) ** 2))
        print(f"{t:>5}  {model.c_[t]:>11.4e}  {model.train_mse_[t]:>10.5f}  "
              f"{test_mse:>9.5f}  {n_big:>8}  {'yes' if model.collapsed_[t] else 'no'}")
    n_live = int((~model.collapsed_).sum())
    print(f"{n_live} non-collapsed rounds; the test MSE against sin(2 pi x) is "
          f"lowest at round {int(np.argmin([np.mean((f - truth) ** 2) for f in fits]))}.")
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed: no figures (pip install "
              "'sklearn-selfdistill[plot]').")
        return 0
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(args.out, exist_ok=True)
    live = [t for t in range(len(fits)) if not model.collapsed_[t]]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(x_grid[:, 0], truth, "k--", lw=1, label="sin(2$\\pi$x)")
    ax.plot(X[:, 0], y, "ko", label="training points")
    for t in live:
        ax.plot(x_grid[:, 0], fits[t], label=f"round {t}")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.set_title(f"Self-distillation rounds, $\\epsilon$ = {args.epsilon:g} (Fig. 2)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fits_path = os.path.join(args.out, "illustrate_fits.png")
    fig.savefig(fits_path, dpi=120)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(live), figsize=(3 * len(live), 3), sharey=True,
                             squeeze=False)
    for ax, t in zip(axes[0], live):
        ax.bar(np.arange(1, X.shape[0] + 1), model.basis_coefficients_[t])
        ax.set_title(f"round {t}")
        ax.set_xlabel("eigen-index k (descending $d_k$)")
    axes[0, 0].set_ylabel("diagonal of $B_t$")
    fig.suptitle("Basis coefficients B_t per round (Fig. 3)")
    fig.tight_layout()
    bars_path = os.path.join(args.out, "illustrate_basis_coefficients.png")
    fig.savefig(bars_path, dpi=120)
    plt.close(fig)
    print(f"figures written: {fits_path}, {bars_path}")
    return 0


SUBCOMMANDS = {"illustrate": _add_illustrate}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_selfdistill",
        description="Self-distillation amplifies regularization in Hilbert space: "
        "reproductions of the paper's experiments.",
    )
    subparsers = parser.add_subparsers(dest="command")
    for add in SUBCOMMANDS.values():
        add(subparsers)
    return parser


def main(argv=None):
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help")):
        argv = ["illustrate", *argv]  # the default subcommand
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SelfDistillationCollapseWarning)
        return args.func(args)
