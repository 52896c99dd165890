"""The bounds of Sec. 3 (eq. 25, Prop. 4, Prop. 5) on fitted models.

Realistic kernels have enormous condition numbers, so Prop. 4 guarantees
less than one round there; the bounds are exercised on precomputed Gram
matrices G = V diag(d) V^T built with a condition number near 10.
"""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_diabetes
from sklearn.preprocessing import StandardScaler

from sklearn_selfdistill import SelfDistilledKernelRidge
from sklearn_selfdistill.theory import (
    basis_ratio_bound,
    guaranteed_rounds,
    multiplier_bounds,
)


def conditioned_gram(n, kappa, seed):
    """Raw kernel matrix K = n * G with G = V diag(d) V^T, d in [1/kappa, 1]."""
    rng = np.random.RandomState(seed)
    V, _ = np.linalg.qr(rng.randn(n, n))
    d = np.geomspace(1.0, 1.0 / kappa, n)
    G = (V * d) @ V.T
    return n * 0.5 * (G + G.T), d


def fit_precomputed(K, y, eps, n_rounds, **kw):
    model = SelfDistilledKernelRidge(
        kernel="precomputed", epsilon=eps, n_rounds=n_rounds, on_collapse="ignore",
        **kw,
    )
    return model.fit(K, y)


def round_targets(model, X_train, y):
    """The targets y_t of every round: y, then the previous round's fit."""
    w = model.ground_truth_weight
    targets = [y]
    for fit in list(model.staged_predict(X_train))[:-1]:
        targets.append(w * y + (1 - w) * fit)
    return targets


def check_bounds(model, X_train, y, eps):
    """eq. (25) for every live round, B_t in [0, 1] and (w = 0) non-increasing."""
    d = model.eigenvalues_
    for t, y_t in enumerate(round_targets(model, X_train, y)):
        if model.collapsed_[t]:
            assert np.mean(y_t**2) <= eps * (1 + 1e-12)
            continue
        low, high = multiplier_bounds(d, y_t, eps)
        c = model.c_[t]
        assert low * (1 - 1e-10) <= c <= high * (1 + 1e-10)
    B = model.basis_coefficients_
    assert np.all((B >= 0) & (B <= 1))
    if model.ground_truth_weight == 0:
        # B_t = prod_{i <= t} A_i (eq. 46) with every A_i in [0, 1].
        assert np.all(np.diff(B, axis=0) <= 0)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ratio", [20.0, 60.0])
def test_guaranteed_rounds_on_well_conditioned_gram(seed, ratio):
    n = 30
    K, d = conditioned_gram(n, kappa=10.0, seed=seed)
    rng = np.random.RandomState(100 + seed)
    y = rng.randn(n)
    # ||y|| / sqrt(n eps) = ratio, so Prop. 4 gives (ratio - 1) / 10 rounds.
    eps = np.mean(y**2) / ratio**2
    model = fit_precomputed(K, y, eps, n_rounds=80)
    assert_allclose(model.eigenvalues_, d, rtol=1e-12)
    assert_allclose(model.condition_number_, 10.0, rtol=1e-10)
    t_low = (ratio - 1.0) / 10.0
    assert_allclose(model.guaranteed_rounds_, t_low, rtol=1e-10)
    assert_allclose(guaranteed_rounds(model.eigenvalues_, y, eps), t_low, rtol=1e-10)
    assert model.guaranteed_rounds_ >= 1
    n_live = int(np.sum(~model.collapsed_))
    assert model.collapsed_[-1], "use more rounds: collapse must be observed"
    # Every round t < t_low is non-collapsed: rounds 0 .. ceil(t_low) - 1.
    assert n_live >= math.ceil(model.guaranteed_rounds_)
    check_bounds(model, K, y, eps)


@pytest.mark.parametrize("seed", range(3))
def test_prop5_ratio_bound(seed):
    n = 25
    K, _ = conditioned_gram(n, kappa=8.0, seed=seed)
    y = np.random.RandomState(seed).randn(n)
    eps = np.mean(y**2) / 900  # t_low = 29 / 8
    model = fit_precomputed(K, y, eps, n_rounds=6)
    t_low = model.guaranteed_rounds_
    assert t_low > 3
    d = model.eigenvalues_
    for t in range(math.ceil(t_low)):  # every round t < t_low
        B = model.basis_coefficients_[t]
        bound = basis_ratio_bound(d, y, eps, t)
        ratio = B[:, None] / B[None, :]
        larger = d[:, None] > d[None, :]
        assert np.all(ratio[larger] >= bound[larger] * (1 - 1e-12))
        # The bound is not trivial: it exceeds 1 where d_k > d_j.
        assert np.all(bound[larger] > 1)
    with pytest.raises(ValueError, match="Prop. 5 holds for"):
        basis_ratio_bound(d, y, eps, math.ceil(t_low))


