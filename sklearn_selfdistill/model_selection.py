"""Self-distillation against early stopping at equal training loss.

Sec. 3.4 and Fig. 6 of Mobahi et al. (2020): self-distillation is a
regulariser of its own kind, not a way of stopping early. For the kernel
model, early stopping means a single fit with a larger tolerance epsilon; for
a network, stopping the training as soon as its loss reaches a value.
:func:`compare_with_early_stopping` measures both at the same training losses
on held-out data.
"""

from numbers import Integral

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import indexable

from ._classifier import SelfDistilledKernelRidgeClassifier
from ._kernel_ridge import SelfDistilledKernelRidge
from ._scoring import staged_responses

__all__ = ["compare_with_early_stopping"]

_KEYS = (
    "train_loss",
    "self_distilled_score",
    "early_stopped_score",
)


def _kind(estimator):
    if isinstance(estimator, (SelfDistilledKernelRidge,
                              SelfDistilledKernelRidgeClassifier)):
        return "kernel"
    # Imported here: the wrapper module is optional (torch, skorch).
    from ._wrapper import SelfDistillationWrapper

    if isinstance(estimator, SelfDistillationWrapper):
        return "wrapper"
    raise TypeError(
        "compare_with_early_stopping supports SelfDistilledKernelRidge, "
        "SelfDistilledKernelRidgeClassifier and SelfDistillationWrapper; got "
        f"{type(estimator).__name__}."
    )


def _kernel_epsilons(model, y_train):
    """Epsilon of each early-stopped fit: the round's training MSE per output.

    In the units of ``epsilon``: relative to ``var(y)`` with ``normalize_y``.
    """
    mse = np.asarray(model.train_mse_, dtype=np.float64)
    if getattr(model, "normalize_y", False):
        std = np.asarray(y_train, dtype=np.float64).std(axis=0)
        mse = mse / np.where(std > 0, std, 1.0) ** 2
    # A collapsed round's training MSE is the labels' mean square: the
    # early-stopped fit at it is the zero function too. Any epsilon at or
    # above the mean square gives it; twice as much keeps round-off from
    # putting epsilon a hair below.
    mse = np.where(model.collapsed_, 2.0 * mse, mse)
    return mse  # (n_rounds + 1,) or (n_rounds + 1, n_outputs)


def _wrapper_losses(model, X_train, y_train):
    """Each round's training loss against the original labels (the epsilon rule)."""
    return np.array(list(model.staged_loss(X_train, y_train)))


def _check_compare_arguments(estimator, n_rounds, cv, scoring, n_jobs):
    """Validate the arguments of compare_with_early_stopping before any work.

    Returns the estimator's kind (``"kernel"`` or ``"wrapper"``). Raises
    :class:`~sklearn.utils._param_validation.InvalidParameterError` (a
    ``ValueError`` and a ``TypeError``) naming the parameter, or ``TypeError``
    for an unsupported estimator.
    """
    validate_parameter_constraints(
        {
            "n_rounds": [Interval(Integral, 0, None, closed="left")],
            "cv": ["cv_object"],
            "scoring": [StrOptions(set(get_scorer_names())), callable, None],
            "n_jobs": [Integral, None],
        },
        {"n_rounds": n_rounds, "cv": cv, "scoring": scoring, "n_jobs": n_jobs},
        caller_name="compare_with_early_stopping",
    )
    return _kind(estimator)


def _one_split(estimator, kind, X, y, train, test, n_rounds, scorer):
    X_train, X_test = _safe_indexing(X, train), _safe_indexing(X, test)
    y_train, y_test = _safe_indexing(y, train), _safe_indexing(y, test)
    distilled = clone(estimator).set_params(n_rounds=n_rounds)
    if kind == "wrapper":
        distilled.set_params(keep="all")
    distilled.fit(X_train, y_train)
    views = staged_responses(distilled, X_test)
    sd_scores = np.array([scorer(v, X_test, y_test) for v in views])

    es_scores = np.empty(n_rounds + 1)
    if kind == "kernel":
        eps = _kernel_epsilons(distilled, y_train)
        losses = np.asarray(distilled.train_mse_, dtype=np.float64)
        losses = losses.mean(axis=1) if losses.ndim == 2 else losses
        for t in range(n_rounds + 1):
            stopped = clone(estimator).set_params(
                n_rounds=0, epsilon=eps[t], on_collapse="ignore"
            ).fit(X_train, y_train)
            es_scores[t] = scorer(stopped, X_test, y_test)
    else:
        losses = _wrapper_losses(distilled, X_train, y_train)
        es_scores[0] = sd_scores[0]  # the reference run
        for t in range(1, n_rounds + 1):
            stopped = clone(estimator).set_params(
                n_rounds=0, epsilon=float(losses[t]), keep="last"
            ).fit(X_train, y_train)
            es_scores[t] = scorer(stopped, X_test, y_test)
    return losses, sd_scores, es_scores


