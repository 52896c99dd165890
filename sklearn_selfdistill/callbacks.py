"""skorch callbacks for self-distillation.

This module imports torch and skorch (``pip install "sklearn-selfdistill[torch]"``).
"""

from numbers import Real

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

__all__ = ["FullPassLoss", "LossThresholdStopping", "full_pass_loss"]


def _batch_losses(net, y_pred, y_true, X=None):
    """Sum over the batch of the monitored per-sample loss, and the batch size.

    Nets of :mod:`sklearn_selfdistill.nets` define ``per_sample_loss`` (l2
    summed over classes or outputs; the KL divergence to the targets for
    cross-entropy). Any other net falls back to its criterion's batch mean
    times the batch size.
    """
    n = len(y_true)
    per_sample = getattr(net, "per_sample_loss", None)
    if per_sample is not None:
        return per_sample(y_pred, y_true).double().sum(), n
    loss = net.get_loss(y_pred, y_true, X=X, training=False)
    return loss.detach().double() * n, n


@torch.no_grad()
def full_pass_loss(net, dataset):
    """Training loss of a fitted skorch net: one evaluation-mode pass over ``dataset``.

    Unlike skorch's ``train_loss`` (a running average over the training
    batches while the weights change), this is the loss of the current
    weights on every sample, with dropout and batch normalisation in
    evaluation mode, averaged over samples. For the nets of
    :mod:`sklearn_selfdistill.nets` the per-sample loss is the squared error
    summed over classes (outputs) for ``loss="l2"``, and the KL divergence
    to the targets for ``loss="cross_entropy"`` (the cross-entropy minus the
    targets' entropy, which reaches 0 exactly when the net reproduces its
    targets). Under ``skorch.hf.AccelerateMixin`` the predictions and
    targets of all processes are gathered, so every process gets the same
    value.

    Parameters
    ----------
    net : skorch.NeuralNet
        An initialised net.
    dataset : torch.utils.data.Dataset or tuple (X, y)
        The samples with their targets, as skorch's ``get_dataset`` accepts.

    Returns
    -------
    loss : float
    """
    if isinstance(dataset, tuple):
        dataset = net.get_dataset(*dataset)
    accelerator = getattr(net, "accelerator", None)
    total = None  # accumulated on the compute device: no per-batch sync
    count = 0
    for batch in net.get_iterator(dataset, training=False):
        Xi, yi = unpack_data(batch)
        y_pred = net.evaluation_step(batch, training=False)
        device = y_pred.device if torch.is_tensor(y_pred) else net.device
        # Inside a self-distillation round the batch carries the sample
        # indices: the round's targets are looked up from them (before the
        # processes' batches are gathered).
        resolve = getattr(net, "_selfdistill_targets", None)
        if resolve is not None:
            yi, Xi = resolve(yi, Xi, device), None
        yi = to_tensor(yi, device=device)
        if accelerator is not None:
            yi = accelerator.gather_for_metrics(yi)
        batch_sum, n = _batch_losses(net, y_pred, yi, X=Xi)
        total = batch_sum if total is None else total + batch_sum
        count += n
    if count == 0:
        raise ValueError("full_pass_loss got an empty dataset.")
    return float(total) / count


