"""The Display of the basis coefficients per round (the paper's Figure 3)."""

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted

from ._plot_base import _finish, _get_axes, _label, _model_prefix, _round_colors, _style

__all__ = ["BasisCoefficientsDisplay"]


def _select_output(coef, estimator, output):
    """Rows ``(n_rounds + 1, n_basis)`` of one output of ``basis_coefficients_``."""
    coef = np.asarray(coef, dtype=np.float64)
    if coef.ndim == 2:
        if output is not None:
            classes = getattr(estimator, "classes_", None)
            if classes is None or len(classes) != 2:
                raise ValueError(
                    "output must be None: this estimator's basis_coefficients_ has "
                    f"a single output (shape {coef.shape})."
                )
        return coef, None
    if coef.ndim != 3:
        raise ValueError(
            "basis_coefficients_ must have shape (n_rounds + 1, n_basis) or "
            f"(n_rounds + 1, n_basis, n_outputs); got {coef.shape}."
        )
    n_outputs = coef.shape[2]
    if output is None:
        raise ValueError(
            f"This estimator has {n_outputs} outputs: pass output=<index> (or a "
            "class label for a classifier) to choose the one to plot."
        )
    classes = getattr(estimator, "classes_", None)
    if classes is not None and len(classes) == n_outputs:
        matches = np.flatnonzero(np.asarray(classes) == output)
        if matches.size:
            return coef[:, :, matches[0]], output
    if isinstance(output, (int, np.integer)) and -n_outputs <= output < n_outputs:
        return coef[:, :, output], output
    raise ValueError(
        f"output={output!r} is neither a class label in classes_ nor an output "
        f"index in [0, {n_outputs})."
    )


