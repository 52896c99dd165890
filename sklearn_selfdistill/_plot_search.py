"""The Display of a search over epsilon and the number of rounds."""

import numbers

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted

from ._plot_base import _finish, _get_axes, _label, _model_prefix, _round_colors, _style

__all__ = ["DistillationSearchDisplay"]


def _find_param(cv_results, name):
    """The ``param_*`` column of ``name``, or the one ending in ``__name``."""
    if f"param_{name}" in cv_results:
        return f"param_{name}"
    keys = [
        key for key in cv_results
        if key.startswith("param_") and key.endswith(f"__{name}")
    ]
    if len(keys) == 1:
        return keys[0]
    found = sorted(key for key in cv_results if key.startswith("param_"))
    raise ValueError(
        f"cv_results has {'several' if keys else 'no'} column for the parameter "
        f"{name!r} (param_ columns: {found}). Pass its name, e.g. "
        f"param_names=('model__epsilon', 'model__n_rounds') for a pipeline step "
        "named 'model'."
    )


def _search_score_name(search):
    scoring = getattr(search, "scoring", None)
    if isinstance(scoring, str):
        return scoring
    if scoring is not None:
        return getattr(scoring, "__name__", "score")
    if hasattr(search, "best_n_rounds_"):
        how = "leave-one-out" if getattr(search, "cv", None) is None else "K-fold"
        return f"minus mean squared error ({how})"
    return "mean test score"


