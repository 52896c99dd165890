"""Dask arrays at the package's boundary: validation, weights, predictions.

A ``dask.array`` X (and y, and ``sample_weight``) chunked by rows is never
brought to the client:

* :func:`validate_data` checks shapes and dtypes from the array's metadata and
  finiteness inside each block's task (a block with NaN or infinity raises a
  ``ValueError`` when it is computed); unknown chunk sizes are resolved with
  ``compute_chunk_sizes`` (block lengths only);
* :class:`DaskWeightedRows` checks ``sample_weight`` block by block (one pass
  over the weights returns three numbers per block) and drops the rows of zero
  weight from each block, with the blocks' new lengths known;
* :func:`blockwise` makes ``predict`` and friends return a dask array, a map
  of the numpy method over the blocks of rows.

The solver's passes over the blocks are in :mod:`._dask_solver`. Importing
this module does not import dask: it is imported when a dask array is seen,
and ``dask`` is an optional extra.
"""

import functools
import inspect
import sys

import numpy as np
from sklearn.utils.validation import (
    check_is_fitted,
    validate_data as _sklearn_validate_data,
)

__all__ = [
    "DaskWeightedRows",
    "blockwise",
    "is_dask_array",
    "validate_data",
]


def is_dask_array(a):
    """Whether ``a`` is a ``dask.array.Array`` (without importing dask)."""
    da = sys.modules.get("dask.array")
    return da is not None and isinstance(a, da.Array)


def float_targets(y):
    """Validated targets as float64: numpy for numpy, still lazy for dask."""
    return y if is_dask_array(y) else np.asarray(y, dtype=np.float64)


def computed(*arrays):
    """The arrays computed when some are lazy (small summaries only)."""
    if not any(is_dask_array(a) for a in arrays):
        return arrays
    import dask

    return dask.compute(*arrays)


def unique_labels_of(y):
    """The distinct values of a dask ``y`` (computed), ``y`` itself otherwise."""
    if not is_dask_array(y):
        return y
    import dask.array as da

    return da.unique(y).compute()


def check_dask_estimator(estimator):
    """A dask array is fitted by ``eigen_solver="nystroem"`` on the host only."""
    check_dask_params(getattr(estimator, "eigen_solver", None),
                       getattr(estimator, "device", None))


def check_dask_params(solver, device):
    if solver != "nystroem":
        raise ValueError(
            "A dask array is fitted block by block by eigen_solver='nystroem' "
            f"only; got eigen_solver={solver!r}. Pass "
            'eigen_solver="nystroem" with n_components (e.g. 1000), or '
            "compute the array into memory first (X.compute())."
        )
    if device is not None:
        raise ValueError(
            f"device={device!r} computes on one torch device; the "
            "blocks of a dask array are computed by the dask workers with "
            "numpy. Set device=None."
        )


def _known_rows(A, name):
    """``A`` with known row-chunk sizes (computed block lengths if needed)."""
    if not any(np.isnan(c) for c in A.chunks[0]):
        return A
    A = A.copy()
    A.compute_chunk_sizes()
    return A


def _finite_block(block, what, block_info=None):
    if not np.isfinite(block).all():
        rows = ""
        if block_info is not None:
            start, stop = block_info[0]["array-location"][0]
            rows = f" (in rows {start} to {stop - 1})"
        raise ValueError(
            f"Input {what} contains NaN or infinity{rows}; remove or impute "
            "those rows before fitting."
        )
    return block


def _checked_float(A, what):
    if A.dtype.kind not in "biuf":
        raise ValueError(
            f"dask array {what} has dtype {A.dtype}; a numeric dtype is needed "
            f"(convert it with {what}.astype(float))."
        )
    check = functools.partial(_finite_block, what=what)
    return A.astype(np.float64).map_blocks(check, dtype=np.float64)


