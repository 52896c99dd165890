"""skorch nets with soft targets, and modules for self-distillation (Sec. 5).

This module imports torch and skorch (``pip install "sklearn-selfdistill[torch]"``);
the vision modules also need torchvision, imported only when one is built.

* :class:`DistillNetClassifier`: a skorch classifier that takes class labels
  or an ``(n_samples, n_classes)`` matrix of probabilities as ``y``, with the
  paper's l2 loss on the softmax output or the soft-target cross-entropy.
* :class:`DistillNetRegressor`: the matching regressor (float32 in and out,
  output size from the data).
* Modules: :class:`MLPModule`, :class:`CIFARResNet` (ResNet 18/34/50) and
  :class:`CIFARVGG` (VGG 11/16) adapted to 32x32 inputs, with the factories
  :func:`make_mlp`, :func:`make_resnet` and :func:`make_vgg`.
"""

import inspect
from collections.abc import Mapping
from numbers import Integral

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from skorch import NeuralNet
from skorch.callbacks import EpochScoring, EpochTimer, PassthroughScoring, PrintLog
from skorch.utils import is_dataset, to_numpy
from torch import nn

__all__ = [
    "DistillNetClassifier",
    "DistillNetRegressor",
    "MLPModule",
    "CIFARResNet",
    "CIFARVGG",
    "SoftTargetLoss",
    "SquaredErrorLoss",
    "make_mlp",
    "make_resnet",
    "make_vgg",
]

_LOSSES = ("l2", "cross_entropy")

# --------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------


class MLPModule(nn.Module):
    """Multilayer perceptron: Linear, ReLU (and dropout) per hidden layer, then Linear.

    Parameters
    ----------
    n_features : int
        Input size. The nets of this module fill it in from ``X`` at fit time.
    n_outputs : int
        Output size (classes or regression targets), filled in from ``y``.
    hidden_units : int or tuple of int, default=(64,)
        Width of each hidden layer; an int means one hidden layer.
    dropout : float, default=0.0
        Dropout probability after each hidden layer.
    """

    def __init__(self, n_features, n_outputs, hidden_units=(64,), dropout=0.0):
        super().__init__()
        if isinstance(hidden_units, Integral):
            hidden_units = (int(hidden_units),)
        layers = []
        width = int(n_features)
        for units in hidden_units:
            layers += [nn.Linear(width, int(units)), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = int(units)
        layers.append(nn.Linear(width, int(n_outputs)))
        self.layers = nn.Sequential(*layers)

    def forward(self, X):
        return self.layers(X.reshape(len(X), -1))


def _torchvision_models():
    try:
        import torchvision.models as models
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The ResNet and VGG modules need torchvision: pip install "
            '"sklearn-selfdistill[torch]" (or pip install torchvision).'
        ) from exc
    return models


_RESNET_DEPTHS = {18: "resnet18", 34: "resnet34", 50: "resnet50"}
_VGG_DEPTHS = {11: "vgg11", 16: "vgg16"}


class CIFARResNet(nn.Module):
    """torchvision's ResNet with the CIFAR stem, for 32x32 inputs.

    The ImageNet stem (7x7 convolution with stride 2 and a max-pool) would
    shrink a 32x32 image to 8x8 before the first block; the CIFAR stem is one
    3x3 convolution with stride 1 and no max-pool, as in He et al. (2016,
    Sec. 4.2) and the ResNet-50 of Mobahi et al. (2020, Sec. 5).

    Parameters
    ----------
    n_outputs : int, default=10
        Number of classes.
    depth : {18, 34, 50}, default=18
        ResNet depth.
    in_channels : int, default=3
        Input channels (filled in from ``X`` by the nets of this module).
    """

    def __init__(self, n_outputs=10, depth=18, in_channels=3):
        super().__init__()
        if depth not in _RESNET_DEPTHS:
            raise ValueError(
                f"depth must be one of {sorted(_RESNET_DEPTHS)} for a ResNet; "
                f"got {depth!r}."
            )
        models = _torchvision_models()
        net = getattr(models, _RESNET_DEPTHS[depth])(weights=None,
                                                     num_classes=int(n_outputs))
        net.conv1 = nn.Conv2d(int(in_channels), 64, kernel_size=3, stride=1,
                              padding=1, bias=False)
        net.maxpool = nn.Identity()
        self.net = net

    def forward(self, X):
        return self.net(X)


