"""Displays of the rounds' fits (the paper's Figure 2) and of their sparsity."""

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted, validate_data

from ._plot_base import _finish, _get_axes, _label, _model_prefix, _round_colors, _style
from ._plot_basis import _select_output

__all__ = ["DistillationFitDisplay", "SparsificationDisplay"]

_STYLES = ["-", "--", "-.", ":"]
_GUARANTEED_GID = "sklearn_selfdistill-guaranteed-rounds"


def _round_styles(i, n, kwargs):
    """A round's colour from the round colour map, or its line style when the
    user gave one colour."""
    if any(key in kwargs for key in ("color", "c")):
        return {"linestyle": _STYLES[i % len(_STYLES)]}
    return {"color": _round_colors(n)[i]}


class DistillationFitDisplay:
    """The function of every round over one input feature (paper's Figure 2).

    Round 0 fits the labels; each later round, refitted on the previous
    round's predictions, is smoother, and flatter, until it collapses to zero.
    The rounds are coloured from dark (round 0) to light, over the training
    points and, when known, the function that generated them.

    Use :meth:`from_estimator` to create one; the constructor only stores data.

    Parameters
    ----------
    x : ndarray of shape (n_grid,)
        Where the fits are evaluated.
    predictions : ndarray of shape (n_plotted_rounds, n_grid)
        The prediction of each plotted round at ``x``.
    rounds : ndarray of shape (n_plotted_rounds,)
        The round index of each row.
    X_train, y_train : ndarray of shape (n_samples,), default=None
        The training points.
    target : ndarray of shape (n_grid,), default=None
        The noiseless function at ``x``.
    estimator_name : str, default=None
        Name of the model in the legend; None shows the rounds only.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the plot.
    figure_ : matplotlib Figure
        Figure containing the plot.
    lines_ : dict of matplotlib Line2D
        The fit of each round keyed by the round; ``"target"`` and ``"data"``
        when drawn.

    See Also
    --------
    BasisCoefficientsDisplay : The same rounds in the eigenbasis (Fig. 3).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_selfdistill import (
    ...     DistillationFitDisplay, SelfDistilledKernelRidge)
    >>> from sklearn_selfdistill.datasets import load_paper_example
    >>> X, y = load_paper_example()
    >>> model = SelfDistilledKernelRidge(kernel="green_spline", epsilon=0.045,
    ...                                  n_rounds=3).fit(X, y)
    >>> disp = DistillationFitDisplay.from_estimator(
    ...     model, X, y, target=lambda x: np.sin(2 * np.pi * x))
    >>> disp.predictions.shape
    (4, 200)
    """

    def __init__(
        self, *, x, predictions, rounds, X_train=None, y_train=None, target=None,
        estimator_name=None,
    ):
        self.x = x
        self.predictions = predictions
        self.rounds = rounds
        self.X_train = X_train
        self.y_train = y_train
        self.target = target
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, name=None, **kwargs):
        """Draw the fits.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None. A title is set only on a
            new figure's axes.
        name : str, default=None
            Name of the model in the legend entries; None uses
            ``estimator_name``. A name already in the axes' legend gets a
            numbered suffix.
        **kwargs : dict
            Keyword arguments of ``Axes.plot`` for the fits, over the defaults
            (with ``color`` every round has that colour and the rounds differ
            by line style).

        Returns
        -------
        display : DistillationFitDisplay
        """
        predictions = np.asarray(self.predictions, dtype=np.float64)
        x = np.asarray(self.x, dtype=np.float64)
        if predictions.ndim != 2 or predictions.shape[1] != x.shape[0]:
            raise ValueError(
                f"predictions must have shape (n_plotted_rounds, {x.shape[0]}) "
                f"to match x; got {predictions.shape}."
            )
        ax, created = _get_axes(self, ax)
        prefix = _model_prefix(ax, name if name is not None else self.estimator_name)
        self.lines_ = {}
        if self.target is not None:
            (self.lines_["target"],) = ax.plot(
                x, self.target, color="black", linestyle="--", linewidth=1.2,
                label="noiseless function",
            )
        if self.X_train is not None and self.y_train is not None:
            (self.lines_["data"],) = ax.plot(
                self.X_train, self.y_train, linestyle="none", marker="o",
                color="black", markersize=4, label="training points",
            )
        for i, (t, row) in enumerate(zip(self.rounds, predictions)):
            defaults = {"label": _label(prefix, f"round {t}"), "linewidth": 2,
                        **_round_styles(i, len(predictions), kwargs)}
            (self.lines_[int(t)],) = ax.plot(x, row, **_style(defaults, kwargs))
        ax.set_xlabel("x")
        ax.set_ylabel("f(x)")
        return _finish(self, ax, created, title="The fit of every round")

    @classmethod
    def from_estimator(
        cls, estimator, X, y=None, *, rounds=None, target=None,
        grid_resolution=200, ax=None, name=None, **kwargs,
    ):
        """Evaluate every round of a fitted estimator on one input feature.

        Parameters
        ----------
        estimator : estimator instance
            A fitted regressor with ``staged_predict`` on one input feature
            and one output (the kernel regressors of this package or
            :class:`~sklearn_selfdistill.SelfDistillationWrapper`).
        X : array-like of shape (n_samples, 1)
            Training inputs: the fits are drawn over their range.
        y : array-like of shape (n_samples,), default=None
            Training targets, drawn as points when given.
        rounds : array-like of int, default=None
            Rounds to draw; None draws every round that has not collapsed.
        target : callable, default=None
            The noiseless function, ``target(x)`` for an array ``x``; drawn
            dashed when given.
        grid_resolution : int, default=200
            Number of evaluation points.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        name : str, default=None
            Name of the model in the legend; defaults to the class name, and
            ``""`` leaves it out.
        **kwargs : dict
            Keyword arguments of the fits (see :meth:`plot`).

        Returns
        -------
        display : DistillationFitDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        if not hasattr(estimator, "staged_predict"):
            raise ValueError(
                f"{type(estimator).__name__} has no staged_predict: "
                f"{cls.__name__} needs a self-distilled estimator."
            )
        X = validate_data(estimator, X, reset=False, skip_check_array=False) if (
            hasattr(estimator, "n_features_in_")
        ) else np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != 1:
            raise ValueError(
                f"{cls.__name__} draws estimators of one input feature; X has "
                f"shape {X.shape}."
            )
        if not isinstance(grid_resolution, (int, np.integer)) or grid_resolution < 2:
            raise ValueError(
                f"grid_resolution must be an integer >= 2; got {grid_resolution!r}."
            )
        x = np.linspace(X[:, 0].min(), X[:, 0].max(), grid_resolution)
        staged = np.array(
            [np.asarray(p, dtype=np.float64) for p in
             estimator.staged_predict(x.reshape(-1, 1))]
        )
        if staged.ndim != 2:
            raise ValueError(
                f"{cls.__name__} draws single-output regressors; the predictions "
                f"have shape {staged.shape[1:]}."
            )
        if rounds is None:
            collapsed = np.asarray(
                getattr(estimator, "collapsed_", np.zeros(len(staged), bool))
            )
            if collapsed.ndim > 1:
                collapsed = collapsed.all(axis=1)
            rounds = np.flatnonzero(~collapsed) if np.any(~collapsed) else np.arange(
                len(staged)
            )
        else:
            rounds = np.asarray(rounds, dtype=int).ravel()
            bad = rounds[(rounds < 0) | (rounds >= len(staged))]
            if bad.size:
                raise ValueError(
                    f"rounds {bad.tolist()} out of range: the estimator has rounds "
                    f"0 to {len(staged) - 1}."
                )
        disp = cls(
            x=x,
            predictions=staged[rounds],
            rounds=rounds,
            X_train=X[:, 0] if y is not None else None,
            y_train=None if y is None else np.asarray(y, dtype=np.float64),
            target=None if target is None else np.asarray(target(x), dtype=float),
            estimator_name=name if name is not None else type(estimator).__name__,
        )
        return disp.plot(ax=ax, **kwargs)


class SparsificationDisplay:
    r"""How much sparser the basis coefficients get, round by round (Prop. 5).

    The ratio :math:`B_t[k_{first}] / B_t[k_{last}]` of the coefficient of the
    largest-eigenvalue direction to that of the smallest-eigenvalue direction
    the model can fit (eq. (46)) is 1 when every direction keeps the same
    weight and grows as self-distillation sparsifies the solution. Drawn over
    the rounds (logarithmic ratio axis; a symmetric-logarithmic round axis
    beyond 40 rounds), with the guaranteed rounds of Prop. 4 marked when
    known. Several models (e.g. one per epsilon, as in Prop. 6) drawn on one
    axes take the axes' next colours.

    Use :meth:`from_estimator` to create one; the constructor only stores data.

    Parameters
    ----------
    rounds : ndarray of shape (n_plotted_rounds,)
        Round indices.
    ratios : ndarray of shape (n_plotted_rounds,)
        The coefficient ratio of each round.
    guaranteed_rounds : float, default=None
        The bound ``t_low`` of Prop. 4: every round ``t < t_low`` is
        guaranteed not to collapse; the last of them, ``ceil(t_low) - 1``, is
        marked when not None.
    estimator_name : str, default=None
        Name of the model in the legend.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the plot.
    figure_ : matplotlib Figure
        Figure containing the plot.
    line_ : matplotlib Line2D
        The ratio curve.
    guaranteed_marker_ : matplotlib Line2D or None
        The marker at the guaranteed round.

    See Also
    --------
    BasisCoefficientsDisplay : The coefficients themselves.
    """

    def __init__(self, *, rounds, ratios, guaranteed_rounds=None,
                 estimator_name=None):
        self.rounds = rounds
        self.ratios = ratios
        self.guaranteed_rounds = guaranteed_rounds
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, name=None, **kwargs):
        """Draw the ratio per round.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None. A title is set only on a
            new figure's axes.
        name : str, default=None
            Name of the model in the legend; None uses ``estimator_name``.
        **kwargs : dict
            Keyword arguments of ``Axes.plot`` for the curve.

        Returns
        -------
        display : SparsificationDisplay
        """
        rounds = np.asarray(self.rounds)
        ratios = np.asarray(self.ratios, dtype=np.float64)
        if rounds.shape != ratios.shape or rounds.ndim != 1:
            raise ValueError(
                f"rounds and ratios must be 1-D of one length; got {rounds.shape} "
                f"and {ratios.shape}."
            )
        ax, created = _get_axes(self, ax)
        prefix = _model_prefix(ax, name if name is not None else self.estimator_name)
        defaults = {"label": prefix if prefix is not None else "sparsity"}
        if rounds.size < 40:
            defaults.update(marker=".")
        (self.line_,) = ax.plot(rounds, ratios, **_style(defaults, kwargs))
        self.guaranteed_marker_ = None
        if self.guaranteed_rounds is not None and self.guaranteed_rounds > 0:
            # Prop. 4 guarantees the rounds t < t_low (theory.guaranteed_rounds).
            t = int(np.ceil(self.guaranteed_rounds)) - 1
            index = np.flatnonzero(rounds == min(t, rounds.max()))
            if index.size:
                (self.guaranteed_marker_,) = ax.plot(
                    rounds[index], ratios[index], linestyle="none", marker="D",
                    markersize=7, color=self.line_.get_color(),
                    markeredgecolor="black", label="_guaranteed",
                )
        ax.set_yscale("log")
        if rounds.max() >= 40 or ax.get_xscale() == "symlog":
            ax.set_xscale("symlog", linthresh=1)
        ax.set_xlabel("self-distillation round t")
        ax.set_ylabel(r"$B_t[k_{first}] \,/\, B_t[k_{last}]$")
        if self.guaranteed_marker_ is not None:
            # One legend entry for the diamonds of every model, kept last.
            for line in ax.get_lines():
                if line.get_gid() == _GUARANTEED_GID:
                    line.remove()
            ax.plot([], [], linestyle="none", marker="D", color="gray",
                    markeredgecolor="black", label="guaranteed rounds (Prop. 4)",
                    gid=_GUARANTEED_GID)
        return _finish(self, ax, created,
                       title="Sparsification of the basis coefficients")

    @classmethod
    def from_estimator(cls, estimator, *, output=None, ax=None, name=None,
                       **kwargs):
        """Ratio of the first to the last fitted basis coefficient per round.

        Parameters
        ----------
        estimator : estimator instance
            A fitted estimator with ``basis_coefficients_`` (see
            :class:`BasisCoefficientsDisplay`); its ``guaranteed_rounds_``,
            when present, is marked.
        output : int or class label, default=None
            For multi-output estimators, the output (see
            :meth:`BasisCoefficientsDisplay.from_estimator`).
        ax : matplotlib Axes, default=None
            Axes to draw on.
        name : str, default=None
            Name of the model in the legend; defaults to the class name, and
            ``""`` leaves it out.
        **kwargs : dict
            Keyword arguments of the curve.

        Returns
        -------
        display : SparsificationDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        coef = getattr(estimator, "basis_coefficients_", None)
        if coef is None:
            raise ValueError(
                f"{type(estimator).__name__} has no basis_coefficients_: fit a "
                "self-distilled estimator."
            )
        coef, output = _select_output(coef, estimator, output)
        live = np.flatnonzero(np.any(coef != 0, axis=1))
        fitted = np.flatnonzero(coef[0] != 0)
        if live.size == 0 or fitted.size < 2:
            raise ValueError(
                "The estimator has fewer than two fitted eigen-directions at "
                "round 0: there is no sparsity to draw."
            )
        first, last = fitted[0], fitted[-1]
        guaranteed = getattr(estimator, "guaranteed_rounds_", None)
        if guaranteed is not None and np.ndim(guaranteed):
            classes = list(getattr(estimator, "classes_", []))
            index = classes.index(output) if output in classes else output
            guaranteed = None if index is None else np.asarray(guaranteed)[index]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = coef[live, first] / coef[live, last]
        disp = cls(
            rounds=live,
            # A coefficient that underflowed to 0 leaves a gap, not inf.
            ratios=np.where(np.isfinite(ratios), ratios, np.nan),
            guaranteed_rounds=None if guaranteed is None else float(guaranteed),
            estimator_name=name if name is not None else type(estimator).__name__,
        )
        return disp.plot(ax=ax, **kwargs)
