"""Plumbing shared by the package's skorch nets.

Array inputs are validated as scikit-learn estimators validate theirs (a
``Dataset`` or a dict of inputs passes through untouched), a fit that raises
leaves the net unfitted, and ``sample_weight`` weights each sample's loss: the
training samples carry their weight in the batch (a dict key removed before
the module sees the inputs), and ``get_loss`` weights the criterion's
per-sample losses.
"""

import contextlib
import inspect
from collections.abc import Mapping

import numpy as np
import torch
from scipy import sparse
from sklearn.utils import check_array, check_consistent_length
from sklearn.utils.multiclass import check_classification_targets
from skorch.dataset import Dataset as _SkorchDataset
from skorch.utils import is_dataset, to_tensor
from torch.utils.data import Dataset as _TorchDataset

from ._doc_link import DocLinkMixin
from ._losses import SoftTargetLoss, SquaredErrorLoss, _soft_target_losses

_W_KEY = "selfdistill_sample_weight"
_WX_KEY = "selfdistill_weighted_x"
# Attributes of a net that was never fitted (skorch's __init__ sets them).
_UNFITTED = ("history_", "virtual_params_", "initialized_")
# Attributes that a fit sets.
_FITTED = ("callbacks_", "prefixes_", "cuda_dependent_attributes_",
           "init_context_", "classes_", "n_outputs_", "n_features_in_",
           "n_channels_in_", "y_ndim_")
# Targets whose squared error overflows float32, the precision nets train in.
_MAX_TARGET = float(np.sqrt(np.finfo(np.float32).max))


class _WeightedSamples(_TorchDataset):
    """Samples of a dataset with their weight added to the inputs."""

    def __init__(self, base, weights):
        self.base = base
        self.weights = torch.as_tensor(weights, dtype=torch.float32)
        self.sample_shape = getattr(base, "sample_shape", None)

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        x, y = self.base[i]
        if isinstance(x, Mapping):
            return {**x, _W_KEY: self.weights[i]}, y
        return {_WX_KEY: x, _W_KEY: self.weights[i]}, y


def _check_real(a, name, net):
    if np.iscomplexobj(a):
        raise ValueError(
            f"{name} contains complex values; {type(net).__name__} takes real "
            f"numbers: pass the real part ({name}.real) or the modulus, as fits "
            "the problem."
        )


def _finite_float32(X, name, net, **kwargs):
    """``X`` as a finite float32 array, with the errors of scikit-learn's checks."""
    _check_real(X, name, net)
    try:
        X = check_array(X, dtype=(np.float32, np.float64), input_name=name,
                        estimator=net, **kwargs)
    except ValueError as exc:
        if "infinity" not in str(exc):
            raise
        raise ValueError(
            f"{exc} {type(net).__name__} needs finite inputs: replace or drop "
            "the infinite values."
        ) from exc
    big = float(np.abs(X).max()) if X.size else 0.0
    if big > float(np.finfo(np.float32).max):
        raise ValueError(
            f"{name} has values up to {big:.3g} in magnitude, beyond float32's "
            f"range ({np.finfo(np.float32).max:.3g}) in which the net computes: "
            "rescale it (e.g. sklearn.preprocessing.StandardScaler)."
        )
    return X.astype(np.float32, copy=False)


def _strip_weights(x):
    if isinstance(x, Mapping) and _W_KEY in x:
        if _WX_KEY in x:
            return x[_WX_KEY]
        return {k: v for k, v in x.items() if k != _W_KEY}
    return x


def _probability_targets(net, y, keep_classes):
    """Classes and probability matrix (float32) of a DistillNetClassifier's
    labels or probabilities."""
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
            classes = net.classes_
        elif net.classes is not None:
            classes = np.asarray(net.classes)
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
        classes = net.classes_
    elif net.classes is not None:
        classes = np.asarray(net.classes)
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