class CIFARVGG(nn.Module):
    """torchvision's VGG (with batch normalisation) adapted to 32x32 inputs.

    Five max-pools leave a 1x1x512 map for a 32x32 image, so the 7x7 average
    pool and the 4096-wide classifier of the ImageNet model are replaced by a
    flatten and one linear layer 512 -> ``n_outputs`` (the usual CIFAR VGG).

    Parameters
    ----------
    n_outputs : int, default=10
        Number of classes.
    depth : {11, 16}, default=16
        VGG depth.
    in_channels : int, default=3
        Input channels (filled in from ``X`` by the nets of this module).
    batch_norm : bool, default=True
        Use the batch-normalised variant (``vgg11_bn``, ``vgg16_bn``).
    """

    def __init__(self, n_outputs=10, depth=16, in_channels=3, batch_norm=True):
        super().__init__()
        if depth not in _VGG_DEPTHS:
            raise ValueError(
                f"depth must be one of {sorted(_VGG_DEPTHS)} for a VGG; "
                f"got {depth!r}."
            )
        models = _torchvision_models()
        name = _VGG_DEPTHS[depth] + ("_bn" if batch_norm else "")
        net = getattr(models, name)(weights=None)
        first = net.features[0]
        net.features[0] = nn.Conv2d(int(in_channels), first.out_channels,
                                    kernel_size=3, padding=1)
        self.features = net.features
        self.classifier = nn.Linear(512, int(n_outputs))

    def forward(self, X):
        return self.classifier(torch.flatten(self.features(X), 1))


def make_mlp(n_features, n_outputs, hidden_units=(64,), dropout=0.0):
    """Build an :class:`MLPModule` (see there for the parameters)."""
    return MLPModule(n_features, n_outputs, hidden_units=hidden_units,
                     dropout=dropout)


def make_resnet(depth=18, n_classes=10, in_channels=3):
    """Build a ResNet 18, 34 or 50 for 32x32 inputs (:class:`CIFARResNet`).

    Parameters
    ----------
    depth : {18, 34, 50}, default=18
    n_classes : int, default=10
    in_channels : int, default=3

    Returns
    -------
    module : CIFARResNet
    """
    return CIFARResNet(n_outputs=n_classes, depth=depth, in_channels=in_channels)


def make_vgg(depth=16, n_classes=10, in_channels=3, batch_norm=True):
    """Build a VGG 11 or 16 for 32x32 inputs (:class:`CIFARVGG`).

    Parameters
    ----------
    depth : {11, 16}, default=16
    n_classes : int, default=10
    in_channels : int, default=3
    batch_norm : bool, default=True

    Returns
    -------
    module : CIFARVGG
    """
    return CIFARVGG(n_outputs=n_classes, depth=depth, in_channels=in_channels,
                    batch_norm=batch_norm)


# --------------------------------------------------------------------------
# Losses (plain callables, not nn.Modules: they have no parameters, and
# accelerate must not wrap a parameterless module in DistributedDataParallel)
# --------------------------------------------------------------------------


def _soft_target_losses(logits, target, loss):
    """Per-sample loss between ``softmax(logits)`` and probability targets."""
    logits = logits.float()
    target = target.to(dtype=logits.dtype)
    if loss == "l2":
        return (torch.softmax(logits, dim=1) - target).pow(2).sum(dim=1)
    return -(target * torch.log_softmax(logits, dim=1)).sum(dim=1)


class SoftTargetLoss:
    """Loss between a classifier's logits and target probabilities.

    Parameters
    ----------
    loss : {"l2", "cross_entropy"}, default="l2"
        ``"l2"``: squared error between the softmax output and the target
        vector, summed over classes, averaged over samples (the loss of Sec.
        5 of Mobahi et al., 2020). ``"cross_entropy"``: soft-target
        cross-entropy ``-sum_c t_c log softmax(z)_c``, averaged over samples.
    """

    def __init__(self, loss="l2"):
        if loss not in _LOSSES:
            raise ValueError(f"loss must be one of {_LOSSES}; got {loss!r}.")
        self.loss = loss

    def __call__(self, logits, target):
        return _soft_target_losses(logits, target, self.loss).mean()


class SquaredErrorLoss:
    """Squared error summed over outputs, averaged over samples."""

    def __call__(self, y_pred, y_true):
        diff = y_pred.float() - y_true.to(dtype=torch.float32).reshape(y_pred.shape)
        return diff.pow(2).reshape(len(diff), -1).sum(dim=1).mean()


