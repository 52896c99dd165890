"""Self-distilled kernel ridge classification (one-vs-all, Sec. 3.6)."""

import inspect

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ._checks import unfitted_on_error
from ._dask import blockwise, unique_labels_of, validate_data
from ._dask_score import DaskAccuracyScoreMixin
from ._kernel_ridge import _BaseSelfDistilledKernel
from ._targets import LabelCoding, check_weighted_classes

__all__ = ["SelfDistilledKernelRidgeClassifier"]


def _shared_constraints(init):
    """The base class's constraints of the parameters that ``init`` takes."""
    names = inspect.signature(init).parameters
    return {
        key: value
        for key, value in _BaseSelfDistilledKernel._parameter_constraints.items()
        if key in names
    }


def check_class_targets(estimator, y):
    """Classes of ``y``, at least two, after scikit-learn's target checks."""
    y = unique_labels_of(y)
    check_classification_targets(y)
    coding = LabelCoding.fit(y)
    if coding.classes.shape[0] < 2:
        raise ValueError(
            f"{type(estimator).__name__} needs samples of at least 2 classes in "
            f"y; got one class only, {coding.classes[0]!r}."
        )
    return coding.classes


class SelfDistilledKernelRidgeClassifier(
    DaskAccuracyScoreMixin, ClassifierMixin, _BaseSelfDistilledKernel
):
    r"""Self-distilled kernel ridge classifier with a training-error tolerance.

    One-vs-all regression of Sec. 3.6 of [1]_: every class gets a target
    column coded +1 for its samples and -1 for the others (the coding of
    :class:`~sklearn.linear_model.RidgeClassifier`), each column is fitted by
    epsilon-constrained kernel ridge regression and distilled for
    ``n_rounds`` rounds with its own multipliers :math:`c_{t,q}` (eq. (18),
    (21)), and the predicted class is the one of largest score. Binary
    problems use a single column (+1 for ``classes_[1]``) and a 1-D
    :meth:`decision_function`. In the eigenbasis :math:`G = V^\top D V` of the
    shared Gram matrix, round :math:`t` of output :math:`q` is (eq. (46))

    .. math::

        f_{t,q}(x) = g_x^\top V^\top D^{-1} B_{t,q} V y_{0,q}, \qquad
        B_{t,q} = \prod_{i=0}^{t} D (c_{i,q} I + D)^{-1}.

    Parameters
    ----------
    epsilon : float or array-like of shape (n_outputs,), default=0.2
        Training mean squared error tolerance of eq. (1) on the -1/+1 coded
        targets, the same for every round; an array gives one value per
        output column (``n_outputs`` is 1 for two classes, else
        ``n_classes``). Every column has mean square 1, so ``epsilon`` must
        lie in (0, 1) for round 0 not to collapse. The default is larger than
        the regressor's: on clustered data a smooth kernel's Gram matrix has
        a large numerical null space, which can hold about a tenth of the
        coded labels' energy, and ``epsilon`` must exceed that share.
    n_rounds : int, default=1
        Number of self-distillation rounds after the initial fit; ``0`` is
        plain epsilon-constrained kernel ridge classification.
    kernel : str, callable or Kernel, default="rbf"
        A name of :data:`sklearn.metrics.pairwise.PAIRWISE_KERNEL_FUNCTIONS`,
        ``"green_spline"``, ``"ntk"`` or ``"nngp"`` (ReLU-network kernels,
        ``kernel_params`` ``depth``, ``weight_std``, ``bias_std``; see
        :func:`sklearn_selfdistill.kernels.ntk_kernel`), ``"precomputed"``
        (``X`` is the Gram matrix), a
        callable on pairs of samples, or a
        :class:`sklearn.gaussian_process.kernels.Kernel`. The kernel must be
        positive semi-definite on the training data.
    gamma : float, default=None
        Gamma of the RBF, laplacian, polynomial, exponential chi2 and sigmoid
        kernels; ``None`` means ``1 / n_features``.
    degree : float, default=3
        Degree of the polynomial kernel.
    coef0 : float, default=1
        Zero coefficient of the polynomial and sigmoid kernels.
    kernel_params : dict, default=None
        Additional parameters of a kernel given as a callable or a name.
    ground_truth_weight : float in [0, 1), default=0.0
        Weight ``w`` of the labels in each round's targets,
        :math:`y_{t+1} = w y_0 + (1 - w) f_t(X)` ([2]_); ``0`` is [1]_.
    on_collapse : {"warn", "raise", "ignore"}, default="warn"
        What to do when a round of some output collapses to the zero function:
        warn with
        :class:`~sklearn_selfdistill.exceptions.SelfDistillationCollapseWarning`,
        raise :class:`~sklearn_selfdistill.exceptions.SelfDistillationCollapseError`,
        or nothing. ``collapsed_`` records it in every case.
    store_eigenvectors : bool, default=False
        Keep the eigenvectors of the Gram matrix in ``eigenvectors_``.
    eigen_solver : {"dense", "randomized", "nystroem"}, default="dense"
        How the spectrum of the Gram matrix is computed: exactly, or only its
        ``n_components`` leading eigenpairs by a randomized range finder or by
        Nystroem landmarks (then ``X_fit_`` holds the landmarks). The
        directions not kept count as eigenvalue 0 (unfittable); see
        :class:`SelfDistilledKernelRidge`.
    n_components : int, default=None
        Number of leading eigenpairs kept by the low-rank solvers, at most
        n_samples; required by them, ignored by ``"dense"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the randomized range finder and the Nystroem landmarks.
    device : str, default=None
        ``None`` computes with numpy; a torch device (``"cuda"``, ``"cpu"``)
        computes the Gram matrix and its eigendecomposition there in float64.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    dual_coef_ : ndarray of shape (n_samples,) or (n_samples, n_classes)
        Coefficients of the final round: ``decision_function(X) =
        kernel(X, X_fit_) @ dual_coef_``; 1-D for two classes.
    X_fit_ : ndarray of shape (n_fit, n_features)
        Training data (the Gram matrix with ``kernel="precomputed"``); the
        ``n_components`` landmarks with ``eigen_solver="nystroem"``.
    eigenvalues_ : ndarray of shape (n_samples,)
        Eigenvalues of :math:`G` = kernel(X, X) / n_samples, descending, with
        the numerical null space set to 0.
    eigenvectors_ : ndarray of shape (n_samples, n_samples)
        Matching eigenvectors as columns; only with ``store_eigenvectors=True``.
    c_ : ndarray of shape (n_rounds + 1,) or (n_rounds + 1, n_classes)
        Multiplier :math:`c_{t,q}` of each round and output; ``inf`` once
        collapsed. 1-D for two classes.
    basis_coefficients_ : ndarray of shape (n_rounds + 1, n_samples) or \
            (n_rounds + 1, n_samples, n_classes)
        Diagonal of :math:`B_{t,q}` (eq. (46)) in the order of
        ``eigenvalues_``.
    collapsed_ : ndarray of bool of shape (n_rounds + 1,) or (n_rounds + 1, n_classes)
        Whether each round of each output collapsed to the zero function.
    train_mse_ : ndarray of shape (n_rounds + 1,) or (n_rounds + 1, n_classes)
        Training mean squared error of each round against the original -1/+1
        coded labels.
    min_reachable_mse_ : float or ndarray of shape (n_classes,)
        Smallest training MSE any function reaches on each coded column.
    guaranteed_rounds_ : float or ndarray of shape (n_classes,)
        Lower bound of Prop. 4 (eq. (44)) on the rounds before collapse, with
        the corrected :math:`\sqrt{K\epsilon}`.
    condition_number_ : float
        :math:`\kappa = d_{max} / d_{min}`; ``inf`` with a null space.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    SelfDistilledKernelRidge : The regressor; this classifier equals it on
        the -1/+1 coded targets followed by an argmax (sign for two classes).
    SelfDistilledKernelRidgeClassifierCV : Selects ``epsilon`` and
        ``n_rounds`` by leave-one-out from one eigendecomposition.
    sklearn.linear_model.RidgeClassifier : The same coding for linear ridge.

    Notes
    -----
    The paper regresses one-hot (0/1) targets. This class uses -1/+1 instead,
    a deliberate departure: with 0/1 targets the mean square of column
    :math:`q` is the frequency of class :math:`q`, so any class rarer than
    ``epsilon`` collapses at round 0 and is never predicted (with
    ``epsilon=0.1``, four of the ten digits classes). With -1/+1 every column
    has mean square 1 and the same ``epsilon`` means the same thing for every
    class.

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
    >>> from sklearn_selfdistill import SelfDistilledKernelRidgeClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SelfDistilledKernelRidgeClassifier(epsilon=0.05, n_rounds=2)
    >>> clf.fit(X, y).c_.shape
    (3, 3)
    >>> round(clf.score(X, y), 2)
    0.96
    """

    def __init__(
        self,
        *,
        epsilon=0.2,
        n_rounds=1,
        kernel="rbf",
        gamma=None,
        degree=3,
        coef0=1,
        kernel_params=None,
        ground_truth_weight=0.0,
        on_collapse="warn",
        store_eigenvectors=False,
        eigen_solver="dense",
        n_components=None,
        random_state=None,
        device=None,
    ):
        self.epsilon = epsilon
        self.n_rounds = n_rounds
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.kernel_params = kernel_params
        self.ground_truth_weight = ground_truth_weight
        self.on_collapse = on_collapse
        self.store_eigenvectors = store_eigenvectors
        self.eigen_solver = eigen_solver
        self.n_components = n_components
        self.random_state = random_state
        self.device = device

    # The shared constraints of the parameters this class takes.
    _parameter_constraints: dict = _shared_constraints(__init__)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.kernel == "precomputed"
        return tags

    @unfitted_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit round 0 and ``n_rounds`` rounds of self-distillation per class.

        A fit that raises leaves the estimator unfitted (``NotFittedError``
        afterwards); a refit keeps no attribute of the previous fit.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Training data, or the Gram matrix (n_samples, n_samples) with
            ``kernel="precomputed"``.
            A ``dask.array`` chunked by rows (``y`` and ``sample_weight``
            too) is fitted block by block on the dask workers with
            ``eigen_solver="nystroem"`` (user guide: "Beyond one machine").
        y : array-like or dask array of shape (n_samples,)
            Class labels (numbers or strings), at least two classes.
        sample_weight : array-like or dask array of shape (n_samples,), \
