"""Selection of epsilon and the number of rounds for kernel classification."""

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from ._checks import unfitted_on_error
from ._classifier import SelfDistilledKernelRidgeClassifier, check_class_targets
from ._dask import validate_data
from ._dask_score import DaskAccuracyScoreMixin
from ._search import _BaseSelfDistilledKernelCV
from ._targets import LabelCoding

__all__ = ["SelfDistilledKernelRidgeClassifierCV"]


class SelfDistilledKernelRidgeClassifierCV(
    DaskAccuracyScoreMixin, ClassifierMixin, _BaseSelfDistilledKernelCV
):
    r"""Self-distilled kernel ridge classifier with epsilon and rounds selected.

    Like :class:`~sklearn.linear_model.RidgeClassifierCV`: the one-vs-all
    -1/+1 coded targets of :class:`SelfDistilledKernelRidgeClassifier` are
    fitted for a grid of tolerances ``epsilons`` and every number of rounds
    from 0 to ``max_rounds`` from ONE eigendecomposition, scored by the
    leave-one-out error of the equivalent linear smoother (see Notes) or by
    K-fold cross-validation with ``cv``, and the best grid point is refitted
    on all training points.

    Parameters
    ----------
    epsilons : array-like of shape (n_epsilons,), default=None
        Tolerances on the coded targets to try. ``None`` means 8 values
        between 1e-3 and 0.5 (the coded targets have mean square 1), placed
        above the smallest training MSE the solver reaches on the training
        data (the floor of eq. (21)), as in
        :class:`SelfDistilledKernelRidgeCV`: geometric in the distance to the
        floor, so that no default point is infeasible on the training data.
    max_rounds : int, default=10
        Largest number of self-distillation rounds tried.
    kernel : str, callable or Kernel, default="rbf"
        Kernel, as in :class:`SelfDistilledKernelRidgeClassifier`.
    gamma : float, default=None
        Gamma of the RBF, laplacian, polynomial, exponential chi2 and sigmoid
        kernels; ``None`` means ``1 / n_features``.
    degree : float, default=3
        Degree of the polynomial kernel.
    coef0 : float, default=1
        Zero coefficient of the polynomial and sigmoid kernels.
    kernel_params : dict, default=None
        Additional parameters of a kernel given as a callable or a name.
    ground_truth_weights : float in [0, 1) or array-like of such floats, \
default=0.0
        Weight ``w`` of the labels in each round's targets,
        ``y_{t+1} = w y_0 + (1 - w) f_t(X)`` ([2]_; ``0`` is [1]_). A float
        is used as given; a sequence is a grid searched jointly with
        ``epsilons`` and the rounds by the same criterion, from the same
        eigendecomposition (each weight costs about one more epsilon x rounds
        grid, see Notes), as ``epsilons`` is for ``epsilon``.
    ground_truth_weight : float in [0, 1)
        Deprecated alias of a single ``ground_truth_weights``.

        .. deprecated:: 0.1
           Renamed ``ground_truth_weights`` in 0.1; removed in 0.3.
    store_eigenvectors : bool, default=False
        Keep the refitted model's eigenvectors in ``eigenvectors_``.
    cv : int, cross-validation generator or iterable, default=None
        ``None``: the leave-one-out criterion of Notes. An integer or a
        splitter: (stratified) K-fold cross-validation, one
        eigendecomposition per fold.
    scoring : str or callable, default=None
        ``None`` selects the smallest mean squared error on the coded targets
        (as :class:`~sklearn.linear_model.RidgeClassifierCV`); e.g.
        ``"accuracy"`` scores the held-out (leave-one-out) predicted labels.
    eigen_solver : {"dense", "randomized", "nystroem"}, default="dense"
        Spectral solver of the search, of every fold and of the refitted
        model, as in :class:`SelfDistilledKernelRidge`. With a low-rank
        solver the grid is scored from the ``n_components`` kept directions,
        the others counting as unfittable (eigenvalue 0), exactly as in the
        fitted model: an epsilon below the part of ``y`` outside them is an
        infeasible grid point. With ``"nystroem"`` the leave-one-out
        criterion streams the rows in chunks, so memory does not grow with
        n_samples beyond the data and the held-out predictions a ``scoring``
        needs (see Notes).
    n_components : int, default=None
        Number of leading eigenpairs kept by the low-rank solvers (required
        by them, at most the number of points of every training fold);
        ignored by ``"dense"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the low-rank solvers (the test matrix of ``"randomized"``, the
        landmarks of ``"nystroem"``) in the search, every fold and the refit;
        an int draws the same landmarks on the same points, as
        :class:`SelfDistilledKernelRidge` with that ``random_state`` would.
    device : str, default=None
        ``None`` computes with numpy; a torch device (``"cuda"``, ``"cpu"``)
        computes every eigendecomposition of the search and the refit there
        in float64 (see :class:`SelfDistilledKernelRidge`).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    best_epsilon_ : float
        Selected tolerance.
    best_n_rounds_ : int
        Selected number of rounds.
    best_ground_truth_weight_ : float
        Selected ground-truth weight (the one given when it is a float).
    best_score_ : float
        Score of the selected grid point.
    epsilons_ : ndarray of shape (n_epsilons,)
        The grid of tolerances that was searched.
    loo_errors_ : ndarray of shape (n_epsilons, max_rounds + 1) or \
(n_epsilons, n_weights, max_rounds + 1)
        Mean squared held-out error on the coded targets (mean over outputs)
        of every grid point; ``inf`` for infeasible or collapsed points. The
        middle axis runs over ``ground_truth_weights`` when it is a sequence.
    cv_results_ : dict of ndarray
        One entry per grid point, epsilon-major: ``param_epsilon``,
        ``param_ground_truth_weight`` (when ``ground_truth_weights`` is a
        sequence), ``param_n_rounds``, ``params``, ``mean_test_score``,
        ``rank_test_score``, and with ``cv`` ``split{k}_test_score`` and
        ``std_test_score``, and ``status``: ``"ok"``, ``"collapsed"`` or
        ``"infeasible"`` (as in
        :class:`~sklearn_selfdistill.SelfDistilledKernelRidgeCV`).
    best_index_ : int
        Row of ``cv_results_`` of the selected (refitted) grid point, as in
        :class:`~sklearn.model_selection.GridSearchCV`.
    best_params_ : dict
        The ``params`` of that row: ``epsilon``, ``n_rounds`` and, when
        ``ground_truth_weights`` is a sequence, ``ground_truth_weight``; the
        parameters of ``best_estimator_`` that the search chose.
    selection_on_edge_ : bool
        Whether the selected point lies on an edge of the grid (the smallest
        or largest epsilon, or ``max_rounds``; the weights are not counted):
        a wider grid might select another point.
        :class:`~sklearn_selfdistill.DistillationSearchDisplay`
        marks it.
    best_estimator_ : SelfDistilledKernelRidgeClassifier
        The selected model refitted on all training points.
    dual_coef_, X_fit_, eigenvalues_, c_, basis_coefficients_, collapsed_, \
train_mse_, min_reachable_mse_, guaranteed_rounds_, condition_number_ : ndarray
        Those of ``best_estimator_``.
    eigenvectors_ : ndarray of shape (n_samples, n_eigen)
        Only with ``store_eigenvectors=True`` (n_eigen is n_samples, or
        n_components with ``eigen_solver="randomized"``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    SelfDistilledKernelRidgeClassifier : The estimator whose parameters are
        selected.
    SelfDistilledKernelRidgeCV : The same for regression.

    Notes
    -----
    **Leave-one-out criterion (cv=None).** For a fixed epsilon, round
    :math:`t` maps the training targets to its training predictions through
    the linear smoother

    .. math::

        S_t = U \operatorname{diag}(B_t) U^\top, \qquad
        B_t = \prod_{i=0}^{t} D (c_i I + D)^{-1},

    with :math:`G = U D U^\top` the eigendecomposition of the normalised Gram
    matrix (eq. (16)) and :math:`c_i` the multipliers of eq. (21). With the
    multipliers held fixed, the leave-one-out residuals of a linear smoother
    are

    .. math::

        r_i = \frac{y_i - (S_t y)_i}{1 - (S_t)_{ii}},

    and ``loo_errors_`` holds their mean square. At round 0,
    :math:`S_0 = K (n c_0 I + K)^{-1}` is kernel ridge regression with the
    penalty :math:`n c_0` (``K`` the raw Gram matrix): the formula is the
    exact leave-one-out error of ``KernelRidge(alpha=n * c_0)``, i.e. of the
    round-0 model with the regularisation :math:`n c_0` held fixed instead of
    re-solving eq. (21) for ``epsilon`` on the n - 1 remaining points. For
    later rounds :math:`S_t` is a product of such smoothers whose targets
    themselves depend on the held-out point, and the formula is a
    generalised cross-validation-like approximation of leave-one-out. Against
    exact leave-one-out (every round and multiplier refitted on n - 1
    points) on four regression problems of 60 points
    (``benchmarks/bench_loo_accuracy.py``), the median relative difference
    was 2 to 5 % (at most 14 %), the rank correlation of the grid points 0.98
    to 1.00, and the selected point the same on all four. Pass ``cv`` for K-fold
    cross-validation, which refits every fold exactly as
    :class:`~sklearn.model_selection.GridSearchCV` would (one
    eigendecomposition per fold serves every grid point).

    With ``normalize_y=True`` the mean and scale of ``y`` are computed once on
    all training points, as a further approximation of leave-one-out.

    **Cost.** One eigendecomposition of the n x n Gram matrix
    (:math:`O(n^3)`), then for every epsilon the multipliers of every round
    (:math:`O(n)` per root-finding evaluation) and the diagonals of all
    :math:`S_t` (:math:`O(n^2)` per round and output). The selected model is
    then refitted on all training points from that same eigendecomposition
    (with a low-rank solver, from the same spectrum and landmarks), so the
    whole search costs one eigendecomposition; K-fold computes one per fold
    and one on all points for the refit.

    **Ground-truth weights.** With the weight :math:`w` of [2]_ the targets
    of round :math:`t + 1` are :math:`w y + (1 - w) \hat y_t`. The training
    predictions are still :math:`S_t y` with
    :math:`S_t = U \operatorname{diag}(B_t) U^\top`, now with
    :math:`B_t = A_t \gamma_t`, :math:`A_t = D (c_t I + D)^{-1}`,
    :math:`\gamma_0 = 1` and :math:`\gamma_{t+1} = w + (1 - w) B_t`, so the
    same criterion scores every weight (exact at round 0, where the weight
    plays no part). The multipliers :math:`c_t` depend on the weight: each
    weight of ``ground_truth_weights`` costs one more epsilon x rounds grid
    from the same eigendecomposition (per fold with ``cv``). In
    ``benchmarks/bench_ground_truth_weight.py`` five weights made the search
    1.9 to 5.1 times as long (more where the
    eigendecomposition is cheap), and searching the weight changed the test error
    by -2.5 % to +0.1 % against weight 0 on eleven regression problems.

    **Low-rank solvers.** With ``eigen_solver="randomized"`` or
    ``"nystroem"`` only the ``m = n_components`` leading directions are
    kept and :math:`S_t = F \operatorname{diag}(B_t) F^\top`, with
    :math:`F` (n x m) the orthonormal basis of the kept directions (the
    leading eigenvectors, or for Nystroem the whitened landmark features
    times the eigenvectors of their m x m Gram matrix); the directions not
    kept count as eigenvalue 0, as in the fit, so the multipliers are those
    of the fitted low-rank model. :math:`S_t y = F (B_t z_0)` and
    :math:`\operatorname{diag}(S_t) = (F \circ F) B_t` of every grid point
    come from one pass over chunks of rows of :math:`F`
    (:math:`O(n m)` per grid point and output, after the solver's own cost);
    with Nystroem :math:`F` is computed chunk by chunk from the kernel
    between the points and the landmarks and never held for all points.
    With ``scoring=None`` the squared errors are summed chunk by chunk;
    another ``scoring`` needs the held-out predictions of every grid point
    (n x n_epsilons x (max_rounds + 1) floats per output). With ``cv``,
    every fold runs the same solver on its training part and predicts its
    held-out part from the landmarks, the numbers of
    :class:`~sklearn.model_selection.GridSearchCV` on
    :class:`SelfDistilledKernelRidge` with the same solver and an int
    ``random_state``.

    **Searching on a cluster.** The grid here is searched in one process. To
    search other parameters (``kernel``, ``gamma``) or to use another
    estimator with :class:`~sklearn.model_selection.GridSearchCV`, the search
    runs on a Dask cluster through joblib's ``"dask"`` backend
    (``with joblib.parallel_backend("dask"): search.fit(X, y)`` after
    creating a ``dask.distributed.Client``), and on Ray through
    ``ray.util.joblib.register_ray()`` and ``joblib.parallel_backend("ray")``.
    For classification the smoother acts on every coded column with that
    column's own multipliers, and ``loo_errors_`` averages the columns.

    References
    ----------
    .. [1] H. Mobahi, M. Farajtabar and P. L. Bartlett, "Self-Distillation
       Amplifies Regularization in Hilbert Space", NeurIPS 2020.
       :arxiv:`2002.05715`
    .. [2] K. Borup and L. N. Andersen, "Even your Teacher Needs Guidance:
       Ground-Truth Targets Dampen Regularization Imposed by
       Self-Distillation", NeurIPS 2021. :arxiv:`2102.13088`

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_selfdistill import SelfDistilledKernelRidgeClassifierCV
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SelfDistilledKernelRidgeClassifierCV(
    ...     epsilons=[0.1, 0.2, 0.4], max_rounds=3, scoring="accuracy"
    ... ).fit(X, y)
    >>> clf.loo_errors_.shape
    (3, 4)
    >>> bool(clf.score(X, y) > 0.9)
    True
    """

    def __init__(
        self,
        *,
        epsilons=None,
        max_rounds=10,
        kernel="rbf",
        gamma=None,
        degree=3,
        coef0=1,
        kernel_params=None,
        ground_truth_weights=0.0,
        ground_truth_weight="deprecated",
        store_eigenvectors=False,
        cv=None,
        scoring=None,
        eigen_solver="dense",
        n_components=None,
        random_state=None,
        device=None,
    ):
        self.epsilons = epsilons
        self.max_rounds = max_rounds
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.kernel_params = kernel_params
        self.ground_truth_weights = ground_truth_weights
        self.ground_truth_weight = ground_truth_weight
        self.store_eigenvectors = store_eigenvectors
        self.cv = cv
        self.scoring = scoring
        self.eigen_solver = eigen_solver
        self.n_components = n_components
        self.random_state = random_state
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.kernel == "precomputed"
        return tags

    def _template(self):
        return SelfDistilledKernelRidgeClassifier()

    def _coding(self, y, sample_weight=None):
        # Every fold is coded with the classes of the whole training set, so
        # that each output column means the same class in every fold.
        return LabelCoding(self.classes_)

    @unfitted_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Select epsilon and the number of rounds, then refit on all of X.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Training data, or the Gram matrix with ``kernel="precomputed"``.
            A ``dask.array`` chunked by rows (``y`` and ``sample_weight``
            too) is fitted block by block on the dask workers with
            ``eigen_solver="nystroem"`` (user guide: "Beyond one machine").
        y : array-like or dask array of shape (n_samples,)
            Class labels (numbers or strings), at least two classes.
        sample_weight : array-like or dask array of shape (n_samples,), \
