"""The torch path of the kernel estimators (device=...), run on the CPU."""

import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sklearn_selfdistill import SelfDistilledKernelRidge
from sklearn_selfdistill.kernels import green_spline_kernel

torch = pytest.importorskip("torch")


def _data(n=80, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, (n, 3))
    Y = np.column_stack([
        np.sin(3 * X[:, 0]) + 0.2 * rng.randn(n),
        X @ np.array([1.0, -1.0, 0.5]) + 0.3 * rng.randn(n),
    ])
    return X, Y, rng.uniform(-1, 1, (30, 3))


def _pair(X, Y, **params):
    base = dict(epsilon=0.01, n_rounds=3, on_collapse="ignore", random_state=0)
    base.update(params)
    numpy_fit = SelfDistilledKernelRidge(**base).fit(X, Y)
    torch_fit = SelfDistilledKernelRidge(device="cpu", **base).fit(X, Y)
    return numpy_fit, torch_fit


def _assert_same(a, b, X_test):
    assert_allclose(b.eigenvalues_, a.eigenvalues_, rtol=1e-10, atol=1e-13)
    # c near interpolation moves more than the predictions (MATH.md section 1).
    assert_allclose(b.c_, a.c_, rtol=1e-8)
    assert_allclose(b.train_mse_, a.train_mse_, rtol=1e-9)
    assert_allclose(b.dual_coef_, a.dual_coef_, rtol=1e-10, atol=1e-10)
    assert_allclose(b.predict(X_test), a.predict(X_test), rtol=0, atol=1e-10)
    assert isinstance(b.dual_coef_, np.ndarray)
    # Every round, the non-collapsed ones included, agrees.
    assert not np.all(a.collapsed_)
    for pa, pb in zip(a.staged_predict(X_test), b.staged_predict(X_test)):
        assert_allclose(pb, pa, rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    "params",
    [
        {"kernel": "rbf", "gamma": 3.0},
        {"kernel": "laplacian", "gamma": 1.0},
        {"kernel": "poly", "degree": 2, "gamma": 0.5, "epsilon": [0.25, 0.15]},
        {"kernel": "linear", "epsilon": 0.1, "columns": [1]},
        {"kernel": "cosine", "epsilon": 0.2, "columns": [1]},
        {"kernel": "chi2", "gamma": 5.0, "epsilon": 0.05},  # through numpy
    ],
)
def test_torch_cpu_dense_equals_numpy(params):
    X, Y, X_test = _data()
    params = dict(params)
    Y = Y[:, params.pop("columns", [0, 1])]
    if params["kernel"] == "chi2":
        X, X_test = np.abs(X), np.abs(X_test)
    a, b = _pair(X, Y, **params)
    _assert_same(a, b, X_test)


@pytest.mark.parametrize("solver", ["randomized", "nystroem"])
def test_torch_cpu_low_rank_equals_numpy(solver):
    # Same random_state: the same Gaussian test matrix and the same landmarks.
    X, Y, X_test = _data(n=120)
    a, b = _pair(X, Y, kernel="rbf", gamma=3.0, epsilon=0.08,
                 eigen_solver=solver, n_components=60)
    if solver == "nystroem":
        assert_allclose(b.X_fit_, a.X_fit_, rtol=0, atol=0)
    _assert_same(a, b, X_test)


def test_torch_cpu_precomputed_and_callable():
    rng = np.random.RandomState(0)
    x = np.sort(rng.uniform(0, 1, 30))[:, None]
    y = np.sin(2 * np.pi * x[:, 0]) + 0.2 * rng.randn(30)
    gram = green_spline_kernel(x)
    before = gram.copy()
    a, b = _pair(gram, y, kernel="precomputed", epsilon=0.05, n_rounds=2)
    assert np.array_equal(gram, before)  # the caller's matrix is untouched
    _assert_same(a, b, gram[:7])
    a, b = _pair(x, y, kernel="green_spline", epsilon=0.05, n_rounds=2,
                 store_eigenvectors=True)
    _assert_same(a, b, x[:7])
    assert isinstance(b.eigenvectors_, np.ndarray)
    # Eigenvectors agree up to sign.
    signs = np.sign(np.sum(a.eigenvectors_ * b.eigenvectors_, axis=0))
    keep = a.eigenvalues_ > 1e-8 * a.eigenvalues_[0]
    assert_allclose((b.eigenvectors_ * signs)[:, keep], a.eigenvectors_[:, keep],
                    atol=1e-8)


def test_cuda_without_cuda_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is available here")
    X, Y, _ = _data()
    with pytest.raises(ValueError, match="device='cuda' was requested but CUDA is "
                       "not available"):
        SelfDistilledKernelRidge(device="cuda").fit(X, Y[:, 0])


def test_unknown_device_is_a_clear_error():
    X, Y, _ = _data()
    with pytest.raises(ValueError, match="device='gpu0' is not a torch device"):
        SelfDistilledKernelRidge(device="gpu0").fit(X, Y[:, 0])


@pytest.mark.slow
def test_importing_the_package_does_not_import_torch():
    code = (
        "import sys, sklearn_selfdistill\n"
        "from sklearn_selfdistill import SelfDistilledKernelRidge\n"
        "import numpy as np\n"
        "X = np.random.RandomState(0).randn(20, 2)\n"
        "SelfDistilledKernelRidge(epsilon=0.1, on_collapse='ignore')"
        ".fit(X, X[:, 0])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cv_searches_on_the_torch_device():
    from sklearn_selfdistill import SelfDistilledKernelRidgeCV

    X, Y, X_test = _data()
    params = dict(gamma=3.0, max_rounds=4)
    a = SelfDistilledKernelRidgeCV(**params).fit(X, Y[:, 0])
    b = SelfDistilledKernelRidgeCV(device="cpu", **params).fit(X, Y[:, 0])
    assert_allclose(b.loo_errors_, a.loo_errors_, rtol=1e-9)
    assert (b.best_epsilon_, b.best_n_rounds_) == (a.best_epsilon_, a.best_n_rounds_)
    assert b.best_estimator_.device == "cpu"
    assert_allclose(b.predict(X_test), a.predict(X_test), atol=1e-10)
