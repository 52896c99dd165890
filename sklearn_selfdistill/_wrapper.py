"""Self-distillation of any estimator: neural networks (skorch) and scikit-learn models.

This module does not import torch or skorch at import time: they are imported
inside the functions that need them, so ``SelfDistillationWrapper(Ridge())``
works without them.
"""

import copy
import sys
import time
import warnings
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import (
    BaseEstimator,
    MetaEstimatorMixin,
    _fit_context,
    clone,
    is_classifier,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process.kernels import Kernel
from sklearn.metrics import accuracy_score, r2_score
from sklearn.metrics.pairwise import PAIRWISE_KERNEL_FUNCTIONS
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils._tags import ClassifierTags, RegressorTags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_is_fitted,
    has_fit_parameter,
    validate_data,
)
from threadpoolctl import threadpool_limits

from ._solvers import eigh_gram
from .kernels import _kernel_name, _pairwise

__all__ = ["SelfDistillationWrapper"]


def _is_skorch_net(estimator):
    """Whether ``estimator`` is a skorch net, without importing skorch."""
    if "skorch" not in sys.modules:
        return False
    from skorch import NeuralNet

    return isinstance(estimator, NeuralNet)


def _default_estimator():
    try:
        from .nets import DistillNetClassifier
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "SelfDistillationWrapper() with estimator=None trains a small neural "
            "network and needs torch and skorch: pip install "
            '"sklearn-selfdistill[torch]". Or pass a scikit-learn estimator, '
            "e.g. SelfDistillationWrapper(Ridge())."
        ) from exc
    return DistillNetClassifier()


def _copy_net(net):
    """Unfitted copy of a skorch net that shares objects that cannot be copied.

    Like :func:`sklearn.base.clone`, but an ``accelerate.Accelerator`` (and
    other accelerate or torch.distributed objects) are shared, not deep-copied.
    """
    params = net.get_params(deep=False)
    new = {}
    for name, value in params.items():
        module = type(value).__module__ or ""
        if module.startswith(("accelerate", "torch.distributed")):
            new[name] = value
        elif hasattr(value, "get_params") and not isinstance(value, type):
            new[name] = clone(value)
        else:
            new[name] = copy.deepcopy(value)
    return type(net)(**new)


def _silent(*args, **kwargs):
    """A print that prints nothing."""


def _reset_parameters(module):
    """Fresh random initialisation of every submodule that knows how."""
    for sub in module.modules():
        reset = getattr(sub, "reset_parameters", None)
        if callable(reset):
            reset()


