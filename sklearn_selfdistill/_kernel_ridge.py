"""Self-distilled epsilon-constrained kernel ridge regression."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.gaussian_process.kernels import Kernel
from sklearn.metrics.pairwise import PAIRWISE_KERNEL_FUNCTIONS
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._checks import (
    check_epsilon_scale,
    check_precomputed_gram,
    checked_kernel,
    explain_infeasible,
    unfitted_on_error,
)
from ._dask import (
    DaskWeightedRows,
    blockwise,
    float_targets,
    is_dask_array,
    validate_data,
)
from ._dask_score import DaskR2ScoreMixin
from ._distill import report_collapse, self_distill
from ._doc_link import DocLinkMixin
from ._solvers import compute_spectrum, solver_params
from ._targets import RegressionCoding, WeightedRows, row_scales
from .exceptions import InfeasibleEpsilonError
from .kernels import _kernel_name, _pairwise

__all__ = ["SelfDistilledKernelRidge"]

#: Parameters shared by every kernel estimator and its CV search.
KERNEL_CONSTRAINTS: dict = {
    "kernel": [
        StrOptions(set(PAIRWISE_KERNEL_FUNCTIONS)
                   | {"precomputed", "green_spline", "ntk", "nngp"}),
        callable,
        Kernel,
    ],
    "gamma": [Interval(Real, 0, None, closed="left"), None],
    "degree": [Interval(Real, 0, None, closed="left")],
    "coef0": [Interval(Real, None, None, closed="neither")],
    "kernel_params": [dict, None],
    "ground_truth_weight": [Interval(Real, 0, 1, closed="left")],
    "store_eigenvectors": ["boolean"],
    "eigen_solver": [StrOptions({"dense", "randomized", "nystroem"})],
    "n_components": [Interval(Integral, 1, None, closed="left"), None],
    "random_state": ["random_state"],
    "device": [str, None],
}

#: The fitted attributes a CV search copies from its refitted model.
FITTED_ATTRIBUTES = (
    "dual_coef_", "X_fit_", "eigenvalues_", "c_", "basis_coefficients_",
    "collapsed_", "train_mse_", "min_reachable_mse_", "guaranteed_rounds_",
    "condition_number_",
)


def _check_epsilon(epsilon, n_outputs):
    """Epsilon as an array of one positive value per output."""
    eps = np.asarray(epsilon, dtype=np.float64)
    if eps.ndim == 0:
        eps = np.full(n_outputs, float(eps))
    elif eps.shape != (n_outputs,):
        raise ValueError(
            f"epsilon has shape {eps.shape}; an array epsilon needs one value per "
            f"output of y, i.e. shape ({n_outputs},). Pass a float to use the "
            "same tolerance for every output."
        )
    if not np.all(np.isfinite(eps)) or np.any(eps <= 0):
        raise ValueError(
            f"epsilon must be finite and > 0 for every output; got {eps.tolist()}."
        )
    return eps


#: With ``kernel="precomputed"`` the training ``X`` is a symmetric square Gram
#: matrix (:func:`~._checks.check_precomputed_gram`).
check_square_gram = check_precomputed_gram


def kernel_kwargs(estimator):
    """The keywords of :func:`~.kernels._pairwise` from a kernel estimator."""
    return {
        key: getattr(estimator, key)
        for key in ("kernel", "gamma", "degree", "coef0", "kernel_params")
    }


def fit_weights(sample_weight, X, kernel):
    """:class:`~._targets.WeightedRows` of validated ``X`` and the weights.

    Its ``sample_weight`` is ``None`` when every kept weight is equal: the
    fit is then exactly the unweighted one. A dask ``X`` gets
    :class:`~._dask.DaskWeightedRows`, the same interface block by block.
    """
    if is_dask_array(X):
        return DaskWeightedRows(sample_weight, X)
    rows = WeightedRows(sample_weight, X, precomputed=kernel == "precomputed")
    if rows.sample_weight is not None and row_scales(rows.sample_weight) is None:
        rows.sample_weight = None
    return rows


class _BaseSelfDistilledKernel(DocLinkMixin, BaseEstimator):
    """Fitting shared by the kernel regressor and classifier.

    ``fit`` is: validate, code the targets (:mod:`._targets`), compute the
    spectrum (:func:`~._solvers.compute_spectrum`), run the pure core
    (:func:`~._distill.self_distill`), set the attributes. Subclasses provide
    ``_validate_fit_input(X, y)`` and ``_coding(y)``, the target coding of
    validated ``y``.
    """

    _parameter_constraints: dict = {
        "epsilon": [Interval(Real, 0, None, closed="neither"), "array-like"],
        "n_rounds": [Interval(Integral, 0, None, closed="left")],
        "on_collapse": [StrOptions({"warn", "raise", "ignore"})],
        **KERNEL_CONSTRAINTS,
    }

    def _get_kernel(self, X, Y=None):
        # Prediction rejects a non-finite kernel matrix as the fit does.
        kernel = checked_kernel(
            lambda A, B=None: _pairwise(A, B, **kernel_kwargs(self)),
            _kernel_name(self.kernel),
        )
        return kernel(X, Y)

    def _validate_X(self, X, reset):
        # Dense only: the Gram matrix and its eigenvectors are dense whatever X
        # is, and duplicated all-zero rows of typical sparse data make most
        # epsilons unreachable.
        return validate_data(self, X, reset=reset, dtype=np.float64)

    def _check_kept_rows(self, y):
        """Raise if the rows of positive weight cannot be fitted (classes)."""

    def _fit(self, X, y, spectrum=None, sample_weight=None, coding=None,
             rows=None):
        """``X`` and ``y`` -> validate -> kernel -> spectrum -> core -> attributes.

        ``spectrum`` is that of ``kernel(X, X)`` and the coded ``y``,
        ``coding`` that target coding and ``rows`` the checked weights
        (:func:`fit_weights` of ``sample_weight``), when the caller (a search
        on the same data and weights) has them already. Rows of zero
        ``sample_weight`` are dropped before anything else.
        """
        X_all, y = self._validate_fit_input(X, y)
        check_square_gram(self.kernel, X_all)
        if rows is None:
            rows = fit_weights(sample_weight, X_all, self.kernel)
        X, y = rows.select(X_all, y)
        if rows.keep is not None:
            self._check_kept_rows(y)
        weights = rows.sample_weight
        if coding is None:
            coding = self._coding(y, weights)
        Y = coding.encode(y)
        epsilon = _check_epsilon(self.epsilon, Y.shape[1])
        core_epsilon = coding.core_epsilon(epsilon)
        check_epsilon_scale(epsilon, core_epsilon, y)
        if spectrum is None:
            spectrum = compute_spectrum(
                X, Y, sample_weight=weights, **solver_params(self)
            )
        try:
            path = self_distill(
                spectrum, core_epsilon, self.n_rounds,
                ground_truth_weight=self.ground_truth_weight,
            )
        except InfeasibleEpsilonError as exc:
            raise explain_infeasible(
                exc, spectrum=spectrum, X=X, coding=coding, kernel=self.kernel
            ) from None  # the core's numbers are in coded units
        squeeze = coding.squeeze
        self._coding_ = coding
        # A precomputed Gram matrix keeps its columns for every training row.
        self._staged_dual_coef = rows.expand(path.dual_coef)
        self.X_fit_ = X_all if rows.precomputed else spectrum.X_fit
        self.eigenvalues_ = spectrum.d
        self.condition_number_ = spectrum.condition_number
        self.c_ = squeeze(path.c)
        self.basis_coefficients_ = squeeze(path.B)
        self.collapsed_ = squeeze(path.collapsed)
        with np.errstate(over="ignore"):
            self.train_mse_ = squeeze(path.train_mse * coding.scale * coding.scale)
        single = coding.single_output
        floor = coding.user_epsilon(path.min_reachable_mse)
        self.min_reachable_mse_ = float(floor[0]) if single else floor
        self.guaranteed_rounds_ = (
            float(path.guaranteed_rounds[0]) if single else path.guaranteed_rounds
        )
        self.dual_coef_ = squeeze(self._staged_dual_coef[-1] * coding.dual_unit)
        if self.store_eigenvectors:
            self.eigenvectors_ = spectrum.eigenvectors()
        elif hasattr(self, "eigenvectors_"):
            del self.eigenvectors_
        report_collapse(
            path.collapsed, self.on_collapse, output_names=coding.output_names
        )
        return self

    def _staged_raw(self, X):
        """Coded predictions (n, Q) of every round."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        K = self._get_kernel(X, self.X_fit_)
        for dual in self._staged_dual_coef:
            yield K @ dual