default=None
            Non-negative weights of the points: each round's weighted training
            error ``sum_i w_i ||f(x_i) - y_i||^2 / sum_i w_i`` (per coded
            column) equals ``epsilon``; an integer weight acts as that many
            copies of the row, scaling every weight changes nothing, and
            zero-weight rows are dropped before anything else (see
            :meth:`SelfDistilledKernelRidge.fit`).

        Returns
        -------
        self : object
            Fitted estimator.

        Raises
        ------
        InfeasibleEpsilonError
            If ``epsilon`` is below the smallest reachable training MSE of some
            coded column (a ``ValueError`` carrying that MSE as ``floor``).
        ValueError
            If ``y`` has a single class, if the kernel is not positive
            semi-definite on ``X``, if its matrix has infs or NaNs (or, with
            ``kernel="precomputed"``, is not square and symmetric), or if
            ``on_collapse="raise"`` and a round collapses.
        MemoryError
            If ``eigen_solver="dense"`` needs more memory than is available
            (checked before the Gram matrix is formed).
        """
        return self._fit(X, y, sample_weight=sample_weight)

    def _validate_fit_input(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64)
        self.classes_ = check_class_targets(self, y)
        return X, y

    def _check_kept_rows(self, y):
        check_weighted_classes(y)

    def _coding(self, y, sample_weight=None):
        return LabelCoding(self.classes_)

    @blockwise
    def decision_function(self, X):
        """Scores of the model of round ``n_rounds``.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Samples, or the kernel between them and the training points with
            ``kernel="precomputed"``.

        Returns
        -------
        scores : ndarray or dask array of shape (n_samples,) or (n_samples, n_classes)
            One-vs-all regression outputs; for two classes, the score of
            ``classes_[1]`` (positive means ``classes_[1]``).
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        K = self._get_kernel(X, self.X_fit_)
        return K @ self.dual_coef_

    @blockwise
    def staged_decision_function(self, X):
        """Scores of the model of every round, 0 to ``n_rounds``.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Samples (or kernel values with ``kernel="precomputed"``).

        Yields
        ------
        scores : ndarray or dask array of shape (n_samples,) or (n_samples, n_classes)
            Scores of round ``t`` for ``t = 0, ..., n_rounds``.
        """
        for raw in self._staged_raw(X):
            yield self._coding_.squeeze(raw)

    @blockwise
    def predict(self, X):
        """Predict class labels with the model of round ``n_rounds``.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Samples (or kernel values with ``kernel="precomputed"``).

        Returns
        -------
        y_pred : ndarray or dask array of shape (n_samples,)
            The class of largest score (for two classes, ``classes_[1]`` where
            the score is positive).
        """
        scores = self.decision_function(X)  # checks that the model is fitted
        return self._coding_.labels(scores)

    @blockwise
    def staged_predict(self, X):
        """Predict class labels with the model of every round.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Samples (or kernel values with ``kernel="precomputed"``).

        Yields
        ------
        y_pred : ndarray or dask array of shape (n_samples,)
            Labels of round ``t`` for ``t = 0, ..., n_rounds``; the last
            equals :meth:`predict`.
        """
        for scores in self.staged_decision_function(X):
            yield self._coding_.labels(scores)