default=None
            Non-negative weights of the points: every grid point is the
            weighted fit (see ``fit`` of the refitted estimator class), the
            leave-one-out and K-fold criteria are
            ``sum_i w_i r_i^2 / sum_i w_i`` over the held-out points (a
            ``scoring`` gets the held-out weights as ``sample_weight``), the
            default epsilon grid follows the weighted mean square of the
            targets, and zero-weight rows are dropped before anything else.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        self.classes_ = check_class_targets(self, y)
        return self._search(X, y, sample_weight=sample_weight)

    def decision_function(self, X):
        """Scores of the selected, refitted model.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Samples (or kernel values with ``kernel="precomputed"``).

        Returns
        -------
        scores : ndarray or dask array of shape (n_samples,) or (n_samples, n_classes)
        """
        check_is_fitted(self, "best_estimator_")
        X = self._validate_X(X, reset=False)
        return self.best_estimator_.decision_function(X)

    def staged_decision_function(self, X):
        """Scores of every round of the refitted model.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Samples (or kernel values with ``kernel="precomputed"``).

        Yields
        ------
        scores : ndarray or dask array of shape (n_samples,) or (n_samples, n_classes)
        """
        check_is_fitted(self, "best_estimator_")
        X = self._validate_X(X, reset=False)
        yield from self.best_estimator_.staged_decision_function(X)