def _dataset_labels(dataset):
    """The labels of a Dataset of ``(x, label)`` pairs, read once.

    A skorch ``Dataset`` gives its ``y`` and a torchvision-style dataset its
    ``targets`` without loading a sample; any other dataset is read sample by
    sample (one pass of ``__getitem__``).
    """
    y = getattr(dataset, "y", None)
    if y is None:
        y = getattr(dataset, "targets", None)
    if y is None:
        y = [dataset[i][1] for i in range(len(dataset))]
        y = [to_numpy(v) if torch.is_tensor(v) else v for v in y]
    elif torch.is_tensor(y):
        y = to_numpy(y)
    return np.asarray(y)


def _encoded_accuracy(net, X, y):
    """Accuracy of ``predict_proba(X).argmax(1)`` against class indices.

    The targets a :class:`DistillNetClassifier` trains on are class indices
    (labels encoded as positions in ``classes_``) or probability rows (their
    argmax is taken), whatever the labels' own type.
    """
    proba = net.predict_proba(X)
    y = to_numpy(y) if torch.is_tensor(y) else np.asarray(y)
    if isinstance(y, Mapping) or y is None:  # pragma: no cover - defensive
        return float("nan")
    if y.ndim == 2 and y.shape[1] > 1:
        y = y.argmax(axis=1)
    return float(np.mean(proba.argmax(axis=1) == y.reshape(-1)))


def _softmax(logits):
    return torch.softmax(logits.float(), dim=1)


def _identity_float(x):
    return x.float()


# --------------------------------------------------------------------------
# Nets
# --------------------------------------------------------------------------


