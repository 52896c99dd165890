"""Target coding of the kernel estimators, written once.

The spectra and the core see a 2-D float array of targets, one column per
output. :class:`RegressionCoding` centres and scales ``y`` with
``normalize_y``; :class:`LabelCoding` codes class labels one-vs-all as -1/+1
(one column for two classes). Each also turns coded predictions back into
what a user or a scorer expects and measures squared errors in the user's
units. A coding holds no data, only the mean and scale or the classes.
"""

import numpy as np
from sklearn.preprocessing import label_binarize
from sklearn.utils.multiclass import unique_labels

from ._dask import computed, encode_blocks, is_dask_array
from ._scoring import PrecomputedResponse

__all__ = ["LabelCoding", "RegressionCoding"]


class RegressionCoding:
    """``(y - mean) / std`` per output; the identity without ``normalize_y``."""

    output_names = None

    def __init__(self, mean, std, single_output):
        self.mean = mean
        self.std = std
        self.single_output = single_output

    @classmethod
    def fit(cls, y, normalize_y):
        """The coding of ``y`` (1-D or 2-D float array)."""
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if normalize_y:
            mean = Y.mean(axis=0)
            std = Y.std(axis=0)
            std = np.where(std > 0, std, 1.0)
            mean, std = computed(mean, std)
        else:
            mean = np.zeros(Y.shape[1])
            std = np.ones(Y.shape[1])
        return cls(mean, std, y.ndim == 1)

    @property
    def scale(self):
        """Factor from coded to user units of each output."""
        return self.std

    def encode(self, y):
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        return (Y - self.mean) / self.std

    def squeeze(self, a):
        """Drop the output axis of a per-output array for a 1-D ``y``."""
        return a[..., 0] if self.single_output else a

    def decode(self, P):
        """Predictions in the units of ``y`` from coded ones (n, Q)."""
        return self.squeeze(P * self.std + self.mean)

    def squared_error(self, P, Y_true):
        """Mean squared error in the units of ``y`` of each round of (T, n, Q)."""
        # Weight each output by its variance.
        R = (P - Y_true[None]) * self.std
        return np.einsum("tiq,tiq->t", R, R) / (R.shape[1] * R.shape[2])

    def response(self, P):
        """A scorer-ready regressor answering with the decoded ``P``."""
        return PrecomputedResponse(predictions=self.decode(P))


class LabelCoding:
    """One-vs-all -1/+1 coding of ``classes`` (one column, ``classes[1]``, if two)."""

    def __init__(self, classes):
        self.classes = classes
        self.single_output = classes.shape[0] == 2

    @classmethod
    def fit(cls, y):
        return cls(unique_labels(y))

    @property
    def scale(self):
        return np.ones(1 if self.single_output else self.classes.shape[0])

    @property
    def output_names(self):
        if self.single_output:
            return None
        # Python scalars print as 'a' or 3, not np.str_('a').
        return [
            f"class {c.item() if isinstance(c, np.generic) else c!r}"
            for c in self.classes
        ]

    def encode(self, y):
        if is_dask_array(y):
            return encode_blocks(self.encode, y, self.scale.shape[0])
        # With the classes given, a subset of the data (a fold) is coded with
        # the same columns as the whole.
        return label_binarize(
            y, classes=self.classes, neg_label=-1, pos_label=1
        ).astype(np.float64)

    def squeeze(self, a):
        return a[..., 0] if self.single_output else a

    def labels(self, scores):
        """Class of largest score (sign of the one score for two classes)."""
        if scores.ndim == 1:
            return self.classes[(scores > 0).astype(int)]
        return self.classes[np.argmax(scores, axis=1)]

    def squared_error(self, P, Y_true):
        R = P - Y_true[None]
        return np.einsum("tiq,tiq->t", R, R) / (R.shape[1] * R.shape[2])

    def response(self, P):
        scores = self.squeeze(P)
        return PrecomputedResponse(
            predictions=self.labels(scores), scores=scores, classes=self.classes,
            estimator_type="classifier",
        )