def validate_data(estimator, X="no_validation", y="no_validation", **kwargs):
    """scikit-learn's ``validate_data``, lazy and block-wise for a dask X.

    With a numpy X a dask ``y`` is computed (X is in memory already).
    """
    if not is_dask_array(X):
        if is_dask_array(y):
            y = y.compute()
        return _sklearn_validate_data(estimator, X, y, **kwargs)
    import dask.array as da

    reset = kwargs.get("reset", True)
    if reset:
        check_dask_estimator(estimator)
    name = type(estimator).__name__
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D dask array X of shape (n_samples, n_features); "
            f"got {X.ndim} dimension(s). Reshape it with X.reshape(-1, 1) for "
            "a single feature."
        )
    X = _known_rows(X, "X")
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    n, p = X.shape
    if n < 1 or p < 1:
        raise ValueError(
            f"Found a dask array X of shape {X.shape}; {name} needs at least "
            "one sample and one feature."
        )
    if reset:
        estimator.n_features_in_ = p
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif p != estimator.n_features_in_:
        raise ValueError(
            f"X has {p} features, but {name} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    X = _checked_float(X, "X")
    if isinstance(y, str) and y == "no_validation":
        return X
    if is_dask_array(y):
        y = _known_rows(y, "y")
    else:
        y = np.asarray(y)
        y = da.from_array(y, chunks=(X.chunks[0],) + y.shape[1:])
    if y.shape[0] != n:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"[{n}, {y.shape[0]}]."
        )
    if y.ndim == 2 and y.shape[1] == 1 and not kwargs.get("multi_output"):
        y = y[:, 0]
    if y.ndim != 1 and not (y.ndim == 2 and kwargs.get("multi_output")):
        kinds = "1-D or 2-D" if kwargs.get("multi_output") else "1-D"
        raise ValueError(
            f"y should be a {kinds} dask array, got an array of shape "
            f"{y.shape} instead."
        )
    y = y.rechunk((X.chunks[0],) + y.shape[1:])
    if kwargs.get("y_numeric"):
        y = _checked_float(y, "y")
    return X, y


def encode_blocks(encode, y, n_columns):
    """A target coding's ``encode`` mapped over the blocks of a dask ``y``."""
    return y.map_blocks(
        encode, dtype=np.float64, chunks=(y.chunks[0], (n_columns,)),
        new_axis=1 if y.ndim == 1 else None,
    )



_NO_POSITIVE = (
    "sample_weight must have at least one positive weight; got only zeros. "
    "Zero-weight rows are dropped from the fit."
)


class DaskWeightedRows:
    """:class:`~._targets.WeightedRows` of a dask X, block by block.

    ``sample_weight`` (numpy, a scalar or a dask array) is chunked as X's
    rows and checked inside each block's task (1-D of X's length, numeric,
    finite, non-negative); one pass over the weights returns per block the
    number of positive weights, the smallest and the largest. Rows of zero
    weight are then dropped from each block (:meth:`select`), the blocks'
    new lengths known. ``sample_weight`` holds the kept weights as a dask
    array, or ``None`` when they are all equal (the unweighted fit exactly,
    as in memory); ``keep`` is ``None`` when no row is dropped.

    Parameters
    ----------
    sample_weight : array-like, dask array, float or None
        The weights of X's rows.
    X : dask array of shape (n_samples, n_features)
        Validated rows (:func:`validate_data`).
    empty_message : str, optional
        The error raised when no weight is positive.
    """

    precomputed = False

    def __init__(self, sample_weight, X, *, empty_message=_NO_POSITIVE):
        self.n_samples = X.shape[0]
        self.keep = None
        self.sample_weight = None
        self.all_weights = None
        if sample_weight is None:
            return
        w = _weights_like(sample_weight, X)
        summary = _weight_summary(w)
        counts = summary[:, 0].astype(np.int64)
        if counts.sum() == 0:
            raise ValueError(empty_message)
        self.all_weights = w
        if counts.sum() < self.n_samples:
            self.keep = tuple(int(c) for c in counts)
            w = _positive_rows(w, w, self.keep)
        smallest = summary[counts > 0, 1].min()
        largest = summary[counts > 0, 2].max()
        self.sample_weight = None if smallest == largest else w

    def select(self, X, y):
        """``X`` and ``y`` without the zero-weight rows (lazily)."""
        if self.keep is None:
            return X, y
        w = self.all_weights
        y = y.rechunk((X.chunks[0],) + y.shape[1:])
        return _positive_rows(X, w, self.keep), _positive_rows(y, w, self.keep)

    def expand(self, dual):
        return dual

    def weights_of_all_rows(self):
        """Weights over every row, zero where dropped (splits index all rows)."""
        if self.sample_weight is None:
            return (self.all_weights > 0).astype(np.float64)
        return self.all_weights