class BasisCoefficientsDisplay:
    """Diagonal of :math:`B_t` per round over the eigen-index (paper's Figure 3).

    Entry ``k`` of round ``t`` is the coefficient of the ``k``-th eigen-direction
    of the Gram matrix (descending eigenvalue) in the round-``t`` solution,
    relative to the labels (eq. (46) and (48) of [1]_). Self-distillation
    shrinks every entry round by round, the small-eigenvalue ones fastest
    (Prop. 5).

    How many directions are readable decides the drawing (``kind="auto"``):
    grouped bars, as in the paper, up to 30 directions; beyond, one line per
    round, with markers up to 100 directions and on a logarithmic eigen-index
    axis beyond 100, so that the leading directions, where the weight is,
    keep their room with thousands of directions. ``max_directions`` keeps the
    leading ones only.

    Use :meth:`from_estimator` to create one; the constructor only stores data.

    Parameters
    ----------
    basis_coefficients : ndarray of shape (n_plotted_rounds, n_basis)
        The plotted rows of ``basis_coefficients_``.
    rounds : ndarray of shape (n_plotted_rounds,)
        The round index of each row.
    eigenvalues : ndarray of shape (n_basis,), default=None
        Eigenvalues of the Gram matrix in the same order, when known.
    output : int, str or None, default=None
        The output (or class) shown, for multi-output estimators.
    estimator_name : str, default=None
        Name of the model in the legend; None shows the rounds only.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the plot.
    figure_ : matplotlib Figure
        Figure containing the plot.
    artists_ : list of matplotlib artists
        One artist per plotted round: a ``BarContainer`` (bars) or a
        ``Line2D`` (lines).

    See Also
    --------
    DistillationCurveDisplay : Score per round.
    DistillationSearchDisplay : Cross-validated score over epsilon and rounds.

    References
    ----------
    .. [1] H. Mobahi, M. Farajtabar and P. L. Bartlett, "Self-Distillation
       Amplifies Regularization in Hilbert Space", NeurIPS 2020.
       :arxiv:`2002.05715`

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_selfdistill import (
    ...     BasisCoefficientsDisplay, SelfDistilledKernelRidge)
    >>> from sklearn_selfdistill.datasets import load_paper_example
    >>> X, y = load_paper_example()
    >>> model = SelfDistilledKernelRidge(kernel="green_spline", epsilon=0.045,
    ...                                  n_rounds=3).fit(X, y)
    >>> disp = BasisCoefficientsDisplay.from_estimator(model)
    >>> disp.basis_coefficients.shape
    (4, 11)
    """

    def __init__(
        self,
        *,
        basis_coefficients,
        rounds,
        eigenvalues=None,
        output=None,
        estimator_name=None,
    ):
        self.basis_coefficients = basis_coefficients
        self.rounds = rounds
        self.eigenvalues = eigenvalues
        self.output = output
        self.estimator_name = estimator_name

    def plot(
        self,
        ax=None,
        *,
        name=None,
        kind="auto",
        log_scale=False,
        max_directions=None,
        **kwargs,
    ):
        """Draw the coefficients.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None. A title is set only on a
            new figure's axes.
        name : str, default=None
            Name of the model in the legend entries; None uses
            ``estimator_name``. A name already in the axes' legend gets a
            numbered suffix, so that models drawn together stay apart.
        kind : {"auto", "bars", "lines"}, default="auto"
            Grouped bars (as the paper's Fig. 3) or one line per round;
            ``"auto"`` draws bars up to 30 directions and lines beyond (see the
            class description). Use lines to compare models on one axes.
        log_scale : bool, default=False
            Logarithmic y axis, which shows the small coefficients' decay
            (zeros, e.g. of collapsed rounds or of the null space, are not
            drawn).
        max_directions : int, default=None
            Draw the leading ``max_directions`` eigen-directions only (largest
            eigenvalues); None draws all.
        **kwargs : dict
            Keyword arguments of ``Axes.bar`` or ``Axes.plot``, over the
            defaults. By default the rounds are coloured from dark to light;
            with ``color`` every round has that colour, and the rounds differ
            by line style (lines) or transparency (bars).

        Returns
        -------
        display : BasisCoefficientsDisplay
        """
        if kind not in ("auto", "bars", "lines"):
            raise ValueError(
                f"kind must be 'auto', 'bars' or 'lines'; got {kind!r}."
            )
        coef = np.asarray(self.basis_coefficients, dtype=np.float64)
        if coef.ndim != 2:
            raise ValueError(
                "basis_coefficients must have shape (n_plotted_rounds, n_basis); "
                f"got {coef.shape}."
            )
        if max_directions is not None:
            if (
                not isinstance(max_directions, (int, np.integer))
                or isinstance(max_directions, bool)
                or max_directions < 1
            ):
                raise ValueError(
                    "max_directions must be a positive integer or None; got "
                    f"{max_directions!r}."
                )
            coef = coef[:, :max_directions]
        n_rounds, n_basis = coef.shape
        if kind == "auto":
            kind = "bars" if n_basis <= 30 else "lines"
        ax, created = _get_axes(self, ax)
        prefix = _model_prefix(ax, name if name is not None else self.estimator_name)
        if self.output is not None and prefix is not None:
            prefix = f"{prefix} (output {self.output})"
        user_color = any(key in kwargs for key in ("color", "c"))
        colors = _round_colors(n_rounds)
        index = np.arange(1, n_basis + 1)
        styles = ["-", "--", "-.", ":"]
        self.artists_ = []
        for i, (t, row) in enumerate(zip(self.rounds, coef)):
            label = _label(prefix, f"round {t}")
            if kind == "bars":
                width = 0.8 / max(n_rounds, 1)
                defaults = {"label": label, "width": width}
                if user_color:
                    defaults["alpha"] = 1.0 - 0.6 * i / max(n_rounds - 1, 1)
                else:
                    defaults["color"] = colors[i]
                offset = (i - (n_rounds - 1) / 2) * width
                artist = ax.bar(index + offset, row, **_style(defaults, kwargs))
            else:
                defaults = {"label": label}
                if n_basis <= 100:
                    defaults.update(marker="o", markersize=4)
                if user_color:
                    defaults["linestyle"] = styles[i % len(styles)]
                else:
                    defaults["color"] = colors[i]
                shown = np.where(row > 0, row, np.nan) if log_scale else row
                (artist,) = ax.plot(index, shown, **_style(defaults, kwargs))
            self.artists_.append(artist)
        if log_scale:
            ax.set_yscale("log")
        if kind == "lines" and n_basis > 100:
            ax.set_xscale("log")
        elif n_basis <= 20:
            ax.set_xticks(index)
        ax.set_xlabel("eigen-index k (eigenvalues in decreasing order)")
        ax.set_ylabel("diagonal of $B_t$ (basis coefficient)")
        title = "Basis coefficients per round"
        if self.output is not None:
            title += f", output {self.output}"
        return _finish(self, ax, created, title=title)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        rounds=None,
        output=None,
        kind="auto",
        log_scale=False,
        max_directions=None,
        ax=None,
        name=None,
        **kwargs,
    ):
        """Plot ``basis_coefficients_`` of a fitted estimator.

        Parameters
        ----------
        estimator : estimator instance
            A fitted :class:`~sklearn_selfdistill.SelfDistilledKernelRidge`,
            :class:`~sklearn_selfdistill.SelfDistilledKernelRidgeClassifier`,
            one of the CV classes (their selected model),
            :class:`~sklearn_selfdistill.SelfDistillationWrapper` or any
            object with a ``basis_coefficients_`` of shape
            ``(n_rounds + 1, n_basis[, n_outputs])``.
        rounds : array-like of int, default=None
            Rounds to draw; None draws every round that has not collapsed
            (whose coefficients are not all zero).
        output : int or class label, default=None
            For multi-output estimators: the output index, or the class label
            of a classifier. Required when there are several outputs.
        kind : {"auto", "bars", "lines"}, default="auto"
            See :meth:`plot`.
        log_scale : bool, default=False
            See :meth:`plot`.
        max_directions : int, default=None
            See :meth:`plot`.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        name : str, default=None
            Name of the model in the legend; defaults to the estimator's class
            name, and ``""`` leaves it out.
        **kwargs : dict
            Keyword arguments of the artists (see :meth:`plot`).

        Returns
        -------
        display : BasisCoefficientsDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        coef = getattr(estimator, "basis_coefficients_", None)
        if coef is None:
            raise ValueError(
                f"{type(estimator).__name__} has no basis_coefficients_: fit a "
                "self-distilled estimator (for SelfDistillationWrapper, keep "
                "basis_kernel not None)."
            )
        coef, output = _select_output(coef, estimator, output)
        if rounds is None:
            rounds = np.flatnonzero(np.any(coef != 0, axis=1))
            if rounds.size == 0:
                rounds = np.arange(coef.shape[0])
        else:
            rounds = np.asarray(rounds, dtype=int).ravel()
            bad = rounds[(rounds < 0) | (rounds >= coef.shape[0])]
            if bad.size:
                raise ValueError(
                    f"rounds {bad.tolist()} out of range: the estimator has rounds "
                    f"0 to {coef.shape[0] - 1}."
                )
        eigenvalues = getattr(estimator, "eigenvalues_", None)
        if eigenvalues is None:
            eigenvalues = getattr(estimator, "basis_eigenvalues_", None)
        disp = cls(
            basis_coefficients=coef[rounds],
            rounds=rounds,
            eigenvalues=eigenvalues,
            output=output,
            estimator_name=name if name is not None else type(estimator).__name__,
        )
        return disp.plot(
            ax=ax, kind=kind, log_scale=log_scale, max_directions=max_directions,
            **kwargs,
        )
