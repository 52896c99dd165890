"""The spectral solvers of the kernel estimators: randomized and Nystroem."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.metrics.pairwise import rbf_kernel

from sklearn_selfdistill import SelfDistilledKernelRidge
from sklearn_selfdistill._distill import distill_path
from sklearn_selfdistill._numpy_backend import NumpyOps
from sklearn_selfdistill._solvers import nystroem_spectrum


def _data(n=120, n_test=50, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, (n, 2))
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2 / 2 + 0.2 * rng.randn(n)
    X_test = rng.uniform(-2, 2, (n_test, 2))
    return X, y, X_test


def _fit(X, y, **params):
    base = dict(epsilon=0.05, n_rounds=3, gamma=4.0, on_collapse="ignore")
    base.update(params)
    return SelfDistilledKernelRidge(**base).fit(X, y)


@pytest.mark.parametrize("solver", ["randomized", "nystroem"])
def test_full_rank_low_rank_solver_equals_dense(solver):
    # gamma=4 gives a Gram matrix with condition number 1.7e6: every direction
    # is kept and Nystroem with all points as landmarks is the exact kernel.
    X, y, X_test = _data()
    dense = _fit(X, y)
    low = _fit(X, y, eigen_solver=solver, n_components=X.shape[0], random_state=0)
    assert np.isfinite(dense.condition_number_)
    assert_allclose(low.eigenvalues_, dense.eigenvalues_, rtol=1e-8, atol=0)
    assert_allclose(low.c_, dense.c_, rtol=1e-8)
    assert_allclose(low.train_mse_, dense.train_mse_, rtol=1e-8)
    assert_allclose(low.predict(X_test), dense.predict(X_test), atol=1e-8)
    for a, b in zip(low.staged_predict(X_test), dense.staged_predict(X_test)):
        assert_allclose(a, b, atol=1e-8)


def test_randomized_is_exact_on_an_exactly_low_rank_gram():
    # A linear kernel on 4 features has rank 4: the range finder (4 + 10
    # columns < 80 points) captures the whole range, and the directions it
    # drops are exactly the dense solver's null space.
    rng = np.random.RandomState(1)
    X = rng.randn(80, 4)
    y = X @ rng.randn(4) + 0.5 * rng.randn(80)
    X_test = rng.randn(30, 4)
    params = dict(kernel="linear", epsilon=0.3, n_rounds=4)
    dense = _fit(X, y, **params)
    low = _fit(
        X, y, eigen_solver="randomized", n_components=4, random_state=0, **params
    )
    assert low.eigenvalues_.shape == (4,)
    assert low.basis_coefficients_.shape == (5, 4)
    assert_allclose(low.eigenvalues_, dense.eigenvalues_[:4], rtol=1e-10)
    assert np.all(dense.eigenvalues_[4:] == 0)
    assert_allclose(low.min_reachable_mse_, dense.min_reachable_mse_, rtol=1e-8)
    assert_allclose(low.c_, dense.c_, rtol=1e-8)
    assert_allclose(low.basis_coefficients_, dense.basis_coefficients_[:, :4],
                    atol=1e-10)
    assert_allclose(low.predict(X_test), dense.predict(X_test), atol=1e-8)
    assert low.condition_number_ == np.inf


@pytest.mark.parametrize("solver", ["randomized", "nystroem"])
def test_low_rank_approaches_dense_as_n_components_grows(solver):
    X, y, X_test = _data()
    ref = _fit(X, y).predict(X_test)
    errors = [
        np.abs(
            _fit(X, y, eigen_solver=solver, n_components=m, random_state=0)
            .predict(X_test) - ref
        ).max()
        for m in (80, 100, 120)
    ]
    assert errors[0] > errors[1] > errors[2]
    assert errors[0] > 1e-4
    assert errors[2] < 1e-8


def test_low_rank_counts_dropped_directions_as_unfittable():
    X, y, _ = _data()
    model = _fit(X, y, eigen_solver="randomized", n_components=60, random_state=0,
                 store_eigenvectors=True)
    U = model.eigenvectors_
    assert U.shape == (120, 60)
    assert_allclose(U.T @ U, np.eye(60), atol=1e-12)
    # The smallest reachable MSE is the energy of y outside the kept span.
    outside = y - U @ (U.T @ y)
    assert_allclose(model.min_reachable_mse_, outside @ outside / 120, rtol=1e-8)
    # ... and it adds to every round's training error: at round 0 the error
    # against y equals epsilon exactly.
    assert_allclose(model.train_mse_[0], 0.05, rtol=1e-10)
    # The kernel predictions at the training points match the eigenbasis
    # model up to the Ritz residual of the randomized eigenvectors.
    assert_allclose(np.mean((model.predict(X) - y) ** 2), model.train_mse_[-1],
                    rtol=1e-6)
    floor = model.min_reachable_mse_
    with pytest.raises(ValueError, match="n_components=60, the part of y outside"):
        _fit(X, y, epsilon=0.99 * floor, eigen_solver="randomized",
             n_components=60, random_state=0)


def test_nystroem_predicts_from_landmarks_only():
    X, y, X_test = _data()
    m = 50
    model = _fit(X, y, gamma=1.0, epsilon=0.08, n_rounds=2,
                 eigen_solver="nystroem", n_components=m, random_state=0)
    L = model.X_fit_
    assert L.shape == (m, 2)
    assert model.dual_coef_.shape == (m,)
    assert model.eigenvalues_.shape == (m,)
    assert model.basis_coefficients_.shape == (3, m)
    # The landmarks are training points.
    assert all(np.any(np.all(X == row, axis=1)) for row in L)
    assert_allclose(model.predict(X_test),
                    rbf_kernel(X_test, L, gamma=1.0) @ model.dual_coef_, atol=1e-12)

    # The model is exact self-distillation with the Nystroem kernel
    # phi(x) . phi(x'), phi(x) = k(x, L) k(L, L)^{-1/2}: compare with the dense
    # solver on that kernel, precomputed.
    lam, Q = np.linalg.eigh(rbf_kernel(L, gamma=1.0))
    root_inv = Q / np.sqrt(lam)
    Phi = rbf_kernel(X, L, gamma=1.0) @ root_inv
    Phi_test = rbf_kernel(X_test, L, gamma=1.0) @ root_inv
    ref = _fit(Phi @ Phi.T, y, kernel="precomputed", epsilon=0.08, n_rounds=2)
    assert_allclose(model.c_, ref.c_, rtol=1e-7)
    assert_allclose(model.predict(X_test), ref.predict(Phi_test @ Phi.T), atol=1e-8)
    assert_allclose(model.min_reachable_mse_, ref.min_reachable_mse_, rtol=1e-6)


def test_nystroem_chunking_does_not_change_the_spectrum():
    X, y, _ = _data()
    Y = np.column_stack([y, np.cos(X[:, 1])])
    ops = NumpyOps(lambda A, B=None: rbf_kernel(A, B, gamma=1.0))
    whole = nystroem_spectrum(ops, X, Y, n_components=40,
                              random_state=np.random.RandomState(3))
    chunked = nystroem_spectrum(ops, X, Y, n_components=40, chunk_size=7,
                                random_state=np.random.RandomState(3))
    assert_allclose(chunked.X_fit, whole.X_fit)
    assert_allclose(chunked.d, whole.d, rtol=1e-12)
    assert_allclose(np.abs(chunked.Z0), np.abs(whole.Z0), rtol=1e-9, atol=1e-12)
    assert_allclose(chunked.residual, whole.residual, rtol=1e-9)


def test_nystroem_multi_output_equals_one_fit_per_column():
    X, y, X_test = _data()
    Y = np.column_stack([y, np.cos(X[:, 1]) + 0.1 * y])
    params = dict(gamma=1.0, epsilon=[0.08, 0.05], eigen_solver="nystroem",
                  n_components=60, random_state=0)
    both = _fit(X, Y, **params)
    for q in range(2):
        single = _fit(X, Y[:, q], **{**params, "epsilon": params["epsilon"][q]})
        assert_allclose(both.c_[:, q], single.c_, rtol=1e-10)
        assert_allclose(both.predict(X_test)[:, q], single.predict(X_test),
                        atol=1e-10)


def test_random_state_makes_low_rank_fits_reproducible():
    X, y, X_test = _data()
    for solver in ("randomized", "nystroem"):
        a = _fit(X, y, eigen_solver=solver, n_components=90, random_state=7)
        b = _fit(X, y, eigen_solver=solver, n_components=90, random_state=7)
        assert_allclose(a.predict(X_test), b.predict(X_test), rtol=0, atol=0)


def test_distill_path_with_a_residual_direction_matches_the_full_spectrum():
    # Lumping all zero-eigenvalue directions into one with the same energy
    # and K passed explicitly leaves every multiplier unchanged.
    rng = np.random.RandomState(0)
    d = np.concatenate([np.sort(rng.uniform(0.1, 1.0, 6))[::-1], np.zeros(4)])
    z = rng.randn(10)
    full = distill_path(d, z, 0.3, 5)
    lumped = distill_path(
        np.append(d[:6], 0.0), np.append(z[:6], np.linalg.norm(z[6:])), 0.3, 5,
        n_samples=10,
    )
    assert_allclose(lumped[0], full[0], rtol=1e-12)
    assert_allclose(lumped[1][:, :6], full[1][:, :6], rtol=1e-12)
    assert np.array_equal(lumped[2], full[2])


@pytest.mark.parametrize(
    "params, message",
    [
        ({"eigen_solver": "nystroem"}, "eigen_solver='nystroem' needs n_components"),
        ({"eigen_solver": "randomized"},
         "eigen_solver='randomized' needs n_components"),
        ({"eigen_solver": "nystroem", "n_components": 121},
         r"n_components=121 exceeds the number of training samples \(120\)"),
        ({"eigen_solver": "randomized", "n_components": 500},
         r"n_components=500 exceeds the number of training samples \(120\)"),
        ({"eigen_solver": "nystroem", "n_components": 10,
          "store_eigenvectors": True}, "set store_eigenvectors=False"),
    ],
)
def test_low_rank_parameter_errors(params, message):
    X, y, _ = _data()
    with pytest.raises(ValueError, match=message):
        _fit(X, y, **params)


def test_nystroem_refuses_a_precomputed_kernel():
    X, y, _ = _data()
    with pytest.raises(ValueError, match="cannot be used with kernel='precomputed'"):
        _fit(rbf_kernel(X), y, kernel="precomputed", eigen_solver="nystroem",
             n_components=10)


def test_dense_ignores_n_components():
    X, y, X_test = _data()
    assert_allclose(_fit(X, y, n_components=5).predict(X_test),
                    _fit(X, y).predict(X_test), rtol=0, atol=0)


def test_classifier_takes_the_low_rank_solvers():
    from sklearn.datasets import load_iris

    from sklearn_selfdistill import SelfDistilledKernelRidgeClassifier

    X, y = load_iris(return_X_y=True)
    params = dict(epsilon=0.3, n_rounds=2, gamma=0.5, on_collapse="ignore")
    dense = SelfDistilledKernelRidgeClassifier(**params).fit(X, y)
    full = SelfDistilledKernelRidgeClassifier(
        eigen_solver="randomized", n_components=150, random_state=0, **params
    ).fit(X, y)
    assert_allclose(full.decision_function(X), dense.decision_function(X),
                    atol=1e-8)
    nys = SelfDistilledKernelRidgeClassifier(
        eigen_solver="nystroem", n_components=40, random_state=0, **params
    ).fit(X, y)
    assert nys.X_fit_.shape == (40, 4)
    assert nys.dual_coef_.shape == (40, 3)
    assert_allclose(nys.decision_function(X),
                    rbf_kernel(X, nys.X_fit_, gamma=0.5) @ nys.dual_coef_,
                    atol=1e-12)
    assert np.mean(nys.predict(X) == dense.predict(X)) > 0.9