@pytest.mark.parametrize(
    "kernel, kw", [("rbf", {"gamma": 0.5}), ("laplacian", {"gamma": 0.2})]
)
@pytest.mark.parametrize("w", [0.0, 0.3])
def test_bounds_on_real_kernels(kernel, kw, w):
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X[:120])
    y = (y[:120] - y[:120].mean()) / y[:120].std()
    eps = 0.3
    model = SelfDistilledKernelRidge(
        kernel=kernel, epsilon=eps, n_rounds=8, ground_truth_weight=w,
        on_collapse="ignore", **kw,
    ).fit(X, y)
    assert np.isfinite(model.condition_number_)
    # Prop. 4 is weak for real kernels, but it holds.
    assert model.guaranteed_rounds_ < 1
    n_live = int(np.sum(~model.collapsed_))
    assert n_live >= math.ceil(model.guaranteed_rounds_)
    check_bounds(model, X, y, eps)


def test_kappa_one_bracket_is_the_root():
    # With all eigenvalues equal, eq. (21) reads ((c / (c + d))^2) mean(y^2) =
    # eps: c = d r / (1 - r), r = sqrt(eps / mean(y^2)); the bracket closes on it.
    n, dval = 12, 0.7
    y = np.random.RandomState(3).randn(n)
    eps = 0.2 * np.mean(y**2)
    r = math.sqrt(0.2)
    low, high = multiplier_bounds(np.full(n, dval), y, eps)
    assert_allclose([low, high], dval * r / (1 - r), rtol=1e-14)
    model = fit_precomputed(n * dval * np.eye(n), y, eps, n_rounds=0)
    assert_allclose(model.c_[0], dval * r / (1 - r), rtol=1e-13)


def test_theory_values_by_hand():
    d = np.array([4.0, 2.0, 1.0])
    y = np.array([2.0, 2.0, 2.0])  # ||y|| = sqrt(12)
    eps = 1.0 / 3.0  # sqrt(K eps) = 1
    a = math.sqrt(12) - 1.0
    low, high = multiplier_bounds(d, y, eps)
    assert_allclose([low, high], [1.0 / a, 4.0 / a], rtol=1e-14)
    assert_allclose(guaranteed_rounds(d, y, eps), a / 4.0, rtol=1e-14)
    bound = basis_ratio_bound(d, y, eps, 0)
    # bound[k, j] = ((a + d_min/d_j) / (a + d_min/d_k))^(t+1) where d_k > d_j.
    assert_allclose(bound[0, 2], (a + 1.0) / (a + 0.25), rtol=1e-14)
    assert_allclose(bound[1, 2], (a + 1.0) / (a + 0.5), rtol=1e-14)
    assert_array_equal(bound[2, 0], 0.0)
    assert_array_equal(np.diag(bound), 0.0)


def test_theory_errors_and_singular_cases():
    d = np.array([1.0, 0.5, 0.0])
    y = np.array([1.0, 1.0, 1.0])
    low, high = multiplier_bounds(d, y, 0.1)
    assert low == 0.0 and high > 0
    assert guaranteed_rounds(d, y, 0.1) == 0.0
    with pytest.raises(ValueError, match="nonsingular G"):
        basis_ratio_bound(d, y, 0.1, 0)
    with pytest.raises(ValueError, match=r"collapse"):
        multiplier_bounds([1.0, 1.0], [0.1, 0.1], 0.5)
    assert guaranteed_rounds([1.0, 1.0], [0.1, 0.1], 0.5) == 0.0
    with pytest.raises(ValueError, match="same length"):
        guaranteed_rounds([1.0, 2.0], [1.0], 0.1)
    with pytest.raises(ValueError, match="'epsilon' parameter of multiplier_bounds"):
        multiplier_bounds([1.0], [1.0], 0.0)


