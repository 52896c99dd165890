"""Datasets of (x, label) pairs: labels and flattened inputs read once."""

import numpy as np
import torch
from skorch.utils import to_numpy


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
