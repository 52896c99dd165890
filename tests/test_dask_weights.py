"""Sample weights as dask arrays: the weighted Nystroem fits and searches.

Every weighted fit on dask arrays is compared with the weighted numpy fit of
the same rows (itself checked against repeated rows and brute force in
``test_sample_weight.py``).
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import KFold, PredefinedSplit

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

NYSTROEM = dict(eigen_solver="nystroem", n_components=40, random_state=3, gamma=0.5)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(N, 3))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2 + 0.1 * rng.randn(N)
    labels = np.array(["a", "b", "c"])[np.digitize(y, [0.0, 0.8])]
    w = rng.uniform(0.2, 3.0, size=N)
    w[rng.rand(N) < 0.2] = 0.0
    w[101:138] = 0.0  # a whole block of the ragged chunking
    return X, y, labels, w


@pytest.mark.parametrize("chunking", list(CHUNKINGS))
@pytest.mark.parametrize("normalize_y", [False, True])
@pytest.mark.parametrize("weights_as", ["numpy", "dask"])
def test_weighted_regressor_matches_numpy(dask_client, data, chunking, normalize_y,
                                          weights_as):
    X, y, _, w = data
    Y = np.column_stack([y, np.cos(X[:, 2])])
    params = dict(epsilon=[0.15, 0.1], n_rounds=2, normalize_y=normalize_y,
                  on_collapse="ignore", **NYSTROEM)
    ref = SelfDistilledKernelRidge(**params).fit(X, Y, sample_weight=w)
    # Weights chunked otherwise than X are rechunked to its rows.
    weights = w if weights_as == "numpy" else da.from_array(w, chunks=70)
    model = SelfDistilledKernelRidge(**params).fit(
        dask_array(X, chunking), dask_array(Y, chunking), sample_weight=weights
    )
    # Zero-weight rows dropped first, then the same landmarks by index.
    np.testing.assert_array_equal(model.X_fit_, ref.X_fit_)
    rtol = tol(chunking)
    for name in ("c_", "dual_coef_", "eigenvalues_", "basis_coefficients_",
                 "train_mse_", "min_reachable_mse_"):
        assert_close(getattr(ref, name), getattr(model, name), rtol)
    assert_close(ref.predict(X), model.predict(dask_array(X, "equal")).compute(), rtol)
    assert b"dask" not in pickle.dumps(model)


def test_weights_change_the_fit(dask_client, data):
    """The weights reach the dask pass: a weighted fit is not the unweighted one."""
    X, y, _, w = data
    Xd, yd = dask_array(X, "equal"), dask_array(y, "equal")
    params = dict(epsilon=0.2, n_rounds=1, **NYSTROEM)
    plain = SelfDistilledKernelRidge(**params).fit(Xd, yd)
    positive = np.where(w > 0, w, 1.0)
    weighted = SelfDistilledKernelRidge(**params).fit(Xd, yd,
                                                      sample_weight=positive)
    assert np.max(np.abs(weighted.c_ - plain.c_) / plain.c_) > 1e-3
    # The weighted training MSE of every round is epsilon (eq. (21)).
    for t, pred in enumerate(weighted.staged_predict(X)):
        mse = np.average((pred - y) ** 2, weights=positive)
        np.testing.assert_allclose(mse, weighted.train_mse_[t], rtol=1e-10)
    np.testing.assert_allclose(weighted.train_mse_[0], 0.2, rtol=1e-9)


@pytest.mark.parametrize("weights", ["equal", "zero_one"])
def test_equal_weights_are_the_unweighted_fit_of_the_kept_rows(dask_client, data,
                                                                weights):
    X, y, _, w = data
    kept = np.ones(N, dtype=bool) if weights == "equal" else w > 0
    sample_weight = np.where(kept, 2.5, 0.0)
    params = dict(epsilon=0.1, n_rounds=2, normalize_y=True, **NYSTROEM)
    ref = SelfDistilledKernelRidge(**params).fit(X[kept], y[kept])
    model = SelfDistilledKernelRidge(**params).fit(
        dask_array(X, "ragged"), dask_array(y, "ragged"),
        sample_weight=da.from_array(sample_weight, chunks=50),
    )
    np.testing.assert_array_equal(model.X_fit_, ref.X_fit_)
    assert_close(ref.c_, model.c_, 1e-9)
    assert_close(ref.dual_coef_, model.dual_coef_, 1e-9)


@pytest.mark.parametrize("chunking", ["single", "ragged"])
@pytest.mark.parametrize("cv, scoring", [
    (None, None), (None, "r2"), (KFold(3, shuffle=True, random_state=0), None),
    (KFold(3, shuffle=True, random_state=0), "neg_mean_absolute_error"),
])
def test_weighted_regressor_cv_matches_numpy(dask_client, data, chunking, cv, scoring):
    X, y, _, w = data
    params = dict(cv=cv, scoring=scoring, max_rounds=2, normalize_y=True,
                  **NYSTROEM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ref = SelfDistilledKernelRidgeCV(**params).fit(X, y, sample_weight=w)
        model = SelfDistilledKernelRidgeCV(**params).fit(
            dask_array(X, chunking), dask_array(y, chunking),
            sample_weight=dask_array(w, chunking),
        )
    assert_same_search(ref, model, tol(chunking))
    assert_close(ref.predict(X), model.predict(dask_array(X, chunking)).compute(),
           tol(chunking))


@pytest.mark.parametrize("binary", [True, False])
def test_weighted_classifier_matches_numpy(dask_client, data, binary):
    X, _, labels, w = data
    if binary:
        labels = np.where(labels == "c", "b", labels)
    params = dict(epsilon=0.3, n_rounds=1, **NYSTROEM)
    ref = SelfDistilledKernelRidgeClassifier(**params).fit(X, labels,
                                                           sample_weight=w)
    model = SelfDistilledKernelRidgeClassifier(**params).fit(
        dask_array(X, "ragged"), dask_array(labels, "ragged"),
        sample_weight=dask_array(w, "equal"),
    )
    np.testing.assert_array_equal(model.classes_, ref.classes_)
    for name in ("c_", "dual_coef_", "train_mse_"):
        assert_close(getattr(ref, name), getattr(model, name), 1e-9)
    np.testing.assert_array_equal(model.predict(dask_array(X, "equal")).compute(),
                                  ref.predict(X))


@pytest.mark.parametrize("cv, scoring", [(None, None), (3, "accuracy")])
def test_weighted_classifier_cv_matches_numpy(dask_client, data, cv, scoring):
    X, _, labels, w = data
    params = dict(cv=cv, scoring=scoring, max_rounds=2,
                  epsilons=[0.4, 0.6, 0.8], **NYSTROEM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ref = SelfDistilledKernelRidgeClassifierCV(**params).fit(
            X, labels, sample_weight=w
        )
        model = SelfDistilledKernelRidgeClassifierCV(**params).fit(
            dask_array(X, "equal"), dask_array(labels, "equal"),
            sample_weight=dask_array(w, "equal"),
        )
    assert_same_search(ref, model, 1e-9)


def test_weight_errors_name_the_parameter(dask_client, data):
    X, y, labels, w = data
    Xd, yd = dask_array(X, "equal"), dask_array(y, "equal")
    model = SelfDistilledKernelRidge(epsilon=0.1, **NYSTROEM)
    bad = w.copy()
    bad[130] = -1.0
    with pytest.raises(ValueError, match=r"sample_weight has negative values "
                       r"\(row 130 among them\)"):
        model.fit(Xd, yd, sample_weight=dask_array(bad, "equal"))
    bad[130] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite values"):
        model.fit(Xd, yd, sample_weight=bad)
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(239,\), "
                       r"expected \(240,\)"):
        model.fit(Xd, yd, sample_weight=da.from_array(w[:-1], chunks=60))
    with pytest.raises(ValueError, match=r"expected \(240,\)"):
        model.fit(Xd, yd, sample_weight=np.ones((N, 2)))
    with pytest.raises(ValueError, match="numeric weights"):
        model.fit(Xd, yd, sample_weight=dask_array(w.astype(str), "equal"))
    with pytest.raises(ValueError, match="at least one positive weight"):
        model.fit(Xd, yd, sample_weight=da.zeros(N, chunks=60))
    # None of these fits left the estimator fitted.
    with pytest.raises(NotFittedError):
        model.predict(X)
    # The positive weights on rows of one class only.
    one_class = np.where(labels == "a", 1.0, 0.0)
    clf = SelfDistilledKernelRidgeClassifier(epsilon=0.6, **NYSTROEM)
    with pytest.raises(ValueError, match="hold one class only, 'a'"):
        clf.fit(Xd, dask_array(labels, "equal"),
                sample_weight=dask_array(one_class, "equal"))
    with pytest.raises(ValueError, match="hold one class only, 'a'"):
        SelfDistilledKernelRidgeClassifierCV(cv=3, **NYSTROEM).fit(
            Xd, dask_array(labels, "equal"), sample_weight=one_class
        )
    # A split whose held-out part has only zero weights.
    fold = np.repeat([0, 1], N // 2)
    w_fold = np.where(fold == 1, 0.0, 1.0)
    w_fold[0] = 2.0
    with pytest.raises(ValueError, match="only zero sample_weight in its "
                       "training or held-out part"):
        SelfDistilledKernelRidgeCV(cv=PredefinedSplit(fold), **NYSTROEM).fit(
            Xd, yd, sample_weight=w_fold
        )


def test_scalar_weight_is_the_unweighted_fit(dask_client, data):
    X, y, _, _ = data
    params = dict(epsilon=0.2, **NYSTROEM)
    ref = SelfDistilledKernelRidge(**params).fit(X, y)
    model = SelfDistilledKernelRidge(**params).fit(
        dask_array(X, "equal"), dask_array(y, "equal"), sample_weight=3.0
    )
    assert_close(ref.c_, model.c_, 1e-9)


@pytest.mark.parametrize("scale, shift", [(1.0, 0.0), (1e160, 0.0),
                                          (1e-200, 0.0), (1.0, 1e8)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("normalize_y", [False, True])
def test_target_coding_from_one_pass_matches_numpy(data, scale, shift, weighted,
                                                   normalize_y):
    """Mean, scale and coded mean squares from one pass equal the numpy coding.

    Extreme scales would overflow or underflow the squares without the
    per-block powers of two; a mean 1e8 times the spread would lose every
    digit of the variance to ``sum y^2 - (sum y)^2 / n``.
    """
    from sklearn_selfdistill._targets import RegressionCoding

    X, y, _, w = data
    Y = np.column_stack([y, np.cos(X[:, 2])]) * scale + shift
    weights = np.where(w > 0, w, 0.5) if weighted else None
    ref = RegressionCoding.fit(Y, normalize_y, weights)
    got = RegressionCoding.fit(
        dask_array(Y, "ragged"), normalize_y,
        None if weights is None else dask_array(weights, "ragged"),
    )
    np.testing.assert_allclose(got.mean, ref.mean, rtol=1e-13, atol=0)
    np.testing.assert_allclose(got.std, ref.std, rtol=1e-13)
    coded = ref.encode(Y)
    expected = np.average(coded * coded, axis=0, weights=weights)
    np.testing.assert_allclose(got.mean_square(None), expected, rtol=1e-13)
    assert np.all(np.isfinite(got.mean_square(None)))


def test_target_moments_skip_blocks_of_zero_weight(data):
    from sklearn_selfdistill._dask_solver import target_moments

    X, y, _, w = data  # w is zero on a whole block of the ragged chunking
    Y = np.column_stack([y, X[:, 0]]) + 3.0
    total, mean, squares, unit = target_moments(
        dask_array(Y, "ragged"), dask_array(w, "ragged")
    )
    np.testing.assert_allclose(total, w.sum(), rtol=1e-14)
    expected_mean = np.average(Y, axis=0, weights=w)
    np.testing.assert_allclose(mean * unit, expected_mean, rtol=1e-14)
    expected_var = np.average((Y - expected_mean) ** 2, axis=0, weights=w)
    np.testing.assert_allclose(squares * unit**2 / total, expected_var, rtol=1e-13)
