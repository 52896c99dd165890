"""Self-distillation rounds of a skorch net: copies, seeding, teachers, soft targets.

Each round trains a copy of the user's net through skorch's own ``fit``. For
that one call the copy's class is a subclass of the user's that (1) strips
the sample index the wrapper adds to every training sample before the
module sees the batch and (2) replaces ``y_true`` in ``get_loss`` by that
round's targets: the labels (round 0), the teacher's predictions looked up
by index (``teacher_targets="fixed"``), or the frozen teacher's output on the
very batch (``"online"``). skorch sees the original labels as ``y``, so a
stratified ``ValidSplit`` stratifies on them and ``EpochScoring("accuracy")``
scores against them. After ``fit`` the copy gets its own class back, so the
fitted rounds are plain nets of the user's class (picklable, no teacher
attached).
"""

import contextlib
import copy
import inspect
import threading
import warnings
from collections.abc import Mapping

import numpy as np
import torch
from sklearn.base import clone, is_classifier
from sklearn.exceptions import ConvergenceWarning
from skorch.classifier import NeuralNetBinaryClassifier
from skorch.dataset import ValidSplit
from torch.utils.data import Dataset as TorchDataset

from ._losses import SoftNLLLoss
from .callbacks import FullPassLoss, LossThresholdStopping, _LoadTeacherWeights

_X_KEY = "selfdistill_x"
_IDX_KEY = "selfdistill_index"

# torch has one global generator per device: seeded rounds hold this lock
# while they train so that a seed set in one thread is not drawn from by
# another (see SkorchRounds.seed_scope).
_RNG_LOCK = threading.RLock()

# Criteria that accept probability (or real) targets as they are.
_SOFT_OK = (torch.nn.CrossEntropyLoss, torch.nn.BCEWithLogitsLoss, torch.nn.BCELoss,
            torch.nn.MSELoss, torch.nn.L1Loss, torch.nn.SmoothL1Loss,
            torch.nn.HuberLoss, torch.nn.KLDivLoss)


def _silent(*args, **kwargs):
    """A print that prints nothing."""


def copy_net(net):
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


def _reset_parameters(module):
    """Fresh random initialisation of every submodule that knows how."""
    for sub in module.modules():
        reset = getattr(sub, "reset_parameters", None)
        if callable(reset):
            reset()


class _IndexedDataset(TorchDataset):
    """``(x, y)`` samples of a dataset as ``({x, index}, y)``."""

    def __init__(self, base):
        self.base = base
        first = base[0][0] if len(base) else None
        shape = getattr(first, "shape", None)
        self.sample_shape = None if shape is None else tuple(shape)

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        x, y = self.base[i]
        return {_X_KEY: x, _IDX_KEY: i}, y


class _IndexedArrays(TorchDataset):
    """Rows of arrays ``X`` and ``y`` as ``({x, index}, y)``: one lookup per sample."""

    def __init__(self, X, y):
        # Tensors sharing the arrays' memory: the loader stacks rows of
        # tensors faster than it converts rows of arrays.
        self.X, self.y = torch.as_tensor(X), torch.as_tensor(y)
        self.sample_shape = tuple(X.shape[1:])

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return {_X_KEY: self.X[i], _IDX_KEY: i}, self.y[i]


def _is_indexed(X):
    return isinstance(X, Mapping) and _IDX_KEY in X


class _RoundTargets:
    """The targets of one round's training batches, found by sample index."""

    def __init__(self, Y0, fixed, teacher, weight, kind, labels=None):
        self.Y0 = torch.as_tensor(Y0, dtype=torch.float32)
        # Round 0 of a multiclass net: the class indices themselves, so that
        # it trains exactly as skorch alone does on the labels.
        self.labels = None if labels is None else torch.as_tensor(labels).long()
        self.fixed = None if fixed is None else torch.as_tensor(
            fixed, dtype=torch.float32)
        self.teacher = teacher
        self.weight = float(weight)
        self.kind = kind

    @torch.no_grad()
    def __call__(self, X, device):
        idx = torch.as_tensor(X[_IDX_KEY]).long().cpu()
        if self.teacher is not None:
            out = self.teacher.infer(X[_X_KEY])
            out = out[0] if isinstance(out, tuple) else out
            out = self.teacher._get_predict_nonlinearity()(out)
            T = out.float().reshape(len(idx), -1).to(device)
            if self.weight:
                T = self.weight * self.Y0[idx].to(device) + (1 - self.weight) * T
        elif self.fixed is not None:
            T = self.fixed[idx].to(device)
        elif self.labels is not None:
            return self.labels[idx].to(device)
        else:
            T = self.Y0[idx].to(device)
        return T[:, 1] if self.kind == "binary" else T