class _DistillNetMixin:
    """Shared plumbing: float32 inputs, module sizes from the data, bf16 autocast."""

    def _as_float32(self, X):
        if isinstance(X, np.ndarray) and X.dtype != np.float32:
            return X.astype(np.float32)
        return X

    def _infer_input_sizes(self, X):
        shape = getattr(X, "shape", None)
        if shape is None and is_dataset(X):
            # A Dataset: the shape of its first sample, plus a batch axis.
            sample = getattr(X, "sample_shape", None)
            if sample is None and len(X):
                first = X[0]
                first = first[0] if isinstance(first, (tuple, list)) else first
                sample = getattr(first, "shape", None)
            shape = None if sample is None else (len(X),) + tuple(sample)
        if shape is None or len(shape) < 2:
            return
        self.n_features_in_ = int(np.prod(shape[1:]))
        if len(shape) == 4:  # images (N, C, H, W)
            self.n_channels_in_ = int(shape[1])

    def initialize_module(self):
        kwargs = self.get_params_for("module")
        module = self.module
        if isinstance(module, type):
            accepted = inspect.signature(module).parameters
            inferred = {
                "n_features": getattr(self, "n_features_in_", None),
                "n_outputs": getattr(self, "n_outputs_", None),
                "in_channels": getattr(self, "n_channels_in_", None),
            }
            for name, value in inferred.items():
                if name in accepted and name not in kwargs and value is not None:
                    kwargs[name] = value
        self.module_ = self.initialized_instance(module, kwargs)
        return self

    def _autocast_device_type(self):
        if self.device is not None:
            return torch.device(self.device).type
        for param in self.module_.parameters():
            return param.device.type
        return "cpu"

    def infer(self, x, **fit_params):
        if not self.bf16_autocast:
            return super().infer(x, **fit_params)
        with torch.autocast(device_type=self._autocast_device_type(),
                            dtype=torch.bfloat16):
            out = super().infer(x, **fit_params)
        return out.float()


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
        y_arr = np.asarray(y)
        if y_arr.ndim == 2 and y_arr.shape[1] > 1 or (
            y_arr.ndim == 2 and np.issubdtype(y_arr.dtype, np.floating)
        ):
            P = y_arr.astype(np.float32)
            if np.any(P < -1e-6) or not np.allclose(P.sum(axis=1), 1.0, atol=1e-4):
                raise ValueError(
                    "DistillNetClassifier: a 2-D y must hold one probability "
                    "vector per row (non-negative, rows summing to 1); got rows "
                    f"summing to between {P.sum(axis=1).min():.4g} and "
                    f"{P.sum(axis=1).max():.4g}. Pass class labels as a 1-D y."
                )
            if keep_classes:
                classes = self.classes_
            elif self.classes is not None:
                classes = np.asarray(self.classes)
            else:
                classes = np.arange(P.shape[1])
            if len(classes) != P.shape[1]:
                raise ValueError(
                    f"DistillNetClassifier: y has {P.shape[1]} columns of "
                    f"probabilities but there are {len(classes)} classes."
                )
            return classes, P
        y_arr = y_arr.reshape(-1)
        if keep_classes:
            classes = self.classes_
        elif self.classes is not None:
            classes = np.asarray(self.classes)
        else:
            classes = np.unique(y_arr)
        classes = np.asarray(classes)
        order = np.argsort(classes, kind="stable")  # classes may be unsorted
        pos = np.clip(np.searchsorted(classes[order], y_arr), 0, len(classes) - 1)
        idx = order[pos]
        if not np.all(classes[idx] == y_arr):
            unknown = np.setdiff1d(y_arr, classes)
            raise ValueError(
                f"DistillNetClassifier: y contains labels {unknown[:5].tolist()} "
                f"that are not among classes {list(classes)}."
            )
        P = np.zeros((len(y_arr), len(classes)), dtype=np.float32)
        P[np.arange(len(y_arr)), idx] = 1.0
        return classes, P

    def fit(self, X, y, **fit_params):
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
        **fit_params : dict
            Passed to skorch's ``fit`` (the module's forward and the train
            split).

        Returns
        -------
        self : DistillNetClassifier
        """
        X = self._as_float32(X)
        keep = bool(self.warm_start and self.initialized_)
        if y is None:
            if not is_dataset(X):
                raise ValueError(
                    "DistillNetClassifier.fit needs y, or a Dataset as X that "
                    "yields (x, label) pairs."
                )
            y_fit = None
            labels = _dataset_labels(X)
            classes, _ = self._encode_targets(labels, keep_classes=keep)
        else:
            classes, y_fit = self._encode_targets(y, keep_classes=keep)
        self.classes_ = classes
        self.n_outputs_ = len(classes)
        self._infer_input_sizes(X)
        # skorch's fit calls partial_fit: the targets are encoded already.
        self._fitting_encoded = True
        try:
            return super().fit(X, y_fit, **fit_params)
        finally:
            del self._fitting_encoded

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train further without re-initialising (labels or probabilities).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...) or Dataset
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
        classes : array-like, default=None
            Used on the first call when ``classes`` was not given at
            construction.
        **fit_params : dict

        Returns
        -------
        self : DistillNetClassifier
        """
        if getattr(self, "_fitting_encoded", False):
            return super().partial_fit(X, y, **fit_params)
        X = self._as_float32(X)
        if not self.initialized_:
            if classes is not None and self.classes is None:
                self.classes = classes
            return self.fit(X, y, **fit_params)
        y_fit = None if y is None else self._encode_targets(y, True)[1]
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
        return super().predict_proba(self._as_float32(X))

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return np.asarray(self.classes_)[self.predict_proba(X).argmax(axis=1)]


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

    def fit(self, X, y, **fit_params):
        """Initialise and train.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        **fit_params : dict

        Returns
        -------
        self : DistillNetRegressor
        """
        if y is None:
            raise ValueError("DistillNetRegressor.fit needs y.")
        X = self._as_float32(X)
        self.y_ndim_ = np.ndim(y)
        Y = self._prepare_y(y)
        self.n_outputs_ = Y.shape[1]
        self._infer_input_sizes(X)
        self._fitting_encoded = True
        try:
            return super().fit(X, Y, **fit_params)
        finally:
            del self._fitting_encoded

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train further without re-initialising.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        classes : None
            Unused.
        **fit_params : dict

        Returns
        -------
        self : DistillNetRegressor
        """
        if getattr(self, "_fitting_encoded", False):
            return super().partial_fit(X, y, **fit_params)
        if not self.initialized_:
            return self.fit(X, y, **fit_params)
        return super().partial_fit(self._as_float32(X), self._prepare_y(y),
                                   **fit_params)

    def predict(self, X):
        """Predictions, float32, 1-D when ``y`` was 1-D.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        pred = super().predict_proba(self._as_float32(X))
        if getattr(self, "y_ndim_", 2) == 1:
            pred = pred.reshape(-1)
        return pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
