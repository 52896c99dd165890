"""Losses of the package's nets against probability targets, and their scoring."""

from collections.abc import Mapping

import numpy as np
import torch
from skorch.utils import to_numpy
from torch import nn

_LOSSES = ("l2", "cross_entropy")

# Losses are plain callables, not nn.Modules (except SoftNLLLoss, which skorch
# must recognise as an NLLLoss): they have no parameters, and accelerate must
# not wrap a parameterless module in DistributedDataParallel.


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


class SoftNLLLoss(nn.NLLLoss):
    r"""Negative log-likelihood of log-probabilities against probability targets.

    :math:`-\sum_i \sum_k w_k p_{ik} \log q_{ik} / \sum_i \sum_k w_k p_{ik}`
    for log-probabilities :math:`\log q` (what skorch's
    ``NeuralNetClassifier`` passes its ``NLLLoss``: the log of the module's
    probability output plus a machine epsilon) and target rows :math:`p`,
    with the class weights :math:`w` (``weight``; all ones by default). On
    one-hot rows it equals ``torch.nn.NLLLoss`` with the same weights, and it
    is the soft-target cross-entropy of the paper's cross-entropy variant. A
    1-D integer target is taken as class indices (``torch.nn.NLLLoss``).

    Parameters
    ----------
    weight : tensor of shape (n_classes,), default=None
        Class weights.
    reduction : {"mean", "sum"}, default="mean"
        ``"mean"``: divided by the summed target weights (``n_samples``
        without class weights).
    """

    def __init__(self, weight=None, reduction="mean"):
        if reduction not in ("mean", "sum"):
            raise ValueError(
                f"SoftNLLLoss: reduction must be 'mean' or 'sum'; got {reduction!r}."
            )
        super().__init__(weight=weight, reduction=reduction)

    def forward(self, input, target):
        if not torch.is_floating_point(target):
            return super().forward(input, target)
        target = target.to(dtype=input.dtype).reshape(input.shape)
        if self.weight is not None:
            target = target * self.weight.to(input.device, input.dtype)
        total = -(target * input).sum()
        if self.reduction == "sum":
            return total
        return total / target.sum()


class SquaredErrorLoss:
    """Squared error summed over outputs, averaged over samples."""

    def __call__(self, y_pred, y_true):
        diff = y_pred.float() - y_true.to(dtype=torch.float32).reshape(y_pred.shape)
        return diff.pow(2).reshape(len(diff), -1).sum(dim=1).mean()


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