class _StudentMixin:
    """Trains a skorch net on the round's targets (see the module docstring)."""

    def infer(self, x, **fit_params):
        if _is_indexed(x):
            x = x[_X_KEY]
        return super().infer(x, **fit_params)

    def _selfdistill_targets(self, y_true, X, device):
        if not _is_indexed(X):
            return y_true
        return self.selfdistill_targets_(X, device)

    def __reduce_ex__(self, protocol):
        # Pickled during training (e.g. skorch's Checkpoint with f_pickle):
        # as the user's class, without the round's targets and teacher.
        state = {k: v for k, v in self.__getstate__().items()
                 if k != "selfdistill_targets_"}
        return (_new_instance, (type(self).__mro__[2],), state)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if _is_indexed(X):
            main = y_pred[0] if isinstance(y_pred, tuple) else y_pred
            y_true = self.selfdistill_targets_(X, main.device)
        return super().get_loss(y_pred, y_true, X=X, training=training)


def _new_instance(cls):
    return cls.__new__(cls)


_STUDENT_CLASSES = {}


def _student_class(cls):
    if cls not in _STUDENT_CLASSES:
        _STUDENT_CLASSES[cls] = type(cls.__name__, (_StudentMixin, cls),
                                     {"__module__": cls.__module__})
    return _STUDENT_CLASSES[cls]


class _LabelSplit:
    """The user's ``train_split`` called with the original labels as ``y``."""

    def __init__(self, split, labels):
        self.split = split
        self.labels = labels

    def __call__(self, dataset, y=None, **kwargs):
        return self.split(dataset, self.labels, **kwargs)


class _IndexedCollate:
    """A user's ``collate_fn`` on ``(x, y)`` samples, the indices collated apart."""

    def __init__(self, collate_fn):
        self.collate_fn = collate_fn

    def __call__(self, samples):
        if not samples or not _is_indexed(samples[0][0]):
            return self.collate_fn(samples)
        idx = torch.as_tensor([x[_IDX_KEY] for x, _ in samples])
        Xb, yb = self.collate_fn([(x[_X_KEY], y) for x, y in samples])
        return {_X_KEY: Xb, _IDX_KEY: idx}, yb


