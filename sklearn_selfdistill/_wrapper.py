"""Self-distillation of any estimator: neural networks (skorch) and scikit-learn models.

This module does not import torch or skorch at import time: the skorch round
strategy (:mod:`sklearn_selfdistill._rounds_skorch`) is imported only for a
skorch net, so ``SelfDistillationWrapper(Ridge())`` works without them.
"""

import os
import time
import warnings
from numbers import Integral, Real
from types import SimpleNamespace

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, is_classifier
from sklearn.gaussian_process.kernels import Kernel
from sklearn.metrics import accuracy_score, r2_score
from sklearn.metrics.pairwise import PAIRWISE_KERNEL_FUNCTIONS
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils._tags import ClassifierTags, RegressorTags
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._chain import (
    Interrupt,
    add_round,
    fingerprint,
    interrupted,
    round_seed,
    start_chain,
)
from ._doc_link import DocLinkMixin
from ._empirical_basis import check_basis_kernel
from ._rounds import (
    _is_dataset,
    _reading,
    basis_coefficients,
    basis_device,
    check_fit_params,
    flat_inputs,
    is_skorch_net,
    make_rounds,
)
from ._wrapper_doc import WRAPPER_DOC

__all__ = ["SelfDistillationWrapper"]

# Parameters that may change between a fit and its warm-started or resumed
# continuation.
_FREE_PARAMS = ("n_rounds", "warm_start", "verbose", "checkpoint_dir")
_STATE = ("_chain_state", "_strategy", "_single_output")


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


