"""The Nystroem solver and its search on Dask arrays, block by block.

A ``dask.array`` X (and y) chunked by rows is never brought to the client:

* :func:`validate_data` checks shapes and dtypes from the array's metadata and
  finiteness inside each block's task (a block with NaN or infinity raises a
  ``ValueError`` when it is computed); unknown chunk sizes are resolved with
  ``compute_chunk_sizes`` (block lengths only);
* :func:`dask_spectrum` draws the landmarks by index exactly as the in-memory
  solver does (:func:`~._solvers.landmark_index`), fetches those ``m`` rows,
  then maps every block to its whitened features' ``Phi_b^T Phi_b``,
  ``Phi_b^T Y_b`` and ``||Y_b||^2`` and sums them as a tree of tasks; the
  ``m x m`` eigendecomposition runs on the client
  (:func:`~._solvers.nystroem_from_gram`);
* :func:`dask_loo_scores` is the second pass (leave-one-out residuals of every
  grid point, block by block) and :func:`dask_kfold_scores` one pass per fold;
* :func:`blockwise` makes ``predict`` and friends return a dask array, a map
  of the numpy method over the blocks of rows.

Importing this module does not import dask: it is imported when a dask array
is seen, and ``dask`` is an optional extra.
"""

import functools
import inspect
import sys

import numpy as np
from sklearn.utils.validation import check_is_fitted
from sklearn.utils.validation import validate_data as _sklearn_validate_data

__all__ = [
    "blockwise",
    "dask_kfold_scores",
    "dask_loo_scores",
    "dask_spectrum",
    "is_dask_array",
    "validate_data",
]

#: Partial sums combined by one task of the tree reduction.
_SPLIT_EVERY = 8


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
    _check_dask_params(getattr(estimator, "eigen_solver", None),
                       getattr(estimator, "device", None))


def _check_no_weights(sample_weight):
    if sample_weight is not None:
        raise ValueError(
            "sample_weight is not supported with a dask array yet; fit the "
            "weighted rows from memory (numpy) or without sample_weight."
        )


