"""The Nystroem solver and its searches on the row blocks of a dask array.

The fit's pass over the rows is a map-reduce; dask runs it on the workers:

* :func:`dask_spectrum` draws the landmarks by index exactly as the
  in-memory solver does (:func:`~._landmarks.landmark_index`), fetches those
  ``m`` rows, then maps every block to its whitened features'
  ``Phi_b^T Phi_b``, ``Phi_b^T Y_b`` and ``||Y_b||^2`` (each row scaled by
  ``s_i = sqrt(K w_i / sum(w))`` with sample weights) and sums them as a tree
  of tasks; the ``m x m`` eigendecomposition runs on the client
  (:func:`~._solvers.nystroem_from_gram`);
* :func:`dask_loo_scores` is the second pass (leave-one-out residuals of every
  grid point, block by block); K-fold (:func:`~._search.kfold_scores`) takes
  its splits from :func:`dask_folds` and scores each held-out part in one
  pass (:func:`dask_held_out`).

Only ``m x m`` and grid-sized arrays reach the client (and, for another
``scoring`` than the default, the held-out predictions a scorer needs).
Importing this module does not import dask.
"""

import functools

import numpy as np

from ._dask import DaskWeightedRows, check_dask_params, computed
from ._landmarks import landmark_index

__all__ = ["dask_folds", "dask_held_out", "dask_loo_scores", "dask_spectrum",
           "target_moments"]

#: Partial sums combined by one task of the tree reduction.
_SPLIT_EVERY = 8


def per_block(func, *arrays, args=()):
    """``func(*blocks, *args)`` of every row block, as delayed results.

    The arrays (1-D or 2-D, chunked alike by rows; ``None`` passes ``None``)
    enter one ``blockwise`` graph, so that dask fuses each block's chain into
    one task: a source the arrays share (``y`` computed from the table that
    holds ``X``, or the kept rows and weights all selected by the weights) is
    computed once per block and pass, not once per array. ``args`` travel as
    one delayed object, shared by every task.
    """
    import dask
    import dask.array as da

    if len({A.numblocks[0] for A in arrays if A is not None}) != 1:
        raise ValueError("per_block needs arrays with the same row blocks.")
    spec = []
    for k, A in enumerate(arrays):
        if A is None:
            spec += [None, None]
        else:
            # Each array's columns get their own index, contracted whole.
            spec += [A, "i" if A.ndim == 1 else f"i{k}"]
    # Matched block by block (the caller chunks them alike by rows; a column
    # of per-block values may have one row per block).
    boxed = da.blockwise(
        _boxed, "i", func, None, dask.delayed(_Shared(args)), None,
        *spec, concatenate=True, adjust_chunks={"i": 1}, dtype=object,
        meta=np.empty(0, dtype=object), align_arrays=False,
    )
    return [dask.delayed(_unboxed, pure=True)(b) for b in boxed.to_delayed().ravel()]


class _Shared:
    """The arguments every block's task receives, as one value of the graph.

    Not a tuple: dask's older graph format (seen with dask 2024.1) reads a
    tuple that starts with a function (``(block_function, ...)``) as a task
    to run.
    """

    __slots__ = ("args",)

    def __init__(self, args):
        self.args = tuple(args)


def _boxed(func, shared, *blocks):
    """``func``'s result for one block, in a one-element object array."""
    out = np.empty(1, dtype=object)
    out[0] = func(*blocks, *shared.args)
    return out


def _unboxed(box):
    return box[0]


def tree_reduce(parts, combine):
    """``combine`` over the delayed ``parts``, ``_SPLIT_EVERY`` at a time.

    A tree of tasks: no task holds more than ``_SPLIT_EVERY`` partial results.
    """
    import dask

    while len(parts) > 1:
        parts = [
            dask.delayed(combine, pure=True)(*parts[i:i + _SPLIT_EVERY])
            for i in range(0, len(parts), _SPLIT_EVERY)
        ]
    return parts[0]


def _tree_sum(parts):
    """Elementwise sum of the tuples in ``parts`` as a tree of tasks."""
    return tree_reduce(parts, _add_tuples)


def _add_tuples(*parts):
    return tuple(sum(items[1:], items[0].copy()) for items in zip(*parts))


