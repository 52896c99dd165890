"""``score`` on dask arrays: scikit-learn's R^2 and accuracy from block sums."""

import tracemalloc

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.fixes import parse_version

from sklearn_selfdistill import (
    SelfDistilledKernelRidge,
    SelfDistilledKernelRidgeClassifier,
    SelfDistilledKernelRidgeClassifierCV,
    SelfDistilledKernelRidgeCV,
)
from sklearn_selfdistill._dask import blockwise
from sklearn_selfdistill._dask_score import DaskR2ScoreMixin

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from _dask_support import (  # noqa: E402
    CHUNKINGS,
    N,
    dask_array,
)

NYSTROEM = dict(eigen_solver="nystroem", n_components=60, random_state=3, gamma=0.5)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(N, 3))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2 + 0.1 * rng.randn(N)
    Y = np.column_stack([y, np.cos(X[:, 2]) + 0.2 * rng.randn(N)])
    labels = np.array(["low", "mid", "high"])[np.digitize(y, [0.0, 0.8])]
    w = rng.uniform(0.0, 2.0, size=N)
    w[::7] = 0.0
    return X, Y, labels, w


def _rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


@pytest.fixture(scope="module")
def regressors(data):
    X, Y, _, _ = data
    single = SelfDistilledKernelRidge(epsilon=0.05, n_rounds=2, **NYSTROEM)
    multi = SelfDistilledKernelRidge(epsilon=[0.05, 0.1], n_rounds=1, **NYSTROEM)
    search = SelfDistilledKernelRidgeCV(epsilons=[0.05, 0.1], max_rounds=2,
                                        **NYSTROEM)
    return {
        "single": (single.fit(X, Y[:, 0]), Y[:, 0]),
        "multi": (multi.fit(X, Y), Y),
        "cv": (search.fit(X, Y[:, 0]), Y[:, 0]),
    }


@pytest.mark.parametrize("chunking", list(CHUNKINGS))
@pytest.mark.parametrize("name", ["single", "multi", "cv"])
@pytest.mark.parametrize("weights", [None, "numpy", "dask"])
def test_r2_matches_sklearn(dask_client, data, regressors, chunking, name, weights):
    X, _, _, w = data
    model, y = regressors[name]
    Xd = dask_array(X, chunking)
    pred = model.predict(Xd).compute()
    sw = {None: None, "numpy": w, "dask": dask_array(w, "equal")}[weights]
    expected = r2_score(y, pred, sample_weight=None if sw is None else w)
    # y as a dask array chunked otherwise than X, and as numpy.
    got = model.score(Xd, dask_array(y, "ragged" if chunking != "ragged" else "equal"),
                      sample_weight=sw)
    assert isinstance(got, float)
    assert _rel(got, expected) < 1e-12, (got, expected)
    assert _rel(model.score(Xd, y, sample_weight=sw), expected) < 1e-12


def test_r2_far_from_zero_mean(dask_client, data):
    """A mean 1e6 times the spread: the shifted sums keep every digit."""
    X, Y, _, w = data
    y = 1e6 + Y[:, 0]
    model = SelfDistilledKernelRidge(epsilon=0.05, normalize_y=True,
                                     **NYSTROEM).fit(X, y)
    Xd = dask_array(X, "ragged")
    pred = model.predict(Xd).compute()
    for sw in (None, w):
        expected = r2_score(y, pred, sample_weight=sw)
        got = model.score(Xd, dask_array(y, "equal"), sample_weight=sw)
        assert _rel(got, expected) < 1e-12, (got, expected)
        # sum w y^2 - (sum w y)^2 / sum w would cancel 12 of 16 digits here.
        total = np.average(y, weights=sw)
        ww = np.ones(N) if sw is None else sw
        naive = (ww @ y**2 - (ww @ y) ** 2 / ww.sum()) / (ww @ (y - total) ** 2)
        assert abs(naive - 1) > 1e-9


def test_unknown_chunk_sizes(dask_client, data, regressors):
    """Blocks of unknown length (a filtered array) are measured, not refused."""
    X, _, _, w = data
    model, y = regressors["single"]
    Xd = dask_array(X, "equal")
    yd, wd = dask_array(y, "ragged"), dask_array(w, "ragged")
    X_unknown, y_unknown = Xd[Xd[:, 0] > -np.inf], yd[yd > -np.inf]
    w_unknown = wd[wd > -1]
    assert np.isnan(X_unknown.shape[0]) and np.isnan(y_unknown.shape[0])
    expected = r2_score(y, model.predict(X), sample_weight=w)
    got = model.score(X_unknown, y_unknown, sample_weight=w_unknown)
    assert _rel(got, expected) < 1e-12