def _check_dask_params(solver, device):
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
        raise ValueError(
            f"y should be a 1-D dask array{' or 2-D' if kwargs.get('multi_output') else ''}"
            f", got an array of shape {y.shape} instead."
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


def _blocks(A):
    """The delayed row blocks of a dask array (one column chunk)."""
    if A.ndim == 2 and A.numblocks[1] > 1:
        A = A.rechunk({1: -1})
    return list(A.to_delayed().ravel())


def _tree_sum(parts):
    """Elementwise sum of the tuples in ``parts`` as a tree of tasks."""
    import dask

    while len(parts) > 1:
        parts = [
            dask.delayed(_add_tuples, pure=True)(*parts[i:i + _SPLIT_EVERY])
            for i in range(0, len(parts), _SPLIT_EVERY)
        ]
    return parts[0]


def _add_tuples(*parts):
    return tuple(sum(items[1:], items[0].copy()) for items in zip(*parts))


def _rows_like(Y, X):
    """``Y`` as a dask array chunked by X's rows."""
    import dask.array as da

    if not is_dask_array(Y):
        return da.from_array(np.asarray(Y), chunks=(X.chunks[0],) + Y.shape[1:])
    return Y.rechunk((X.chunks[0],) + Y.shape[1:])


def _block_kernel(kernel_kwargs):
    """The checked kernel (finite, right shape) a worker evaluates."""
    from ._checks import checked_kernel
    from .kernels import _kernel_name, _pairwise

    return checked_kernel(functools.partial(_pairwise, **kernel_kwargs),
                          _kernel_name(kernel_kwargs["kernel"]))


def _gram_block(X, Y, landmarks, R, kernel_kwargs):
    """One block's ``Phi^T Phi`` (upper triangle), ``Phi^T Y`` and ``||Y||^2``."""
    from ._numpy_backend import NumpyOps

    ops = NumpyOps(_block_kernel(kernel_kwargs))
    Phi = ops.kernel(X, landmarks) @ R
    r = R.shape[1]
    C = ops.add_gram(np.zeros((r, r), order="F"), Phi)
    return C, Phi.T @ Y, np.einsum("iq,iq->q", Y, Y)


def dask_spectrum(X, Y, *, kernel="rbf", gamma=None, degree=3, coef0=1,
                  kernel_params=None, eigen_solver="nystroem",
                  n_components=None, random_state=None, device=None,
                  store_eigenvectors=False, sample_weight=None):
    """The Nystroem spectrum of a dask X: landmarks, then one block-wise pass.

    The keywords are those of :func:`~._solvers.compute_spectrum`. The same
    ``random_state`` draws the same landmarks as the in-memory solver on the
    same rows, however they are chunked. A Nystroem spectrum always has the
    rows of its basis, so ``need_basis`` is not among them.
    """
    import dask
    from sklearn.utils import check_random_state

    from ._numpy_backend import NumpyOps
    from ._solvers import (
        _check_solver, landmark_index, nystroem_from_gram, nystroem_whitening,
    )
    from .kernels import _kernel_name

    _check_dask_params(eigen_solver, device)
    _check_no_weights(sample_weight)
    n = X.shape[0]
    _check_solver(n, kernel=kernel, eigen_solver=eigen_solver,
                  n_components=n_components, store_eigenvectors=store_eigenvectors)
    kernel_kwargs = dict(kernel=kernel, gamma=gamma, degree=degree, coef0=coef0,
                         kernel_params=kernel_params)
    ops = NumpyOps(_block_kernel(kernel_kwargs))
    name = _kernel_name(kernel)
    index = landmark_index(n, n_components, check_random_state(random_state))
    (landmarks,) = dask.compute(X[index])
    landmarks = np.ascontiguousarray(landmarks, dtype=np.float64)
    R = nystroem_whitening(ops, landmarks, kernel_name=name)
    ops.kernel_kwargs = kernel_kwargs  # for the leave-one-out pass
    Y = _rows_like(Y, X)
    shared = dask.delayed((landmarks, np.ascontiguousarray(R)), pure=True)
    parts = [
        dask.delayed(_gram_block, pure=True)(
            xb, yb, shared[0], shared[1], kernel_kwargs
        )
        for xb, yb in zip(_blocks(X), _blocks(Y))
    ]
    C, P, total = dask.compute(_tree_sum(parts))[0]
    C = ops.symmetrize_upper(C)
    return nystroem_from_gram(
        ops, C, P, landmarks=landmarks, R=R, n_samples=n, energy=total.copy(),
        total=total, kernel_name=name,
    )


def _held_out_block(X, Y, X_fit, F_map, BZ_cols, B_cols, shape, kernel_kwargs,
                    coding, feasible, loo):
    """Held-out predictions (n_eps, T, n_b, Q) of one block, or their errors.

    ``loo``: leave-one-out residuals of the smoothers ``F diag(B) F^T`` with
    ``F`` the block's rows of the orthonormal basis; otherwise plain
    predictions ``kernel(X, X_fit) @ F_map @ BZ_cols``.
    """
    F = _block_kernel(kernel_kwargs)(X, X_fit) @ F_map
    full = (X.shape[0],) + shape
    fitted = (F @ BZ_cols).reshape(full).transpose(1, 2, 0, 3)
    if loo:
        leverage = ((F * F) @ B_cols).reshape(full).transpose(1, 2, 0, 3)
        fitted = Y - (Y - fitted) / (1.0 - leverage)
    if feasible is None:
        return (fitted,)
    squared = np.zeros(shape[:2])
    for e in feasible:
        squared[e] = coding.squared_error(fitted[e], Y) * X.shape[0]
    return (squared,)


def _grid_pass(X, Y, X_fit, F_map, BZ_cols, B_cols, shape, kernel_kwargs,
               coding, infeasible, scorer, loo):
    """Summed squared errors (n_eps, T), or all predictions (n_eps, T, n, Q)."""
    import dask

    feasible = None if scorer is not None else np.flatnonzero(~infeasible)
    shared = dask.delayed(
        (X_fit, F_map, BZ_cols, B_cols), pure=True
    )
    parts = [
        dask.delayed(_held_out_block, pure=True)(
            xb, yb, shared[0], shared[1], shared[2], shared[3], shape,
            kernel_kwargs, coding, feasible, loo,
        )
        for xb, yb in zip(_blocks(X), _blocks(Y))
    ]
    if scorer is None:
        return dask.compute(_tree_sum(parts))[0][0]
    return np.concatenate([p[0] for p in dask.compute(*parts)], axis=2)


def _scores_of(result, n, Y, y, coding, infeasible, scorer):
    from ._search import score_rounds

    n_eps, n_rounds = infeasible.shape[0], result.shape[1]
    scores = np.full((n_eps, n_rounds), -np.inf)
    errors = np.full((n_eps, n_rounds), np.inf)
    if scorer is not None:
        Y, y = dask_compute_all(Y, y)
    for e in np.flatnonzero(~infeasible):
        if scorer is None:
            errors[e] = result[e] / n
            scores[e] = -errors[e]
        else:
            scores[e], errors[e] = score_rounds(result[e], Y, y, coding, scorer)
    return scores, errors


def dask_compute_all(*arrays):
    """Arrays computed to numpy (the targets a custom scorer needs)."""
    import dask

    return dask.compute(*arrays)


def dask_loo_scores(spectrum, X, Y, y, coding, epsilons, max_rounds,
                    ground_truth_weights, scorer, sample_weight=None):
    """:func:`~._search.loo_scores` on a dask X: a second block-wise pass.

    With ``scoring=None`` each block returns its squared held-out errors per
    grid point, summed as a tree; another ``scoring`` gathers the held-out
    predictions of every grid point (and ``y``) on the client.
    """
    from ._search import grid_coefficients

    n, n_outputs = Y.shape
    m = spectrum.d.shape[0]
    _check_no_weights(sample_weight)
    B, valid, infeasible = grid_coefficients(
        spectrum, coding.core_epsilon(epsilons), max_rounds, ground_truth_weights
    )
    n_eps, n_rounds = valid.shape
    B_cols = B.transpose(2, 0, 1, 3).reshape(m, -1)
    BZ_cols = (B * spectrum.Z0[None, None]).transpose(2, 0, 1, 3).reshape(m, -1)
    d = spectrum.d
    scale = np.divide(spectrum.dual_scale, d, out=np.zeros_like(d), where=d > 0)
    F_map = spectrum.dual_map * scale[None, :]
    result = _grid_pass(
        X, _rows_like(Y, X), spectrum.X_fit, F_map, BZ_cols, B_cols,
        (n_eps, n_rounds, n_outputs), spectrum.ops.kernel_kwargs, coding,
        infeasible, scorer, loo=True,
    )
    scores, errors = _scores_of(result, n, Y, y, coding, infeasible, scorer)
    return scores, errors, valid, infeasible, None


def dask_kfold_scores(X, y, *, cv, classifier, coding_of, solver, kernel,
                      epsilons, max_rounds, ground_truth_weights, scorer,
                      sample_weight=None):
    """:func:`~._search.kfold_scores` on a dask X: one pass per fold.

    The folds are index arrays drawn on the client (a classifier's
    stratification computes the labels there); each fold's rows stay on the
    workers, its spectrum is :func:`dask_spectrum` and its held-out part is
    scored block by block.
    """
    from sklearn.model_selection import check_cv

    from ._search import grid_coefficients
    from ._solvers import compute_spectrum

    _check_no_weights(sample_weight)
    n = X.shape[0]
    y_split = y.compute() if classifier else None
    cv = check_cv(cv, y_split, classifier=classifier)
    # One stage per (ground-truth weight, round) pair, as in grid_coefficients.
    n_rounds = np.atleast_1d(ground_truth_weights).shape[0] * (max_rounds + 1)
    n_eps = epsilons.shape[0]
    split_scores, split_errors = [], []
    valid = np.ones((n_eps, n_rounds), dtype=bool)
    infeasible = np.zeros(n_eps, dtype=bool)
    for train, test in cv.split(np.empty((n, 0)), y_split):
        coding = coding_of(y[train], None)
        Y_train = coding.encode(y[train])
        Y_test = coding.encode(y[test])
        spectrum = compute_spectrum(X[train], Y_train, **solver)
        d, Z0 = spectrum.d, spectrum.Z0
        m, n_outputs = Z0.shape
        inv_d = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
        B, fold_valid, fold_infeasible = grid_coefficients(
            spectrum, coding.core_epsilon(epsilons), max_rounds,
            ground_truth_weights,
        )
        valid &= fold_valid
        infeasible |= fold_infeasible
        scaled = B * (inv_d[None, None, :, None] * Z0[None, None])
        BZ_cols = (scaled * spectrum.dual_scale).transpose(2, 0, 1, 3).reshape(m, -1)
        X_test = X[test]
        result = _grid_pass(
            X_test, _rows_like(Y_test, X_test), spectrum.X_fit,
            spectrum.dual_map, BZ_cols, None, (n_eps, n_rounds, n_outputs),
            kernel, coding, fold_infeasible, scorer, loo=False,
        )
        scores, errors = _scores_of(
            result, test.shape[0], Y_test, y[test], coding, fold_infeasible,
            scorer,
        )
        split_scores.append(scores)
        split_errors.append(errors)
    return (
        np.mean(split_scores, axis=0), np.mean(split_errors, axis=0),
        valid, infeasible, split_scores,
    )


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