def test_literal_sqrt_k_times_epsilon_is_wrong():
    # The paper's text writes sqrt(K) * epsilon where sqrt(K * epsilon) is
    # meant. On this problem the literal Prop. 4 promises more rounds than
    # happen and the literal eq. (25) bracket excludes the true multiplier.
    n = 30
    K, _ = conditioned_gram(n, kappa=10.0, seed=0)
    y = np.random.RandomState(100).randn(n)
    eps = np.mean(y**2) / 400
    model = fit_precomputed(K, y, eps, n_rounds=60)
    n_after = int(np.sum(~model.collapsed_)) - 1
    kappa = model.condition_number_
    y_norm = np.linalg.norm(y)
    literal_rounds = (y_norm / (math.sqrt(n) * eps) - 1) / kappa
    assert n_after < math.floor(literal_rounds)
    assert n_after + 1 >= math.ceil(model.guaranteed_rounds_)
    d = model.eigenvalues_
    literal_high = d.max() * math.sqrt(n) * eps / (y_norm - math.sqrt(n) * eps)
    assert model.c_[0] > literal_high
    low, high = multiplier_bounds(d, y, eps)
    assert low <= model.c_[0] <= high


def test_random_problems_never_violate_the_corrected_bounds():
    rng = np.random.RandomState(7)
    for trial in range(40):
        n = rng.randint(5, 25)
        kappa = 10 ** rng.uniform(0.1, 2)
        K, _ = conditioned_gram(n, kappa, seed=1000 + trial)
        y = rng.randn(n)
        eps = np.mean(y**2) * 10 ** rng.uniform(-4, -0.2)
        model = fit_precomputed(K, y, eps, n_rounds=12)
        assert (np.sum(~model.collapsed_) >= math.ceil(model.guaranteed_rounds_)
                or not model.collapsed_[-1])
        check_bounds(model, K, y, eps)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("ratio", [2.0, 3.0, 4.0])
def test_round_t_low_collapses_when_t_low_is_an_integer(seed, ratio):
    # kappa = 1: each round removes a residual of norm sqrt(K eps) along y_t,
    # so ||y_t|| = ||y_0|| - t sqrt(K eps) and round t collapses exactly when
    # t >= ||y_0|| / sqrt(K eps) - 1 = t_low. Prop. 4 guarantees t < t_low only.
    n = 10
    y = np.random.RandomState(seed).randn(n)
    eps = np.mean(y**2) / ratio**2
    K = 0.7 * n * np.eye(n)
    model = fit_precomputed(K, y, eps, n_rounds=6)
    t_low = guaranteed_rounds(model.eigenvalues_, y, eps)
    assert_allclose(t_low, ratio - 1.0, rtol=1e-14)
    k = int(ratio) - 1
    assert_array_equal(model.collapsed_, np.arange(7) >= k)
    assert not model.collapsed_[k - 1] and model.collapsed_[k]
    # Round by round, the targets' norms fall by sqrt(K eps) exactly.
    norms = [np.linalg.norm(y_t) for y_t in round_targets(model, K, y)]
    assert_allclose(norms[: k + 1], np.linalg.norm(y) - np.arange(k + 1)
                    * np.sqrt(n * eps), rtol=1e-12)
    # Prop. 5 is offered for the guaranteed rounds only.
    for t in range(k):
        bound = basis_ratio_bound(model.eigenvalues_, y, eps, t)
        assert_array_equal(bound, 0.0)  # all eigenvalues equal: no pair d_k > d_j
    with pytest.raises(ValueError, match=r"0 <= t < t_low = %g" % (ratio - 1)):
        basis_ratio_bound(model.eigenvalues_, y, eps, k)


def test_triangle_inequality_bound_kappa_times_prop4():
    # Notes of guaranteed_rounds: every round t < ||y_0|| / sqrt(K eps) - 1 is
    # non-collapsed whatever kappa; a bound kappa times Prop. 4's.
    rng = np.random.RandomState(11)
    strictly_better = 0
    for trial in range(30):
        n = rng.randint(5, 20)
        K, _ = conditioned_gram(n, 10 ** rng.uniform(0.2, 1.5), seed=2000 + trial)
        y = rng.randn(n)
        eps = np.mean(y**2) * 10 ** rng.uniform(-2.5, -0.3)
        model = fit_precomputed(K, y, eps, n_rounds=400)
        assert model.collapsed_[-1]
        n_live = int(np.sum(~model.collapsed_))
        bound = np.linalg.norm(y) / np.sqrt(n * eps) - 1.0
        assert n_live >= math.ceil(bound)
        strictly_better += math.ceil(bound) > math.ceil(model.guaranteed_rounds_)
    assert strictly_better >= 25