def _kl_rows(P, Q):
    """Mean over rows of KL(P || Q), with 0 log 0 = 0."""
    Q = np.clip(Q, 1e-300, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(P > 0, P * (np.log(np.where(P > 0, P, 1.0)) - np.log(Q)), 0.0)
    return float(terms.sum(axis=1).mean())


class SelfDistillationWrapper(MetaEstimatorMixin, BaseEstimator):
    r"""Self-distillation of a neural network (skorch) or of any estimator.

    Sec. 5 of [1]_: train a model on the labels (round 0), then train a fresh
    model of the same kind on the first one's predictions over the training
    set, and repeat; the fitted model is the one of round ``n_rounds``.
    Round ``t + 1`` is trained on the targets

    .. math::

        y_{t+1} = w\, y_0 + (1 - w)\, f_t(X),

    with :math:`f_t(X)` the round-``t`` model's training predictions (its
    class probabilities for a classifier, against one-hot labels
    :math:`y_0`) and :math:`w` = ``ground_truth_weight`` (``0`` in [1]_). For
    kernel ridge with a fixed ``alpha`` the rounds are exactly
    :math:`f_t(X) = (K (K + \alpha I)^{-1})^{t+1} y` (eq. (30)-(32)); the
    fitted ``basis_coefficients_`` measure the same shrinkage on any model.

    Parameters
    ----------
    estimator : estimator object, default=None
        The model to distill, unfitted: a skorch net or any scikit-learn
        regressor or classifier. A skorch classifier must be a
        :class:`sklearn_selfdistill.nets.DistillNetClassifier` (skorch's own
        ``NeuralNetClassifier`` cannot train on probabilities). A plain
        scikit-learn classifier trains on the teacher's probabilities by
        expanding every sample into one row per class weighted by its
        probability, so its ``fit`` must accept ``sample_weight`` (for
        log-loss models this is exactly soft-target cross-entropy), and it
        must have ``predict_proba``. ``None``:
        ``DistillNetClassifier()``, a small multilayer perceptron with the
        l2 loss on the softmax output, Adam with lr 0.01 and 10 epochs.
    n_rounds : int, default=1
        Number of self-distillation rounds after the initial fit; ``0``
        fits the estimator once.
    epsilon : float, default=None
        The network analogue of the training-error tolerance of eq. (1) and
        its footnote 2: each round trains until its training loss against
        that round's targets is at or below ``epsilon``, capped by the net's
        ``max_epochs`` (with a :class:`~sklearn.exceptions.ConvergenceWarning`
        when the cap comes first). The training loss is a full evaluation-mode
        pass over the training set after each epoch
        (:class:`sklearn_selfdistill.callbacks.LossThresholdStopping`): the
        squared error summed over classes (outputs) and averaged over
        samples, or the KL divergence to the targets for
        ``loss="cross_entropy"``. skorch nets only. ``None``: the estimator's
        own training schedule.
    ground_truth_weight : float in [0, 1), default=0.0
        Weight ``w`` of the labels in each round's targets (see above).
    student_init : {"random", "teacher"}, default="random"
        ``"random"``: every round starts from a fresh random initialisation
        (the paper). ``"teacher"``: a skorch student starts from the
        teacher's weights (not available for scikit-learn estimators).
    keep : {"all", "last"}, default="all"
        ``"all"`` keeps every round's model in ``estimators_`` (needed by the
        staged methods); ``"last"`` keeps only the final one.
    basis_kernel : str, callable, Kernel or None, default="rbf"
        Kernel of the eigenbasis of ``basis_coefficients_``: any kernel
        :class:`~sklearn_selfdistill.SelfDistilledKernelRidge` accepts
        except ``"precomputed"``; ``None`` skips the computation.
    basis_kernel_params : dict, default=None
        Parameters of ``basis_kernel`` (``gamma``, ``degree``, ``coef0`` or
        those of a callable).
    basis_max_samples : int, default=500
        Compute the basis on a fixed random subset of at most this many
        training points (seeded by ``random_state``); all points when there
        are fewer.
    random_state : int, RandomState instance or None, default=None
        Seeds every round reproducibly: torch's generator (inside
        ``torch.random.fork_rng``, so the global state is left alone), a
        skorch ``ValidSplit`` with a fractional ``cv``, the ``random_state``
        of a scikit-learn estimator that has one set to ``None``, and the
        subset of ``basis_max_samples``.
    verbose : int, default=0
        ``1`` prints one line per round (round, training loss against the
        round's targets, training score against the original labels,
        seconds); ``2`` also the network's epoch log.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted model of every round (``keep="all"``) or only the final
        one (``keep="last"``).
    estimator_ : estimator
        The final round's model.
    classes_ : ndarray of shape (n_classes,)
        Class labels (classifiers).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.
    history_ : list of dict
        One record per round: ``"round"``; ``"train_loss"`` against that
        round's targets (the l2 loss above; the KL divergence for
        ``loss="cross_entropy"`` nets and for scikit-learn classifiers,
        whose expanded fit is soft-target cross-entropy; the mean squared
        error summed over outputs for regressors); ``"train_score"``:
        accuracy (classifiers) or :math:`R^2` (regressors) against the
        ORIGINAL labels; ``"fit_seconds"``; for skorch nets ``"epochs"``
        trained and, with ``epsilon``, ``"reached_epsilon"``.
    basis_eigenvalues_ : ndarray of shape (n_basis,)
        Eigenvalues of ``basis_kernel(X_b, X_b) / n_basis`` in descending
        order, with ``X_b`` the (subset of the) training inputs.
    basis_indices_ : ndarray of shape (n_basis,)
        Indices of the training points of the basis.
    basis_coefficients_ : ndarray of shape (n_rounds + 1, n_basis) or \
            (n_rounds + 1, n_basis, n_outputs)
        The empirical :math:`B_t` of eq. (46):
        ``(u_k . f_t(X_b)) / (u_k . y_b)`` for the eigenvectors ``u_k``, with
        a trailing class axis for classifiers (probabilities against one-hot
        labels) and multi-output regressors; 0 where
        ``|u_k . y_b| < 1e-8 ||y_b||``. For kernel ridge with the same
        kernel it equals :math:`(d / (d + \alpha / n))^{t+1}`. Absent when
        ``basis_kernel=None``.

    See Also
    --------
    SelfDistilledKernelRidge : The closed-form, epsilon-constrained kernel model.
    sklearn_selfdistill.nets.DistillNetClassifier : The default network.
    sklearn_selfdistill.callbacks.LossThresholdStopping : The ``epsilon`` rule.

    Notes
    -----
    Teacher predictions are computed once per round, batch-wise on the net's
    device (``estimator__device="cuda"``); the only copy of data per round is
    the targets. A skorch net with ``skorch.hf.AccelerateMixin`` trains
    data-parallel under ``torchrun``; use ``Accelerator(cpu=True)`` on CPUs.

    References
    ----------
    .. [1] H. Mobahi, M. Farajtabar and P. L. Bartlett, "Self-Distillation
       Amplifies Regularization in Hilbert Space", NeurIPS 2020.
       :arxiv:`2002.05715`

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.kernel_ridge import KernelRidge
    >>> from sklearn_selfdistill import SelfDistillationWrapper
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(size=(30, 1))
    >>> y = np.sin(6 * X[:, 0]) + 0.1 * rng.randn(30)
    >>> model = SelfDistillationWrapper(
    ...     KernelRidge(alpha=0.1, kernel="rbf", gamma=10.0), n_rounds=2,
    ...     basis_kernel_params={"gamma": 10.0}).fit(X, y)
    >>> [round(r["train_score"], 3) for r in model.history_]
    [0.968, 0.965, 0.962]
    >>> d = model.basis_eigenvalues_
    >>> expected = (d / (d + 0.1 / 30)) ** 3
    >>> bool(np.allclose(model.basis_coefficients_[2, :10], expected[:10]))
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_rounds": [Interval(Integral, 0, None, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither"), None],
        "ground_truth_weight": [Interval(Real, 0, 1, closed="left")],
        "student_init": [StrOptions({"random", "teacher"})],
        "keep": [StrOptions({"all", "last"})],
        "basis_kernel": [
            StrOptions(set(PAIRWISE_KERNEL_FUNCTIONS) | {"green_spline"}),
            callable,
            Kernel,
            None,
        ],
        "basis_kernel_params": [dict, None],
        "basis_max_samples": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_rounds=1,
        epsilon=None,
        ground_truth_weight=0.0,
        student_init="random",
        keep="all",
        basis_kernel="rbf",
        basis_kernel_params=None,
        basis_max_samples=500,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.n_rounds = n_rounds
        self.epsilon = epsilon
        self.ground_truth_weight = ground_truth_weight
        self.student_init = student_init
        self.keep = keep
        self.basis_kernel = basis_kernel
        self.basis_kernel_params = basis_kernel_params
        self.basis_max_samples = basis_max_samples
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ tags

    def _is_classifier(self):
        return self.estimator is None or is_classifier(self.estimator)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.estimator is None:
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
            tags.regressor_tags = None
            tags.target_tags.required = True
            return tags
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        if inner.estimator_type == "classifier":
            tags.classifier_tags = ClassifierTags()
            tags.regressor_tags = None
        else:
            tags.regressor_tags = RegressorTags()
            tags.classifier_tags = None
            tags.target_tags.multi_output = inner.target_tags.multi_output
            tags.target_tags.single_output = inner.target_tags.single_output
        tags.target_tags.required = True
        skorch = _is_skorch_net(self.estimator)
        tags.input_tags.sparse = inner.input_tags.sparse and not skorch
        tags.non_deterministic = inner.non_deterministic
        return tags

    # ------------------------------------------------------------ validation

    def _validate_X_y(self, X, y, skorch, classifier):
        if skorch:
            return validate_data(
                self, X, y, dtype=np.float32, allow_nd=True,
                multi_output=not classifier, y_numeric=not classifier,
            )
        # Classifiers take one label per sample: a column vector is raveled
        # with a DataConversionWarning, as scikit-learn's classifiers do.
        return validate_data(
            self, X, y, accept_sparse=("csr", "csc"), dtype="numeric",
            multi_output=not classifier, y_numeric=not classifier,
        )

    def _validate_X(self, X):
        check_is_fitted(self)
        if self._skorch:
            return validate_data(self, X, dtype=np.float32, allow_nd=True,
                                 reset=False)
        return validate_data(self, X, accept_sparse=("csr", "csc"),
                             dtype="numeric", reset=False)

    def _check_estimator_kind(self, est, skorch, classifier):
        if skorch and classifier:
            from .nets import DistillNetClassifier

            if not isinstance(est, DistillNetClassifier):
                raise TypeError(
                    f"{type(est).__name__} cannot be trained on soft targets: "
                    "skorch's classifiers infer their classes from the values of y "
                    "and their default loss needs class labels. Use "
                    "sklearn_selfdistill.nets.DistillNetClassifier (same "
                    "parameters; loss='l2' or 'cross_entropy') as the estimator."
                )
        if not skorch:
            if self.epsilon is not None:
                raise ValueError(
                    "epsilon applies to skorch nets only (it stops each round's "
                    "training at a training loss); a scikit-learn estimator "
                    f"({type(est).__name__}) trains to its own schedule: set "
                    "epsilon=None, or control its fit through its own "
                    "parameters (e.g. alpha)."
                )
            if self.student_init == "teacher":
                raise ValueError(
                    "student_init='teacher' copies a skorch net's weights; use "
                    "student_init='random' with a scikit-learn estimator "
                    f"({type(est).__name__})."
                )
            if classifier and self.n_rounds > 0:
                if not has_fit_parameter(est, "sample_weight"):
                    raise ValueError(
                        f"{type(est).__name__}.fit does not accept sample_weight, "
                        "so it cannot be trained on a teacher's probabilities "
                        "(each sample is expanded into one row per class weighted "
                        "by its probability). Use a classifier whose fit takes "
                        "sample_weight and that has predict_proba (e.g. "
                        "LogisticRegression), a "
                        "sklearn_selfdistill.nets.DistillNetClassifier, or "
                        "n_rounds=0."
                    )
                if not hasattr(est, "predict_proba"):
                    raise ValueError(
                        f"{type(est).__name__} has no predict_proba, so it gives no "
                        "teacher probabilities to distil; use a classifier with "
                        "predict_proba (e.g. LogisticRegression, or "
                        "SVC(probability=True)) or n_rounds=0."
                    )

    # ------------------------------------------------------------------- fit

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Fit round 0 on ``(X, y)`` and ``n_rounds`` rounds of self-distillation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Training data (images of shape (n_samples, C, H, W) for skorch
            nets). Cast to float32 for skorch nets.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels or regression targets.
        **fit_params : dict
            Passed to every round's ``estimator.fit`` (for the row expansion
            of a scikit-learn classifier, a ``sample_weight`` is repeated and
            multiplied by the teacher's probabilities).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        est = self.estimator if self.estimator is not None else _default_estimator()
        skorch = _is_skorch_net(est)
        classifier = is_classifier(est)
        self._check_estimator_kind(est, skorch, classifier)
        X, y = self._validate_X_y(X, y, skorch, classifier)
        self._skorch = skorch

        n = X.shape[0]
        if classifier:
            check_classification_targets(y)
            self.classes_, y_enc = np.unique(y, return_inverse=True)
            Y0 = np.zeros((n, len(self.classes_)))
            Y0[np.arange(n), y_enc] = 1.0
            y_original = y_enc
        else:
            if hasattr(self, "classes_"):  # from an earlier fit as a classifier
                del self.classes_
            y = np.asarray(y, dtype=np.float32 if skorch else np.float64)
            Y0 = y.reshape(n, -1).astype(np.float64)
            y_original = y
        self._single_output = not classifier and y.ndim == 1

        rng = check_random_state(self.random_state)
        seeded = self.random_state is not None
        seeds = rng.randint(np.iinfo(np.int32).max, size=self.n_rounds + 1)
        basis_idx = self._basis_indices(n, rng)

        w = float(self.ground_truth_weight)
        targets = None  # round 0 trains on the labels
        teacher = None
        estimators = []
        basis_preds = []
        self.history_ = []
        for t in range(self.n_rounds + 1):
            start = time.perf_counter()
            seed = int(seeds[t]) if seeded else None
            if skorch:
                model, record, preds = self._fit_net_round(
                    est, X, y_original, Y0, targets, teacher, seed, classifier,
                    fit_params, t,
                )
            else:
                model, record, preds = self._fit_sklearn_round(
                    est, X, y_original, Y0, targets, seed, classifier, fit_params,
                )
            seconds = time.perf_counter() - start
            preds = preds.reshape(n, -1)
            round_targets = Y0 if targets is None else targets
            record = {
                "round": t,
                "train_loss": self._round_loss(model, preds, round_targets,
                                               classifier, skorch),
                "train_score": self._score_original(preds, y_original, classifier),
                "fit_seconds": seconds,
                **record,
            }
            self.history_.append(record)
            if self.verbose:
                print(
                    f"[SelfDistillationWrapper] round {t}: train_loss "
                    f"{record['train_loss']:.6g}, train_score (original labels) "
                    f"{record['train_score']:.4f}, {seconds:.2f} s"
                )
            if basis_idx is not None:
                basis_preds.append(preds[basis_idx])
            if self.keep == "all" or t == self.n_rounds:
                estimators.append(model)
            teacher = model
            targets = w * Y0 + (1.0 - w) * preds

        self.estimators_ = estimators
        self.estimator_ = estimators[-1]
        if basis_idx is not None:
            self._fit_basis(X, Y0, basis_idx, basis_preds)
        return self

    def _basis_indices(self, n, rng):
        if self.basis_kernel is None:
            for name in ("basis_coefficients_", "basis_eigenvalues_",
                         "basis_indices_"):
                if hasattr(self, name):
                    delattr(self, name)
            return None
        if n <= self.basis_max_samples:
            return np.arange(n)
        return np.sort(rng.choice(n, self.basis_max_samples, replace=False))

    def _fit_basis(self, X, Y0, idx, basis_preds):
        Xb = X[idx]
        if Xb.ndim > 2:
            Xb = Xb.reshape(len(idx), -1)
        if not sparse.issparse(Xb):
            Xb = np.asarray(Xb, dtype=np.float64)
        params = dict(self.basis_kernel_params or {})
        gram = _pairwise(
            Xb, kernel=self.basis_kernel, gamma=params.pop("gamma", None),
            degree=params.pop("degree", 3), coef0=params.pop("coef0", 1),
            kernel_params=params or None,
        )
        m = len(idx)
        gram /= m
        # One BLAS thread: at basis_max_samples=500 the eigendecomposition takes
        # a few hundredths of a second, and threads only contend with the
        # training that runs alongside.
        with threadpool_limits(limits=1, user_api="blas"):
            d, U = eigh_gram(gram, kernel_name=_kernel_name(self.basis_kernel),
                             overwrite=True)
        Yb = Y0[idx]
        den = U.T @ Yb  # (m, q)
        small = np.abs(den) < 1e-8 * np.linalg.norm(Yb, axis=0)[None, :]
        safe = np.where(small, 1.0, den)
        coef = np.stack(
            [np.where(small, 0.0, (U.T @ F) / safe) for F in basis_preds]
        )
        if self._single_output:
            coef = coef[..., 0]
        self.basis_indices_ = idx
        self.basis_eigenvalues_ = d
        self.basis_coefficients_ = coef

    # ------------------------------------------------------------ one round

    def _seed_context(self, model, seed):
        import contextlib

        import torch

        if seed is None:
            return contextlib.nullcontext()
        device = getattr(model, "device", None)
        if device is not None and torch.device(device).type == "cuda":
            devices = list(range(torch.cuda.device_count()))
        else:
            devices = []

        @contextlib.contextmanager
        def ctx():
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(seed)
                yield

        return ctx()

    def _fit_net_round(self, est, X, y_original, Y0, targets, teacher, seed,
                       classifier, fit_params, t):
        import torch
        from skorch.dataset import ValidSplit

        from .callbacks import LossThresholdStopping, _LoadTeacherWeights

        model = _copy_net(est)
        if hasattr(est, "history_") and est.history_ is not None and not getattr(
            est, "initialized_", False
        ):
            # A history passed at construction (e.g. skorch's DistributedHistory).
            model.history_ = est.history_
        updates = {"verbose": 1 if self.verbose >= 2 else 0}
        if classifier and getattr(model, "classes", None) is not None:
            # The wrapper encodes the labels: the net sees classes 0..C-1.
            updates["classes"] = None
        if self.verbose < 2 and "callbacks__print_log__sink" in vars(model):
            # skorch's PrintLog prints whatever the verbosity when its sink is
            # not print (AccelerateMixin sets accelerator.print).
            updates["callbacks__print_log__sink"] = _silent
        split = getattr(model, "train_split", None)
        if (
            seed is not None
            and isinstance(split, ValidSplit)
            and split.random_state is None
            and isinstance(split.cv, float)
        ):
            updates["train_split"] = ValidSplit(
                split.cv, stratified=split.stratified, random_state=seed
            )
        extra = []
        stopper = None
        if self.epsilon is not None:
            stopper = LossThresholdStopping(self.epsilon, monitor="train_loss")
            extra.append(("selfdistill_loss_threshold", stopper))
        if self.student_init == "teacher" and teacher is not None:
            state = {k: v.detach().clone() for k, v in
                     teacher.module_.state_dict().items()}
            extra.append(("selfdistill_teacher_init", _LoadTeacherWeights(state)))
        if extra:
            current = model.callbacks
            base = [] if current in (None, "disable") else list(current)
            updates["callbacks"] = base + extra
        model.set_params(**updates)
        if self.student_init == "random" and isinstance(
            model.module, torch.nn.Module
        ):
            # A module given as an instance: clone copied its weights, so
            # re-draw them for a fresh random start.
            with self._seed_context(model, seed):
                _reset_parameters(model.module)

        # Probabilities (one-hot at round 0) for classifiers; 2-D float32
        # targets for regressors (skorch's regressors want (n, 1), not (n,)).
        fit_y = (Y0 if targets is None else targets).astype(np.float32)
        with self._seed_context(model, seed):
            model.fit(X, fit_y, **fit_params)
            # (torch's DataLoader draws a seed from the generator even when
            # it does not shuffle.)
            preds = self._net_outputs(model, X)
        record = {"epochs": len(model.history)}
        if stopper is not None:
            record["reached_epsilon"] = bool(stopper.reached_)
            if not stopper.reached_:
                warnings.warn(
                    f"Round {t}: the training loss {stopper.last_loss_:.6g} is above "
                    f"epsilon={self.epsilon} after max_epochs={model.max_epochs} "
                    "epochs; raise estimator__max_epochs or epsilon.",
                    ConvergenceWarning,
                )
        return model, record, preds

    @staticmethod
    def _net_outputs(model, X):
        """Training outputs of a fitted net: one batch-wise pass on its device."""
        import torch

        with torch.no_grad():
            out = model.forward(X, training=False, device=model.device)
            out = model._get_predict_nonlinearity()(out)
            return out.detach().to("cpu", torch.float64).numpy()

    def _fit_sklearn_round(self, est, X, y_original, Y0, targets, seed,
                           classifier, fit_params):
        model = clone(est)
        if seed is not None:
            params = model.get_params(deep=False)
            if "random_state" in params and params["random_state"] is None:
                model.set_params(random_state=seed)
        if targets is None:
            model.fit(X, y_original, **fit_params)
        elif classifier:
            n, n_classes = targets.shape
            Xe = sparse.vstack([X] * n_classes, format=X.format) \
                if sparse.issparse(X) else np.concatenate([X] * n_classes)
            ye = np.repeat(np.arange(n_classes), n)
            weights = targets.T.reshape(-1)
            params = dict(fit_params)
            if params.get("sample_weight") is not None:
                sw = np.asarray(params["sample_weight"], dtype=np.float64)
                weights = weights * np.tile(sw, n_classes)
            params["sample_weight"] = weights
            model.fit(Xe, ye, **params)
        else:
            fit_t = targets[:, 0] if y_original.ndim == 1 else targets
            model.fit(X, fit_t, **fit_params)
        if classifier:
            if hasattr(model, "predict_proba"):
                preds = self._align_proba(model, model.predict_proba(X))
            else:  # n_rounds == 0 without predict_proba: one-hot predictions
                pred = np.asarray(model.predict(X), dtype=int)
                preds = np.zeros_like(Y0)
                preds[np.arange(len(pred)), pred] = 1.0
        else:
            preds = np.asarray(model.predict(X), dtype=np.float64)
        return model, {}, preds

    def _align_proba(self, model, proba):
        """Probabilities in the column order 0, ..., n_classes - 1."""
        proba = np.asarray(proba, dtype=np.float64)
        inner = np.asarray(getattr(model, "classes_", np.arange(proba.shape[1])))
        n_classes = len(self.classes_)
        if proba.shape[1] == n_classes and np.array_equal(inner,
                                                          np.arange(n_classes)):
            return proba
        full = np.zeros((proba.shape[0], n_classes))
        full[:, inner.astype(int)] = proba
        return full

    def _round_loss(self, model, preds, targets, classifier, skorch):
        if classifier:
            kl = (not skorch) or getattr(model, "loss", "l2") == "cross_entropy"
            if kl:
                return _kl_rows(targets, preds)
            return float(((preds - targets) ** 2).sum(axis=1).mean())
        return float(((preds - targets) ** 2).sum(axis=1).mean())

    def _score_original(self, preds, y_original, classifier):
        if classifier:
            return float(accuracy_score(y_original, preds.argmax(axis=1)))
        y2 = np.asarray(y_original, dtype=np.float64).reshape(len(preds), -1)
        return float(r2_score(y2, preds))

    # -------------------------------------------------------------- predict

    def _predict_with(self, model, X):
        if self._is_classifier_fitted():
            proba = self._proba_with(model, X)
            return self.classes_[proba.argmax(axis=1)]
        pred = np.asarray(model.predict(X), dtype=np.float64)
        if self._single_output:
            pred = pred.reshape(-1)
        return pred

    def _proba_with(self, model, X):
        return self._align_proba(model, model.predict_proba(X))

    def _is_classifier_fitted(self):
        return hasattr(self, "classes_")

    def predict(self, X):
        """Predict with the model of round ``n_rounds``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (the most probable class of the final round) or
            regression predictions.
        """
        X = self._validate_X(X)
        if self._is_classifier_fitted() and not hasattr(self.estimator_,
                                                        "predict_proba"):
            return self.classes_[np.asarray(self.estimator_.predict(X), dtype=int)]
        return self._predict_with(self.estimator_, X)

    def _estimator_has(attr):
        def check(self):
            est = self.estimator
            if est is None:
                return attr == "predict_proba"
            if not is_classifier(est):
                # skorch's regressors have a predict_proba; it is no
                # probability.
                return False
            if hasattr(self, "estimator_"):
                return hasattr(self.estimator_, attr)
            return hasattr(est, attr)

        return check

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of the final round.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        X = self._validate_X(X)
        return self._proba_with(self.estimator_, X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """The final round's ``decision_function``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        X = self._validate_X(X)
        return self.estimator_.decision_function(X)

    def _staged_models(self):
        check_is_fitted(self)
        if len(self.estimators_) != self.n_rounds + 1:
            raise ValueError(
                "The staged methods need every round's model; this wrapper was "
                "fitted with keep='last'. Refit with keep='all'."
            )
        return self.estimators_

    def staged_predict(self, X):
        """Predict with the model of every round, 0 to ``n_rounds``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)

        Yields
        ------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions of round ``t``; the last equals :meth:`predict`.
        """
        models = self._staged_models()
        X = self._validate_X(X)
        for model in models:
            if self._is_classifier_fitted() and not hasattr(model, "predict_proba"):
                yield self.classes_[np.asarray(model.predict(X), dtype=int)]
            else:
                yield self._predict_with(model, X)

    @available_if(_estimator_has("predict_proba"))
    def staged_predict_proba(self, X):
        """Class probabilities of every round, 0 to ``n_rounds``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)

        Yields
        ------
        proba : ndarray of shape (n_samples, n_classes)
        """
        models = self._staged_models()
        X = self._validate_X(X)
        for model in models:
            yield self._proba_with(model, X)

    def score(self, X, y, sample_weight=None):
        """Accuracy (classifiers) or :math:`R^2` (regressors) of the final round.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        y_pred = self.predict(X)
        if self._is_classifier_fitted():
            return float(accuracy_score(y, y_pred, sample_weight=sample_weight))
        return float(r2_score(y, y_pred, sample_weight=sample_weight))