class _DistillNetMixin(DocLinkMixin):
    """Shared plumbing: validation, sample weights, module sizes, bf16 autocast,
    and the HTML representation's link to the API page."""

    # ------------------------------------------------------------ validation

    def _check_X(self, X, *, reset):
        """Array inputs as float32, checked; a Dataset or dict untouched."""
        if is_dataset(X) or isinstance(X, Mapping):
            return X
        name = type(self).__name__
        if sparse.issparse(X):
            raise TypeError(
                f"{name} takes dense inputs, but X is a sparse "
                f"{type(X).__name__}: convert it with X.toarray(), or pass a "
                "Dataset that densifies each sample."
            )
        if torch.is_tensor(X):
            if X.ndim < 2 or len(X) == 0:
                raise ValueError(
                    f"{name}: X must have shape (n_samples, n_features, ...) with "
                    f"at least one sample; got a tensor of shape {tuple(X.shape)}."
                )
            if X.is_floating_point() and not bool(torch.isfinite(X).all()):
                raise ValueError(
                    f"Input X contains NaN or infinity; {name} needs finite "
                    "inputs: impute or drop them (e.g. sklearn.impute."
                    "SimpleImputer)."
                )
            n_features = int(np.prod(tuple(X.shape[1:])))
        else:
            X = _finite_float32(X, "X", self, allow_nd=True)
            n_features = int(np.prod(X.shape[1:]))
        expected = getattr(self, "n_features_in_", None)
        if not reset and expected is not None and n_features != expected:
            raise ValueError(
                f"X has {n_features} features, but {name} is expecting "
                f"{expected} features as input (the number of values per "
                "sample it was fitted on); pass inputs of the training shape."
            )
        return X

    def _check_regression_y(self, y, X):
        if y is None:
            raise ValueError(
                f"{type(self).__name__}.fit needs y, the regression targets of "
                "shape (n_samples,) or (n_samples, n_outputs)."
            )
        _check_real(y, "y", self)
        if np.ndim(y) > 2:
            raise ValueError(
                f"y must have shape (n_samples,) or (n_samples, n_outputs); got "
                f"{np.shape(y)}: reshape it to one row of outputs per sample."
            )
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y",
                        estimator=self)
        self._check_length(X, y)
        big = float(np.abs(y).max()) if y.size else 0.0
        if big > _MAX_TARGET:
            raise ValueError(
                f"y has values up to {big:.3g} in magnitude; the net trains in "
                f"float32, where squared errors beyond {_MAX_TARGET:.3g} overflow. "
                "Rescale y, e.g. TransformedTargetRegressor(regressor=net, "
                "transformer=StandardScaler())."
            )
        return y

    def _check_class_y(self, y, X):
        _check_real(y, "y", self)
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y",
                        estimator=self)
        self._check_length(X, y)
        probabilities = y.ndim == 2 and (
            y.shape[1] > 1 or np.issubdtype(y.dtype, np.floating))
        if not probabilities:
            try:
                check_classification_targets(y)
            except ValueError as exc:
                raise ValueError(
                    f"{type(self).__name__}: y must hold class labels (integers "
                    f"or strings) or an (n_samples, n_classes) matrix of "
                    f"probabilities ({exc}) For real-valued targets use "
                    "DistillNetRegressor."
                ) from exc
        return y

    @staticmethod
    def _check_length(X, y):
        if is_dataset(X):
            if len(y) != len(X):
                raise ValueError(
                    f"y has {len(y)} samples for a Dataset X of {len(X)}; pass "
                    "one target per sample."
                )
        elif not isinstance(X, Mapping):
            check_consistent_length(X, y)

    @contextlib.contextmanager
    def _unfitted_on_error(self):
        """A fit that raises leaves the net unfitted (kept as it was when
        ``warm_start`` continues an initialised net)."""
        keep = bool(self.warm_start and getattr(self, "initialized_", False))
        before = set(vars(self))
        try:
            yield
        except BaseException:
            if not keep:
                fitted = set(_FITTED) | {
                    f"{name}_" for name in (*getattr(self, "_modules", ()),
                                            *getattr(self, "_criteria", ()),
                                            *getattr(self, "_optimizers", ()))}
                state = vars(self)
                for name in list(state):
                    if name.endswith("_") and not name.startswith("__") \
                            and name not in _UNFITTED \
                            and (name not in before or name in fitted):
                        # Around skorch's __delattr__, whose bookkeeping would
                        # also unregister the modules from the net.
                        del state[name]
                self.initialized_ = False
            raise

    # -------------------------------------------------------- sample weights

    def _with_weights(self, X, y, sample_weight):
        """``(X, y)`` for skorch; with weights, a dataset of weighted samples."""
        if sample_weight is None:
            return X, y
        n = len(X) if not isinstance(X, Mapping) else len(next(iter(X.values())))
        w = check_array(sample_weight, ensure_2d=False, dtype=np.float64,
                        input_name="sample_weight", estimator=self)
        if w.shape != (n,):
            raise ValueError(
                f"sample_weight must have shape ({n},), one weight per sample; "
                f"got {w.shape}."
            )
        if np.any(w < 0) or not w.sum() > 0:
            raise ValueError(
                "sample_weight must be non-negative with a positive sum; got "
                f"values in [{w.min():.3g}, {w.max():.3g}]."
            )
        # Each batch's loss is mean_i(w_i l_i) / mean(w) over the training set:
        # the weighted mean loss for a full batch, unchanged by a common factor.
        self._weight_mean = float(w.mean())
        base = X if is_dataset(X) else _SkorchDataset(X, y)
        return _WeightedSamples(base, w), y

    def _per_sample_loss(self, y_pred, y_true):
        crit = self.criterion_
        if isinstance(crit, SoftTargetLoss):
            return _soft_target_losses(y_pred, y_true, crit.loss)
        if isinstance(crit, SquaredErrorLoss):
            diff = y_pred.float() - y_true.to(torch.float32).reshape(y_pred.shape)
            return diff.pow(2).reshape(len(diff), -1).sum(dim=1)
        if isinstance(crit, torch.nn.Module) and getattr(crit, "reduction",
                                                         None) == "mean":
            try:
                crit.reduction = "none"
                losses = crit(y_pred, y_true)
            finally:
                crit.reduction = "mean"
            if losses.ndim >= 1 and len(losses) == len(y_pred):
                return losses.reshape(len(losses), -1).float().mean(dim=1)
        raise TypeError(
            f"sample_weight needs the loss of each sample, which criterion "
            f"{type(crit).__name__} does not give; use the net's default "
            "criterion, or a torch loss with reduction='mean' whose "
            "reduction='none' gives one loss per sample."
        )

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if not (isinstance(X, Mapping) and _W_KEY in X):
            return super().get_loss(y_pred, y_true, X=X, training=training)
        main = y_pred[0] if isinstance(y_pred, tuple) else y_pred
        y_true = to_tensor(y_true, device=main.device)
        w = torch.as_tensor(X[_W_KEY]).to(main.device, torch.float32)
        losses = self._per_sample_loss(main, y_true)
        return (w * losses).mean() / self._weight_mean

    # ---------------------------------------------------------------- module

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
        x = _strip_weights(x)
        if not self.bf16_autocast:
            return super().infer(x, **fit_params)
        with torch.autocast(device_type=self._autocast_device_type(),
                            dtype=torch.bfloat16):
            out = super().infer(x, **fit_params)
        return out.float()
