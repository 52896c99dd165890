"""The pure core (sklearn_selfdistill._distill) and the spectrum cleaning."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.metrics.pairwise import rbf_kernel

from sklearn_selfdistill import _distill
from sklearn_selfdistill._distill import (
    distill_path,
    min_reachable_mse,
    report_collapse,
    solve_multiplier,
)
from sklearn_selfdistill._solvers import eigh_gram, null_space_threshold
from sklearn_selfdistill.exceptions import (
    SelfDistillationCollapseError,
    SelfDistillationCollapseWarning,
)


def mse(d, z, c):
    """eq. (21): training MSE of the multiplier c in the eigenbasis."""
    return float(np.mean((z * c / (c + d)) ** 2))


def test_eigh_gram_descending_and_reconstructs():
    rng = np.random.RandomState(0)
    X = rng.randn(25, 3)
    G = rbf_kernel(X, gamma=0.7) / 25
    d, U = eigh_gram(G.copy())
    assert np.all(np.diff(d) <= 0)
    assert_allclose((U * d) @ U.T, G, atol=1e-15)
    assert_allclose(U.T @ U, np.eye(25), atol=1e-13)
    d_only, none = eigh_gram(G.copy(), eigenvectors=False)
    assert none is None
    assert_allclose(d_only, d, rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("n_dup", [1, 5, 20])
def test_duplicates_give_exactly_as_many_zero_eigenvalues(n_dup):
    rng = np.random.RandomState(n_dup)
    base = rng.uniform(size=(30, 2))
    X = np.vstack([base, base[:n_dup]])
    n = X.shape[0]
    d, U = eigh_gram(rbf_kernel(X, gamma=20.0) / n)
    assert np.sum(d == 0) == n_dup
    assert np.all(d[:30] > null_space_threshold(d[0], n))
    # The null space is spanned by e_i - e_j for each duplicated pair.
    for j in range(n_dup):
        v = np.zeros(n)
        v[j], v[30 + j] = 1.0, -1.0
        residual = v - U[:, :30] @ (U[:, :30].T @ v)
        assert_allclose(np.linalg.norm(residual), math.sqrt(2), rtol=1e-10)


def test_null_space_threshold_value():
    assert null_space_threshold(2.0, 10) == 10 * np.finfo(float).eps * 2.0
    assert null_space_threshold(-1.0, 10) == 0.0
    # An eigenvalue just above the threshold is kept, one at it is zeroed.
    n = 4
    thr = null_space_threshold(1.0, n)
    G = np.diag([1.0, 0.5, 2 * thr, thr])
    d, _ = eigh_gram(G)
    assert_array_equal(d, [1.0, 0.5, 2 * thr, 0.0])


def test_round_off_negative_eigenvalues_are_zero_but_indefinite_raises():
    G = np.diag([1.0, 0.3, -1e-12])
    d, _ = eigh_gram(G, kernel_name="mine")
    assert_array_equal(d, [1.0, 0.3, 0.0])
    match = r"kernel='mine' is not positive semi-definite"
    with pytest.raises(ValueError, match=match):
        eigh_gram(np.diag([1.0, 0.3, -1e-6]), kernel_name="mine")


def test_eigh_gram_empty():
    d, U = eigh_gram(np.zeros((0, 0)))
    assert d.shape == (0,) and U.shape == (0, 0)


@pytest.mark.parametrize("frac", [1e-8, 0.01, 0.5, 1 - 1e-6, 1 - 1e-12])
def test_solve_multiplier_kappa_one_closed_form(frac):
    # All eigenvalues equal: MSE = (c / (c + d))^2 mean(z^2), so with
    # r = sqrt(eps / mean(z^2)), c = d r / (1 - r) = d r (1 + r) / (1 - r^2).
    n, dval = 9, 0.3
    z = np.random.RandomState(1).randn(n)
    power = float(np.mean(z**2))
    eps = frac * power
    r = math.sqrt(frac)
    exact = dval * r * (1 + r) / (1 - frac)
    c = solve_multiplier(np.full(n, dval), z, eps)
    elasticity = 2 * dval / (exact + dval)  # d log MSE / d log c
    assert abs(c / exact - 1) * elasticity < 1e-14
    assert_allclose(mse(np.full(n, dval), z, c), eps, rtol=1e-13)


def test_solve_multiplier_random_problems_machine_precision(monkeypatch):
    calls = []
    original = _distill._mse_in_log_c

    def counting(*args):
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(_distill, "_mse_in_log_c", counting)
    rng = np.random.RandomState(2)
    counts = []
    for _ in range(200):
        n = rng.randint(3, 60)
        d = np.sort(10 ** rng.uniform(-8, 0, n))[::-1] * 10 ** rng.uniform(-3, 3)
        z = rng.randn(n) * 10 ** rng.uniform(-2, 2)
        eps = np.mean(z**2) * 10 ** rng.uniform(-6, -1e-3)
        calls.clear()
        c = solve_multiplier(d, z, eps)
        counts.append(len(calls))
        assert c > 0
        assert_allclose(mse(d, z, c), eps, rtol=1e-12)
    # Each evaluation is O(K) on the spectrum; Brent needs few of them.
    assert max(counts) <= 30
    assert np.median(counts) <= 20


def test_solve_multiplier_with_null_space():
    d = np.array([1.0, 0.4, 0.1, 0.0, 0.0])
    z = np.array([1.0, -2.0, 0.5, 0.3, -0.4])
    floor = min_reachable_mse(d, z)
    assert_allclose(floor, (0.09 + 0.16) / 5, rtol=1e-15)
    for eps in (floor * 1.001, floor * 2, 0.9 * np.mean(z**2)):
        c = solve_multiplier(d, z, eps)
        assert_allclose(mse(d, z, c), eps, rtol=1e-12)


def test_distill_path_recursion_by_hand():
    rng = np.random.RandomState(3)
    n = 12
    d = np.sort(rng.uniform(0.01, 1.0, n))[::-1]
    z0 = rng.randn(n)
    eps = 0.02 * np.mean(z0**2)
    for w in (0.0, 0.35):
        c, B, collapsed = distill_path(d, z0, eps, 5, ground_truth_weight=w)
        z_t = z0.copy()
        prod = np.ones(n)
        for t in range(6):
            assert not collapsed[t]
            # Each round's multiplier solves eq. (21) for its own targets.
            assert_allclose(mse(d, z_t, c[t]), eps, rtol=1e-12)
            fit = d / (c[t] + d) * z_t  # rotated training predictions
            assert_allclose(B[t] * z0, fit, rtol=1e-12, atol=1e-15)
            if w == 0:
                prod = prod * d / (c[t] + d)
                assert_allclose(B[t], prod, rtol=1e-12)  # eq. (46)
            z_t = w * z0 + (1 - w) * fit


def test_distill_path_collapse_is_absorbing():
    d = np.array([1.0, 0.5, 0.1])
    z0 = np.array([1.0, 1.0, 1.0])
    c, B, collapsed = distill_path(d, z0, 0.5, 6)
    first = int(np.argmax(collapsed))
    assert 0 < first < 6
    assert_array_equal(collapsed, np.arange(7) >= first)
    assert np.all(np.isinf(c[first:])) and np.all(np.isfinite(c[:first]))
    assert_array_equal(B[first:], 0.0)
    # Round t's targets are B_{t-1} z0: mean square above epsilon for every
    # live round, at or below it for the first collapsed one.
    targets = [z0] + [B[t] * z0 for t in range(first)]
    assert all(np.mean(z_t**2) > 0.5 for z_t in targets[:first])
    assert np.mean(targets[first] ** 2) <= 0.5


def test_distill_path_infeasible_names_floor():
    d = np.array([1.0, 0.0])
    z0 = np.array([1.0, 2.0])  # floor = 4 / 2 = 2
    with pytest.raises(ValueError, match=r"epsilon=1\.5 .*\(2: .*Choose epsilon > 2\."):
        distill_path(d, z0, 1.5, 1)
    # Above mean(z^2) the zero function is the answer: collapse, not an error.
    c, B, collapsed = distill_path(d, z0, 3.0, 1)
    assert collapsed.all() and np.all(np.isinf(c))


def test_report_collapse():
    collapsed = np.array([[False, False], [True, False], [True, True]])
    with pytest.warns(SelfDistillationCollapseWarning,
                      match=r"round 1 for output a, round 2 for output b"):
        report_collapse(collapsed, "warn", output_names=["a", "b"])
    with pytest.raises(SelfDistillationCollapseError, match="round 1 for output 0"):
        report_collapse(collapsed, "raise")
    report_collapse(collapsed, "ignore")
    report_collapse(np.zeros((3, 1), dtype=bool), "raise")
    with pytest.warns(SelfDistillationCollapseWarning) as record:
        report_collapse(collapsed[:, :1], "warn")
    assert "round 1:" in str(record[0].message)
    assert "output" not in str(record[0].message).split(":")[0]


def test_self_distill_core_in_the_papers_letters():
    # The pure core on an exact spectrum: round 0 is kernel ridge with the
    # penalty K c_0 (eq. (18)), fitted to epsilon exactly (eq. (21)); round 1
    # refits round 0's training predictions with its own multiplier.
    from sklearn_selfdistill._distill import self_distill
    from sklearn_selfdistill._numpy_backend import NumpyOps
    from sklearn_selfdistill._solvers import dense_spectrum

    rng = np.random.RandomState(0)
    X = rng.uniform(size=(25, 2))
    Y = np.column_stack([np.sin(3 * X[:, 0]), X[:, 1] ** 2]) + 0.1 * rng.randn(25, 2)
    gram = rbf_kernel(X, gamma=4.0)
    spectrum = dense_spectrum(NumpyOps(lambda A, B=None: rbf_kernel(A, B, gamma=4.0)),
                              X, Y)
    epsilon = np.array([0.01, 0.005])
    path = self_distill(spectrum, epsilon, 1)
    n = X.shape[0]
    assert path.c.shape == path.collapsed.shape == (2, 2)
    assert path.B.shape == (2, n, 2) and path.dual_coef.shape == (2, n, 2)
    for q in range(2):
        targets = Y[:, q]
        for t in range(2):
            alpha = np.linalg.solve(gram + n * path.c[t, q] * np.eye(n), targets)
            assert_allclose(path.dual_coef[t, :, q], alpha, rtol=1e-7, atol=1e-9)
            fitted = gram @ alpha
            assert_allclose(np.mean((targets - fitted) ** 2), epsilon[q], rtol=1e-9)
            targets = fitted
    assert_allclose(path.train_mse[0], epsilon, rtol=1e-9)
    assert not path.collapsed.any()
