"""skorch nets with soft targets, and modules for self-distillation (Sec. 5).

This module imports torch and skorch (``pip install "sklearn-selfdistill[torch]"``);
the vision modules also need torchvision, imported only when one is built.

* :class:`DistillNetClassifier`: a skorch classifier that takes class labels
  or an ``(n_samples, n_classes)`` matrix of probabilities as ``y``, with the
  paper's l2 loss on the softmax output or the soft-target cross-entropy.
* :class:`DistillNetRegressor`: the matching regressor (float32 in and out,
  output size from the data).
* :class:`SoftNLLLoss`: skorch's NLL on probability outputs, for probability
  targets.
* Modules: :class:`MLPModule` (``parameterization="ntk"`` builds it from
  :class:`NTKLinear` layers: the network of the neural tangent kernel),
  :class:`CIFARResNet` (ResNet 18/34/50) and
  :class:`CIFARVGG` (VGG 11/16) adapted to 32x32 inputs, with the factories
  :func:`make_mlp`, :func:`make_resnet` and :func:`make_vgg`.
"""

import inspect

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from skorch import NeuralNet
from skorch.callbacks import EpochScoring, EpochTimer, PassthroughScoring, PrintLog
from skorch.utils import is_dataset
from torch import nn

from ._modules import (
    CIFARVGG,
    CIFARResNet,
    MLPModule,
    NTKLinear,
    make_mlp,
    make_resnet,
    make_vgg,
)

__all__ = [
    "DistillNetClassifier",
    "DistillNetRegressor",
    "MLPModule",
    "NTKLinear",
    "CIFARResNet",
    "CIFARVGG",
    "SoftNLLLoss",
    "SoftTargetLoss",
    "SquaredErrorLoss",
    "make_mlp",
    "make_resnet",
    "make_vgg",
]

from ._data import _dataset_labels
from ._losses import (
    _LOSSES,
    SoftNLLLoss,
    SoftTargetLoss,
    SquaredErrorLoss,
    _encoded_accuracy,
    _identity_float,
    _soft_target_losses,
    _softmax,
)
from ._netbase import _DistillNetMixin, _probability_targets

# --------------------------------------------------------------------------
# Nets
# --------------------------------------------------------------------------