def compare_with_early_stopping(estimator, X, y, *, n_rounds, cv=5, scoring=None,
                                n_jobs=None):
    """Self-distillation against early stopping at the same training losses.

    For every cross-validation split (Sec. 3.4 and Fig. 6 of [1]_):

    1. fit the self-distilled model for rounds 0 to ``n_rounds`` on the
       training part and record each round's training loss against the
       ORIGINAL labels;
    2. fit fresh models of the same kind stopped early at those losses: for
       the kernel models a single fit (``n_rounds=0``) whose ``epsilon`` is
       that round's training mean squared error (one value per output for a
       2-D ``y`` and for the classifier's coded columns); for
       :class:`~sklearn_selfdistill.SelfDistillationWrapper` a single round
       trained until its training loss is at or below that round's loss
       (``epsilon``, the rule of
       :class:`~sklearn_selfdistill.callbacks.LossThresholdStopping`), round 0
       being the reference run;
    3. score both on the held-out part.

    Parameters
    ----------
    estimator : estimator object
        An unfitted :class:`~sklearn_selfdistill.SelfDistilledKernelRidge`,
        :class:`~sklearn_selfdistill.SelfDistilledKernelRidgeClassifier` or
        :class:`~sklearn_selfdistill.SelfDistillationWrapper` around a skorch
        net (early stopping at a loss needs a net). Its ``n_rounds`` is
        replaced by ``n_rounds``.
    X : array-like of shape (n_samples, n_features) or (n_samples, ...)
        Data.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets or class labels.
    n_rounds : int
        Number of self-distillation rounds compared (rounds 0 to ``n_rounds``).
    cv : int, cross-validation generator or iterable, default=5
        Splitting strategy, as in :func:`~sklearn.model_selection.cross_validate`
        (stratified K-fold for classifiers when an integer).
    scoring : str or callable, default=None
        Scorer of the held-out data; ``None`` means accuracy for classifiers
        and :math:`R^2` for regressors (the estimators' ``score``).
    n_jobs : int, default=None
        Number of splits processed in parallel (joblib).

    Returns
    -------
    table : dict of ndarray of shape (n_rounds + 1,)
        ``"round"``; ``"train_loss_mean"`` and ``"train_loss_std"`` (the
        training loss against the original labels, mean and standard
        deviation over splits: the mean squared error averaged over outputs
        for the kernel models, in the units of ``y``, or of the -1/+1 coded
        labels for the classifier; the wrapper's loss, e.g. the squared error
        of the probabilities summed over classes, for networks);
        ``"self_distilled_score_mean"``, ``"self_distilled_score_std"``,
        ``"early_stopped_score_mean"`` and ``"early_stopped_score_std"``. It
        converts to a table with ``pandas.DataFrame(table)``.

    Notes
    -----
    A collapsed round (the zero function) has a training loss equal to the
    mean square of the labels, and the early-stopped fit at that loss is the
    zero function as well. For networks the early-stopped run is capped by
    the net's ``max_epochs``: a loss below what the reference run reaches
    within that cap warns with a
    :class:`~sklearn.exceptions.ConvergenceWarning`.

    References
    ----------
    .. [1] H. Mobahi, M. Farajtabar and P. L. Bartlett, "Self-Distillation
       Amplifies Regularization in Hilbert Space", NeurIPS 2020.
       :arxiv:`2002.05715`

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_selfdistill import SelfDistilledKernelRidge
    >>> from sklearn_selfdistill.model_selection import compare_with_early_stopping
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(size=(60, 1))
    >>> y = np.sin(2 * np.pi * X[:, 0]) + 0.3 * rng.randn(60)
    >>> table = compare_with_early_stopping(
    ...     SelfDistilledKernelRidge(epsilon=0.1, gamma=10.0), X, y, n_rounds=2, cv=3)
    >>> sorted(table)[:3]
    ['early_stopped_score_mean', 'early_stopped_score_std', 'round']
    >>> bool(np.all(np.diff(table["train_loss_mean"]) > 0))
    True
    """
    kind = _check_compare_arguments(estimator, n_rounds, cv, scoring, n_jobs)
    n_rounds = int(n_rounds)
    if kind == "wrapper":
        from ._rounds import is_skorch_net

        inner = estimator.estimator
        if inner is not None and not is_skorch_net(inner):
            raise ValueError(
                "Early stopping at a training loss needs a skorch net inside "
                f"SelfDistillationWrapper; got {type(inner).__name__}. Use "
                "SelfDistilledKernelRidge for the kernel model, whose early "
                "stopping is a larger epsilon."
            )
    X, y = indexable(X, y)
    classifier = is_classifier(estimator)
    cv = check_cv(cv, y, classifier=classifier)
    if scoring is None:
        scoring = "accuracy" if classifier else "r2"
    scorer = check_scoring(estimator, scoring=scoring)
    results = Parallel(n_jobs=n_jobs)(
        delayed(_one_split)(estimator, kind, X, y, train, test, n_rounds, scorer)
        for train, test in cv.split(X, y)
    )
    table = {"round": np.arange(n_rounds + 1)}
    for key, values in zip(_KEYS, zip(*results)):
        stacked = np.vstack(values)
        table[f"{key}_mean"] = stacked.mean(axis=0)
        table[f"{key}_std"] = stacked.std(axis=0)
    return table