class FullPassLoss(Callback):
    """Record the full-pass loss of every epoch under its own history key.

    At the end of every epoch, the loss of the current weights on the whole
    training (or validation) set in evaluation mode (:func:`full_pass_loss`;
    for the package's nets the l2 loss summed over classes and averaged over
    samples, or the KL divergence to the targets with cross-entropy). skorch's
    ``train_loss`` is a running average over the training batches while the
    weights change; this callback leaves it alone and writes ``name``, as
    skorch's ``EpochScoring`` computes a score that ``EarlyStopping`` reads.

    Parameters
    ----------
    name : str, default="train_full_loss"
        History key of the value.
    on_train : bool, default=True
        ``True``: the training split; ``False``: the validation split (needs
        a ``train_split`` on the net).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_selfdistill.nets import DistillNetClassifier
    >>> from sklearn_selfdistill.callbacks import FullPassLoss
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(64, 4).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> net = DistillNetClassifier(max_epochs=3, callbacks=[FullPassLoss()])
    >>> len(net.fit(X, y).history[:, "train_full_loss"])
    3
    """

    def __init__(self, name="train_full_loss", on_train=True):
        self.name = name
        self.on_train = on_train

    def initialize(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(
                f"FullPassLoss: name must be a non-empty string; got {self.name!r}."
            )
        return self

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        dataset = dataset_train if self.on_train else dataset_valid
        if dataset is None:
            raise ValueError(
                "FullPassLoss(on_train=False) has no data to evaluate: it needs "
                "a train_split on the net; use on_train=True to evaluate the "
                "training set."
            )
        net.history.record(self.name, full_pass_loss(net, dataset))


class LossThresholdStopping(Callback):
    """Stop training at the first epoch whose monitored loss is at or below a threshold.

    The network analogue of the training-error tolerance ``epsilon`` of eq.
    (1) of Mobahi et al. (2020) and its footnote 2: an over-parameterised
    network can be trained down to a chosen training loss. The callback
    decides only: it reads ``monitor`` from the last epoch of the net's
    history, written by a :class:`FullPassLoss` placed before it (or any
    scoring callback), and stops training when the value is at or below
    ``threshold``, as skorch's ``EarlyStopping`` reads what ``EpochScoring``
    wrote. Training otherwise ends at ``max_epochs``; then ``reached_`` is
    False.

    Parameters
    ----------
    threshold : float
        Stop as soon as the monitored loss is ``<= threshold``.
    monitor : str, default="train_full_loss"
        History key to read (the default name of :class:`FullPassLoss`).

    Attributes
    ----------
    reached_ : bool
        Whether the last training run reached the threshold.
    stopped_epoch_ : int or None
        The (1-based) epoch at which the threshold was reached.
    last_loss_ : float or None
        The monitored loss of the last epoch.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_selfdistill.nets import DistillNetClassifier
    >>> from sklearn_selfdistill.callbacks import FullPassLoss, LossThresholdStopping
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(64, 4).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> stop = LossThresholdStopping(0.2)
    >>> net = DistillNetClassifier(max_epochs=200, callbacks=[FullPassLoss(), stop])
    >>> _ = net.fit(X, y)
    >>> stop.reached_, net.history[-1, "train_full_loss"] <= 0.2
    (True, True)
    >>> len(net.history) == stop.stopped_epoch_ < 200
    True
    """

    def __init__(self, threshold, monitor="train_full_loss"):
        self.threshold = threshold
        self.monitor = monitor

    def initialize(self):
        if (
            isinstance(self.threshold, bool)
            or not isinstance(self.threshold, Real)
            or not np.isfinite(self.threshold)
        ):
            raise ValueError(
                "LossThresholdStopping: threshold must be a finite real number; "
                f"got {self.threshold!r}."
            )
        if not isinstance(self.monitor, str) or not self.monitor:
            raise ValueError(
                "LossThresholdStopping: monitor must be a history key (str), "
                f"e.g. 'train_full_loss'; got {self.monitor!r}."
            )
        self.reached_ = False
        self.stopped_epoch_ = None
        self.last_loss_ = None
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.reached_ = False
        self.stopped_epoch_ = None
        self.last_loss_ = None

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        try:
            loss = float(net.history[-1, self.monitor])
        except KeyError:
            raise ValueError(
                f"LossThresholdStopping(monitor={self.monitor!r}) found no "
                f"{self.monitor!r} in the history of this epoch: put a "
                f"FullPassLoss(name={self.monitor!r}) callback before it."
            ) from None
        self.last_loss_ = loss
        if loss <= self.threshold:
            self.reached_ = True
            self.stopped_epoch_ = len(net.history)
            # skorch ends fit_loop cleanly on KeyboardInterrupt.
            raise KeyboardInterrupt


class _LoadTeacherWeights(Callback):
    """Start training from given weights (a teacher's), then drop them."""

    def __init__(self, state_dict):
        self.state_dict = state_dict

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        if self.state_dict is None:
            return
        module = net.module_
        accelerator = getattr(net, "accelerator", None)
        if accelerator is not None:
            module = accelerator.unwrap_model(module)
        module.load_state_dict(self.state_dict)
        self.state_dict = None  # no second copy of the weights after fit