class DistillNetClassifier(_DistillNetMixin, ClassifierMixin, NeuralNet):
    """skorch classifier that trains on class labels or on soft targets.

    The paper's l2 loss between the softmax output and target probabilities
    (or the soft-target cross-entropy), with ``classes_`` kept from the
    labels when it trains on a teacher's probabilities. This net takes
    either class labels of shape
    ``(n_samples,)`` or a probability matrix of shape ``(n_samples,
    n_classes)`` as ``y``; ``classes_`` come from the labels (or from
    ``classes``) and are kept when training on probabilities. The module
    outputs logits; :meth:`predict_proba` applies the softmax.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=MLPModule
        The network. A class is instantiated with the ``module__*``
        parameters; its ``n_features``, ``n_outputs`` and ``in_channels``
        arguments, when it has them and they are not given, are filled in
        from the data (features of 2-D ``X``, number of classes, channels of
        4-D image ``X``).
    loss : {"l2", "cross_entropy"}, default="l2"
        ``"l2"``: squared error between the softmax output and the target
        vector (one-hot for labels), summed over classes, the loss of Sec. 5
        of Mobahi et al. (2020). ``"cross_entropy"``: soft-target
        cross-entropy (equal to the usual cross-entropy on labels).
    classes : array-like of shape (n_classes,), default=None
        The class labels. ``None``: the sorted unique values of ``y`` for
        labels, ``0, ..., n_classes - 1`` for a probability matrix.
    criterion : callable, default=SoftTargetLoss
        Called with ``loss=...`` (and any ``criterion__*`` parameters).
    optimizer : torch optimizer class, default=torch.optim.Adam
    lr : float, default=0.01
    max_epochs : int, default=10
    batch_size : int, default=128
    train_split : callable or None, default=None
        ``None`` trains on all of ``X`` (as in the paper). skorch's
        ``ValidSplit(cv)`` works too, stratified on labels (not on a
        probability matrix); with a split, the history records ``valid_acc``
        against the labels.
    verbose : int, default=0
        skorch's epoch log when 1.
    bf16_autocast : bool, default=False
        Run the module's forward pass under ``torch.autocast`` with
        ``bfloat16`` (mixed precision; on GPUs with bf16 support this is
        faster and halves activation memory). Losses and outputs stay
        float32.
    **kwargs
        Any other skorch ``NeuralNet`` parameter (``device``,
        ``callbacks``, ``module__hidden_units``, ...).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_outputs_ : int
        Number of classes (the module's output size).
    n_features_in_ : int
        Number of input features (product of the non-batch dimensions).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_selfdistill.nets import DistillNetClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(100, 3).astype(np.float32)
    >>> y = np.where(X[:, 0] > 0, "pos", "neg")
    >>> net = DistillNetClassifier(max_epochs=30).fit(X, y)
    >>> net.classes_
    array(['neg', 'pos'], dtype='<U3')
    >>> soft = net.predict_proba(X)  # a teacher's probabilities
    >>> student = DistillNetClassifier(max_epochs=30, classes=net.classes_)
    >>> bool(np.mean(student.fit(X, soft).predict(X) == net.predict(X)) > 0.9)
    True
    """

    def __init__(
        self,
        module=MLPModule,
        *args,
        loss="l2",
        classes=None,
        criterion=SoftTargetLoss,
        optimizer=torch.optim.Adam,
        lr=0.01,
        max_epochs=10,
        batch_size=128,
        train_split=None,
        verbose=0,
        bf16_autocast=False,
        **kwargs,
    ):
        super().__init__(
            module,
            *args,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            verbose=verbose,
            **kwargs,
        )
        self.loss = loss
        self.classes = classes
        self.bf16_autocast = bf16_autocast

    def initialize_criterion(self):
        if self.loss not in _LOSSES:
            raise ValueError(
                f"DistillNetClassifier: loss must be one of {_LOSSES}; "
                f"got {self.loss!r}."
            )
        kwargs = self.get_params_for("criterion")
        criterion = self.criterion
        if isinstance(criterion, type) and "loss" in inspect.signature(
            criterion
        ).parameters:
            kwargs.setdefault("loss", self.loss)
        self.criterion_ = self.initialized_instance(criterion, kwargs)
        return self

    def per_sample_loss(self, y_pred, y_true):
        """Monitored loss of each sample against probability targets.

        ``loss="l2"``: squared error of the softmax output summed over
        classes. ``loss="cross_entropy"``: the KL divergence from the targets
        (cross-entropy minus the targets' entropy), which is 0 exactly when
        the output equals the targets. ``y_true`` may also hold class indices
        (one per sample), taken as one-hot targets.
        """
        y_true = self._as_probabilities(y_true, y_pred)
        losses = _soft_target_losses(y_pred, y_true, self.loss)
        if self.loss == "cross_entropy":
            t = y_true.to(dtype=losses.dtype)
            entropy = -torch.special.xlogy(t, t).sum(dim=1)
            losses = losses - entropy
        return losses

    def _as_probabilities(self, y_true, y_pred):
        """One-hot rows for a batch of class indices; probabilities unchanged."""
        y_true = torch.as_tensor(y_true, device=y_pred.device)
        if y_true.ndim == 1 or (y_true.ndim == 2 and y_true.shape[1] == 1
                                and not y_true.is_floating_point()):
            n_classes = y_pred.shape[1]
            return nn.functional.one_hot(y_true.reshape(-1).long(),
                                         n_classes).to(torch.float32)
        return y_true

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The criterion on probability targets (class indices made one-hot)."""
        y_pred_main = y_pred[0] if isinstance(y_pred, tuple) else y_pred
        y_true = self._as_probabilities(y_true, y_pred_main)
        return super().get_loss(y_pred, y_true, X=X, training=training)

    @property
    def _default_callbacks(self):
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("valid_acc", EpochScoring(_encoded_accuracy, name="valid_acc",
                                       lower_is_better=False)),
            ("print_log", PrintLog()),
        ]

    def _get_predict_nonlinearity(self):
        if self.predict_nonlinearity == "auto":
            return _softmax
        return super()._get_predict_nonlinearity()

    def _encode_targets(self, y, keep_classes):
        """Class indices (int64) for labels, float32 rows for probabilities."""
        y_arr = np.asarray(y)
        probabilities = y_arr.ndim == 2 and (
            y_arr.shape[1] > 1 or np.issubdtype(y_arr.dtype, np.floating))
        classes, P = self._prepare_targets(y_arr, keep_classes)
        if probabilities:
            return classes, P
        return classes, P.argmax(axis=1).astype(np.int64)

    def _prepare_targets(self, y, keep_classes):
        """Probability matrix (float32) for labels or probabilities."""
        return _probability_targets(self, y, keep_classes)

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Initialise and train on labels or a probability matrix.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...) or Dataset
            Inputs (cast to float32 when a float64 array), or a torch or
            skorch ``Dataset`` yielding ``(x, label)`` pairs with labels
            ``0, ..., n_classes - 1`` (then ``y=None``; the classes are read
            from the dataset's labels once).
        y : array-like of shape (n_samples,) or (n_samples, n_classes) or None
            Class labels, or target probabilities (rows summing to 1). skorch
            trains on the labels' positions in ``classes_`` (so a stratified
            ``ValidSplit`` and ``EpochScoring`` see class indices); the loss
            takes them as one-hot rows.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample's loss: every batch's loss is
            ``mean_i(w_i l_i) / mean(w)``, ``mean(w)`` over the training set
            (with one batch, the weighted mean ``sum_i w_i l_i / sum_i w_i``;
            integer weights then equal repeating the rows). Non-negative, not
            all zero; ``None`` weights all samples equally.
        **fit_params : dict
            Passed to skorch's ``fit`` (the module's forward and the train
            split).

        Returns
        -------
        self : DistillNetClassifier

        Raises
        ------
        ValueError
            For NaN, infinite or empty inputs, continuous or non-finite
            labels, or inconsistent lengths (array inputs; a ``Dataset`` is
            not read).
        TypeError
            For a sparse ``X``.
        """
        with self._unfitted_on_error():
            keep = bool(self.warm_start and self.initialized_)
            X = self._check_X(X, reset=not keep)
            if y is None:
                if not is_dataset(X):
                    raise ValueError(
                        "DistillNetClassifier.fit needs y, or a Dataset as X "
                        "that yields (x, label) pairs."
                    )
                y_fit = None
                labels = _dataset_labels(X)
                classes, _ = self._encode_targets(labels, keep_classes=keep)
            else:
                y = self._check_class_y(y, X)
                classes, y_fit = self._encode_targets(y, keep_classes=keep)
            self.classes_ = classes
            self.n_outputs_ = len(classes)
            self._infer_input_sizes(X)
            X, y_fit = self._with_weights(X, y_fit, sample_weight)
            # skorch's fit calls partial_fit: the targets are encoded already.
            self._fitting_encoded = True
            try:
                return super().fit(X, y_fit, **fit_params)
            finally:
                del self._fitting_encoded

    def partial_fit(self, X, y=None, classes=None, sample_weight=None,
                    **fit_params):
        """Train further without re-initialising (labels or probabilities).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...) or Dataset
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
        classes : array-like, default=None
            Used on the first call when ``classes`` was not given at
            construction.
        sample_weight : array-like of shape (n_samples,), default=None
            As in :meth:`fit`, for this call's samples.
        **fit_params : dict

        Returns
        -------
        self : DistillNetClassifier
        """
        if getattr(self, "_fitting_encoded", False):
            return super().partial_fit(X, y, **fit_params)
        if not self.initialized_:
            if classes is not None and self.classes is None:
                self.classes = classes
            return self.fit(X, y, sample_weight=sample_weight, **fit_params)
        X = self._check_X(X, reset=False)
        y_fit = None
        if y is not None:
            y_fit = self._encode_targets(self._check_class_y(y, X), True)[1]
        X, y_fit = self._with_weights(X, y_fit, sample_weight)
        return super().partial_fit(X, y_fit, **fit_params)

    def predict_proba(self, X):
        """Class probabilities (softmax of the logits), float32.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        self.check_is_fitted(["module_", "classes_"])
        return super().predict_proba(self._check_X(X, reset=False))

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return np.asarray(self.classes_)[proba.argmax(axis=1)]


class DistillNetRegressor(_DistillNetMixin, RegressorMixin, NeuralNet):
    """skorch regressor with float32 in and out and the output size from the data.

    The regression counterpart of :class:`DistillNetClassifier` for
    self-distillation on real-valued targets: ``y`` of shape ``(n_samples,)``
    or ``(n_samples, n_outputs)`` (cast to float32; a 1-D ``y`` gives 1-D
    predictions); the loss is the squared error summed over outputs and
    averaged over samples.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=MLPModule
        As for :class:`DistillNetClassifier` (``n_outputs`` from ``y``).
    loss : {"l2"}, default="l2"
        Squared error summed over outputs.
    criterion : callable, default=SquaredErrorLoss
    optimizer : torch optimizer class, default=torch.optim.Adam
    lr : float, default=0.01
    max_epochs : int, default=10
    batch_size : int, default=128
    train_split : callable or None, default=None
    verbose : int, default=0
    bf16_autocast : bool, default=False
        Forward pass under ``torch.autocast`` with ``bfloat16``; outputs and
        losses stay float32.
    **kwargs
        Any other skorch ``NeuralNet`` parameter.

    Attributes
    ----------
    n_outputs_ : int
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_selfdistill.nets import DistillNetRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 2)
    >>> y = X @ np.array([1.0, -2.0])
    >>> net = DistillNetRegressor(max_epochs=100).fit(X, y)
    >>> net.predict(X).shape, net.predict(X).dtype
    ((200,), dtype('float32'))
    >>> bool(net.score(X, y) > 0.95)
    True
    """

    def __init__(
        self,
        module=MLPModule,
        *args,
        loss="l2",
        criterion=SquaredErrorLoss,
        optimizer=torch.optim.Adam,
        lr=0.01,
        max_epochs=10,
        batch_size=128,
        train_split=None,
        verbose=0,
        bf16_autocast=False,
        **kwargs,
    ):
        super().__init__(
            module,
            *args,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            verbose=verbose,
            **kwargs,
        )
        self.loss = loss
        self.bf16_autocast = bf16_autocast

    def initialize_criterion(self):
        if self.loss != "l2":
            raise ValueError(
                f"DistillNetRegressor: loss must be 'l2'; got {self.loss!r}."
            )
        return super().initialize_criterion()

    def per_sample_loss(self, y_pred, y_true):
        """Squared error of each sample summed over outputs."""
        diff = y_pred.float() - y_true.to(dtype=torch.float32).reshape(y_pred.shape)
        return diff.pow(2).reshape(len(diff), -1).sum(dim=1)

    def _get_predict_nonlinearity(self):
        if self.predict_nonlinearity == "auto":
            return _identity_float
        return super()._get_predict_nonlinearity()

    def _prepare_y(self, y):
        y = np.asarray(y, dtype=np.float32)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        return y

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Initialise and train.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...) or Dataset
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample's loss, as in
            :meth:`DistillNetClassifier.fit`.
        **fit_params : dict

        Returns
        -------
        self : DistillNetRegressor

        Raises
        ------
        ValueError
            For NaN, infinite or empty inputs, non-finite or complex targets,
            targets beyond float32's range, or inconsistent lengths.
        TypeError
            For a sparse ``X``.
        """
        with self._unfitted_on_error():
            keep = bool(self.warm_start and self.initialized_)
            X = self._check_X(X, reset=not keep)
            y = self._check_regression_y(y, X)
            self.y_ndim_ = y.ndim
            Y = self._prepare_y(y)
            self.n_outputs_ = Y.shape[1]
            self._infer_input_sizes(X)
            X, Y = self._with_weights(X, Y, sample_weight)
            self._fitting_encoded = True
            try:
                return super().fit(X, Y, **fit_params)
            finally:
                del self._fitting_encoded

    def partial_fit(self, X, y=None, classes=None, sample_weight=None,
                    **fit_params):
        """Train further without re-initialising.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        classes : None
            Unused.
        sample_weight : array-like of shape (n_samples,), default=None
            As in :meth:`fit`, for this call's samples.
        **fit_params : dict

        Returns
        -------
        self : DistillNetRegressor
        """
        if getattr(self, "_fitting_encoded", False):
            return super().partial_fit(X, y, **fit_params)
        if not self.initialized_:
            return self.fit(X, y, sample_weight=sample_weight, **fit_params)
        X = self._check_X(X, reset=False)
        Y = self._prepare_y(self._check_regression_y(y, X))
        X, Y = self._with_weights(X, Y, sample_weight)
        return super().partial_fit(X, Y, **fit_params)

    def predict(self, X):
        """Predictions, float32, 1-D when ``y`` was 1-D.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        self.check_is_fitted()
        pred = super().predict_proba(self._check_X(X, reset=False))
        if getattr(self, "y_ndim_", 2) == 1:
            pred = pred.reshape(-1)
        return pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
