"""The paper's figures, each a whole matplotlib figure drawn with the Displays.

The command line (``selfdistill illustrate`` and ``selfdistill sparsity``)
writes these figures and the gallery examples show them: one figure-building
function each, so the two are the same images. To draw on axes of your own,
combine the Displays themselves
(:class:`~sklearn_selfdistill.DistillationFitDisplay`,
:class:`~sklearn_selfdistill.BasisCoefficientsDisplay`,
:class:`~sklearn_selfdistill.SparsificationDisplay`).
"""

import numbers

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support

from ._plot_basis import BasisCoefficientsDisplay, _select_output
from ._plot_fit import DistillationFitDisplay, SparsificationDisplay

__all__ = [
    "plot_basis_coefficients_per_round",
    "plot_fits_per_round",
    "plot_sparsification",
]


def _pyplot(caller):
    check_matplotlib_support(caller)
    import matplotlib.pyplot as plt

    return plt


def _epsilon_text(estimator):
    """``, epsilon = 0.045`` for a numeric ``epsilon``, else ``""``."""
    epsilon = getattr(estimator, "epsilon", None)
    if isinstance(epsilon, numbers.Real) and not isinstance(epsilon, bool):
        return rf", $\epsilon$ = {epsilon:g}"
    return ""


def plot_fits_per_round(estimator, X, y=None, *, target=None, grid_resolution=501):
    """The fit of every non-collapsed round on one figure (the paper's Fig. 2).

    One :class:`~sklearn_selfdistill.DistillationFitDisplay` on a figure of its
    own, titled with the estimator's ``epsilon``, without a model name in the
    legend (the legend lists the rounds).

    Parameters
    ----------
    estimator : estimator instance
        A fitted single-output regressor with ``staged_predict`` on one input
        feature (see
        :meth:`~sklearn_selfdistill.DistillationFitDisplay.from_estimator`).
    X : array-like of shape (n_samples, 1)
        Training inputs: the fits are drawn over their range.
    y : array-like of shape (n_samples,), default=None
        Training targets, drawn as points when given.
    target : callable, default=None
        The noiseless function, ``target(x)`` for an array ``x``.
    grid_resolution : int, default=501
        Number of evaluation points.

    Returns
    -------
    display : DistillationFitDisplay
        Its ``figure_`` is the figure.

    See Also
    --------
    plot_basis_coefficients_per_round : The same rounds in the eigenbasis.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_selfdistill import SelfDistilledKernelRidge
    >>> from sklearn_selfdistill.datasets import load_paper_example
    >>> from sklearn_selfdistill.figures import plot_fits_per_round
    >>> X, y = load_paper_example()
    >>> model = SelfDistilledKernelRidge(kernel="green_spline", epsilon=0.045,
    ...                                  n_rounds=3).fit(X, y)
    >>> disp = plot_fits_per_round(model, X, y,
    ...                            target=lambda x: np.sin(2 * np.pi * x))
    >>> disp.ax_.get_title()
    'Self-distillation rounds, $\\\\epsilon$ = 0.045'
    """
    plt = _pyplot("plot_fits_per_round")
    fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    try:
        disp = DistillationFitDisplay.from_estimator(
            estimator, X, y, target=target, grid_resolution=grid_resolution,
            ax=ax, name="",
        )
    except BaseException:
        plt.close(fig)
        raise
    ax.set_title("Self-distillation rounds" + _epsilon_text(estimator))
    return disp


