"""The CV estimators with the low-rank spectral solvers (randomized, Nystroem)."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import linalg
from sklearn.datasets import load_iris
from sklearn.metrics import r2_score
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.model_selection import KFold

import sklearn_selfdistill._search as search_module
from sklearn_selfdistill import (
    SelfDistilledKernelRidge,
    SelfDistilledKernelRidgeClassifierCV,
    SelfDistilledKernelRidgeCV,
)

GAMMA = 4.0


@pytest.fixture(scope="module")
def data():
    # gamma=4 on these points: condition number 1.7e6, every direction kept
    # when n_components = n, and Nystroem with all points as landmarks is the
    # exact kernel.
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, (120, 2))
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2 / 2 + 0.2 * rng.randn(120)
    return X, y


def _quiet_fit(model, X, y):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*grid points", category=UserWarning)
        return model.fit(X, y)


@pytest.mark.parametrize("scoring", [None, "r2"])
@pytest.mark.parametrize("solver", ["randomized", "nystroem"])
def test_full_rank_low_rank_loo_equals_dense(data, solver, scoring):
    X, y = data
    params = dict(epsilons=[0.03, 0.05, 0.1], max_rounds=3, gamma=GAMMA,
                  scoring=scoring)
    dense = _quiet_fit(SelfDistilledKernelRidgeCV(**params), X, y)
    low = _quiet_fit(
        SelfDistilledKernelRidgeCV(
            eigen_solver=solver, n_components=X.shape[0], random_state=0, **params
        ),
        X, y,
    )
    finite = np.isfinite(dense.loo_errors_)
    assert finite.sum() == 11  # the last round of the largest epsilon collapses
    assert np.array_equal(np.isfinite(low.loo_errors_), finite)
    assert_allclose(low.loo_errors_[finite], dense.loo_errors_[finite], rtol=1e-8)
    scores = dense.cv_results_["mean_test_score"]
    ok = np.isfinite(scores)
    assert_allclose(low.cv_results_["mean_test_score"][ok], scores[ok], rtol=1e-8)
    assert (low.best_epsilon_, low.best_n_rounds_) == (
        dense.best_epsilon_, dense.best_n_rounds_
    )


def test_classifier_full_rank_nystroem_loo_equals_dense():
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    X, y = X[::2], y[::2]
    params = dict(epsilons=[0.2, 0.3], max_rounds=1, gamma=0.5)
    dense = _quiet_fit(SelfDistilledKernelRidgeClassifierCV(**params), X, y)
    low = _quiet_fit(
        SelfDistilledKernelRidgeClassifierCV(
            eigen_solver="nystroem", n_components=X.shape[0], random_state=0,
            **params,
        ),
        X, y,
    )
    finite = np.isfinite(dense.loo_errors_)
    assert finite.sum() == 3  # round 1 of epsilon=0.3 collapses for a class
    assert np.array_equal(np.isfinite(low.loo_errors_), finite)
    assert_allclose(low.loo_errors_[finite], dense.loo_errors_[finite], rtol=1e-8)
    assert low.best_estimator_.eigen_solver == "nystroem"
    assert low.X_fit_.shape == X.shape


def _nystroem_basis(X, landmarks, gamma):
    """Orthonormal eigenvectors F (n x r) and eigenvalues of Phi Phi^T / n."""
    n = X.shape[0]
    lam, Q = linalg.eigh(rbf_kernel(landmarks, gamma=gamma))
    keep = lam > lam.max() * len(lam) * np.finfo(float).eps
    R = Q[:, keep] / np.sqrt(lam[keep])
    Phi = rbf_kernel(X, landmarks, gamma=gamma) @ R
    s, W = linalg.eigh(Phi.T @ Phi / n)
    keep = s > s.max() * n * np.finfo(float).eps
    F = Phi @ W[:, keep] / np.sqrt(n * s[keep])
    return F, s[keep]


@pytest.mark.parametrize("scoring", [None, "r2"])
def test_chunked_nystroem_loo_equals_direct_smoother(data, monkeypatch, scoring):
    X, y = data
    n, m = X.shape[0], 40
    epsilons = [0.08, 0.1]  # the smallest reachable MSE is 0.071 with 40
    # 7 rows per chunk: 120 rows in 18 chunks, the last one shorter.
    monkeypatch.setattr(search_module, "_LOO_CHUNK_FLOATS", 7 * m)
    model = _quiet_fit(
        SelfDistilledKernelRidgeCV(
            epsilons=epsilons, max_rounds=2, gamma=GAMMA, eigen_solver="nystroem",
            n_components=m, random_state=0, scoring=scoring,
        ),
        X, y,
    )
    landmarks = model.X_fit_
    F, s = _nystroem_basis(X, landmarks, GAMMA)
    assert F.shape == (n, m)
    assert_allclose(F.T @ F, np.eye(m), atol=1e-8)
    for e, eps in enumerate(epsilons):
        ref = SelfDistilledKernelRidge(
            epsilon=eps, n_rounds=2, gamma=GAMMA, eigen_solver="nystroem",
            n_components=m, random_state=0, on_collapse="ignore",
        ).fit(X, y)
        assert_allclose(ref.X_fit_, landmarks)
        assert not ref.collapsed_.any()
        B = np.ones(m)
        for t in range(3):
            B = B * s / (ref.c_[t] + s)
            S = (F * B) @ F.T  # the n x n smoother, directly
            residual = (y - S @ y) / (1.0 - np.diag(S))
            assert_allclose(model.loo_errors_[e, t], np.mean(residual**2), rtol=1e-8)
            score = model.cv_results_["mean_test_score"][e * 3 + t]
            expected = (
                -np.mean(residual**2) if scoring is None
                else r2_score(y, y - residual)
            )
            assert_allclose(score, expected, rtol=1e-8)


@pytest.mark.parametrize("solver", ["nystroem", "randomized", "dense"])
def test_chunk_size_does_not_change_the_criterion(data, monkeypatch, solver):
    # One leave-one-out path serves every solver; its chunking is invisible.
    X, y = data
    params = dict(epsilons=[0.1, 0.12], max_rounds=2, gamma=GAMMA,
                  eigen_solver=solver, n_components=30, random_state=0)
    whole = _quiet_fit(SelfDistilledKernelRidgeCV(**params), X, y).loo_errors_
    monkeypatch.setattr(search_module, "_LOO_CHUNK_FLOATS", 1)  # one row per chunk
    rows = _quiet_fit(SelfDistilledKernelRidgeCV(**params), X, y).loo_errors_
    assert np.isfinite(whole).all()
    assert_allclose(rows, whole, rtol=1e-12)


def test_kfold_nystroem_equals_manual_loop(data):
    X, y = data
    folds = KFold(n_splits=4, shuffle=True, random_state=0)
    epsilons = [0.05, 0.2, 0.25]
    params = dict(gamma=GAMMA, eigen_solver="nystroem", n_components=40,
                  random_state=0, normalize_y=True)
    model = _quiet_fit(
        SelfDistilledKernelRidgeCV(epsilons=epsilons, max_rounds=2, cv=folds,
                                   **params),
        X, y,
    )
    manual = np.zeros((4, 3, 3))
    for k, (train, test) in enumerate(folds.split(X)):
        for e, eps in enumerate(epsilons):
            ref = SelfDistilledKernelRidge(
                epsilon=eps, n_rounds=2, on_collapse="ignore", **params
            )
            try:
                ref.fit(X[train], y[train])
            except ValueError as error:
                assert "n_components=40" in str(error)
                manual[k, e] = -np.inf
                continue
            for t, pred in enumerate(ref.staged_predict(X[test])):
                manual[k, e, t] = (
                    -np.inf if ref.collapsed_[t]
                    else -np.mean((pred - y[test]) ** 2)
                )
    valid = np.isfinite(manual).all(axis=0)
    # epsilon=0.05 is infeasible on a fold with 40 components (the landmarks
    # differ by fold), the last round collapses: 4 valid points.
    assert valid.sum() == 4
    assert np.isinf(manual[:, 0]).any() and np.isfinite(manual[:, 0]).any()
    for k in range(4):
        split = model.cv_results_[f"split{k}_test_score"].reshape(3, 3)
        assert_allclose(split[valid], manual[k][valid], rtol=1e-10)
        assert np.all(split[~valid] == -np.inf)
    assert_allclose(
        model.loo_errors_[valid], -manual.mean(axis=0)[valid], rtol=1e-10
    )
    assert np.all(np.isinf(model.loo_errors_[~valid]))


def test_infeasible_points_of_a_small_rank_get_worst_score_and_refit(data):
    X, y = data
    params = dict(gamma=GAMMA, eigen_solver="nystroem", n_components=20,
                  random_state=0)
    floor = SelfDistilledKernelRidge(epsilon=1.0, n_rounds=0, **params).fit(
        X, y
    ).min_reachable_mse_
    dense_floor = SelfDistilledKernelRidge(epsilon=1.0, n_rounds=0, gamma=GAMMA).fit(
        X, y
    ).min_reachable_mse_
    # The part of y outside the 20 kept directions is unfittable.
    assert floor > 0.05 and dense_floor == 0.0
    epsilons = [0.5 * floor, 1.2 * floor]
    model = SelfDistilledKernelRidgeCV(epsilons=epsilons, max_rounds=1, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X, y)
    assert list(model.cv_results_["status"]) == ["infeasible"] * 2 + ["ok"] * 2
    assert np.all(np.isinf(model.loo_errors_[0]))
    assert np.all(model.cv_results_["mean_test_score"][:2] == -np.inf)
    assert np.isfinite(model.loo_errors_[1]).all()
    assert model.best_epsilon_ == epsilons[1]
    final = model.best_estimator_
    assert (final.eigen_solver, final.n_components, final.random_state) == (
        "nystroem", 20, 0
    )
    ref = SelfDistilledKernelRidge(
        epsilon=model.best_epsilon_, n_rounds=model.best_n_rounds_, **params
    ).fit(X, y)
    assert model.X_fit_.shape == (20, 2)
    assert_allclose(model.predict(X), ref.predict(X), rtol=1e-12)


def test_low_rank_solver_needs_n_components(data):
    X, y = data
    with pytest.raises(ValueError, match="eigen_solver='nystroem' needs n_components"):
        SelfDistilledKernelRidgeCV(eigen_solver="nystroem").fit(X, y)


def test_nystroem_on_all_points_keeps_a_singular_grams_null_space_unfittable():
    # Duplicated inputs with different targets: the Gram matrix of all points
    # (and so of all points as landmarks) is singular, and the part of y in its
    # null space is unfittable with m = n as well.
    rng = np.random.RandomState(3)
    X = np.repeat(rng.uniform(size=(20, 1)), 2, axis=0)
    y = np.sin(6 * X[:, 0]) + 0.5 * rng.randn(40)
    params = dict(gamma=5.0, eigen_solver="nystroem", n_components=40,
                  random_state=0, on_collapse="ignore")
    dense_floor = SelfDistilledKernelRidge(
        epsilon=1.0, n_rounds=0, gamma=5.0, on_collapse="ignore"
    ).fit(X, y).min_reachable_mse_
    model = SelfDistilledKernelRidge(epsilon=1.2 * dense_floor, n_rounds=1, **params)
    model.fit(X, y)
    assert dense_floor > 0.1
    # The two null spaces are thresholded on different matrices: 4e-4 apart.
    assert_allclose(model.min_reachable_mse_, dense_floor, rtol=1e-3)
    round0 = next(model.staged_predict(X))
    # R = kernel(L, L)^{-1/2} has entries 1/sqrt(lambda) with lambda just above
    # the null-space threshold: the identity holds to ~1e-8, not to eps.
    assert_allclose(model.train_mse_[0], np.mean((round0 - y) ** 2), rtol=1e-7)
    with pytest.raises(ValueError, match="below the smallest training mean"):
        SelfDistilledKernelRidge(epsilon=0.5 * dense_floor, n_rounds=0, **params).fit(
            X, y
        )
    params.pop("on_collapse")
    epsilons = [0.5 * dense_floor, 1.2 * dense_floor]
    dense = _quiet_fit(
        SelfDistilledKernelRidgeCV(epsilons=epsilons, max_rounds=1, gamma=5.0), X, y
    )
    low = _quiet_fit(
        SelfDistilledKernelRidgeCV(epsilons=epsilons, max_rounds=1, **params), X, y
    )
    assert np.all(np.isinf(low.loo_errors_[0]))
    assert np.isfinite(low.loo_errors_[1]).all()
    assert_allclose(low.loo_errors_[1], dense.loo_errors_[1], rtol=1e-6)


@pytest.mark.parametrize("cv", [None, 3])
@pytest.mark.parametrize("solver", ["randomized", "nystroem"])
def test_torch_device_equals_numpy(data, solver, cv):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    X, y = data
    params = dict(epsilons=[0.1, 0.2], max_rounds=2, gamma=GAMMA, cv=cv,
                  eigen_solver=solver, n_components=40, random_state=0)
    ours = _quiet_fit(SelfDistilledKernelRidgeCV(**params), X, y)
    on_torch = _quiet_fit(SelfDistilledKernelRidgeCV(device="cpu", **params), X, y)
    finite = np.isfinite(ours.loo_errors_)
    assert finite.sum() >= 2
    assert np.array_equal(np.isfinite(on_torch.loo_errors_), finite)
    assert_allclose(on_torch.loo_errors_[finite], ours.loo_errors_[finite], rtol=1e-10)
    assert_allclose(on_torch.predict(X), ours.predict(X), rtol=1e-10, atol=1e-12)


def test_nystroem_refit_uses_the_landmarks_the_search_scored(data, eigh_calls):
    # The refit reuses the search's spectrum: no second pass over the data,
    # and with a RandomState instance (consumed by the search's draw) the
    # refitted model is the one that was scored, i.e. a fit of its own with
    # a fresh instance of the same seed.
    X, y = data
    calls = eigh_calls
    model = _quiet_fit(
        SelfDistilledKernelRidgeCV(
            epsilons=[0.1, 0.2], max_rounds=2, gamma=GAMMA, eigen_solver="nystroem",
            n_components=30, random_state=np.random.RandomState(7),
        ),
        X, y,
    )
    # kernel(L, L) and the 30 x 30 feature Gram, once each.
    assert calls == [(30, 30), (30, 30)]
    own = SelfDistilledKernelRidge(
        epsilon=model.best_epsilon_, n_rounds=model.best_n_rounds_, gamma=GAMMA,
        eigen_solver="nystroem", n_components=30,
        random_state=np.random.RandomState(7),
    ).fit(X, y)
    np.testing.assert_array_equal(model.X_fit_, own.X_fit_)
    assert_allclose(model.predict(X), own.predict(X), rtol=1e-12)