def _rows_like(Y, X):
    """``Y`` as a dask array chunked by X's rows."""
    import dask.array as da

    if Y is None:
        return None
    if not hasattr(Y, "dask"):
        return da.from_array(np.asarray(Y), chunks=(X.chunks[0],) + Y.shape[1:])
    return Y.rechunk((X.chunks[0],) + Y.shape[1:])


def _moments_block(Y, w):
    """(5, Q): weight, mean, squared deviations, unit and centre of a block.

    Each column is divided by the power of two above its largest magnitude
    in the block (exactly) before any square, so that ``y * 1e160`` neither
    overflows nor ``y * 1e-200`` underflows. The mean is taken relative to
    the block's first row (its centre), so that a mean large against the
    spread keeps its digits; everything is in the block's unit.
    """
    from ._targets import _power_of_two_above

    Y = Y.reshape(Y.shape[0], -1)
    unit = _power_of_two_above(np.max(np.abs(Y), axis=0, initial=0.0))
    S = Y / unit
    total = float(S.shape[0]) if w is None else float(w.sum())
    if total == 0:
        zeros = np.zeros(S.shape[1])
        return np.vstack([zeros, zeros, zeros, unit, zeros])
    centre = S[0].copy()
    S -= centre
    mean = S.mean(axis=0) if w is None else (w @ S) / total
    S -= mean
    squares = (np.einsum("iq,iq->q", S, S) if w is None
               else np.einsum("i,iq,iq->q", w, S, S))
    return np.vstack([np.full(S.shape[1], total), mean, squares, unit, centre])


def target_moments(Y, sample_weight=None):
    """Weighted count, mean and squared deviations of Y's columns, one pass.

    Each block returns its own moments (:func:`_moments_block`); the client
    moves them to a common unit per column (the largest block unit, a power
    of two: exact) and a common centre (the first block's; the difference
    of two centres is exact when they are within a factor of two, Sterbenz),
    and combines them pairwise (Chan, Golub and LeVeque). Neither ``sum w
    y^2 - (sum w y)^2 / sum w`` nor the difference of two large block means
    is ever formed, so a mean 1e8 times the spread keeps the variance's
    digits. Returns ``(total, mean, squares, unit)``: ``mean * unit`` and
    ``squares * unit**2`` are in the units of ``Y``, and ``unit`` is the power
    of two above each column's largest magnitude.
    """
    import dask

    Y = Y if Y.ndim == 2 else Y[:, None]
    parts = per_block(_moments_block, Y, _rows_like(sample_weight, Y))
    blocks = dask.compute(*parts)
    unit = np.max([p[3] for p in blocks], axis=0)
    moments = [p for p in blocks if p[0, 0] > 0]
    origin = moments[0][4] * (moments[0][3] / unit)
    total, mean, squares = 0.0, np.zeros(unit.shape), np.zeros(unit.shape)
    for block_total, block_mean, block_squares, block_unit, centre in moments:
        ratio = block_unit / unit
        # The block's mean relative to the common origin, and its squares.
        block_mean = (centre * ratio - origin) + block_mean * ratio
        block_squares = block_squares * ratio * ratio
        weight = block_total[0]
        merged = total + weight
        delta = block_mean - mean
        mean = mean + delta * (weight / merged)
        squares = squares + block_squares + delta * delta * (total * weight / merged)
        total = merged
    return total, origin + mean, squares, unit


def _block_kernel(kernel_kwargs):
    """The checked kernel (finite, right shape) a worker evaluates."""
    from ._checks import checked_kernel
    from .kernels import _kernel_name, _pairwise

    return checked_kernel(functools.partial(_pairwise, **kernel_kwargs),
                          _kernel_name(kernel_kwargs["kernel"]))


