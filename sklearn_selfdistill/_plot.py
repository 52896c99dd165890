"""Displays of self-distillation: basis coefficients and per-round scores.

Both follow scikit-learn's Display conventions: the computed data live in
attributes set by ``__init__``, :meth:`plot` draws them (setting ``ax_``,
``figure_`` and the artists), and ``from_estimator`` computes and plots in one
call. matplotlib is imported only when something is drawn.
"""

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import accuracy_score, check_scoring, r2_score
from sklearn.utils._indexing import _safe_indexing
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted

from ._plot_base import _finish, _get_axes, _label, _model_prefix, _style
from ._plot_basis import BasisCoefficientsDisplay
from ._scoring import staged_responses

__all__ = ["BasisCoefficientsDisplay", "DistillationCurveDisplay"]


def _next_color(ax):
    """The next colour of the axes' property cycle."""
    try:
        return ax._get_lines.get_next_color()
    except AttributeError:  # matplotlib without this (private) helper
        return f"C{len(ax.get_lines()) % 10}"


def _staged_scores(estimator, X, y, scoring, n_stages):
    """Score of every round on (X, y)."""
    if scoring is None:
        metric = accuracy_score if is_classifier(estimator) else r2_score
        return np.array([metric(y, p) for p in estimator.staged_predict(X)])
    scorer = check_scoring(estimator, scoring=scoring)
    return np.array(
        [scorer(view, X, y) for view in staged_responses(estimator, X)][:n_stages]
    )


def _score_name(estimator, scoring):
    if scoring is None:
        return "accuracy" if is_classifier(estimator) else "$R^2$"
    if isinstance(scoring, str):
        return scoring
    return getattr(scoring, "__name__", "score")


def _early_stopping_columns(table):
    """Means and spreads of the self-distilled and early-stopped test scores."""
    table = {key: np.asarray(value) for key, value in dict(table).items()}
    needed = (
        "round",
        "self_distilled_score_mean",
        "self_distilled_score_std",
        "early_stopped_score_mean",
        "early_stopped_score_std",
    )
    missing = [key for key in needed if key not in table]
    if missing:
        raise ValueError(
            "early_stopping must be the table returned by "
            "sklearn_selfdistill.model_selection.compare_with_early_stopping; "
            f"missing keys {missing}."
        )
    return {key: table[key] for key in needed}


