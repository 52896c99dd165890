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
from sklearn.utils.validation import _check_sample_weight

from ._dask import encode_blocks, is_dask_array, unique_labels_of
from ._scoring import PrecomputedResponse

__all__ = ["LabelCoding", "RegressionCoding", "WeightedRows",
           "check_weighted_classes", "row_scales", "weighted_mse"]


class WeightedRows:
    """The rows of a weighted fit: zero weights dropped before anything else.

    ``keep`` marks the rows of positive weight, ``sample_weight`` holds their
    weights (``None`` without weights: every row kept, unweighted), and
    :meth:`select` takes those rows of ``X`` (rows and columns of a
    precomputed Gram matrix) and ``y``.
    """

    def __init__(self, sample_weight, X, *, precomputed=False):
        self.precomputed = precomputed
        self.n_samples = X.shape[0]
        if sample_weight is None:
            self.keep = None
            self.sample_weight = None
            return
        w = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        if not np.any(w > 0):
            raise ValueError(
                "sample_weight must have at least one positive weight; got "
                "only zeros. Zero-weight rows are dropped from the fit."
            )
        keep = w > 0
        self.keep = None if keep.all() else keep
        self.sample_weight = w[keep]

    def select(self, X, y):
        """``X`` and ``y`` without the zero-weight rows."""
        if self.keep is None:
            return X, y
        if self.precomputed:
            return X[np.ix_(self.keep, self.keep)], y[self.keep]
        return X[self.keep], y[self.keep]

    def weights_of_all_rows(self):
        """Weights over every row, zero where dropped (splits index all rows)."""
        full = np.zeros(self.n_samples)
        full[self.keep] = 1.0 if self.sample_weight is None else self.sample_weight
        return full

    def expand(self, dual):
        """Dual coefficients (T, n_kept, Q) on all rows of a precomputed Gram.

        A precomputed kernel's prediction input has a column per training
        row, so the dropped rows get coefficient 0; otherwise unchanged.
        """
        if self.keep is None or not self.precomputed:
            return dual
        full = np.zeros((dual.shape[0], self.n_samples) + dual.shape[2:])
        full[:, self.keep] = dual
        return full


def check_weighted_classes(y):
    """Raise unless the rows kept by their positive weights hold two classes."""
    classes = np.unique(unique_labels_of(y))
    if classes.shape[0] < 2:
        label = classes[0].item() if isinstance(classes[0], np.generic) else classes[0]
        raise ValueError(
            f"The rows of positive sample_weight hold one class only, {label!r}; "
            "the classifier needs at least two classes with positive weight."
        )


def row_scales(sample_weight):
    """``s = sqrt(K w / sum(w))``, or ``None`` when every weight is equal.

    Equal weights give the unweighted problem exactly (no rounding of ``s``).
    """
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.size == 0 or np.all(w == w[0]):
        return None
    return np.sqrt(w * (w.shape[0] / w.sum()))


def weighted_mse(R, sample_weight):
    """``sum_i w_i mean_q R_iq^2 / sum_i w_i`` of each round of (T, n, Q)."""
    if sample_weight is None:
        return np.einsum("tiq,tiq->t", R, R) / (R.shape[1] * R.shape[2])
    return np.einsum("tiq,tiq,i->t", R, R, sample_weight) / (
        sample_weight.sum() * R.shape[2]
    )


def _abs_max(Y, axis=None):
    """``max|Y|`` (0 for no rows)."""
    return np.max(np.abs(Y), axis=axis, initial=0.0)


def _power_of_two_above(a):
    """The power of two just above ``|a|`` (1 for 0): dividing by it is exact."""
    return np.ldexp(1.0, np.frexp(np.abs(a))[1])


