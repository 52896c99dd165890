"""Bad Gram matrices: non-finite, non-square, asymmetric, on every solver.

Like scikit-learn's ``KernelRidge`` the estimators reject a Gram matrix with
infs or NaNs, whatever produced it (inputs too large for the kernel, a callable
kernel returning NaN) and whatever solver computes the spectrum; a precomputed
Gram matrix must be square and symmetric. A fit that raises leaves the
estimator unfitted.
"""

import importlib.util

import numpy as np
import pytest
from sklearn.gaussian_process.kernels import RBF

from sklearn_selfdistill._checks import check_precomputed_gram, checked_kernel

from _kernel_cases import ESTIMATORS, SOLVERS, assert_unfitted, data, make


def _solver_id(params):
    return params["eigen_solver"]


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("solver", SOLVERS, ids=_solver_id)
def test_overflowing_inputs_raise_like_kernel_ridge(name, solver):
    X, y = data(name)
    estimator = make(name, **solver)
    with pytest.raises(ValueError, match=r"kernel='rbf' contains infs or NaNs"):
        estimator.fit(X * 1e200, y)
    assert_unfitted(estimator, X)


def _nan_kernel(a, b):
    return float("nan")


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("solver", SOLVERS, ids=_solver_id)
def test_callable_kernel_returning_nan(name, solver):
    X, y = data(name, n=16)
    estimator = make(name, kernel=_nan_kernel, **solver)
    with pytest.raises(ValueError, match="'_nan_kernel' contains infs or NaNs"):
        estimator.fit(X, y)
    assert_unfitted(estimator, X)


class _WrongShapeKernel(RBF):
    """An RBF kernel that drops its last column: not one value per pair."""

    def __call__(self, X, Y=None, eval_gradient=False):
        return super().__call__(X, Y)[:, :-1]


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("solver", SOLVERS, ids=_solver_id)
def test_kernel_returning_a_wrong_shape(name, solver):
    X, y = data(name, n=16)
    estimator = make(name, **solver)
    estimator.set_params(kernel=_WrongShapeKernel())
    # Nystroem evaluates the kernel on its 8 landmarks first.
    m = 8 if solver["eigen_solver"] == "nystroem" else 16
    with pytest.raises(
        ValueError, match=rf"shape \({m}, {m - 1}\) for {m} and {m} samples"
    ):
        estimator.fit(X, y)
    assert_unfitted(estimator, X)


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("eigen_solver", ["dense", "randomized"])
def test_asymmetric_precomputed_gram(name, eigen_solver):
    X, y = data(name)
    K = np.exp(-5.0 * ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    K[0, 1] += 1e-3
    params = {"kernel": "precomputed", "eigen_solver": eigen_solver}
    if eigen_solver == "randomized":
        params.update(n_components=8, random_state=0)
    estimator = make(name, **params)
    with pytest.raises(ValueError, match=r"kernel='precomputed'.*symmetric") as info:
        estimator.fit(K, y)
    assert "max|X - X.T| = 0.001" in str(info.value)
    assert_unfitted(estimator, K)
    # Round-off asymmetry of a product X X^T is accepted.
    K_sym = K.copy()
    K_sym[0, 1] = K_sym[1, 0] * (1 + 1e-15)
    make(name, **params).fit(K_sym, y)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_non_square_precomputed_gram(name):
    X, y = data(name)
    estimator = make(name, kernel="precomputed")
    with pytest.raises(ValueError, match=r"kernel='precomputed'.*square.*\(24, 2\)"):
        estimator.fit(X, y)
    assert_unfitted(estimator, X)


def test_check_precomputed_gram_blocks_cover_every_entry():
    # A large matrix goes through several row blocks; the asymmetry in the
    # last block is found.
    n = 1100
    K = np.eye(n)
    K[n - 1, n - 2] = 0.5
    with pytest.raises(ValueError, match="max\\|X - X.T\\| = 0.5"):
        check_precomputed_gram("precomputed", K)
    check_precomputed_gram("rbf", K)  # only precomputed Gram matrices


def test_checked_kernel_passes_finite_matrices_through():
    K = np.arange(6.0).reshape(2, 3)
    kernel = checked_kernel(lambda A, B=None: K, "k")
    assert kernel(np.zeros((2, 1)), np.zeros((3, 1))) is K
    with pytest.raises(ValueError, match=r"shape \(2, 3\) for 2 and 2 samples"):
        kernel(np.zeros((2, 1)))
    K[1, 2] = np.inf
    with pytest.raises(ValueError, match="kernel='k' contains infs or NaNs"):
        kernel(np.zeros((2, 1)), np.zeros((3, 1)))


class _NanAwayKernel(RBF):
    """An RBF kernel that answers NaN for points far from the unit square."""

    def __call__(self, X, Y=None, eval_gradient=False):
        K = super().__call__(X, Y)
        far = np.abs(X).max(axis=1) > 10
        K[far] = np.nan
        return K


@pytest.mark.parametrize("name", ESTIMATORS)
def test_prediction_rejects_a_non_finite_kernel(name):
    # Nothing returns NaN silently: the fit is fine, the new points are not.
    X, y = data(name)
    estimator = make(name).set_params(kernel=_NanAwayKernel()).fit(X, y)
    with pytest.raises(ValueError, match="contains infs or NaNs"):
        estimator.predict(X + 100.0)
    assert np.all(np.isfinite(estimator.predict(X)))


needs_torch = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="needs torch"
)


@needs_torch
@pytest.mark.parametrize("name", ESTIMATORS)
def test_torch_device_checks_the_gram_matrix(name):
    X, y = data(name)
    estimator = make(name, device="cpu")
    with pytest.raises(ValueError, match="kernel='rbf' contains infs or NaNs"):
        estimator.fit(X * 1e200, y)
    assert_unfitted(estimator, X)


@needs_torch
@pytest.mark.parametrize("name", ESTIMATORS)
def test_device_that_holds_no_data(name):
    X, y = data(name)
    estimator = make(name, device="meta")
    with pytest.raises(ValueError, match=r"device='meta' cannot hold float64 data"):
        estimator.fit(X, y)
    assert_unfitted(estimator, X)