class DistillationCurveDisplay:
    """Score per self-distillation round (the paper's Figures 4, 5 and 6).

    The training score is measured against the ORIGINAL labels, so it falls as
    the rounds amplify the regularisation; the held-out score first rises and
    then falls (over-regularisation). With the table of
    :func:`~sklearn_selfdistill.model_selection.compare_with_early_stopping`
    the cross-validated test score of models stopped early at each round's
    training loss is drawn beside that of the self-distilled ones (Fig. 6),
    over the rounds or over the training loss.

    One model is drawn in one colour (the axes' next one, or ``color=``): its
    training curve solid with circles, its held-out curve dashed with
    squares, its cross-validated self-distillation curve solid with
    triangles; the early-stopped curve, another model, takes the next colour.

    Use :meth:`from_estimator` or :meth:`from_early_stopping` to create one;
    the constructor only stores data.

    Parameters
    ----------
    rounds : ndarray of shape (n_stages,)
        Round indices 0, 1, ..., n_rounds.
    train_scores : ndarray of shape (n_stages,), default=None
        Score of each round on the training data against the original labels.
    test_scores : ndarray of shape (n_stages,), default=None
        Score of each round on held-out data.
    early_stopping : dict of arrays, default=None
        The table of ``compare_with_early_stopping``.
    score_name : str, default="score"
        Label of the y axis.
    estimator_name : str, default=None
        Name of the model in the legend; None leaves it out.
    train_scores_std, test_scores_std : ndarray of shape (n_stages,), default=None
        Spread of the scores (e.g. over repeated runs), drawn as a band of one
        standard deviation around the curve.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the plot.
    figure_ : matplotlib Figure
        Figure containing the plot.
    lines_ : dict of matplotlib Line2D
        The drawn lines, keyed ``"train"``, ``"test"``, ``"self_distilled_cv"``
        and ``"early_stopped_cv"`` (those present).

    See Also
    --------
    BasisCoefficientsDisplay : Basis coefficients per round.
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
    >>> import numpy as np
    >>> from sklearn_selfdistill import (
    ...     DistillationCurveDisplay, SelfDistilledKernelRidge)
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(size=(60, 1))
    >>> y = np.sin(2 * np.pi * X[:, 0]) + 0.3 * rng.randn(60)
    >>> model = SelfDistilledKernelRidge(epsilon=0.08, n_rounds=4, gamma=10.0,
    ...                                  on_collapse="ignore").fit(X[:40], y[:40])
    >>> disp = DistillationCurveDisplay.from_estimator(
    ...     model, X[:40], y[:40], X_test=X[40:], y_test=y[40:])
    >>> disp.train_scores.shape, disp.test_scores.shape
    ((5,), (5,))
    """

    def __init__(
        self,
        *,
        rounds,
        train_scores=None,
        test_scores=None,
        early_stopping=None,
        score_name="score",
        estimator_name=None,
        train_scores_std=None,
        test_scores_std=None,
    ):
        self.rounds = rounds
        self.train_scores = train_scores
        self.test_scores = test_scores
        self.early_stopping = early_stopping
        self.score_name = score_name
        self.estimator_name = estimator_name
        self.train_scores_std = train_scores_std
        self.test_scores_std = test_scores_std

    def plot(self, ax=None, *, name=None, x="round", **kwargs):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None. A title is set only on a
            new figure's axes.
        name : str, default=None
            Name of the model in the legend entries; None uses
            ``estimator_name``. A name already in the axes' legend gets a
            numbered suffix, so that models drawn together stay apart.
        x : {"round", "train_loss"}, default="round"
            The x axis: the round, or the mean training loss of the
            early-stopping table (the paper's Fig. 6, where the two curves are
            compared at equal training loss; each point is annotated with its
            round). ``"train_loss"`` draws the table's curves only.
        **kwargs : dict
            Keyword arguments of ``Axes.plot`` for every curve, over the
            defaults (``color``, ``linewidth``, ...).

        Returns
        -------
        display : DistillationCurveDisplay
        """
        if x not in ("round", "train_loss"):
            raise ValueError(f"x must be 'round' or 'train_loss'; got {x!r}.")
        if x == "train_loss" and self.early_stopping is None:
            raise ValueError(
                "x='train_loss' needs the early_stopping table of "
                "compare_with_early_stopping."
            )
        if x == "train_loss" and "train_loss_mean" not in dict(self.early_stopping):
            raise ValueError(
                "x='train_loss' needs 'train_loss_mean' in the early_stopping "
                "table, as compare_with_early_stopping returns."
            )
        if x == "round" and self.train_scores is None and self.test_scores is None \
                and self.early_stopping is None:
            raise ValueError("Nothing to draw: pass train_scores, test_scores or "
                             "early_stopping.")
        ax, created = _get_axes(self, ax)
        prefix = _model_prefix(ax, name if name is not None else self.estimator_name)
        self.lines_ = {}
        color = None

        def draw(key, xs, ys, text, defaults):
            nonlocal color
            defaults = {"label": _label(prefix, text), **defaults}
            if color is not None:
                defaults["color"] = color
            (line,) = ax.plot(xs, ys, **_style(defaults, kwargs))
            color = line.get_color() if color is None else color
            self.lines_[key] = line
            return line

        if x == "round":
            for key, scores, std, text, defaults in (
                ("train", self.train_scores, self.train_scores_std,
                 "training data, original labels", {"marker": "o"}),
                ("test", self.test_scores, self.test_scores_std, "held-out data",
                 {"marker": "s", "linestyle": "--"}),
            ):
                if scores is None:
                    continue
                line = draw(key, self.rounds, scores, text, defaults)
                if std is not None:
                    scores, std = np.asarray(scores), np.asarray(std)
                    ax.fill_between(self.rounds, scores - std, scores + std,
                                    color=line.get_color(), alpha=0.2, linewidth=0)
        if self.early_stopping is not None:
            cols = _early_stopping_columns(self.early_stopping)
            if x == "round":
                xs = cols["round"]
            else:
                xs = np.asarray(dict(self.early_stopping)["train_loss_mean"])
            for key, text, defaults in (
                ("self_distilled", "self-distillation, held-out", {"marker": "^"}),
                ("early_stopped", "early stopping at equal training loss, held-out",
                 {"marker": "v", "linestyle": ":"}),
            ):
                mean = cols[f"{key}_score_mean"]
                std = cols[f"{key}_score_std"]
                if key == "early_stopped" and not any(
                    k in kwargs for k in ("color", "c")
                ):
                    # Another model: the next colour of the axes' cycle.
                    color = None
                    defaults = {**defaults, "color": _next_color(ax)}
                line = draw(f"{key}_cv", xs, mean, text, defaults)
                ax.fill_between(xs, mean - std, mean + std, color=line.get_color(),
                                alpha=0.2, linewidth=0)
            if x == "train_loss":
                for t, loss, score in zip(cols["round"], xs,
                                          cols["self_distilled_score_mean"]):
                    ax.annotate(f"t={t}", (loss, score), textcoords="offset points",
                                xytext=(4, 5), fontsize=8)
        if x == "round":
            ax.set_xlabel("self-distillation round t")
            ax.set_xticks(np.asarray(self.rounds))
        else:
            ax.set_xlabel("training loss on the original labels")
        ax.set_ylabel(self.score_name)
        return _finish(self, ax, created, title="Score per self-distillation round")

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        X_test=None,
        y_test=None,
        scoring=None,
        early_stopping=None,
        ax=None,
        name=None,
        **kwargs,
    ):
        """Score every round of a fitted self-distilled estimator.

        Parameters
        ----------
        estimator : estimator instance
            A fitted estimator with ``staged_predict`` (and, for scorers that
            need them, ``staged_predict_proba`` or
            ``staged_decision_function``): the kernel estimators of this
            package or :class:`~sklearn_selfdistill.SelfDistillationWrapper`.
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The ORIGINAL training labels.
        X_test, y_test : array-like, default=None
            Held-out data.
        scoring : str or callable, default=None
            A scikit-learn scorer name or ``scorer(estimator, X, y)``; None
            means accuracy for classifiers and :math:`R^2` for regressors.
        early_stopping : dict of arrays, default=None
            The table of
            :func:`~sklearn_selfdistill.model_selection.compare_with_early_stopping`
            to draw beside the curves (the paper's Fig. 6).
        ax : matplotlib Axes, default=None
            Axes to draw on.
        name : str, default=None
            Name of the model in the legend; defaults to the estimator's class
            name, and ``""`` leaves it out.
        **kwargs : dict
            Keyword arguments of the lines (see :meth:`plot`).

        Returns
        -------
        display : DistillationCurveDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        if not hasattr(estimator, "staged_predict"):
            raise ValueError(
                f"{type(estimator).__name__} has no staged_predict: "
                "DistillationCurveDisplay needs a self-distilled estimator."
            )
        if (X_test is None) != (y_test is None):
            raise ValueError("Pass both X_test and y_test, or neither.")
        n_stages = sum(1 for _ in estimator.staged_predict(_safe_indexing(X, [0])))
        train = _staged_scores(estimator, X, y, scoring, n_stages)
        test = None
        if X_test is not None:
            test = _staged_scores(estimator, X_test, y_test, scoring, n_stages)
        if early_stopping is not None:
            _early_stopping_columns(early_stopping)  # fail early on a bad table
        disp = cls(
            rounds=np.arange(n_stages),
            train_scores=train,
            test_scores=test,
            early_stopping=early_stopping,
            score_name=_score_name(estimator, scoring),
            estimator_name=name if name is not None else type(estimator).__name__,
        )
        return disp.plot(ax=ax, **kwargs)

    @classmethod
    def from_early_stopping(
        cls, table, *, x="train_loss", score_name="score", ax=None, name=None,
        **kwargs,
    ):
        """Draw a table of ``compare_with_early_stopping`` (the paper's Fig. 6).

        Parameters
        ----------
        table : dict of arrays
            The table of
            :func:`~sklearn_selfdistill.model_selection.compare_with_early_stopping`
            (or one with its keys ``round``, ``train_loss_mean``,
            ``self_distilled_score_mean``/``_std`` and
            ``early_stopped_score_mean``/``_std``).
        x : {"train_loss", "round"}, default="train_loss"
            See :meth:`plot`.
        score_name : str, default="score"
            Label of the y axis.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        name : str, default=None
            Name in the legend entries.
        **kwargs : dict
            Keyword arguments of the lines (see :meth:`plot`).

        Returns
        -------
        display : DistillationCurveDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_early_stopping")
        cols = _early_stopping_columns(table)
        if "train_loss_mean" not in dict(table):
            raise ValueError(
                "table must hold 'train_loss_mean', the mean training loss of "
                "each round, as compare_with_early_stopping returns."
            )
        disp = cls(
            rounds=cols["round"],
            early_stopping=table,
            score_name=score_name,
            estimator_name=name,
        )
        return disp.plot(ax=ax, x=x, **kwargs)