class RegressionCoding:
    """``(y - mean) / std`` per output.

    Without ``normalize_y`` the mean is 0 and ``std`` one power of two near
    ``max|y|`` for every output: the coded targets are of order one, so no
    square of the spectra or the core overflows or underflows (``y * 1e160``,
    ``y * 1e-200``), and the division is exact, so results equal those of the
    unscaled targets to the last bit. ``epsilon`` is then in the units of
    ``y**2`` and :meth:`core_epsilon` codes it too.
    """

    output_names = None

    def __init__(self, mean, std, single_output, normalize_y=True,
                 mean_square=None):
        self.mean = mean
        self.std = std
        self.single_output = single_output
        self.normalize_y = normalize_y
        self._mean_square = mean_square

    @classmethod
    def fit(cls, y, normalize_y, sample_weight=None):
        """The coding of ``y`` (1-D or 2-D float array, numpy or dask).

        With ``sample_weight`` the mean and variance are weighted. A dask
        ``y`` is read once (:func:`~._dask_solver.target_moments`), which
        also gives the coded targets' mean squares.
        """
        if is_dask_array(y):
            return cls._fit_moments(y, normalize_y, sample_weight)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if normalize_y:
            # Divide by a power of two near max|y| before squaring: the
            # variance of y * 1e-200 underflows and that of y * 1e160
            # overflows otherwise; the division is exact.
            unit = _power_of_two_above(_abs_max(Y, axis=0))
            scaled = Y / unit
            if sample_weight is None:
                mean = scaled.mean(axis=0)
                std = scaled.std(axis=0)
            else:
                mean = np.average(scaled, axis=0, weights=sample_weight)
                std = np.sqrt(
                    np.average((scaled - mean) ** 2, axis=0, weights=sample_weight)
                )
            mean = mean * unit
            std = np.where(std > 0, std * unit, 1.0)
        else:
            unit = _power_of_two_above(_abs_max(Y))
            mean = np.zeros(Y.shape[1])
            std = np.full(Y.shape[1], unit)
        return cls(mean, std, y.ndim == 1, normalize_y)

    @classmethod
    def _fit_moments(cls, y, normalize_y, sample_weight):
        """:meth:`fit` from the moments of one pass over a dask ``y``."""
        from ._dask_solver import target_moments

        total, mean, squares, unit = target_moments(y, sample_weight)
        variance = squares / total
        if normalize_y:
            std = np.sqrt(variance)
            coded_mean = mean * unit
            coded_std = np.where(std > 0, std * unit, 1.0)
        else:
            coded_mean = np.zeros(unit.shape[0])
            coded_std = np.full(unit.shape[0], unit.max())
        # Mean square of (y - coded_mean) / coded_std, from the moments.
        offset = mean - coded_mean / unit
        with np.errstate(under="ignore"):
            ratio = unit / coded_std
            mean_square = (variance + offset * offset) * ratio * ratio
        return cls(coded_mean, coded_std, y.ndim == 1, normalize_y, mean_square)

    def mean_square(self, Y, sample_weight=None):
        """(Weighted) mean square of each column of the coded targets ``Y``.

        Known from the moments of a dask ``y`` without another pass; computed
        from ``Y`` otherwise.
        """
        if self._mean_square is not None:
            return self._mean_square
        return np.average(Y * Y, axis=0, weights=sample_weight)

    def core_epsilon(self, epsilon):
        """``epsilon`` in coded units (relative to var(y) with ``normalize_y``)."""
        if self.normalize_y:
            return epsilon
        unit = self.std[0]
        with np.errstate(over="ignore", under="ignore"):
            return epsilon / unit / unit

    @property
    def dual_unit(self):
        """Factor from coded dual coefficients to those of ``dual_coef_``.

        ``dual_coef_`` is in the units of ``y`` without ``normalize_y`` (then
        ``predict(X) = kernel(X, X_fit_) @ dual_coef_``) and of the
        normalised ``y`` with it.
        """
        return np.ones_like(self.std) if self.normalize_y else self.std

    def user_epsilon(self, epsilon):
        """Inverse of :meth:`core_epsilon` (``inf`` beyond float64's range)."""
        if self.normalize_y:
            return epsilon
        unit = self.std[0]
        with np.errstate(over="ignore"):
            return epsilon * unit * unit

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

    def squared_error(self, P, Y_true, sample_weight=None):
        """Mean squared error in the units of ``y`` of each round of (T, n, Q).

        Weighted over the points with ``sample_weight``.
        """
        # Weight each output by its variance.
        return weighted_mse((P - Y_true[None]) * self.std, sample_weight)

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
    def dual_unit(self):
        return self.scale

    def core_epsilon(self, epsilon):
        return epsilon

    def user_epsilon(self, epsilon):
        return epsilon

    def mean_square(self, Y, sample_weight=None):
        """Mean square of each coded column: 1 (every entry is -1 or +1)."""
        return np.ones(self.scale.shape[0])

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

    def squared_error(self, P, Y_true, sample_weight=None):
        return weighted_mse(P - Y_true[None], sample_weight)

    def response(self, P):
        scores = self.squeeze(P)
        return PrecomputedResponse(
            predictions=self.labels(scores), scores=scores, classes=self.classes,
            estimator_type="classifier",
        )
