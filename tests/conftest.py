"""Shared test configuration."""

import sys

import pytest
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


@pytest.fixture
def eigh_calls(monkeypatch):
    """Shapes of every ``scipy.linalg.eigh`` call the test makes, in order.

    The package calls LAPACK's symmetric eigensolvers through
    ``scipy.linalg.eigh`` only, so this counts its eigendecompositions.
    """
    from scipy import linalg

    calls = []
    original = linalg.eigh

    def counting(a, *args, **kwargs):
        calls.append(tuple(a.shape))
        return original(a, *args, **kwargs)

    monkeypatch.setattr(linalg, "eigh", counting)
    return calls