def plot_basis_coefficients_per_round(estimator, *, rounds=None, output=None):
    """The diagonal of :math:`B_t`, one panel per round (the paper's Fig. 3).

    One :class:`~sklearn_selfdistill.BasisCoefficientsDisplay` per round, side
    by side on a shared y axis, bars over the eigen-index (largest eigenvalue
    first): the coefficients of eq. (46) shrink round after round, the
    small-eigenvalue ones fastest (Prop. 5).

    Parameters
    ----------
    estimator : estimator instance
        A fitted estimator with ``basis_coefficients_`` (see
        :meth:`~sklearn_selfdistill.BasisCoefficientsDisplay.from_estimator`).
    rounds : array-like of int, default=None
        Rounds to draw, one panel each; None draws every round that has not
        collapsed (whose coefficients are not all zero).
    output : int or class label, default=None
        For multi-output estimators, the output (or class) to draw.

    Returns
    -------
    displays : list of BasisCoefficientsDisplay
        One per panel; their ``figure_`` is the figure.

    See Also
    --------
    plot_fits_per_round : The same rounds as functions.
    plot_sparsification : The ratio of the first to the last coefficient.
    """
    plt = _pyplot("plot_basis_coefficients_per_round")
    if rounds is None:
        coef = getattr(estimator, "basis_coefficients_", None)
        if coef is None:  # the Display says what is missing
            BasisCoefficientsDisplay.from_estimator(estimator, output=output)
        coef, _ = _select_output(coef, estimator, output)
        live = np.any(coef != 0, axis=1)
        rounds = np.flatnonzero(live) if live.any() else np.arange(coef.shape[0])
    rounds = np.asarray(rounds).ravel()
    if rounds.size == 0:
        raise ValueError("rounds is empty: name at least one round to draw.")
    fig, axes = plt.subplots(
        1, rounds.size, figsize=(3.2 * rounds.size, 3.4), sharey=True,
        squeeze=False, layout="constrained",
    )
    displays = []
    try:
        for i, (ax, t) in enumerate(zip(axes[0], rounds)):
            disp = BasisCoefficientsDisplay.from_estimator(
                estimator, rounds=[t], output=output, kind="bars", ax=ax, name=""
            )
            ax.set_title(f"round {disp.rounds[0]}")
            ax.get_legend().remove()
            ax.set_xlabel("eigen-index k")
            if i > 0:
                ax.set_ylabel("")
            displays.append(disp)
    except BaseException:
        plt.close(fig)
        raise
    fig.suptitle(r"Diagonal of $B_t$ per round")
    return displays


def plot_sparsification(estimators, *, names=None):
    """One sparsification curve per estimator on one axes (Prop. 5 and 6).

    One :class:`~sklearn_selfdistill.SparsificationDisplay` per estimator, in
    the axes' successive colours, each with a diamond at its last guaranteed
    round (Prop. 4), e.g. one estimator per tolerance :math:`\\epsilon` as in
    Prop. 6. The title names the condition number
    :math:`\\kappa = d_{max} / d_{min}` (``condition_number_``) when every
    estimator has the same.

    Parameters
    ----------
    estimators : iterable of estimator instances
        Fitted estimators with ``basis_coefficients_``. Drawn as they come: a
        generator that fits them one by one never holds them all in memory.
    names : list of str, default=None
        Legend entry of each estimator, in the same order; None names each by
        its ``epsilon``.

    Returns
    -------
    displays : list of SparsificationDisplay
        One per estimator; their ``figure_`` is the figure.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_selfdistill import SelfDistilledKernelRidge
    >>> from sklearn_selfdistill.datasets import load_paper_example
    >>> from sklearn_selfdistill.figures import plot_sparsification
    >>> X, y = load_paper_example()
    >>> models = (SelfDistilledKernelRidge(kernel="green_spline", epsilon=eps,
    ...                                    n_rounds=1).fit(X, y)
    ...           for eps in (0.045, 0.1))
    >>> [d.line_.get_label() for d in plot_sparsification(models)]
    ['$\\\\epsilon$ = 0.045', '$\\\\epsilon$ = 0.1']
    """
    plt = _pyplot("plot_sparsification")
    names = None if names is None else list(names)
    fig, ax = plt.subplots(figsize=(8, 4.8), layout="constrained")
    displays, kappas = [], set()
    try:
        for i, estimator in enumerate(estimators):
            if names is None:
                name = _epsilon_text(estimator)[2:] or type(estimator).__name__
            elif i < len(names):
                name = names[i]
            else:
                raise ValueError(
                    f"names has {len(names)} entries but estimators has more; "
                    "give one name per estimator."
                )
            displays.append(SparsificationDisplay.from_estimator(
                estimator, ax=ax, name=name
            ))
            kappas.add(float(getattr(estimator, "condition_number_", np.nan)))
        if not displays:
            raise ValueError("estimators is empty: pass at least one fitted "
                             "estimator.")
        if names is not None and len(names) != len(displays):
            raise ValueError(
                f"names has {len(names)} entries for {len(displays)} estimators; "
                "give one name per estimator."
            )
    except BaseException:
        plt.close(fig)
        raise
    title = "Sparsification round by round until collapse"
    (kappa,) = kappas if len(kappas) == 1 else (np.nan,)
    if np.isfinite(kappa):
        title += rf", $\kappa$ = {kappa:.3g}"
    ax.set_title(title)
    ax.legend(fontsize=8)
    return displays
