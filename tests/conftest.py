"""Shared test configuration."""

import sys

import numpy as np
import pytest
from sklearn.datasets import load_iris
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def _single_blas_thread():
    """One BLAS thread for the whole run.

    The test problems are small (at most a few hundred points), where BLAS
    threads only add overhead; on a busy two-core machine OpenBLAS's
    multithreaded ``syevr`` was measured 150 times slower than one thread on a
    200 x 200 matrix.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(autouse=True)
def _single_torch_thread():
    """Run torch on one thread in every test that can use it.

    Test modules that need torch import it at collection time
    (``pytest.importorskip("torch")``), so it is in ``sys.modules`` before
    their tests run. The fixture never imports torch itself: a run of the
    torch-free tests stays free of torch's import time, and nothing breaks
    when torch is not installed.
    """
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "set_num_threads"):
        torch.set_num_threads(1)
    yield


#: The symmetric eigensolvers a spectral solver may call, as (module, name).
_EIGENSOLVERS = (
    ("scipy.linalg", "eigh"),
    ("scipy.linalg", "eigvalsh"),
    ("scipy.linalg", "eigh_tridiagonal"),
    ("scipy.linalg", "eigvalsh_tridiagonal"),
    ("numpy.linalg", "eigh"),
    ("numpy.linalg", "eigvalsh"),
)


@pytest.fixture
def eigh_calls(monkeypatch):
    """Shapes of every symmetric eigendecomposition the test makes, in order.

    Counts the calls of SciPy's and NumPy's symmetric eigensolvers (dense and
    tridiagonal: a solver that changes LAPACK routine is still counted), each
    recorded by the shape of its first argument; the tridiagonal ones, which
    take the diagonal, as ``(n, n)``. The package calls them as module
    attributes (``linalg.eigh``), so patching the modules sees every call.
    """
    import importlib

    calls = []
    for module_name, name in _EIGENSOLVERS:
        module = importlib.import_module(module_name)
        original = getattr(module, name, None)
        if original is None:
            continue

        def counting(a, *args, _original=original, **kwargs):
            shape = np.shape(a)
            calls.append(shape if len(shape) == 2 else (shape[0], shape[0]))
            return _original(a, *args, **kwargs)

        monkeypatch.setattr(module, name, counting)
    return calls


def _regression(n_samples, seed=0):
    """``sin(4 x_0) + x_1`` plus noise on the unit square."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(size=(n_samples, 2))
    y = np.sin(4 * X[:, 0]) + X[:, 1] + 0.3 * rng.randn(n_samples)
    return X, y


@pytest.fixture(scope="session")
def regression():
    """50 points of a smooth 2-D regression problem."""
    return _regression(50)


@pytest.fixture(scope="session")
def regression_60():
    """The same problem with 60 points."""
    return _regression(60)


@pytest.fixture(scope="session")
def iris():
    """Iris, standardised."""
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


@pytest.fixture(scope="session")
def iris_half(iris):
    """Every other sample of standardised iris: brute-force loops stay fast."""
    X, y = iris
    return X[::2], y[::2]


@pytest.fixture(scope="module")
def dask_client(tmp_path_factory):
    """An in-process dask cluster of two single-threaded workers."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False,
        dashboard_address="127.0.0.1:0",
        local_directory=str(tmp_path_factory.mktemp("dask")),
    )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()