class SelfDistilledKernelRidge(
    DaskR2ScoreMixin, RegressorMixin, _BaseSelfDistilledKernel
):
    r"""Self-distilled kernel ridge regression with a training-error tolerance.

    Round 0 solves the epsilon-constrained problem of eq. (1) of [1]_: among the
    functions whose training mean squared error is at most ``epsilon``, the one
    of least RKHS norm. Its solution is kernel ridge regression (eq. (18)),

    .. math::

        f_0(x) = g_x^\top (c_0 I + G)^{-1} y_0, \qquad
        G_{jk} = g(x_j, x_k) / K,

    with the multiplier :math:`c_0 > 0` found by root-finding so that the
    training mean squared error equals ``epsilon`` exactly (eq. (21)). Each
    round of self-distillation refits the same problem on the previous round's
    training predictions, :math:`y_{t+1} = f_t(X)`, with its own multiplier
    :math:`c_t`. In the eigenbasis :math:`G = V^\top D V` every round is
    diagonal (eq. (30)-(32), (46)):

    .. math::

        f_t(x) = g_x^\top V^\top D^{-1} B_t V y_0, \qquad
        B_t = \prod_{i=0}^{t} D (c_i I + D)^{-1}.

    The diagonal of :math:`B_t` (``basis_coefficients_``) shrinks round by
    round, the small-eigenvalue entries fastest (Prop. 5): self-distillation
    sparsifies the solution. Once the targets' mean square falls to
    ``epsilon`` the solution collapses to zero (Sec. 2.1).

    Parameters
    ----------
    epsilon : float or array-like of shape (n_targets,), default=0.1
        Training mean squared error tolerance of eq. (1), the same for every
        round; an array gives one value per output of a 2-D ``y``. With
        ``normalize_y=True`` it is relative to the variance of ``y``.
    n_rounds : int, default=1
        Number of self-distillation rounds after the initial fit. The fitted
        model is the one of round ``n_rounds``; ``0`` is plain
        epsilon-constrained kernel ridge regression.
    kernel : str, callable or Kernel, default="rbf"
        A name of :data:`sklearn.metrics.pairwise.PAIRWISE_KERNEL_FUNCTIONS`,
        ``"green_spline"`` (eq. (57), one feature in [0, 1]; see
        :func:`sklearn_selfdistill.kernels.green_spline_kernel`), ``"ntk"`` or
        ``"nngp"`` (the neural tangent and Gaussian-process kernels of a
        fully connected ReLU network, Sec. 5; ``kernel_params`` ``depth``,
        ``weight_std``, ``bias_std``, see
        :func:`sklearn_selfdistill.kernels.ntk_kernel`),
        ``"precomputed"`` (``X`` is the Gram matrix), a callable on pairs of
        samples, or a :class:`sklearn.gaussian_process.kernels.Kernel`. The
        kernel must be positive semi-definite on the training data.
    gamma : float, default=None
        Gamma of the RBF, laplacian, polynomial, exponential chi2 and sigmoid
        kernels; ``None`` means ``1 / n_features``.
    degree : float, default=3
        Degree of the polynomial kernel.
    coef0 : float, default=1
        Zero coefficient of the polynomial and sigmoid kernels.
    kernel_params : dict, default=None
        Additional parameters of a kernel given as a callable or a name.
    normalize_y : bool, default=False
        Centre ``y`` and scale it to unit variance before fitting and undo it
        at prediction, as in
        :class:`~sklearn.gaussian_process.GaussianProcessRegressor`. Then
        ``epsilon`` is a fraction of ``var(y)`` and collapse shrinks towards
        the mean of ``y``. ``False`` is the setting of [1]_.
    ground_truth_weight : float in [0, 1), default=0.0
        Weight ``w`` of the labels in each round's targets,
        :math:`y_{t+1} = w y_0 + (1 - w) f_t(X)` ([2]_); ``0`` is [1]_.
    on_collapse : {"warn", "raise", "ignore"}, default="warn"
        What to do when a round collapses: warn with
        :class:`~sklearn_selfdistill.exceptions.SelfDistillationCollapseWarning`,
        raise :class:`~sklearn_selfdistill.exceptions.SelfDistillationCollapseError`,
        or nothing. The collapse is recorded in ``collapsed_`` in every case.
    store_eigenvectors : bool, default=False
        Keep the eigenvectors of the Gram matrix in ``eigenvectors_``
        (n_samples x n_samples floats).
    eigen_solver : {"dense", "randomized", "nystroem"}, default="dense"
        How the spectrum of :math:`G` is computed. ``"dense"``: the exact
        eigendecomposition (LAPACK ``syevr`` in place: memory about two
        n_samples x n_samples float64 arrays, the Gram matrix and its
        eigenvectors). The low-rank solvers keep only the ``n_components``
        leading eigenpairs and change the model: the directions not kept count
        as eigenvalue 0, i.e. unfittable, so the part of ``y`` outside the kept
        span adds to the smallest reachable training MSE and an ``epsilon``
        below it raises a ``ValueError``. Self-distillation shrinks the
        small-eigenvalue directions first (Prop. 5), which makes this the
        natural truncation. ``"randomized"``: the leading eigenpairs of the
        exact Gram matrix by a randomized range finder (it still forms the
        n_samples x n_samples matrix). ``"nystroem"``: ``n_components``
        landmarks drawn from the training points; the kernel between the
        points and the landmarks is streamed in chunks into an
        n_components x n_components matrix (memory independent of
        n_samples), the model is exact self-distillation with the Nystroem
        kernel, and ``X_fit_`` holds the landmarks, so prediction costs
        ``n_components`` kernel evaluations per point. A low-rank solver is
        never chosen silently.
    n_components : int, default=None
        Number of leading eigenpairs kept by the low-rank solvers, at most
        n_samples; required by them, ignored by ``"dense"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the test matrix of ``"randomized"`` and the landmarks of
        ``"nystroem"``; pass an int for reproducible fits.
    device : str, default=None
        ``None`` computes with numpy and LAPACK. A torch device such as
        ``"cuda"``, ``"cuda:1"`` or ``"cpu"`` (PyTorch installed) computes the
        Gram matrix, its eigendecomposition and the dual coefficients there in
        float64; the root-finding runs on the host on the eigenvalues, and the
        fitted attributes are numpy arrays. ``"cuda"`` without a usable GPU
        raises a ``ValueError``, as does a device that cannot hold float64
        data (``"meta"``).

    Attributes
    ----------
    dual_coef_ : ndarray of shape (n_fit,) or (n_fit, n_targets)
        Coefficients of the final round: ``predict(X) = kernel(X, X_fit_) @
        dual_coef_``. ``n_fit`` is n_samples, or n_components with
        ``eigen_solver="nystroem"``.
    X_fit_ : ndarray of shape (n_fit, n_features)
        Training data (the Gram matrix with ``kernel="precomputed"``); the
        landmarks with ``eigen_solver="nystroem"``.
    eigenvalues_ : ndarray of shape (n_eigen,)
        Eigenvalues of :math:`G` = kernel(X, X) / n_samples in descending
        order; the numerical null space (eigenvalues at or below
        ``n_samples * finfo(float64).eps * max``) is exactly 0. ``n_eigen`` is
        n_samples, or ``n_components`` with a low-rank ``eigen_solver``. With
        unequal ``sample_weight``, those of :math:`D^{1/2} \mathbf{K} D^{1/2}`,
        :math:`D = \mathrm{diag}(w) / \sum_i w_i`, on the rows of positive
        weight (the user guide's "Sample weights").
    eigenvectors_ : ndarray of shape (n_samples, n_eigen)
        Matching eigenvectors as columns; only with ``store_eigenvectors=True``
        (not available with ``eigen_solver="nystroem"``).
    c_ : ndarray of shape (n_rounds + 1,) or (n_rounds + 1, n_targets)
        Multiplier :math:`c_t` of each round (eq. (18), (21)); ``inf`` for a
        collapsed round.
    basis_coefficients_ : ndarray of shape (n_rounds + 1, n_eigen) or \
            (n_rounds + 1, n_eigen, n_targets)
        Row ``t`` is the diagonal of :math:`B_t` (eq. (46)) in the order of
        ``eigenvalues_``; zeros for a collapsed round.
    collapsed_ : ndarray of bool of shape (n_rounds + 1,) or (n_rounds + 1, n_targets)
        Whether each round collapsed to the zero function.
    train_mse_ : ndarray of shape (n_rounds + 1,) or (n_rounds + 1, n_targets)
        Training mean squared error of each round against the original ``y``
        (in the units of ``y``).
    min_reachable_mse_ : float or ndarray of shape (n_targets,)
        Smallest training MSE any function reaches: the energy of ``y`` in the
        null space of :math:`G` divided by ``n_samples`` (in the units of
        ``epsilon``). ``epsilon`` must exceed it.
    guaranteed_rounds_ : float or ndarray of shape (n_targets,)
        Lower bound of Prop. 4 (eq. (44)) on the rounds before collapse,
        :math:`(\|y_0\| / \sqrt{K\epsilon} - 1) / \kappa`, with the corrected
        :math:`\sqrt{K\epsilon}`; 0 when :math:`\kappa` is infinite.
    condition_number_ : float
        :math:`\kappa = d_{max} / d_{min}`; ``inf`` with a null space or
        with fewer than n_samples eigenpairs kept.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.kernel_ridge.KernelRidge : Kernel ridge with a fixed ``alpha``;
        round 0 equals ``KernelRidge(alpha=c_[0] * n_samples)``.

    Notes
    -----
    The paper writes :math:`\sqrt{K}\epsilon` in eq. (24), (25), (37), (44) and
    Prop. 3-6; with ``epsilon`` the mean-squared tolerance of eq. (1) the
    correct quantity is :math:`\sqrt{K\epsilon}`, which this package uses
    everywhere (see :mod:`sklearn_selfdistill.theory`). The paper's eq. (32)
    and (45) omit the factor :math:`D^{-1}`; it rescales each basis function
    and leaves the statements about :math:`B_t` unchanged.

    One symmetric eigendecomposition serves every round; each root-finding
    evaluation costs O(n_samples). The multiplier is found by Brent's method
    in :math:`\log c` to machine precision, so the training MSE of every
    non-collapsed round against its own targets, computed in the eigenbasis,
    equals ``epsilon`` to about 1e-15 relative. Measured from :meth:`predict`
    (``kernel(X, X_fit_) @ dual_coef_``) it carries the float64 conditioning
    of the dual coefficients instead: about 1e-15 relative at condition
    number 6e7, 1e-12 at 4e11, and up to 4e-9 on other problems with
    condition number 1.7e11; that is round-off, not a wrong multiplier.

    With ``ground_truth_weight > 0`` collapse is still absorbing: once a
    round's solution is zero the process stops and later rounds are zero too.

    Every computation runs in float64, float32 input included. A float32
    eigendecomposition resolves eigenvalues only down to about 1e-7 of the
    largest, so it is safe only when ``epsilon`` is well above the training
    error carried by the directions below that level. Measured on 1000
    points: with 8 features (RBF, condition number 5e4) float32 gave every
    multiplier to 4e-6 relative down to ``epsilon = 0.005 * mean(y**2)``;
    with one feature (a numerical null space holding 13% of ``y``'s energy)
    float32 moved the smallest reachable MSE from 0.1396 to 0.1403, so an
    ``epsilon`` near that floor is misjudged. float32 would halve the memory
    of the dense solver; the low-rank solvers (``eigen_solver="nystroem"``)
    are the way to large n_samples instead.

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
    >>> import numpy as np
    >>> from sklearn_selfdistill import SelfDistilledKernelRidge
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(size=(40, 1))
    >>> y = np.sin(2 * np.pi * X[:, 0]) + 0.3 * rng.randn(40)
    >>> model = SelfDistilledKernelRidge(epsilon=0.05, n_rounds=2, gamma=10.0)
    >>> model.fit(X, y).c_.shape
    (3,)
    >>> bool(np.all(np.diff(model.basis_coefficients_, axis=0) <= 0))
    True
    """

    _parameter_constraints: dict = {
        **_BaseSelfDistilledKernel._parameter_constraints,
        "normalize_y": ["boolean"],
    }

    def __init__(
        self,
        *,
        epsilon=0.1,
        n_rounds=1,
        kernel="rbf",
        gamma=None,
        degree=3,
        coef0=1,
        kernel_params=None,
        normalize_y=False,
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
        self.normalize_y = normalize_y
        self.ground_truth_weight = ground_truth_weight
        self.on_collapse = on_collapse
        self.store_eigenvectors = store_eigenvectors
        self.eigen_solver = eigen_solver
        self.n_components = n_components
        self.random_state = random_state
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.kernel == "precomputed"
        tags.target_tags.multi_output = True
        return tags

    @unfitted_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit round 0 and ``n_rounds`` rounds of self-distillation.

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
        y : array-like or dask array of shape (n_samples,) or (n_samples, n_targets)
            Target values.
        sample_weight : array-like or dask array of shape (n_samples,), \
default=None
            Non-negative weights of the points. Every round then solves the
            weighted problem, its training error
            ``sum_i w_i (f(x_i) - y_i)^2 / sum_i w_i`` equal to ``epsilon``,
            from one eigendecomposition of ``D^1/2 K D^1/2`` with
            ``D = diag(w) / sum(w)``; multiplying every weight by the same
            factor changes nothing, and an integer weight acts as that many
            copies of the row. Zero-weight rows are dropped before anything
            else. ``normalize_y`` uses the weighted mean and variance.

        Returns
        -------
        self : object
            Fitted estimator.

        Raises
        ------
        InfeasibleEpsilonError
            If ``epsilon`` is below the smallest reachable training MSE
            (:class:`~sklearn_selfdistill.exceptions.InfeasibleEpsilonError`,
            a ``ValueError`` whose ``floor`` is that MSE).
        ValueError
            If the kernel is not positive semi-definite on ``X``, if its
            matrix has infs or NaNs (as for
            :class:`~sklearn.kernel_ridge.KernelRidge`) or, with
            ``kernel="precomputed"``, is not square and symmetric, or if
            ``on_collapse="raise"`` and a round collapses
            (:class:`~sklearn_selfdistill.exceptions.SelfDistillationCollapseError`).
        MemoryError
            If ``eigen_solver="dense"`` needs more memory (three n_samples x
            n_samples float64 arrays) than the platform reports available;
            checked before the Gram matrix is formed. The message suggests
            ``eigen_solver="nystroem"`` with an ``n_components``.
        """
        return self._fit(X, y, sample_weight=sample_weight)

    def _validate_fit_input(self, X, y):
        X, y = validate_data(
            self, X, y, dtype=np.float64, multi_output=True, y_numeric=True
        )
        return X, float_targets(y)

    def _coding(self, y, sample_weight=None):
        return RegressionCoding.fit(y, self.normalize_y, sample_weight)


    @blockwise
    def predict(self, X):
        """Predict with the model of round ``n_rounds``.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Samples, or the kernel between them and the training points
            (n_samples, n_samples_fitted) with ``kernel="precomputed"``.

        Returns
        -------
        y_pred : ndarray or dask array of shape (n_samples,) or (n_samples, n_targets)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        K = self._get_kernel(X, self.X_fit_)
        return self._coding_.decode(K @ self._staged_dual_coef[-1])

    @blockwise
    def staged_predict(self, X):
        """Predict with the model of every round, 0 to ``n_rounds``.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Samples (or kernel values with ``kernel="precomputed"``).

        Yields
        ------
        y_pred : ndarray or dask array of shape (n_samples,) or (n_samples, n_targets)
            Predictions of round ``t`` for ``t = 0, ..., n_rounds``; the last
            equals :meth:`predict`.
        """
        for raw in self._staged_raw(X):
            yield self._coding_.decode(raw)
