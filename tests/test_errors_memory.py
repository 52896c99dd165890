"""The dense solver's memory guard, tested through the available-memory probe.

No test allocates more than a few kilobytes: the probe
``_checks.available_memory_bytes`` is monkeypatched to report less memory
than the dense solver's estimate, and the fit must fail before the kernel is
evaluated, with the estimate, the available memory and the Nystroem fix.
"""

import numpy as np
import pytest

from sklearn_selfdistill import _checks
from sklearn_selfdistill._checks import (
    available_memory_bytes,
    check_dense_memory,
    dense_peak_bytes,
    suggested_n_components,
)

from _kernel_cases import ESTIMATORS, assert_unfitted, data, make

GIB = 2.0**30


def test_dense_peak_is_three_square_float64_arrays():
    for n in (0, 1, 24, 60_000):
        assert dense_peak_bytes(n) == 3 * 8 * n * n
    # The 60,000-point fit of the report: 80.5 GiB, not numpy's first 26.8.
    assert dense_peak_bytes(60_000) / GIB == pytest.approx(80.47, abs=0.01)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_fit_fails_before_the_kernel_is_evaluated(name, monkeypatch):
    X, y = data(name)
    available = dense_peak_bytes(24) - 1
    monkeypatch.setattr(_checks, "available_memory_bytes", lambda: available)
    calls = []

    def kernel(a, b):
        calls.append(1)
        return float(np.exp(-np.sum((a - b) ** 2)))

    estimator = make(name, kernel=kernel)
    with pytest.raises(MemoryError) as info:
        estimator.fit(X, y)
    message = str(info.value)
    assert "eigen_solver='dense' on 24 samples needs about 0.0 GiB" in message
    assert "(3 n_samples x n_samples float64 arrays at its peak)" in message
    assert "eigen_solver='nystroem' with n_components=" in message
    assert calls == []
    assert_unfitted(estimator, X)


def test_message_gives_estimate_available_and_n_components(monkeypatch):
    monkeypatch.setattr(_checks, "available_memory_bytes", lambda: 8 * GIB)
    with pytest.raises(MemoryError) as info:
        check_dense_memory(60_000)
    message = str(info.value)
    assert "needs about 80.5 GiB" in message
    assert "only 8.0 GiB is available" in message
    assert "n_components=2000" in message


@pytest.mark.parametrize("eigen_solver", ["nystroem", "randomized"])
def test_only_the_dense_solver_is_guarded(eigen_solver, monkeypatch):
    monkeypatch.setattr(_checks, "available_memory_bytes", lambda: 1)
    X, y = data("regressor")
    make("regressor", eigen_solver=eigen_solver, n_components=8,
         random_state=0).fit(X, y)


def test_unknown_available_memory_is_not_guarded(monkeypatch):
    monkeypatch.setattr(_checks, "available_memory_bytes", lambda: None)
    check_dense_memory(10**7)  # no estimate to compare with: no error
    X, y = data("regressor")
    make("regressor").fit(X, y)


def test_gpu_memory_is_not_the_hosts(monkeypatch):
    monkeypatch.setattr(_checks, "available_memory_bytes", lambda: 1)
    check_dense_memory(10_000, device="cuda")
    with pytest.raises(MemoryError):
        check_dense_memory(10_000, device="cpu")


def test_suggested_n_components_fits_the_memory():
    for n, available in [(60_000, 8 * GIB), (12_000, 0.5 * GIB), (50, 1e12),
                         (10**6, 2e6)]:
        m = suggested_n_components(n, available)
        assert 1 <= m <= min(n - 1, 2000)
        # Five m x m float64 arrays take at most a quarter of the memory.
        assert 5 * 8 * m * m <= available / 4 or m == 1


def test_probe_reads_the_platform():
    available = available_memory_bytes()
    try:
        with open("/proc/meminfo") as meminfo:
            told = any(line.startswith("MemAvailable:") for line in meminfo)
    except OSError:
        told = False
    if told:
        assert isinstance(available, int) and available > 0