def _gram_block(X, Y, w, landmarks, R, kernel_kwargs):
    """One block's ``Phi^T W Phi`` (upper triangle), ``Phi^T W Y``,
    ``sum w ||Y||^2`` and ``sum w`` (``W = diag(w)``; its row count unweighted).

    :func:`dask_spectrum` scales the sums by ``K / sum(w)`` once they are
    added, which gives the features and targets scaled by
    ``s = sqrt(K w / sum(w))`` of :func:`~._solvers.nystroem_spectrum`
    without a pass of its own for ``sum(w)``.
    """
    from ._numpy_backend import NumpyOps

    ops = NumpyOps(_block_kernel(kernel_kwargs))
    Phi = ops.kernel(X, landmarks) @ R
    if w is not None:
        root = np.sqrt(w)
        Phi = Phi * root[:, None]
        Y = Y * root[:, None]
    r = R.shape[1]
    C = ops.add_gram(np.zeros((r, r), order="F"), Phi)
    mass = float(X.shape[0]) if w is None else float(np.sum(w))
    return C, Phi.T @ Y, np.einsum("iq,iq->q", Y, Y), np.array([mass])


def dask_spectrum(X, Y, *, kernel="rbf", gamma=None, degree=3, coef0=1,
                  kernel_params=None, eigen_solver="nystroem",
                  n_components=None, random_state=None, device=None,
                  store_eigenvectors=False, sample_weight=None):
    """The Nystroem spectrum of a dask X: landmarks, then one block-wise pass.

    The keywords are those of :func:`~._solvers.compute_spectrum`; a dask
    ``sample_weight`` holds the positive weights of X's rows (chunked as X),
    ``None`` for equal weights. The same ``random_state`` draws the same
    landmarks as the in-memory solver on the same rows, however they are
    chunked. A Nystroem spectrum always has the rows of its basis, so
    ``need_basis`` is not among them.
    """
    import dask
    from sklearn.utils import check_random_state

    from ._numpy_backend import NumpyOps
    from ._solvers import (
        _check_solver,
        nystroem_from_gram,
        nystroem_whitening,
    )
    from .kernels import _kernel_name

    check_dask_params(eigen_solver, device)
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
    w = _rows_like(sample_weight, X)
    parts = per_block(_gram_block, X, _rows_like(Y, X), w,
                      args=(landmarks, np.ascontiguousarray(R), kernel_kwargs))
    C, P, total, (mass,) = dask.compute(_tree_sum(parts))[0]
    s = None
    if w is not None:
        # Row scales s = sqrt(K w / sum(w)) (lazy, for the leave-one-out pass).
        scale = n / mass
        C, P, total = C * scale, P * scale, total * scale
        s = np.sqrt(w * scale)
    C = ops.symmetrize_upper(C)
    return nystroem_from_gram(
        ops, C, P, landmarks=landmarks, R=R, n_samples=n, energy=total.copy(),
        total=total, kernel_name=name, row_scale=s,
    )


def _held_out_block(X, Y, w, s, X_fit, F_map, BZ_cols, B_cols, shape,
                    kernel_kwargs, coding, feasible, loo):
    """Held-out predictions (n_eps, T, n_b, Q) of one block, or their errors.

    ``loo``: leave-one-out residuals of the smoothers ``F diag(B) F^T`` with
    ``F`` the block's rows of the orthonormal basis (times the row scales
    ``s`` of weighted rows, which leave ``F B z_0 / s`` unscaled and scale the
    leverage by ``s^2``); otherwise plain predictions
    ``kernel(X, X_fit) @ F_map @ BZ_cols``. With ``feasible`` given, the
    summed squared errors of those grid rows (weighted by ``w``) and the
    block's mass (``sum(w)``, or its row count).
    """
    F = _block_kernel(kernel_kwargs)(X, X_fit) @ F_map
    full = (X.shape[0],) + shape
    fitted = (F @ BZ_cols).reshape(full).transpose(1, 2, 0, 3)
    if loo:
        F2 = F * F if s is None else F * F * (s * s)[:, None]
        leverage = (F2 @ B_cols).reshape(full).transpose(1, 2, 0, 3)
        fitted = Y - (Y - fitted) / (1.0 - leverage)
    if feasible is None:
        return (fitted,)
    mass = float(X.shape[0]) if w is None else float(w.sum())
    squared = np.zeros(shape[:2])
    for e in feasible:
        squared[e] = coding.squared_error(fitted[e], Y, w) * mass
    return squared, np.array(mass)