def test_r2_negative_weights_match_sklearn(dask_client, data, regressors):
    X, _, _, _ = data
    model, y = regressors["single"]
    Xd = dask_array(X, "equal")
    pred = model.predict(Xd).compute()
    w = np.random.RandomState(1).uniform(-0.5, 2.0, size=N)
    assert (w < 0).any()
    expected = r2_score(y, pred, sample_weight=w)
    got = model.score(Xd, dask_array(y, "equal"), sample_weight=w)
    assert _rel(got, expected) < 1e-12


@pytest.mark.parametrize("chunking", list(CHUNKINGS))
@pytest.mark.parametrize("cls", [SelfDistilledKernelRidgeClassifier,
                                 SelfDistilledKernelRidgeClassifierCV])
@pytest.mark.parametrize("weights", [None, "numpy", "dask"])
def test_accuracy_matches_sklearn(dask_client, data, chunking, cls, weights):
    X, _, labels, w = data
    params = (dict(epsilon=0.4, n_rounds=1, on_collapse="ignore")
              if cls is SelfDistilledKernelRidgeClassifier
              else dict(epsilons=[0.3, 0.6], max_rounds=1))
    # Fitted on part of the points so that the accuracy is below 1.
    model = cls(**params, **NYSTROEM).fit(X[::3], labels[::3])
    Xd = dask_array(X, chunking)
    pred = model.predict(Xd).compute()
    sw = {None: None, "numpy": w, "dask": dask_array(w, "ragged")}[weights]
    expected = accuracy_score(labels, pred, sample_weight=None if sw is None else w)
    assert 0.0 < expected < 1.0
    got = model.score(Xd, dask_array(labels, "equal"), sample_weight=sw)
    assert isinstance(got, float)
    assert _rel(got, expected) < 1e-12, (got, expected)
    assert _rel(model.score(Xd, labels, sample_weight=sw), expected) < 1e-12
    if weights is None:
        assert got == expected  # correct count / n, exactly


def test_numpy_X_keeps_sklearn_score(data, regressors):
    X, _, _, w = data
    model, y = regressors["multi"]
    assert model.score(X, y, sample_weight=w) == r2_score(
        y, model.predict(X), sample_weight=w
    )
    # Metadata routing still sees score's sample_weight.
    with sklearn.config_context(enable_metadata_routing=True):
        request = SelfDistilledKernelRidge().set_score_request(sample_weight=True)
        routing = request.get_metadata_routing()
        assert routing.score.requests == {"sample_weight": True}


class _Constant(DaskR2ScoreMixin, RegressorMixin, BaseEstimator):
    """Predicts ``value`` everywhere: R^2's edge cases on chosen numbers."""

    def __init__(self, value=0.0, n_outputs=None):
        self.value = value
        self.n_outputs = n_outputs

    def fit(self, X, y=None):
        self.n_features_in_ = np.shape(X)[1]
        return self

    @blockwise
    def predict(self, X):
        shape = (np.shape(X)[0],) + ((self.n_outputs,) if self.n_outputs else ())
        return np.full(shape, float(self.value))


def test_r2_edge_cases(dask_client):
    X = np.zeros((10, 2))
    Xd = da.from_array(X, chunks=((3, 3, 4), 2))
    ones = np.ones(10)
    # Constant y, exact predictions: 1.0; inexact: 0.0 (scikit-learn's rule).
    assert _Constant(3.0).fit(X).score(Xd, 3.0 * ones) == 1.0
    assert r2_score(3.0 * ones, 3.0 * ones) == 1.0
    assert _Constant(2.0).fit(X).score(Xd, 3.0 * ones) == 0.0
    assert r2_score(3.0 * ones, 2.0 * ones) == 0.0
    # Where scikit-learn's rounded mean leaves a 1e-33 variance, the constant
    # is still seen (documented in the Notes of score).
    X7 = da.zeros((7, 2), chunks=(3, 2))
    assert _Constant(0.2).fit(X).score(X7, np.full(7, 0.1)) == 0.0
    assert r2_score(np.full(7, 0.1), np.full(7, 0.2)) < -1e20
    # Constant on the rows of non-zero weight only.
    y = np.r_[5.0, 3.0 * ones[1:]]
    w = np.r_[0.0, ones[1:]]
    assert _Constant(2.0).fit(X).score(Xd, y, sample_weight=w) == 0.0
    assert _Constant(2.0).fit(X).score(Xd, y) == r2_score(y, 2.0 * ones)
    # One constant output among two: averaged as scikit-learn does.
    Y = np.column_stack([np.arange(10.0), 3.0 * ones])
    model = _Constant(3.0, n_outputs=2).fit(X)
    assert model.score(Xd, Y) == pytest.approx(
        r2_score(Y, np.full((10, 2), 3.0)), rel=1e-14, abs=0
    )


