"""The Nystroem solver and its search on dask arrays, against the numpy path."""

import functools
import pickle
import subprocess
import sys
import threading
import tracemalloc
import uuid
import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import KFold

from sklearn_selfdistill import (
    SelfDistilledKernelRidge,
    SelfDistilledKernelRidgeClassifier,
    SelfDistilledKernelRidgeClassifierCV,
    SelfDistilledKernelRidgeCV,
)

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from _dask_support import (  # noqa: E402
    CHUNKINGS,
    N,
    assert_close,
    assert_same_search,
    dask_array,
    tol,
)

M = 40
NYSTROEM = dict(eigen_solver="nystroem", n_components=M, random_state=3, gamma=0.5)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(N, 3))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2 + 0.1 * rng.randn(N)
    labels = np.digitize(y, [0.0, 0.8])  # three classes
    return X, y, labels


def test_import_does_not_import_dask():
    code = (
        "import sys, sklearn_selfdistill\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in "
        "('dask', 'distributed')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("chunking", list(CHUNKINGS))
@pytest.mark.parametrize("normalize_y", [False, True])
def test_regressor_matches_numpy(dask_client, data, chunking, normalize_y):
    X, y, _ = data
    Y = np.column_stack([y, np.cos(X[:, 2])])  # two outputs
    params = dict(epsilon=[0.15, 0.1], n_rounds=1, normalize_y=normalize_y,
                  **NYSTROEM)
    ref = SelfDistilledKernelRidge(**params).fit(X, Y)
    model = SelfDistilledKernelRidge(**params).fit(
        dask_array(X, chunking), dask_array(Y, chunking)
    )
    # The same landmarks, drawn by index.
    np.testing.assert_array_equal(model.X_fit_, ref.X_fit_)
    rtol = tol(chunking)
    for name in ("c_", "dual_coef_", "eigenvalues_", "basis_coefficients_",
                 "train_mse_", "min_reachable_mse_"):
        assert_close(getattr(ref, name), getattr(model, name), rtol)
    assert model.n_features_in_ == 3
    pred = model.predict(dask_array(X, "ragged"))
    assert isinstance(pred, da.Array) and pred.shape == (N, 2)
    assert_close(ref.predict(X), pred.compute(), rtol)
    staged = list(model.staged_predict(dask_array(X, chunking)))
    assert len(staged) == 2
    for a, b in zip(ref.staged_predict(X), staged):
        assert isinstance(b, da.Array)
        assert_close(a, b.compute(), rtol)
    # numpy in, numpy out, from the model fitted on dask.
    assert isinstance(model.predict(X), np.ndarray)
    # No dask object in the fitted model.
    assert b"dask" not in pickle.dumps(model)


@pytest.mark.parametrize("chunking", list(CHUNKINGS))
@pytest.mark.parametrize("binary", [True, False])
def test_classifier_matches_numpy(dask_client, data, chunking, binary):
    X, _, labels = data
    labels = np.array(["a", "b", "c"])[np.minimum(labels, 1 if binary else 2)]
    params = dict(epsilon=0.4, n_rounds=1, on_collapse="ignore", **NYSTROEM)
    ref = SelfDistilledKernelRidgeClassifier(**params).fit(X, labels)
    model = SelfDistilledKernelRidgeClassifier(**params).fit(
        dask_array(X, chunking), dask_array(labels, chunking)
    )
    np.testing.assert_array_equal(model.classes_, ref.classes_)
    rtol = tol(chunking)
    assert_close(ref.c_, model.c_, rtol)
    assert_close(ref.dual_coef_, model.dual_coef_, rtol)
    Xd = dask_array(X, chunking)
    scores = model.decision_function(Xd)
    assert isinstance(scores, da.Array)
    assert_close(ref.decision_function(X), scores.compute(), rtol)
    pred = model.predict(Xd)
    assert isinstance(pred, da.Array) and pred.dtype == ref.predict(X).dtype
    np.testing.assert_array_equal(pred.compute(), ref.predict(X))
    for a, b in zip(ref.staged_decision_function(X),
                    model.staged_decision_function(Xd)):
        assert_close(a, b.compute(), rtol)
    for a, b in zip(ref.staged_predict(X), model.staged_predict(Xd)):
        np.testing.assert_array_equal(a, b.compute())
    assert b"dask" not in pickle.dumps(model)


@pytest.mark.parametrize("chunking", ["single", "ragged"])
@pytest.mark.parametrize(
    "cv, scoring",
    [(None, None), (None, "r2"), (KFold(3, shuffle=True, random_state=0), None),
     (3, "neg_mean_absolute_error")],
)
def test_regressor_cv_matches_numpy(dask_client, data, chunking, cv, scoring):
    X, y, _ = data
    params = dict(cv=cv, scoring=scoring, max_rounds=3, normalize_y=True,
                  epsilons=[0.01, 0.03, 0.1, 0.3], **NYSTROEM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ref = SelfDistilledKernelRidgeCV(**params).fit(X, y)
        model = SelfDistilledKernelRidgeCV(**params).fit(
            dask_array(X, chunking), dask_array(y, chunking)
        )
    assert_same_search(ref, model, tol(chunking))
    pred = model.predict(dask_array(X, chunking))
    assert isinstance(pred, da.Array)
    assert_close(ref.predict(X), pred.compute(), tol(chunking))


@pytest.mark.parametrize("cv", [None, KFold(3, shuffle=True, random_state=0)])
def test_weight_grid_cv_matches_numpy(dask_client, data, cv):
    X, y, _ = data
    params = dict(cv=cv, max_rounds=2, normalize_y=True, epsilons=[0.03, 0.1],
                  ground_truth_weights=[0.0, 0.5], **NYSTROEM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ref = SelfDistilledKernelRidgeCV(**params).fit(X, y)
        model = SelfDistilledKernelRidgeCV(**params).fit(
            dask_array(X, "ragged"), dask_array(y, "ragged")
        )
    assert model.loo_errors_.shape == (2, 2, 3)
    assert_same_search(ref, model, tol("ragged"))
    assert model.best_params_ == ref.best_params_


@pytest.mark.parametrize("chunking", ["single", "equal"])
@pytest.mark.parametrize("cv, scoring", [(None, None), (3, "accuracy")])
def test_classifier_cv_matches_numpy(dask_client, data, chunking, cv, scoring):
    X, _, labels = data
    params = dict(cv=cv, scoring=scoring, max_rounds=2,
                  epsilons=[0.3, 0.5, 0.7], **NYSTROEM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ref = SelfDistilledKernelRidgeClassifierCV(**params).fit(X, labels)
        model = SelfDistilledKernelRidgeClassifierCV(**params).fit(
            dask_array(X, chunking), dask_array(labels, chunking)
        )
    assert_same_search(ref, model, tol(chunking))
    Xd = dask_array(X, chunking)
    np.testing.assert_array_equal(model.predict(Xd).compute(), ref.predict(X))
    assert_close(ref.decision_function(X), model.decision_function(Xd).compute(),
           tol(chunking))


def test_unknown_chunk_sizes_are_resolved(dask_client, data):
    X, y, _ = data
    Xd, yd = dask_array(X, "equal"), dask_array(y, "equal")
    keep = Xd[:, 0] > -np.inf  # every row, in blocks of unknown length
    X_unknown, y_unknown = Xd[keep], yd[keep]
    assert np.isnan(X_unknown.shape[0])
    ref = SelfDistilledKernelRidge(epsilon=0.15, **NYSTROEM).fit(X, y)
    model = SelfDistilledKernelRidge(epsilon=0.15, **NYSTROEM).fit(
        X_unknown, y_unknown
    )
    np.testing.assert_array_equal(model.X_fit_, ref.X_fit_)
    assert_close(ref.c_, model.c_, 1e-9)
    # The caller's array is left as it was.
    assert np.isnan(X_unknown.shape[0])


def test_errors(dask_client, data):
    X, y, _ = data
    Xd, yd = dask_array(X, "equal"), dask_array(y, "equal")
    with pytest.raises(ValueError, match='eigen_solver="nystroem"'):
        SelfDistilledKernelRidge(eigen_solver="dense").fit(Xd, yd)
    with pytest.raises(ValueError, match='eigen_solver="nystroem"'):
        SelfDistilledKernelRidgeCV(eigen_solver="randomized",
                                   n_components=5).fit(Xd, yd)
    with pytest.raises(ValueError, match="device=None"):
        SelfDistilledKernelRidge(device="cpu", **NYSTROEM).fit(Xd, yd)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        SelfDistilledKernelRidge(**NYSTROEM).fit(Xd, yd[:-1])
    with pytest.raises(ValueError, match="2-D dask array X"):
        SelfDistilledKernelRidge(**NYSTROEM).fit(Xd[:, 0], yd)
    with pytest.raises(ValueError, match="numeric dtype"):
        SelfDistilledKernelRidge(**NYSTROEM).fit(Xd.astype(str), yd)
    bad = X.copy()
    bad[130, 1] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN .*rows 120 to 179"):
        SelfDistilledKernelRidge(epsilon=0.15, **NYSTROEM).fit(
            dask_array(bad, "equal"), yd
        )
    bad_y = y.copy()
    bad_y[5] = np.inf
    with pytest.raises(ValueError, match="y contains NaN or infinity"):
        SelfDistilledKernelRidge(epsilon=0.15, **NYSTROEM).fit(
            Xd, dask_array(bad_y, "equal")
        )
    with pytest.raises(NotFittedError):
        SelfDistilledKernelRidge(**NYSTROEM).predict(Xd)
    model = SelfDistilledKernelRidge(epsilon=0.15, **NYSTROEM).fit(Xd, yd)
    with pytest.raises(ValueError, match="X has 2 features, but "
                       "SelfDistilledKernelRidge is expecting 3"):
        model.predict(Xd[:, :2])


def test_dense_model_predicts_on_dask(dask_client, data):
    """Prediction maps over blocks whatever solver fitted the model."""
    X, y, _ = data
    model = SelfDistilledKernelRidge(epsilon=0.15, gamma=0.5).fit(X, y)
    pred = model.predict(dask_array(X, "ragged"))
    assert isinstance(pred, da.Array)
    assert_close(model.predict(X), pred.compute(), 1e-12)


@pytest.mark.slow
def test_worker_processes_keep_rows_off_the_client(tmp_path):
    """Rows and weights generated on two worker processes never reach the client."""
    n, p = 800_000, 8
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True,
        host="127.0.0.1", protocol="tcp://", dashboard_address="127.0.0.1:0",
        local_directory=str(tmp_path),
    )
    try:
        with distributed.Client(cluster):
            rs = da.random.RandomState(7)
            X = rs.uniform(-1, 1, size=(n, p), chunks=(100_000, p))
            y = X[:, 0] + da.sin(2 * X[:, 1])
            # Weights made on the workers too, a tenth of them zero.
            u = rs.uniform(0, 2, size=n, chunks=100_000)
            w = da.where(u < 0.2, 0.0, u)
            params = dict(epsilon=0.15, n_rounds=1, eigen_solver="nystroem",
                          n_components=30, random_state=0, gamma=0.2)
            model = SelfDistilledKernelRidge(**params)
            tracemalloc.start()
            try:
                model.fit(X, y, sample_weight=w)
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            pred = model.predict(X[:1000]).compute()
            X_small, y_small, w_small = (
                a[:20_000].compute() for a in (X, y, w)
            )
            small = SelfDistilledKernelRidge(**params).fit(
                X[:20_000], y[:20_000], sample_weight=w[:20_000]
            )
    finally:
        cluster.close()
    rows_bytes = n * p * 8
    # The rows are 51 MB. The client holds m x m sums, the landmarks, the task
    # graph (about 1 MB) and the draw of the landmarks' indices, a permutation
    # of the kept rows' indices (5.8 MB: 8 bytes a row against the rows' 64).
    assert peak < rows_bytes / 6, (peak, rows_bytes)
    ref = SelfDistilledKernelRidge(**params).fit(X_small, y_small,
                                                 sample_weight=w_small)
    assert_close(ref.c_, small.c_, 1e-9)
    assert_close(ref.dual_coef_, small.dual_coef_, 1e-9)
    assert_close(model.predict(X_small[:1000]), pred, 1e-12)


def test_spectrum_matches_numpy_pass_with_the_same_blocks(dask_client, data):
    """Blocks of 60 rows on dask and in the numpy pass: the same sums."""

    from sklearn.utils import check_random_state

    from sklearn_selfdistill._numpy_backend import NumpyOps
    from sklearn_selfdistill._solvers import compute_spectrum, nystroem_spectrum
    from sklearn_selfdistill.kernels import _pairwise

    X, y, _ = data
    Y = np.column_stack([y, y**2])
    ops = NumpyOps(functools.partial(_pairwise, kernel="rbf", gamma=0.5))
    ref = nystroem_spectrum(ops, X, Y, n_components=M,
                            random_state=check_random_state(3), chunk_size=60)
    got = compute_spectrum(dask_array(X, "equal"), dask_array(Y, "equal"), kernel="rbf",
                           gamma=0.5, eigen_solver="nystroem", n_components=M,
                           random_state=3)
    assert got.solver == "nystroem" and got.n_samples == N
    np.testing.assert_array_equal(got.X_fit, ref.X_fit)
    for name in ("d", "residual", "energy"):
        assert_close(getattr(ref, name), getattr(got, name), 1e-10)
    # Eigenvectors are defined up to sign: compare sign-free products.
    assert_close(ref.Z0 * ref.Z0, got.Z0 * got.Z0, 1e-10)
    assert_close(ref.dual_map @ ref.Z0, got.dual_map @ got.Z0, 1e-10)


#: Block reads counted by name (in-process workers share this module).
_READS = {}
_READS_LOCK = threading.Lock()


def _count_read(name, block, block_info=None):
    if block_info is not None and block.shape[0]:
        key = (name, block_info[0]["chunk-location"][0])
        with _READS_LOCK:
            _READS[key] = _READS.get(key, 0) + 1
    return block


def _counted(A, name):
    # A new name per call: a test's graph never shares keys with another's.
    return A.map_blocks(functools.partial(_count_read, name), dtype=A.dtype,
                        meta=np.empty((0,) * A.ndim, dtype=A.dtype),
                        name=f"counted-{name}-{uuid.uuid4().hex}")


@pytest.fixture
def counting():
    """Counts the reads of each block, on dask's synchronous scheduler.

    The count is a property of the graphs the package builds. A distributed
    cluster now and then runs a cheap shared task a second time (measured:
    the Gram pass reading a block twice in about one run of three, two
    in-process workers), which is the scheduler's matter, not the graph's.
    """
    import dask

    _READS.clear()
    with dask.config.set(scheduler="synchronous"):
        yield


def _reads_per_block(name):
    return sorted({c for (n, _), c in _READS.items() if n == name})


@pytest.mark.parametrize("estimator, reads", [
    # landmarks, the Gram pass / the targets' moments, the Gram pass
    (SelfDistilledKernelRidge(epsilon=0.15, normalize_y=True, **NYSTROEM), (2, 2)),
    # the same, then the leave-one-out pass; the refit reuses the spectrum
    # and the coding, and the default grid reads the coding's moments
    (SelfDistilledKernelRidgeCV(max_rounds=2, normalize_y=True, **NYSTROEM), (3, 3)),
])
def test_each_block_is_read_a_known_number_of_times(counting, data, estimator,
                                                    reads):
    """Passes over the rows (the cost model of the guide), counted per block."""
    X, y, _ = data
    Xd = _counted(dask_array(X, "equal"), "X")
    yd = _counted(dask_array(y, "equal"), "y")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        estimator.fit(Xd, yd)
    assert len(_READS) == 8  # every block of X and y was read
    assert (_reads_per_block("X"), _reads_per_block("y")) == ([reads[0]],
                                                              [reads[1]])


@pytest.mark.parametrize("estimator, reads", [
    # the check, the targets' moments, the Gram pass (which also sums them)
    (SelfDistilledKernelRidge(epsilon=0.15, normalize_y=True, **NYSTROEM), 3),
    # the same, then the leave-one-out pass; the refit reuses the check
    (SelfDistilledKernelRidgeCV(max_rounds=2, normalize_y=True, **NYSTROEM), 4),
])
@pytest.mark.parametrize("zeros", [False, True])
def test_weighted_fit_reads_each_block_of_the_weights(counting, data,
                                                     estimator, reads, zeros):
    """Every pass reads the weights once, however many arrays it derives from
    them (the kept rows of X and y, the kept weights, the row scales); zero
    weights add the landmarks' pass, which selects the kept rows."""
    X, y, _ = data
    w = np.random.RandomState(1).uniform(0.5, 2.0, size=N)
    if zeros:
        w[::7] = 0.0
    wd = _counted(dask_array(w, "equal"), "w")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        estimator.fit(dask_array(X, "equal"), dask_array(y, "equal"),
                      sample_weight=wd)
    assert _reads_per_block("w") == [reads + zeros]


@pytest.mark.parametrize("estimator, reads", [
    (SelfDistilledKernelRidge(epsilon=0.15, normalize_y=True, **NYSTROEM), 3),
    (SelfDistilledKernelRidgeCV(max_rounds=2, normalize_y=True, **NYSTROEM), 4),
])
def test_x_and_y_from_one_source_read_it_once_per_pass(counting, data,
                                                       estimator, reads):
    """``X`` and ``y`` computed from the same blocks (columns of one table, say)
    read them once per pass, not once for each."""
    X, y, _ = data
    table = _counted(dask_array(np.column_stack([X, y]), "equal"), "table")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        estimator.fit(table[:, :3], table[:, 3])
    # landmarks, the targets' moments, the Gram pass (and leave-one-out)
    assert _reads_per_block("table") == [reads]