class DistillationSearchDisplay:
    """Cross-validated score over epsilon, one curve per number of rounds.

    Epsilon and the number of rounds regularise in the same direction, so they
    are chosen together (:class:`~sklearn_selfdistill.SelfDistilledKernelRidgeCV`,
    :class:`~sklearn_selfdistill.SelfDistilledKernelRidgeClassifierCV`, or
    :class:`~sklearn.model_selection.GridSearchCV` over
    ``{"epsilon": ..., "n_rounds": ...}``). This Display draws the score of
    every grid point over epsilon (logarithmic axis), one curve per number of
    rounds coloured from dark (round 0) to light, with the spread over the
    folds as a band when ``cv_results_`` has ``std_test_score``. Grid points
    whose score is not finite (infeasible epsilon, or a model that collapsed
    to zero: the CV classes score them ``-inf``) leave a gap. The selected
    point is marked by a star; the legend says when it lies on an edge of the
    grid (smallest or largest epsilon, or most rounds), where a larger grid
    might select another point.

    Use :meth:`from_estimator` or :meth:`from_cv_results` to create one; the
    constructor only stores data.

    Parameters
    ----------
    epsilons : ndarray of shape (n_epsilons,)
        The tolerances of the grid, increasing.
    n_rounds : ndarray of shape (n_round_values,)
        The numbers of rounds of the grid, increasing.
    scores : ndarray of shape (n_epsilons, n_round_values)
        Mean held-out score of each grid point (greater is better); NaN or
        infinite where the point has no score.
    scores_std : ndarray of shape (n_epsilons, n_round_values), default=None
        Standard deviation of the score over the folds.
    best_epsilon, best_n_rounds : float and int, default=None
        The selected grid point; None marks nothing.
    score_name : str, default="score"
        Label of the y axis.
    estimator_name : str, default=None
        Name of the search in the legend; None leaves it out.
    selection_on_edge : bool, default=None
        Whether the selected point lies on an edge of the grid, as the search
        reports it (``selection_on_edge_`` of the CV estimators); None
        computes it from the grid.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the plot.
    figure_ : matplotlib Figure
        Figure containing the plot.
    lines_ : dict of matplotlib Line2D
        The score curve of each drawn number of rounds, keyed by it.
    best_marker_ : matplotlib Line2D or None
        The star at the selected point.
    selection_on_edge_ : bool
        Whether the selected point lies on an edge of the grid.

    See Also
    --------
    DistillationCurveDisplay : Score per round of one fitted model.
    BasisCoefficientsDisplay : Basis coefficients per round.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_selfdistill import (
    ...     DistillationSearchDisplay, SelfDistilledKernelRidgeCV)
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(size=(60, 1))
    >>> y = np.sin(2 * np.pi * X[:, 0]) + 0.3 * rng.randn(60)
    >>> search = SelfDistilledKernelRidgeCV(
    ...     epsilons=[0.02, 0.05, 0.1], max_rounds=3, kernel="laplacian",
    ...     gamma=5.0).fit(X, y)
    >>> disp = DistillationSearchDisplay.from_estimator(search)
    >>> disp.scores.shape
    (3, 4)
    """

    def __init__(
        self,
        *,
        epsilons,
        n_rounds,
        scores,
        scores_std=None,
        best_epsilon=None,
        best_n_rounds=None,
        score_name="score",
        estimator_name=None,
        selection_on_edge=None,
    ):
        self.epsilons = epsilons
        self.n_rounds = n_rounds
        self.scores = scores
        self.scores_std = scores_std
        self.best_epsilon = best_epsilon
        self.best_n_rounds = best_n_rounds
        self.score_name = score_name
        self.estimator_name = estimator_name
        self.selection_on_edge = selection_on_edge

    def plot(self, ax=None, *, name=None, rounds=None, show_std=True, **kwargs):
        """Draw the score curves and the selected point.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None. A title is set only on a
            new figure's axes.
        name : str, default=None
            Name of the search in the legend entries; None uses
            ``estimator_name``. A name already in the axes' legend gets a
            numbered suffix.
        rounds : array-like of int, default=None
            The numbers of rounds to draw; None draws all.
        show_std : bool, default=True
            Draw the spread over the folds (one standard deviation) as a band,
            when ``scores_std`` is known.
        **kwargs : dict
            Keyword arguments of ``Axes.plot`` for every curve, over the
            defaults (with ``color`` every curve has that colour).

        Returns
        -------
        display : DistillationSearchDisplay
        """
        epsilons = np.asarray(self.epsilons, dtype=np.float64)
        grid_rounds = np.asarray(self.n_rounds, dtype=int)
        scores = np.asarray(self.scores, dtype=np.float64)
        if scores.shape != (epsilons.size, grid_rounds.size):
            raise ValueError(
                f"scores must have shape (n_epsilons, n_round_values) = "
                f"({epsilons.size}, {grid_rounds.size}); got {scores.shape}."
            )
        if rounds is None:
            columns = np.arange(grid_rounds.size)
        else:
            rounds = np.asarray(rounds, dtype=int).ravel()
            missing = sorted(set(rounds.tolist()) - set(grid_rounds.tolist()))
            if missing:
                raise ValueError(
                    f"rounds {missing} are not in the grid's numbers of rounds "
                    f"{grid_rounds.tolist()}."
                )
            columns = np.array([np.flatnonzero(grid_rounds == t)[0] for t in rounds])
        ax, created = _get_axes(self, ax)
        prefix = _model_prefix(ax, name if name is not None else self.estimator_name)
        colors = _round_colors(grid_rounds.size)
        shown = np.where(np.isfinite(scores), scores, np.nan)
        std = None
        if self.scores_std is not None and show_std:
            std = np.asarray(self.scores_std, dtype=np.float64)
            std = np.where(np.isfinite(std), std, np.nan)
        self.lines_ = {}
        for j in columns:
            t = int(grid_rounds[j])
            text = f"{t} round" + ("" if t == 1 else "s")
            defaults = {"label": _label(prefix, text), "color": colors[j],
                        "marker": "o", "markersize": 4}
            (line,) = ax.plot(epsilons, shown[:, j], **_style(defaults, kwargs))
            if std is not None:
                ax.fill_between(epsilons, shown[:, j] - std[:, j],
                                shown[:, j] + std[:, j], color=line.get_color(),
                                alpha=0.1, linewidth=0)
            self.lines_[t] = line
        self.best_marker_ = None
        self.selection_on_edge_ = False
        if self.best_epsilon is not None and self.best_n_rounds is not None:
            i = int(np.argmin(np.abs(np.log(epsilons / self.best_epsilon))))
            j = int(np.flatnonzero(grid_rounds == self.best_n_rounds)[0])
            if self.selection_on_edge is not None:
                self.selection_on_edge_ = bool(self.selection_on_edge)
            else:
                self.selection_on_edge_ = bool(
                    (epsilons.size > 1 and i in (0, epsilons.size - 1))
                    or (grid_rounds.size > 1 and j == grid_rounds.size - 1)
                )
            text = (f"selected: epsilon = {self.best_epsilon:.3g}, "
                    f"{self.best_n_rounds} round"
                    + ("" if self.best_n_rounds == 1 else "s"))
            if self.selection_on_edge_:
                text += " (edge of the grid)"
            (self.best_marker_,) = ax.plot(
                [epsilons[i]], [scores[i, j]], linestyle="none", marker="*",
                markersize=15, color="tab:red", markeredgecolor="black",
                zorder=3, label=_label(prefix, text),
            )
        ax.set_xscale("log")
        if epsilons.size <= 12:
            from matplotlib.ticker import NullFormatter

            ax.set_xticks(epsilons, [f"{e:.3g}" for e in epsilons])
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("epsilon (training mean squared error tolerance)")
        ax.set_ylabel(self.score_name)
        _finish(self, ax, created, legend=False,
                title="Held-out score over epsilon and rounds")
        ax.legend(fontsize="small", ncols=2 if len(self.lines_) > 6 else 1)
        return self

    @classmethod
    def from_cv_results(
        cls,
        cv_results,
        *,
        param_names=("epsilon", "n_rounds"),
        best_index=None,
        selection_on_edge=None,
        score_name="mean test score",
        ax=None,
        name=None,
        **kwargs,
    ):
        """Draw the ``cv_results_`` of a search over epsilon and rounds.

        Parameters
        ----------
        cv_results : dict of arrays
            ``cv_results_`` of a CV class of this package or of
            :class:`~sklearn.model_selection.GridSearchCV` (columns
            ``param_<epsilon>``, ``param_<n_rounds>``, ``mean_test_score``,
            and, when present, ``std_test_score`` and ``rank_test_score``).
            When other parameters were searched too, each grid point shows
            the best score over them.
        param_names : tuple of two str, default=("epsilon", "n_rounds")
            Names of the tolerance and rounds parameters; a pipeline's
            ``"step__epsilon"`` is found from ``"epsilon"`` when it is the
            only one.
        best_index : int, default=None
            Row of the selected point; None takes the first row of rank 1
            (``rank_test_score``), or of the largest ``mean_test_score``.
        selection_on_edge : bool, default=None
            Whether the selection lies on an edge of the searched grid, as
            the search reports it; None computes it from the grid drawn.
        score_name : str, default="mean test score"
            Label of the y axis.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        name : str, default=None
            Name of the search in the legend.
        **kwargs : dict
            Keyword arguments of the curves (see :meth:`plot`).

        Returns
        -------
        display : DistillationSearchDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_cv_results")
        if not hasattr(cv_results, "keys") or "mean_test_score" not in cv_results:
            raise ValueError(
                "cv_results must be the cv_results_ dict of a fitted search, with "
                "a 'mean_test_score' column."
            )
        eps_key = _find_param(cv_results, param_names[0])
        rounds_key = _find_param(cv_results, param_names[1])
        eps_col = np.asarray(cv_results[eps_key], dtype=np.float64)
        rounds_col = np.asarray(cv_results[rounds_key], dtype=np.float64)
        if np.any(rounds_col != np.round(rounds_col)):
            raise ValueError(f"{rounds_key} must hold whole numbers of rounds.")
        rounds_col = rounds_col.astype(int)
        mean = np.asarray(cv_results["mean_test_score"], dtype=np.float64)
        std = cv_results.get("std_test_score")
        epsilons = np.unique(eps_col)
        grid_rounds = np.unique(rounds_col)
        scores = np.full((epsilons.size, grid_rounds.size), np.nan)
        scores_std = None if std is None else np.full_like(scores, np.nan)
        rows = np.searchsorted(epsilons, eps_col)
        cols = np.searchsorted(grid_rounds, rounds_col)
        # The best row per cell (other searched parameters are maximised out).
        order = np.argsort(np.where(np.isnan(mean), -np.inf, mean), kind="stable")
        for k in order:
            scores[rows[k], cols[k]] = mean[k]
            if scores_std is not None:
                scores_std[rows[k], cols[k]] = std[k]
        if best_index is None:
            if "rank_test_score" in cv_results:
                best_index = int(np.argmin(cv_results["rank_test_score"]))
            else:
                best_index = int(np.argmax(np.where(np.isnan(mean), -np.inf, mean)))
        elif not isinstance(best_index, numbers.Integral) or not (
            0 <= best_index < mean.size
        ):
            raise ValueError(
                f"best_index must be a row of cv_results in [0, {mean.size}); "
                f"got {best_index!r}."
            )
        disp = cls(
            epsilons=epsilons,
            n_rounds=grid_rounds,
            scores=scores,
            scores_std=scores_std,
            best_epsilon=float(eps_col[best_index]),
            best_n_rounds=int(rounds_col[best_index]),
            score_name=score_name,
            estimator_name=name,
            selection_on_edge=selection_on_edge,
        )
        return disp.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(
        cls, search, *, param_names=None, ax=None, name=None, **kwargs
    ):
        """Draw a fitted search over epsilon and rounds.

        Parameters
        ----------
        search : estimator instance
            A fitted :class:`~sklearn_selfdistill.SelfDistilledKernelRidgeCV`,
            :class:`~sklearn_selfdistill.SelfDistilledKernelRidgeClassifierCV`,
            or :class:`~sklearn.model_selection.GridSearchCV` (or any search
            with ``cv_results_``) over epsilon and the number of rounds.
        param_names : tuple of two str, default=None
            See :meth:`from_cv_results`; None means
            ``("epsilon", "n_rounds")``.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        name : str, default=None
            Name of the search in the legend; defaults to the class name, and
            ``""`` leaves it out.
        **kwargs : dict
            Keyword arguments of the curves (see :meth:`plot`).

        Returns
        -------
        display : DistillationSearchDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(search, "cv_results_")
        param_names = param_names or ("epsilon", "n_rounds")
        best_index = getattr(search, "best_index_", None)
        if best_index is None and hasattr(search, "best_n_rounds_"):
            # The refitted point (the best one that could be refitted).
            results = search.cv_results_
            eps = np.asarray(results[_find_param(results, param_names[0])], float)
            rounds = np.asarray(results[_find_param(results, param_names[1])], float)
            best_index = int(np.flatnonzero(
                (eps == search.best_epsilon_) & (rounds == search.best_n_rounds_)
            )[0])
        return cls.from_cv_results(
            search.cv_results_,
            param_names=param_names,
            best_index=best_index,
            selection_on_edge=getattr(search, "selection_on_edge_", None),
            score_name=_search_score_name(search),
            ax=ax,
            name=name if name is not None else type(search).__name__,
            **kwargs,
        )