def test_r2_one_sample_warns_and_is_nan(dask_client):
    model = _Constant(1.0).fit(np.zeros((1, 2)))
    with pytest.warns(UndefinedMetricWarning, match="less than two samples"):
        got = model.score(da.zeros((1, 2), chunks=1), np.array([2.0]))
    with pytest.warns(UndefinedMetricWarning, match="less than two samples"):
        expected = r2_score([2.0], [1.0])
    assert np.isnan(got) and np.isnan(expected)


def test_score_errors(dask_client, data, regressors):
    X, _, labels, w = data
    model, y = regressors["single"]
    Xd = dask_array(X, "equal")
    yd = dask_array(y, "equal")
    with pytest.raises(ValueError, match="at least one non-zero number"):
        model.score(Xd, yd, sample_weight=np.zeros(N))
    # scikit-learn raises the same error from 1.9; before, numpy.average's
    # ZeroDivisionError.
    expected = (ValueError if parse_version(sklearn.__version__).release >= (1, 9)
                else ZeroDivisionError)
    with pytest.raises(expected, match="non-zero number|sum to zero"):
        r2_score(y, y, sample_weight=np.zeros(N))
    signed = np.r_[np.ones(N // 2), -np.ones(N // 2)]
    with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
        model.score(Xd, yd, sample_weight=signed)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        model.score(Xd, yd[:-1])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        model.score(Xd, yd, sample_weight=w[:-1])
    with pytest.raises(ValueError, match="sample_weight must be a 1-D"):
        model.score(Xd, yd, sample_weight=np.column_stack([w, w]))
    with pytest.raises(ValueError, match="sample_weight must be an array.*scalar"):
        model.score(Xd, yd, sample_weight=2.0)
    with pytest.raises(ValueError, match=r"different number of output \(2!=1\)"):
        model.score(Xd, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="numeric targets"):
        model.score(Xd, labels)
    bad = y.copy()
    bad[70] = np.nan
    with pytest.raises(ValueError,
                       match=r"y contains NaN or infinity \(in rows 60 to 119"):
        model.score(Xd, dask_array(bad, "equal"))
    bad_w = w.copy()
    bad_w[3] = np.inf
    with pytest.raises(ValueError, match="sample_weight contains NaN"):
        model.score(Xd, yd, sample_weight=dask_array(bad_w, "equal"))
    clf = SelfDistilledKernelRidgeClassifier(
        epsilon=0.4, on_collapse="ignore", **NYSTROEM
    ).fit(X, labels)
    with pytest.raises(ValueError,
                       match=r"Mix of label input types \(string and number\)"):
        clf.score(Xd, np.zeros(N))
    with pytest.raises(ValueError, match="one label per row"):
        clf.score(Xd, np.column_stack([labels, labels]))
    numeric = SelfDistilledKernelRidgeClassifier(
        epsilon=0.4, on_collapse="ignore", **NYSTROEM
    ).fit(
        X, (labels == "low").astype(int)
    )
    with pytest.raises(ValueError, match="mix of continuous"):
        numeric.score(Xd, np.linspace(0, 1, N))
    # Integer-valued floats are labels, as for scikit-learn.
    expected = accuracy_score((labels == "low").astype(float), numeric.predict(X))
    assert numeric.score(Xd, (labels == "low").astype(float)) == expected


def _targets(block, q):
    """``q`` outputs of the rows of ``block`` (computed on the workers)."""
    return np.sin(np.outer(block[:, 0], 1 + np.arange(q) / 16))


def test_predictions_and_targets_stay_on_the_workers(dask_client):
    """Rows, targets and predictions generated on the workers: the client's
    peak stays far below the predictions and targets it would gather."""
    n, q = 400_000, 16
    rng = np.random.RandomState(0)
    X_fit = rng.uniform(-1, 1, size=(100, 3))
    model = SelfDistilledKernelRidge(epsilon=0.05, eigen_solver="nystroem",
                                     n_components=10, random_state=0)
    model.fit(X_fit, _targets(X_fit, q))
    rs = da.random.RandomState(7)
    X = rs.uniform(-1, 1, size=(n, 3), chunks=(10_000, 3))
    Y = X.map_blocks(_targets, q, chunks=(X.chunks[0], (q,)), dtype=float)
    w = rs.uniform(0, 1, size=n, chunks=25_000)
    model.score(X[:100], Y[:100])  # warm up imports and the cluster
    tracemalloc.start()
    try:
        got = model.score(X, Y, sample_weight=w)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    gathered = 2 * n * q * 8  # Y and the predictions: 102 MB
    # In-process workers count too. Measured: 17 to 21 MB (dask alone holds
    # 9 MB to sum the predictions), against 210 MB when y and the predictions
    # are gathered and passed to r2_score.
    assert peak < gathered / 3, (peak, gathered)
    X_np, Y_np, w_np = (a.compute() for a in (X, Y, w))
    expected = r2_score(Y_np, model.predict(X_np), sample_weight=w_np)
    assert _rel(got, expected) < 1e-12