def _grid_pass(X, Y, w, s, X_fit, F_map, BZ_cols, B_cols, shape,
               kernel_kwargs, coding, infeasible, scorer, loo):
    """Summed squared errors (n_eps, T) and the total mass, or all predictions.

    With ``scorer=None`` each block's errors and mass are summed as a tree;
    otherwise every held-out prediction (n_eps, T, n, Q) comes to the client.
    """
    import dask

    feasible = None if scorer is not None else np.flatnonzero(~infeasible)
    parts = per_block(
        _held_out_block, X, _rows_like(Y, X), _rows_like(w, X), _rows_like(s, X),
        args=(X_fit, F_map, BZ_cols, B_cols, shape, kernel_kwargs, coding,
              feasible, loo),
    )
    if scorer is None:
        return dask.compute(_tree_sum(parts))[0]
    return (np.concatenate([p[0] for p in dask.compute(*parts)], axis=2),)


def _scores_of(result, Y, y, w, coding, infeasible, scorer):
    """Scores and mean squared errors (n_eps, T) from :func:`_grid_pass`."""
    from ._search import score_rounds

    n_eps, n_rounds = infeasible.shape[0], result[0].shape[1]
    scores = np.full((n_eps, n_rounds), -np.inf)
    errors = np.full((n_eps, n_rounds), np.inf)
    if scorer is not None:
        Y, y, w = computed(Y, y, w)
    for e in np.flatnonzero(~infeasible):
        if scorer is None:
            squared, mass = result
            errors[e] = squared[e] / mass
            scores[e] = -errors[e]
        else:
            scores[e], errors[e] = score_rounds(result[0][e], Y, y, coding,
                                                scorer, w)
    return scores, errors


def dask_loo_scores(spectrum, X, Y, y, coding, epsilons, max_rounds,
                    ground_truth_weights, scorer, sample_weight=None, *, kernel):
    """:func:`~._search.loo_scores` on a dask X: a second block-wise pass.

    With ``scoring=None`` each block returns its (weighted) squared held-out
    errors per grid point, summed as a tree; another ``scoring`` gathers the
    held-out predictions of every grid point (and ``y`` and the weights) on
    the client.
    """
    from ._search import grid_coefficients

    n_outputs = Y.shape[1]
    m = spectrum.d.shape[0]
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
        X, Y, sample_weight, spectrum.row_scale, spectrum.X_fit, F_map,
        BZ_cols, B_cols, (n_eps, n_rounds, n_outputs),
        kernel, coding, infeasible, scorer, loo=True,
    )
    scores, errors = _scores_of(result, Y, y, sample_weight, coding, infeasible,
                                scorer)
    return scores, errors, valid, infeasible, None


def dask_folds(X, y, cv, classifier, sample_weight):
    """:func:`~._search._folds` of a dask X: each part's rows stay on the workers.

    The splits are index arrays drawn on the client (a classifier's
    stratification computes the labels there); each part of a split drops its
    zero weights block by block (``sample_weight``, dask, over all rows).
    """
    from sklearn.model_selection import check_cv

    from ._search import _EMPTY_SPLIT

    y_split = y.compute() if classifier else None
    cv = check_cv(cv, y_split, classifier=classifier)
    for train, test in cv.split(np.empty((X.shape[0], 0)), y_split):
        parts = []
        for index in (train, test):
            X_part, y_part, w_part = X[index], y[index], None
            if sample_weight is not None:
                rows = DaskWeightedRows(sample_weight[index], X_part,
                                        empty_message=_EMPTY_SPLIT)
                X_part, y_part = rows.select(X_part, y_part)
                w_part = rows.sample_weight
            parts.append((X_part, y_part, w_part))
        yield tuple(parts)


def dask_held_out(spectrum, coefs, X_test, Y_test, y_test, w_test, *, coding,
                  kernel, infeasible, scorer):
    """:func:`~._search._held_out` of a dask X: one block-wise pass."""
    n_eps, n_rounds, m, n_outputs = coefs.shape
    coef_cols = coefs.transpose(2, 0, 1, 3).reshape(m, -1)
    result = _grid_pass(
        X_test, Y_test, w_test, None, spectrum.X_fit, spectrum.dual_map,
        coef_cols, None, (n_eps, n_rounds, n_outputs), kernel, coding,
        infeasible, scorer, loo=False,
    )
    return _scores_of(result, Y_test, y_test, w_test, coding, infeasible, scorer)