class SkorchRounds:
    """Round strategy of :class:`SelfDistillationWrapper` for skorch nets."""

    skorch = True

    def __init__(self, wrapper, estimator):
        self.wrapper = wrapper
        self.estimator = estimator
        self.classifier = is_classifier(estimator)
        if isinstance(estimator, NeuralNetBinaryClassifier):
            self.kind = "binary"
        elif self.classifier:
            self.kind = "proba"
        else:
            self.kind = "regression"
        self._warned_thread = False

    # ------------------------------------------------------------- checks

    def check(self, n_outputs):
        """Validate the estimator before any round trains."""
        if self.kind == "binary" and n_outputs != 2:
            raise ValueError(
                f"{type(self.estimator).__name__} is a binary classifier; y has "
                f"{n_outputs} classes. Use a NeuralNetClassifier for more classes."
            )
        net = copy_net(self.estimator)
        net.set_params(**self._criterion_updates(net))
        self._probe_criterion(net, n_outputs)

    def _criterion_updates(self, net):
        crit = net.criterion
        cls = crit if isinstance(crit, type) else type(crit)
        name = getattr(cls, "__name__", repr(crit))
        params = net.get_params_for("criterion")
        if not isinstance(crit, type):
            params = {k: getattr(crit, k) for k in ("weight", "ignore_index",
                                                    "reduction")
                      if hasattr(crit, k)} | params
        ignore = params.get("ignore_index", -100)
        if ignore != -100:
            raise ValueError(
                f"The criterion {name} has ignore_index={ignore}, which applies to "
                "class-index targets only; self-distillation trains on "
                "probabilities. Mark unlabelled samples by leaving them out of "
                "X, and drop criterion__ignore_index."
            )
        if params.get("reduction", "mean") not in ("mean", "sum"):
            raise ValueError(
                f"The criterion {name} has reduction={params['reduction']!r}; "
                "skorch needs a scalar loss: use 'mean' (or 'sum')."
            )
        if self.kind == "proba" and issubclass(cls, torch.nn.NLLLoss) \
                and not issubclass(cls, SoftNLLLoss):
            # torch's NLLLoss takes class indices only: its soft-target form.
            updates = {"criterion": SoftNLLLoss}
            if not isinstance(crit, type) and getattr(crit, "weight", None) is not None:
                updates["criterion__weight"] = crit.weight
            updates.update({f"criterion__{k}": v for k, v in params.items()
                            if k in ("weight", "reduction")})
            return updates
        return {}

    def _probe_criterion(self, net, n_outputs):
        """Call the criterion on two rows of probability targets."""
        crit = net.criterion
        name = getattr(crit if isinstance(crit, type) else type(crit), "__name__",
                       repr(crit))
        gen = torch.Generator().manual_seed(0)
        if self.kind == "regression":
            out = torch.randn(2, n_outputs, generator=gen)
            target = torch.randn(2, n_outputs, generator=gen)
        elif self.kind == "binary":
            out = torch.randn(2, generator=gen)
            target = torch.tensor([0.3, 0.8])
        else:
            out = torch.log_softmax(torch.randn(2, n_outputs, generator=gen), 1)
            target = torch.softmax(torch.randn(2, n_outputs, generator=gen), 1)
        try:
            kwargs = net.get_params_for("criterion")
            if isinstance(crit, type) and hasattr(net, "loss") and "loss" in \
                    inspect.signature(crit).parameters:
                kwargs.setdefault("loss", net.loss)
            criterion = net.initialized_instance(crit, kwargs)
            loss = criterion(out, target)
            if not (torch.is_tensor(loss) and loss.numel() == 1
                    and torch.isfinite(loss)):
                raise ValueError(f"it returned {loss!r}, not a finite scalar")
        except Exception as exc:
            raise TypeError(
                f"The criterion {name} of {type(self.estimator).__name__} cannot "
                f"take probability targets of shape {tuple(target.shape)} ({exc}). "
                "Self-distillation trains every round after the first on a "
                "teacher's probabilities: use torch.nn.CrossEntropyLoss (module "
                "output: logits) or NLLLoss (output: probabilities; trained as "
                "the soft-target NLL), BCEWithLogitsLoss for a binary net, "
                "MSELoss for a regressor, or "
                "sklearn_selfdistill.nets.DistillNetClassifier."
            ) from exc

    # ------------------------------------------------------------ seeding

    @contextlib.contextmanager
    def seed_scope(self, model, seed):
        """Train under ``seed`` without leaving a trace on torch's generators.

        torch's module initialisation, dropout and DataLoader shuffling draw
        from a global generator per device; the round runs inside
        ``torch.random.fork_rng`` seeded with ``seed`` (the global state is
        restored afterwards) and, seeded, holds a lock so that rounds in
        other threads do not draw from the same generator meanwhile: seeded
        skorch rounds in threads train one at a time.
        """
        if seed is None:
            yield
            return
        if threading.current_thread() is not threading.main_thread() \
                and not self._warned_thread:
            self._warned_thread = True
            warnings.warn(
                "SelfDistillationWrapper with a random_state trains skorch rounds "
                "one at a time across threads: torch draws initialisations, "
                "dropout masks and shuffles from one global generator, so "
                "parallel seeded rounds in threads would not be reproducible. "
                "For parallel and reproducible fits use a process-based joblib "
                "backend (loky, the default of n_jobs), or random_state=None.",
                UserWarning,
            )
        device = getattr(model, "device", None)
        cuda = device is not None and torch.device(device).type == "cuda"
        devices = list(range(torch.cuda.device_count())) if cuda else []
        with _RNG_LOCK, torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield

    # --------------------------------------------------------- one round

    def training_data(self, X, y_skorch):
        """The dataset the rounds train on: samples with their index."""
        if isinstance(X, TorchDataset):
            return _IndexedDataset(X)
        return _IndexedArrays(X, y_skorch)

    def fit_round(self, data, t, fixed, teacher, seed, fit_params):
        """Train round ``t``; return the net, its record and training outputs."""
        w = self.wrapper
        model = copy_net(self.estimator)
        est = self.estimator
        if getattr(est, "history_", None) is not None and not getattr(
                est, "initialized_", False):
            # A history passed at construction (e.g. skorch's DistributedHistory).
            model.history_ = est.history_
        updates = {"verbose": 1 if w.verbose >= 2 else 0}
        updates.update(self._criterion_updates(model))
        if self.kind == "proba" and "classes" in model.get_params(deep=False):
            # The wrapper encodes the labels: the net sees classes 0..C-1.
            updates["classes"] = np.arange(data.n_outputs)
        if w.verbose < 2 and "callbacks__print_log__sink" in vars(model):
            # skorch's PrintLog prints whatever the verbosity when its sink is
            # not print (AccelerateMixin sets accelerator.print).
            updates["callbacks__print_log__sink"] = _silent
        user_split = split = getattr(model, "train_split", None)
        if split is not None:
            if seed is not None and isinstance(split, ValidSplit) \
                    and split.random_state is None and isinstance(split.cv, float):
                split = ValidSplit(split.cv, stratified=split.stratified,
                                   random_state=seed)
            if data.labels is not None:
                split = _LabelSplit(split, data.labels)
            updates["train_split"] = split
        user_collate = {}
        for prefix in ("iterator_train", "iterator_valid"):
            collate = model.get_params_for(prefix).get("collate_fn")
            if collate is not None:
                user_collate[f"{prefix}__collate_fn"] = collate
                updates[f"{prefix}__collate_fn"] = _IndexedCollate(collate)
        extra, stopper = [], None
        if w.epsilon is not None:
            stopper = LossThresholdStopping(w.epsilon)
            extra += [("selfdistill_full_loss", FullPassLoss()),
                      ("selfdistill_loss_threshold", stopper)]
        if w.student_init == "teacher" and teacher is not None:
            state = {k: v.detach().clone()
                     for k, v in teacher.module_.state_dict().items()}
            extra.append(("selfdistill_teacher_init", _LoadTeacherWeights(state)))
        if extra:
            current = model.callbacks
            base = [] if current in (None, "disable") else list(current)
            updates["callbacks"] = base + extra
        model.set_params(**updates)

        online = t > 0 and w.teacher_targets == "online"
        if online:
            teacher.module_.eval()
        model.selfdistill_targets_ = _RoundTargets(
            data.Y0, None if online else fixed, teacher if online else None,
            w.ground_truth_weight, self.kind,
            data.labels if t == 0 and self.kind == "proba" else None)
        user_class = type(model)
        with self.seed_scope(model, seed):
            if w.student_init == "random" and isinstance(model.module,
                                                         torch.nn.Module):
                # A module given as an instance: the copy has its weights;
                # re-draw them for a fresh random start.
                _reset_parameters(model.module)
            model.__class__ = _student_class(user_class)
            try:
                model.fit(data.train, data.y_skorch, **fit_params)
            finally:
                model.__class__ = user_class
                del model.selfdistill_targets_
                model.train_split = user_split
                for name, collate in user_collate.items():
                    setattr(model, name, collate)
            # (torch's DataLoader draws a seed from the generator even when
            # it does not shuffle.)
            outputs = self.outputs(model, data.X)
        record = {"epochs": len(model.history)}
        for key in ("valid_acc", "valid_loss"):
            if model.history and key in model.history[-1]:
                record[key] = float(model.history[-1, key])
        if stopper is not None:
            record["reached_epsilon"] = bool(stopper.reached_)
            if not stopper.reached_:
                warnings.warn(
                    f"Round {t}: the training loss {stopper.last_loss_:.6g} is above "
                    f"epsilon={w.epsilon} after max_epochs={model.max_epochs} "
                    "epochs; raise estimator__max_epochs or epsilon.",
                    ConvergenceWarning,
                )
        return model, record, outputs

    @staticmethod
    def outputs(model, X):
        """Outputs of a fitted net: one batch-wise evaluation pass on its device.

        Class probabilities (``(n, n_classes)``; ``(n, 2)`` for a binary net)
        or regression outputs, float64 on the CPU. Arrays go to skorch's
        ``evaluation_step`` in slices of the validation batch size (no
        per-sample loading); a Dataset, or any input of a net with an
        ``accelerator`` (whose loaders shard the data), through skorch's
        ``forward``.
        """
        nonlinearity = model._get_predict_nonlinearity()
        with torch.no_grad():
            if isinstance(X, TorchDataset) or getattr(model, "accelerator",
                                                      None) is not None:
                out = nonlinearity(model.forward(X, training=False,
                                                 device=model.device))
                return out.to("cpu", torch.float64).numpy().reshape(len(out), -1)
            size = model.get_params_for("iterator_valid").get(
                "batch_size", model.batch_size)
            size = len(X) if size in (None, -1) else int(size)
            chunks = []
            for start in range(0, len(X), size):
                out = model.evaluation_step((torch.as_tensor(X[start:start + size]),
                                             None), training=False)
                out = out[0] if isinstance(out, tuple) else out
                chunks.append(nonlinearity(out).to("cpu", torch.float64))
            out = torch.cat(chunks)
            return out.numpy().reshape(len(out), -1)

    def round_loss(self, model, outputs, targets):
        """Training loss of a round against its targets (``history_``).

        The l2 loss summed over classes for a :class:`DistillNetClassifier`
        with ``loss="l2"``, the KL divergence for other classifiers (their
        losses are cross-entropies), the squared error summed over outputs
        for regressors.
        """
        from ._rounds import _kl_rows

        if self.classifier and getattr(model, "loss", None) != "l2":
            return _kl_rows(targets, outputs)
        return float(((outputs - targets) ** 2).sum(axis=1).mean())

    def proba(self, model, X):
        """Class probabilities of a fitted round, columns 0..C-1."""
        return np.asarray(model.predict_proba(X), dtype=np.float64)

    def predict(self, model, X):
        """Regression outputs of a fitted round, 2-D."""
        out = np.asarray(model.predict(X), dtype=np.float64)
        return out.reshape(len(out), -1)