class SelfDistillationWrapper(DocLinkMixin, MetaEstimatorMixin, BaseEstimator):
    __doc__ = WRAPPER_DOC

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_rounds": [Interval(Integral, 0, None, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither"), None],
        "ground_truth_weight": [Interval(Real, 0, 1, closed="left")],
        "student_init": [StrOptions({"random", "teacher"})],
        "teacher_targets": [StrOptions({"fixed", "online"})],
        "keep": [StrOptions({"all", "last"})],
        "basis_kernel": [
            StrOptions(set(PAIRWISE_KERNEL_FUNCTIONS) | {"green_spline", "ntk",
                                                          "nngp"}),
            callable,
            Kernel,
            None,
        ],
        "basis_kernel_params": [dict, None],
        "basis_n_components": [Interval(Integral, 1, None, closed="left"), None],
        "warm_start": ["boolean"],
        "checkpoint_dir": [str, os.PathLike, None],
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
        teacher_targets="fixed",
        keep="all",
        basis_kernel="rbf",
        basis_kernel_params=None,
        basis_n_components=50,
        warm_start=False,
        checkpoint_dir=None,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.n_rounds = n_rounds
        self.epsilon = epsilon
        self.ground_truth_weight = ground_truth_weight
        self.student_init = student_init
        self.teacher_targets = teacher_targets
        self.keep = keep
        self.basis_kernel = basis_kernel
        self.basis_kernel_params = basis_kernel_params
        self.basis_n_components = basis_n_components
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ tags

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        if self.estimator is None:
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
            tags.regressor_tags = None
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
        skorch = is_skorch_net(self.estimator)
        tags.input_tags.sparse = inner.input_tags.sparse and not skorch
        tags.non_deterministic = inner.non_deterministic
        return tags

    # ------------------------------------------------------------------ data

    def _prepare_data(self, X, y, rounds):
        """Validate the training data; labels, one-hot targets, flat inputs."""
        classifier = rounds.classifier
        dataset = _is_dataset(X)
        if dataset:
            if not rounds.skorch:
                raise TypeError(
                    "A torch Dataset as X needs a skorch net as the estimator; "
                    f"{type(rounds.estimator).__name__} takes arrays."
                )
            if y is None:
                from ._data import _dataset_labels

                y = _dataset_labels(X)
            y = np.asarray(y)
            if len(y) != len(X):
                raise ValueError(
                    f"y has {len(y)} labels for a Dataset of {len(X)} samples."
                )
            for name in ("n_features_in_", "feature_names_in_"):
                if hasattr(self, name):
                    delattr(self, name)
            if classifier:
                y = column_or_1d(y, warn=True)
        elif rounds.skorch:
            X, y = validate_data(self, X, y, dtype=np.float32, allow_nd=True,
                                 multi_output=not classifier,
                                 y_numeric=not classifier)
        else:
            # Classifiers take one label per sample: a column vector is
            # raveled with a DataConversionWarning, as scikit-learn's do.
            X, y = validate_data(self, X, y, accept_sparse=("csr", "csc"),
                                 dtype="numeric", multi_output=not classifier,
                                 y_numeric=not classifier)
        n = len(y)
        data = SimpleNamespace(X=X, n=n, dataset=dataset, labels=None)
        if classifier:
            check_classification_targets(y)
            self.classes_, y_enc = np.unique(y, return_inverse=True)
            data.Y0 = np.eye(len(self.classes_))[y_enc]
            data.labels = y_enc.astype(np.int64)
            data.y_fit = data.y_skorch = data.labels
        else:
            if hasattr(self, "classes_"):  # from an earlier fit as a classifier
                del self.classes_
            y = np.asarray(y, dtype=np.float64)
            data.Y0 = y.reshape(n, -1)
            data.y_fit = y
            data.y_skorch = data.Y0.astype(np.float32)
        data.n_outputs = data.Y0.shape[1]
        data.single_output = not classifier and y.ndim == 1
        data.flat = data.kernel_rows = None
        if self.basis_kernel is not None:
            data.flat, data.kernel_rows = flat_inputs(X, dataset)
        if rounds.skorch:
            data.train = rounds.training_data(X, data.y_skorch)
        data.fingerprint = fingerprint((type(X).__name__, len(y), y) if dataset
                                 else (X, y))
        return data

    def _signature(self, data):
        params = {k: v for k, v in self.get_params(deep=False).items()
                  if k not in _FREE_PARAMS}
        if isinstance(params["random_state"], np.random.RandomState):
            params["random_state"] = "RandomState"
        return fingerprint((params, data.fingerprint))

    # ------------------------------------------------------------------- fit

    def fit(self, X, y=None, **fit_params):
        """Fit round 0 on ``(X, y)`` and ``n_rounds`` rounds of self-distillation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...), \
                or torch Dataset
            Training data (images of shape (n_samples, C, H, W) for skorch
            nets; cast to float32 for them), or, for a skorch net, a torch or
            skorch ``Dataset`` yielding ``(x, label)`` pairs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), \
                default=None
            Class labels or regression targets; ``None`` with a ``Dataset``
            (its labels are read once).
        **fit_params : dict
            Passed to every round's ``estimator.fit`` (for the row expansion
            of a scikit-learn classifier, a ``sample_weight`` is repeated and
            multiplied by the teacher's probabilities). With
            ``sklearn.set_config(enable_metadata_routing=True)``, only the
            metadata the estimator requests (e.g.
            ``Ridge().set_fit_request(sample_weight=True)``; see
            :meth:`get_metadata_routing`).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        previous = {k: v for k, v in vars(self).items()
                    if (k.endswith("_") and not k.startswith("__")) or k in _STATE}
        try:
            return self._fit(X, y, fit_params, previous)
        except BaseException:
            for name in list(vars(self)):
                if (name.endswith("_") and not name.startswith("__")) \
                        or name in _STATE:
                    delattr(self, name)
            if self.warm_start:
                self.__dict__.update(previous)
            raise

    @_fit_context(prefer_skip_nested_validation=False)
    def _fit(self, X, y, fit_params, previous):
        est = self.estimator if self.estimator is not None else _default_estimator()
        if _routing_enabled():
            fit_params = process_routing(self, "fit", **fit_params).estimator.fit
        check_fit_params(est, fit_params)
        rounds = make_rounds(self, est)
        if y is None and not _is_dataset(X):
            raise ValueError(
                "SelfDistillationWrapper requires y to be passed, but the target "
                "y is None: pass the labels (or regression targets), or a torch "
                "Dataset of (x, label) pairs as X with a skorch net."
            )
        with _reading(X, self.random_state is not None):
            data = self._prepare_data(X, y, rounds)
        rounds.check(data.n_outputs)
        if data.kernel_rows is not None:
            # The whole flat set when there is one: the inputs are checked
            # (e.g. in [0, 1] for "green_spline"), the kernel on two rows.
            check_basis_kernel(
                self.basis_kernel, self.basis_kernel_params,
                data.flat if data.flat is not None else data.kernel_rows)
        signature = self._signature(data)
        chain = start_chain(self, previous, signature)
        base = chain["seed_base"]
        seeded = self.random_state is not None
        w = float(self.ground_truth_weight)
        with Interrupt() as interrupt:
            for t in range(len(chain["outputs"]), self.n_rounds + 1):
                start = time.perf_counter()
                fixed = None
                if t > 0:
                    fixed = w * data.Y0 + (1.0 - w) * chain["outputs"][-1]
                teacher = chain["models"][-1] if t > 0 else None
                try:
                    model, record, outputs = rounds.fit_round(
                        data, t, fixed, teacher, round_seed(base, t) if seeded
                        else None, fit_params)
                except KeyboardInterrupt:
                    if not interrupt.hit:
                        raise
                if interrupt.hit:
                    interrupted(self, t, chain)
                    break
                outputs = outputs.reshape(data.n, -1)
                targets = data.Y0 if t == 0 else fixed
                record = {
                    "round": t,
                    "train_loss": rounds.round_loss(model, outputs, targets),
                    "train_score": self._score_outputs(outputs, data, rounds),
                    "fit_seconds": time.perf_counter() - start,
                    **record,
                }
                add_round(self, chain, model, record, outputs, t)
        self._finish(chain, data, rounds)
        return self

    def _finish(self, chain, data, rounds):
        models = [m for m in chain["models"] if m is not None]
        self.estimators_ = models if self.keep == "all" else models[-1:]
        self.estimator_ = models[-1]
        self.n_rounds_ = len(chain["outputs"]) - 1
        self.history_ = chain["history"]
        self._strategy = rounds
        self._single_output = data.single_output
        self._chain_state = chain
        for name in ("basis_coefficients_", "basis_eigenvalues_"):
            if hasattr(self, name):
                delattr(self, name)
        if data.flat is not None:
            attrs = self._basis(data.flat, data.Y0, chain["outputs"], rounds)
            if attrs is None:
                return
            if data.single_output:
                attrs["basis_coefficients_"] = attrs["basis_coefficients_"][..., 0]
            for name, value in attrs.items():
                setattr(self, name, value)

    def _basis(self, X_flat, Y0, round_outputs, rounds):
        """``basis_*`` attributes from the flat inputs, the labels and every
        round's training outputs; None, with a warning, when they cannot be
        computed (the trained rounds are kept)."""
        base = self._chain_state["seed_base"]
        seed = int(np.random.SeedSequence([base, 2**31 - 1]).generate_state(1)[0])
        try:
            return basis_coefficients(
                X_flat, Y0, round_outputs,
                kernel=self.basis_kernel, kernel_params=self.basis_kernel_params,
                n_components=self.basis_n_components,
                device=basis_device(rounds.estimator), random_state=seed,
            )
        except ValueError as exc:
            warnings.warn(
                f"basis_coefficients_ skipped: {exc} The trained rounds are "
                "kept; set basis_kernel=None to skip the basis without this "
                "warning, or choose a positive semi-definite basis_kernel.",
                UserWarning,
            )
            return None

    @staticmethod
    def _score_outputs(outputs, data, rounds):
        if rounds.classifier:
            return float(np.mean(outputs.argmax(axis=1) == data.labels))
        return float(r2_score(data.Y0, outputs))

    # -------------------------------------------------------------- predict

    def _validate_X(self, X):
        check_is_fitted(self)
        if _is_dataset(X):
            if not self._strategy.skorch:
                raise TypeError("A torch Dataset as X needs a skorch net.")
            return X
        if self._strategy.skorch:
            return validate_data(self, X, dtype=np.float32, allow_nd=True,
                                 reset=False)
        return validate_data(self, X, accept_sparse=("csr", "csc"),
                             dtype="numeric", reset=False)

    def _outputs(self, model, X):
        """Probabilities (classifiers) or 2-D outputs of one round's model."""
        if hasattr(self, "classes_"):
            return self._strategy.proba(model, X)
        return self._strategy.predict(model, X)

    def _predict_with(self, model, X):
        if hasattr(self, "classes_"):
            if not hasattr(model, "predict_proba"):
                return self.classes_[np.asarray(model.predict(X), dtype=int)]
            return self.classes_[self._outputs(model, X).argmax(axis=1)]
        pred = self._outputs(model, X)
        return pred.reshape(-1) if self._single_output else pred

    def predict(self, X):
        """Predict with the model of the last fitted round.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...), \
                or torch Dataset

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (the most probable class of the final round) or
            regression predictions.
        """
        X = self._validate_X(X)
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
        X : array-like of shape (n_samples, n_features) or (n_samples, ...), \
                or torch Dataset

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        X = self._validate_X(X)
        return self._outputs(self.estimator_, X)

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
        if len(self.estimators_) != self.n_rounds_ + 1:
            raise ValueError(
                "The staged methods need every round's model; this wrapper was "
                "fitted with keep='last'. Refit with keep='all'."
            )
        return self.estimators_

    def staged_predict(self, X):
        """Predict with the model of every fitted round, 0 to ``n_rounds_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...), \
                or torch Dataset

        Yields
        ------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions of round ``t``; the last equals :meth:`predict`.
        """
        models = self._staged_models()
        X = self._validate_X(X)
        for model in models:
            yield self._predict_with(model, X)

    @available_if(_estimator_has("predict_proba"))
    def staged_predict_proba(self, X):
        """Class probabilities of every fitted round, 0 to ``n_rounds_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...), \
                or torch Dataset

        Yields
        ------
        proba : ndarray of shape (n_samples, n_classes)
        """
        models = self._staged_models()
        X = self._validate_X(X)
        for model in models:
            yield self._outputs(model, X)

    def _labels_for(self, X, y):
        if y is None:
            if not _is_dataset(X):
                raise ValueError("y is None: pass the labels, or a Dataset as X.")
            from ._data import _dataset_labels

            y = _dataset_labels(X)
        return y

    def staged_loss(self, X, y):
        """Loss of every fitted round's model against the labels ``y``.

        The loss of ``history_["train_loss"]`` (l2 summed over classes, KL
        divergence, or squared error summed over outputs) with the one-hot
        labels (or real targets) ``y`` as the targets: for the training data,
        each round's training error against the original labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...) or torch Dataset
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), \
                default=None

        Yields
        ------
        loss : float
        """
        models = self._staged_models()
        y = np.asarray(self._labels_for(X, y))
        X = self._validate_X(X)
        if hasattr(self, "classes_"):
            Y = (np.asarray(y).reshape(-1, 1) == self.classes_[None, :]).astype(float)
        else:
            Y = y.astype(np.float64).reshape(len(y), -1)
        for model in models:
            out = self._outputs(model, X).reshape(len(Y), -1)
            yield self._strategy.round_loss(model, out, Y)

    def get_metadata_routing(self):
        """How metadata are routed: ``fit`` metadata to every round's ``fit``.

        With ``sklearn.set_config(enable_metadata_routing=True)``, the
        metadata that ``estimator`` requests in ``fit`` (e.g.
        ``DistillNetRegressor().set_fit_request(sample_weight=True)``) are
        passed to every round's ``fit``; :meth:`score` consumes its own
        ``sample_weight`` (request it with ``set_score_request``). The default
        network (``estimator=None``) requests ``sample_weight``.

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRouter
        """
        est = self.estimator
        if est is None:
            est = _default_estimator()
            if _routing_enabled():
                est.set_fit_request(sample_weight=True)
        return (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(estimator=est,
                 method_mapping=MethodMapping().add(caller="fit", callee="fit"))
        )

    def score(self, X, y=None, sample_weight=None):
        """Accuracy (classifiers) or :math:`R^2` (regressors) of the final round.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...), \
                or torch Dataset
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), \
                default=None
            ``None`` with a Dataset: its labels.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        y = self._labels_for(X, y)
        y_pred = self.predict(X)
        if hasattr(self, "classes_"):
            return float(accuracy_score(y, y_pred, sample_weight=sample_weight))
        return float(r2_score(y, y_pred, sample_weight=sample_weight))