def _weights_like(sample_weight, X):
    """``sample_weight`` as a float64 dask array chunked as X's rows."""
    import dask.array as da

    n = X.shape[0]
    w = sample_weight
    if not is_dask_array(w):
        w = np.asarray(w)
        if w.ndim == 0:
            w = np.full(n, w.item() if w.dtype.kind in "biuf" else w)
    else:
        w = _known_rows(w, "sample_weight")
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(
            f"sample_weight.shape == {w.shape}, expected ({n},): one weight "
            "per row of X."
        )
    if w.dtype.kind not in "biuf":
        raise ValueError(
            f"sample_weight has dtype {w.dtype}; numeric weights are needed "
            "(convert them with sample_weight.astype(float))."
        )
    if not is_dask_array(w):
        return da.from_array(w.astype(np.float64), chunks=(X.chunks[0],))
    return w.astype(np.float64).rechunk((X.chunks[0],))


def _summary_block(w, block_info=None):
    """(1, 3): count, min and max of the positive weights of a block."""
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        # Blocks are checked in parallel: the row is the first of its block,
        # not necessarily of the array.
        row = int(np.flatnonzero(bad)[0])
        if block_info is not None:
            row += block_info[0]["array-location"][0][0]
        kind = "negative" if np.isfinite(w).all() else "NaN or infinite"
        raise ValueError(
            f"sample_weight has {kind} values (row {row} among them); "
            "weights must be finite and non-negative."
        )
    positive = w[w > 0]
    if positive.size == 0:
        return np.array([[0.0, np.inf, -np.inf]])
    return np.array([[positive.size, positive.min(), positive.max()]])


def _weight_summary(w):
    """The per-block summaries (n_blocks, 3), computed (one pass over w)."""
    summary = w.map_blocks(
        _summary_block, dtype=np.float64, chunks=((1,) * w.numblocks[0], (3,)),
        new_axis=1, meta=np.empty((0, 0)),
    )
    return summary.compute()


def _take_positive(block, weights):
    return block[weights.reshape(-1) > 0]


def _positive_rows(A, w, counts):
    """The rows of A whose weight in ``w`` is positive, ``counts`` per block.

    Blocks left without rows are skipped: an empty block breaks reductions.
    """
    import dask.array as da

    nonempty = [i for i, c in enumerate(counts) if c > 0]
    if len(nonempty) < len(counts):
        A, w = A.blocks[nonempty], w.blocks[nonempty]
        counts = tuple(counts[i] for i in nonempty)
    meta = np.empty((0,) * A.ndim, dtype=A.dtype)
    if A.ndim == 1:
        return da.map_blocks(_take_positive, A, w, chunks=(counts,),
                             dtype=A.dtype, meta=meta)
    return da.map_blocks(_take_positive, A, w[:, None],
                         chunks=(counts,) + A.chunks[1:], dtype=A.dtype, meta=meta)


def _nth(generator, t):
    for i, item in enumerate(generator):
        if i == t:
            return item
    raise IndexError(t)


def _map_rows(func, X, example):
    """``func`` over the row blocks of X, shaped and typed like ``example``."""
    if example.ndim == 1:
        return X.map_blocks(
            func, dtype=example.dtype, drop_axis=1, chunks=(X.chunks[0],),
            meta=np.empty((0,), dtype=example.dtype),
        )
    return X.map_blocks(
        func, dtype=example.dtype, chunks=(X.chunks[0], (example.shape[1],)),
        meta=np.empty((0, 0), dtype=example.dtype),
    )


def blockwise(method):
    """Make a prediction method return a dask array for a dask X.

    The numpy method runs on each block of rows (on the workers); a staged
    method yields one dask array per round.
    """
    staged = inspect.isgeneratorfunction(method)

    @functools.wraps(method)
    def wrapper(self, X, *args, **kwargs):
        if not is_dask_array(X):
            return method(self, X, *args, **kwargs)
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        one_row = np.zeros((1, X.shape[1]))
        if not staged:
            example = method(self, one_row, *args, **kwargs)
            return _map_rows(
                functools.partial(_call, method, self, args, kwargs), X, example
            )
        return _staged(self, method, X, one_row, args, kwargs)

    return wrapper


def _staged(self, method, X, one_row, args, kwargs):
    examples = list(method(self, one_row, *args, **kwargs))
    for t, example in enumerate(examples):
        func = functools.partial(_round_of, method, self, t, args, kwargs)
        yield _map_rows(func, X, example)


def _call(method, estimator, args, kwargs, block):
    return method(estimator, block, *args, **kwargs)


def _round_of(method, estimator, t, args, kwargs, block):
    return _nth(method(estimator, block, *args, **kwargs), t)
