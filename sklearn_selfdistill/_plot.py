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

from ._scoring import staged_responses

__all__ = ["BasisCoefficientsDisplay", "DistillationCurveDisplay"]


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
        Name used in the title.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the plot.
    figure_ : matplotlib Figure
        Figure containing the plot.
    artists_ : list of matplotlib artists
        One artist (a line or a bar container) per plotted round.

    See Also
    --------
    DistillationCurveDisplay : Score per round.

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

    def plot(self, ax=None, *, kind="bars", log_scale=False):
        """Draw the coefficients.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        kind : {"bars", "lines"}, default="bars"
            Grouped bars (as the paper's Fig. 3) or one line per round.
        log_scale : bool, default=False
            Logarithmic y axis, which shows the small coefficients' decay
            (zeros, e.g. of collapsed rounds or of the null space, are not
            drawn).

        Returns
        -------
        display : BasisCoefficientsDisplay
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        if kind not in ("bars", "lines"):
            raise ValueError(f"kind must be 'bars' or 'lines'; got {kind!r}.")
        if ax is None:
            _, ax = plt.subplots()
        coef = np.asarray(self.basis_coefficients)
        n_rounds, n_basis = coef.shape
        index = np.arange(1, n_basis + 1)
        self.artists_ = []
        if kind == "bars":
            width = 0.8 / max(n_rounds, 1)
            for i, (t, row) in enumerate(zip(self.rounds, coef)):
                offset = (i - (n_rounds - 1) / 2) * width
                self.artists_.append(
                    ax.bar(index + offset, row, width=width, label=f"round {t}")
                )
        else:
            for t, row in zip(self.rounds, coef):
                shown = np.where(row > 0, row, np.nan) if log_scale else row
                (line,) = ax.plot(index, shown, marker="o", label=f"round {t}")
                self.artists_.append(line)
        if log_scale:
            ax.set_yscale("log")
        if n_basis <= 20:
            ax.set_xticks(index)
        ax.set_xlabel("eigen-index k (eigenvalues in decreasing order)")
        ax.set_ylabel("diagonal of $B_t$ (basis coefficient)")
        title = "Basis coefficients per round"
        if self.output is not None:
            title += f", output {self.output}"
        if self.estimator_name:
            title = f"{self.estimator_name}: {title}"
        ax.set_title(title)
        ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        rounds=None,
        output=None,
        kind="bars",
        log_scale=False,
        ax=None,
        name=None,
    ):
        """Plot ``basis_coefficients_`` of a fitted estimator.

        Parameters
        ----------
        estimator : estimator instance
            A fitted :class:`~sklearn_selfdistill.SelfDistilledKernelRidge`,
            :class:`~sklearn_selfdistill.SelfDistilledKernelRidgeClassifier`,
            :class:`~sklearn_selfdistill.SelfDistillationWrapper` or any
            object with a ``basis_coefficients_`` of shape
            ``(n_rounds + 1, n_basis[, n_outputs])``.
        rounds : array-like of int, default=None
            Rounds to draw; None draws every round that has not collapsed
            (whose coefficients are not all zero).
        output : int or class label, default=None
            For multi-output estimators: the output index, or the class label
            of a classifier. Required when there are several outputs.
        kind : {"bars", "lines"}, default="bars"
            See :meth:`plot`.
        log_scale : bool, default=False
            See :meth:`plot`.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        name : str, default=None
            Title prefix; defaults to the estimator's class name.

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
        return disp.plot(ax=ax, kind=kind, log_scale=log_scale)


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
    training loss is drawn beside that of the self-distilled ones (Fig. 6).

    Use :meth:`from_estimator` to create one; the constructor only stores data.

    Parameters
    ----------
    rounds : ndarray of shape (n_stages,)
        Round indices 0, 1, ..., n_rounds.
    train_scores : ndarray of shape (n_stages,)
        Score of each round on the training data against the original labels.
    test_scores : ndarray of shape (n_stages,), default=None
        Score of each round on held-out data.
    early_stopping : dict of arrays, default=None
        The table of ``compare_with_early_stopping``.
    score_name : str, default="score"
        Label of the y axis.
    estimator_name : str, default=None
        Name used in the title.

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
        train_scores,
        test_scores=None,
        early_stopping=None,
        score_name="score",
        estimator_name=None,
    ):
        self.rounds = rounds
        self.train_scores = train_scores
        self.test_scores = test_scores
        self.early_stopping = early_stopping
        self.score_name = score_name
        self.estimator_name = estimator_name

    def plot(self, ax=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.

        Returns
        -------
        display : DistillationCurveDisplay
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        self.lines_ = {}
        (self.lines_["train"],) = ax.plot(
            self.rounds, self.train_scores, marker="o",
            label="training data, original labels",
        )
        if self.test_scores is not None:
            (self.lines_["test"],) = ax.plot(
                self.rounds, self.test_scores, marker="s", label="held-out data"
            )
        if self.early_stopping is not None:
            cols = _early_stopping_columns(self.early_stopping)
            for key, label, style in (
                ("self_distilled", "self-distillation (CV test)", "-"),
                ("early_stopped", "early stopping at equal training loss (CV test)",
                 "--"),
            ):
                mean = cols[f"{key}_score_mean"]
                std = cols[f"{key}_score_std"]
                (line,) = ax.plot(cols["round"], mean, linestyle=style, marker="^",
                                  label=label)
                ax.fill_between(cols["round"], mean - std, mean + std,
                                color=line.get_color(), alpha=0.2)
                self.lines_[f"{key}_cv"] = line
        ax.set_xlabel("self-distillation round t")
        ax.set_ylabel(self.score_name)
        ax.set_xticks(np.asarray(self.rounds))
        title = "Score per self-distillation round"
        if self.estimator_name:
            title = f"{self.estimator_name}: {title}"
        ax.set_title(title)
        ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

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
            Title prefix; defaults to the estimator's class name.

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
        return disp.plot(ax=ax)
