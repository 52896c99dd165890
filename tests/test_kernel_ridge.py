"""SelfDistilledKernelRidge against an independent brute-force reference.

The reference below never diagonalises anything: every evaluation of the
training MSE as a function of the multiplier c solves the linear system
``(c I + G) a = y_t`` (eq. (18) of Mobahi et al., 2020) and the root of
eq. (21) is found by Brent's method in log c on a bracket found by stepping
outwards. The estimator does everything from one eigendecomposition.
"""

import math
import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import linalg
from scipy.optimize import brentq
from sklearn.base import clone
from sklearn.gaussian_process.kernels import RBF, WhiteKernel
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import Ridge
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_selfdistill import SelfDistilledKernelRidge
from sklearn_selfdistill.datasets import load_paper_example
from sklearn_selfdistill.exceptions import (
    SelfDistillationCollapseError,
    SelfDistillationCollapseWarning,
)

# --------------------------------------------------------------------------
# Brute-force reference
# --------------------------------------------------------------------------


def green_spline(x, s):
    """eq. (57), written out independently of the package."""
    x = np.asarray(x, dtype=float).reshape(-1, 1)
    s = np.asarray(s, dtype=float).reshape(1, -1)
    cube = np.where(x > s, (x - s) ** 3, 0.0)
    return (cube - x * (1 - s) * (x**2 - 2 * s + s**2)) / 6.0


def bf_solve(G, y, c):
    """a = (c I + G)^{-1} y by a direct symmetric solve."""
    return linalg.solve(G + c * np.eye(G.shape[0]), y, assume_a="sym")


def bf_mse(G, y, c):
    """Training MSE of the ridge solution: y - G a = c a."""
    return float(np.mean((c * bf_solve(G, y, c)) ** 2))


def bf_multiplier(G, y, epsilon):
    """Root of bf_mse(G, y, c) = epsilon by Brent's method in log c."""

    def h(u):
        return bf_mse(G, y, math.exp(u)) - epsilon

    centre = math.log(np.trace(G))
    lo, hi = centre - 1.0, centre + 1.0
    while h(lo) > 0:
        lo -= 2.0
        assert lo > centre - 80, "epsilon below the reachable floor"
    while h(hi) < 0:
        hi += 2.0
    u = brentq(h, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    return math.exp(u)


def bf_elasticity(G, y, c, step=1e-4):
    """d log MSE / d log c at c (central difference)."""
    up = math.log(bf_mse(G, y, c * math.exp(step)))
    down = math.log(bf_mse(G, y, c * math.exp(-step)))
    return (up - down) / (2 * step)


def bf_distill(K_train, y0, epsilon, n_rounds, w=0.0):
    """Rounds 0..n_rounds of one output.

    Returns the multipliers (inf once collapsed), raw-kernel dual coefficients
    (``predict = kernel(X_new, X) @ dual``) and the elasticities.
    """
    n = K_train.shape[0]
    G = K_train / n
    cs, duals, elas = [], [], []
    y_t = np.array(y0, dtype=float)
    dead = False
    for _ in range(n_rounds + 1):
        dead = dead or np.mean(y_t**2) <= epsilon
        if dead:
            cs.append(np.inf)
            duals.append(np.zeros(n))
            elas.append(np.nan)
            continue
        c = bf_multiplier(G, y_t, epsilon)
        a = bf_solve(G, y_t, c)
        cs.append(c)
        duals.append(a / n)
        elas.append(bf_elasticity(G, y_t, c))
        y_t = w * y0 + (1 - w) * (G @ a)
    return np.array(cs), np.array(duals), np.array(elas)


def bf_fit(K_train, y, epsilon, n_rounds, w=0.0, normalize_y=False):
    """Every output of y (1-D or 2-D) as its own problem.

    Returns c (rounds, Q), dual (rounds, n, Q), elasticity (rounds, Q), mean,
    std: round t predicts ``kernel(X_new, X) @ dual[t] * std + mean``.
    """
    Y = np.asarray(y, dtype=float)
    Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
    Q = Y.shape[1]
    eps = np.broadcast_to(np.asarray(epsilon, dtype=float), (Q,))
    if normalize_y:
        mean, std = Y.mean(axis=0), Y.std(axis=0)
    else:
        mean, std = np.zeros(Q), np.ones(Q)
    Yn = (Y - mean) / std
    out = [bf_distill(K_train, Yn[:, q], eps[q], n_rounds, w) for q in range(Q)]
    return (
        np.stack([o[0] for o in out], axis=-1),
        np.stack([o[1] for o in out], axis=-1),
        np.stack([o[2] for o in out], axis=-1),
        mean,
        std,
    )


def max_rel(a, b):
    """max |a - b| / max |b|: relative disagreement of two arrays."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def range_projector(K):
    """Orthogonal projector onto the range of a PSD matrix (SVD, not eigh).

    The numerical rank uses the package's documented threshold
    n * finfo.eps * largest.
    """
    basis = linalg.orth(K, rcond=K.shape[0] * np.finfo(float).eps)
    return basis @ basis.T


def rbf_callable(a, b):
    return np.exp(-2.0 * np.sum((a - b) ** 2))


# Kernels: (estimator kernel arguments, raw kernel function K(A, B) or
# K(A) for the Gram matrix, number of features, data maker).
def _smooth(X, rng):
    return np.sin(3 * X.sum(axis=1)) + 0.3 * rng.randn(X.shape[0])


def _linear_target(X, rng):
    # Mostly linear so that the floor (null-space energy) is small.
    return X @ np.array([3.0, -4.0]) + 0.1 * rng.randn(X.shape[0])


def _cubic_target(X, rng):
    # Mostly a cubic polynomial: the poly kernel's range holds most of it.
    s = X.sum(axis=1)
    return s**3 - 2 * s + 0.1 * rng.randn(X.shape[0])


KERNELS = {
    "rbf": (dict(kernel="rbf", gamma=1.0), 3, _smooth),
    "laplacian": (dict(kernel="laplacian", gamma=0.5), 3, _smooth),
    "poly": (dict(kernel="poly", degree=3, gamma=0.5, coef0=1), 3, _cubic_target),
    "linear": (dict(kernel="linear"), 2, _linear_target),
    "green_spline": (dict(kernel="green_spline"), 1, _smooth),
    "rbf+white": (dict(kernel=RBF(0.7) + WhiteKernel(0.01)), 2, _smooth),
    "callable": (dict(kernel=rbf_callable), 2, _smooth),
    "precomputed": (dict(kernel="precomputed"), 2, _smooth),
}


def raw_kernels(name, X, Xt):
    """(Gram matrix kernel(X), cross kernel(X, X), kernel(Xt, X)) by hand."""
    params, _, _ = KERNELS[name]
    if name == "green_spline":
        K = green_spline(X, X)
        return K, K, green_spline(Xt, X)
    if name == "rbf+white":
        k = params["kernel"]
        # The white noise is on the Gram matrix's diagonal only: k(X) != k(X, X).
        return k(X), k(X, X.copy()), k(Xt, X)
    if name in ("callable", "precomputed"):
        return (
            pairwise_kernels(X, metric="rbf", gamma=2.0),
            pairwise_kernels(X, metric="rbf", gamma=2.0),
            pairwise_kernels(Xt, X, metric="rbf", gamma=2.0),
        )
    kw = {k: v for k, v in params.items() if k != "kernel"}
    metric = params["kernel"]
    K = pairwise_kernels(X, metric=metric, **kw)
    return K, K, pairwise_kernels(Xt, X, metric=metric, **kw)


# Configurations: n_samples, epsilon as a fraction of mean(y^2) of the fitted
# (possibly normalised) targets, n_rounds, ground_truth_weight, normalize_y,
# number of outputs.
CONFIGS = {
    "plain-n15": dict(n=15, frac=0.2, rounds=0, w=0.0, norm=False, q=1),
    "rounds-n40": dict(n=40, frac=0.05, rounds=3, w=0.0, norm=False, q=1),
    "weight-normalize-n25": dict(n=25, frac=0.15, rounds=4, w=0.3, norm=True, q=1),
    "2d-y-n30": dict(n=30, frac=0.08, rounds=2, w=0.0, norm=False, q=2),
    "collapse-n20": dict(n=20, frac=0.3, rounds=5, w=0.0, norm=True, q=1),
}


def make_problem(kernel_name, config, seed=0):
    rng = np.random.RandomState(seed)
    _, p, target = KERNELS[kernel_name]
    n = config["n"]
    X = rng.uniform(0.02, 0.98, size=(n, p))
    Xt = rng.uniform(0.02, 0.98, size=(9, p))
    if config["q"] == 1:
        y = target(X, rng)
    else:
        y = np.column_stack([target(X, rng), 2.0 * target(X, rng)])
    Y = y.reshape(n, -1)
    if config["norm"]:
        power = np.ones(Y.shape[1])
    else:
        power = np.mean(Y**2, axis=0)
    eps = config["frac"] * power
    if config["q"] == 2:
        eps = eps * np.array([1.0, 1.7])  # one tolerance per output
    else:
        eps = float(eps[0])
    return X, Xt, y, eps


@pytest.mark.parametrize("config_name", list(CONFIGS))
@pytest.mark.parametrize("kernel_name", list(KERNELS))
def test_matches_brute_force(kernel_name, config_name):
    config = CONFIGS[config_name]
    X, Xt, y, eps = make_problem(kernel_name, config)
    params = KERNELS[kernel_name][0]
    gram, K_cross, K_test = raw_kernels(kernel_name, X, Xt)
    model = SelfDistilledKernelRidge(
        epsilon=eps,
        n_rounds=config["rounds"],
        ground_truth_weight=config["w"],
        normalize_y=config["norm"],
        on_collapse="ignore",
        **params,
    )
    if kernel_name == "precomputed":
        X_fit, X_train_pred, X_test_pred = gram, gram, K_test
    else:
        X_fit, X_train_pred, X_test_pred = X, X, Xt
    model.fit(X_fit, y)
    # The comparison is meaningful only well above the reachable floor.
    assert np.all(2 * np.asarray(model.min_reachable_mse_) <= eps)

    c, dual, elas, mean, std = bf_fit(
        gram, y, eps, config["rounds"], config["w"], config["norm"]
    )
    c_est = model.c_.reshape(c.shape)
    assert_array_equal(np.isinf(c_est), np.isinf(c))
    assert_array_equal(model.collapsed_.reshape(c.shape), np.isinf(c))
    live = np.isfinite(c)
    # c_: the error of c times the MSE's elasticity is the error of the MSE.
    assert np.all(np.abs(c_est[live] / c[live] - 1) * np.abs(elas[live]) < 1e-8)

    singular = not np.isfinite(model.condition_number_)
    projector = range_projector(gram) if singular else None
    stages_test = list(model.staged_predict(X_test_pred))
    stages_train = list(model.staged_predict(X_train_pred))
    assert len(stages_test) == config["rounds"] + 1
    for t in range(config["rounds"] + 1):
        expect_test = np.squeeze(K_test @ dual[t] * std + mean)
        expect_train = np.squeeze(K_cross @ dual[t] * std + mean)
        assert max_rel(stages_test[t], expect_test) < 1e-8
        assert max_rel(stages_train[t], expect_train) < 1e-8
    expected_dual = dual[-1]
    if singular:
        # With a null space the dual coefficients are unique only up to it:
        # the estimator keeps the component in the range of G.
        expected_dual = projector @ expected_dual
    assert max_rel(model.dual_coef_, np.squeeze(expected_dual)) < 1e-8


@pytest.mark.parametrize("kernel_name", ["rbf", "laplacian", "green_spline", "linear"])
@pytest.mark.parametrize("w", [0.0, 0.4])
def test_each_round_meets_epsilon(kernel_name, w):
    # Every non-collapsed round's training MSE against its own targets is
    # epsilon to 1e-10 relative; targets are w y + (1 - w) f_{t-1}(X).
    X, _, y, _ = make_problem(kernel_name, CONFIGS["rounds-n40"], seed=3)
    params = KERNELS[kernel_name][0]
    eps = 0.04 * np.mean(y**2)
    model = SelfDistilledKernelRidge(
        epsilon=eps, n_rounds=6, ground_truth_weight=w, on_collapse="ignore",
        **params,
    ).fit(X, y)
    targets = y
    n_live = 0
    for t, fit in enumerate(model.staged_predict(X)):
        if model.collapsed_[t]:
            assert_array_equal(fit, 0.0)
            continue
        n_live += 1
        assert_allclose(np.mean((targets - fit) ** 2), eps, rtol=1e-10, atol=0)
        assert_allclose(model.train_mse_[t], np.mean((y - fit) ** 2), rtol=1e-10)
        targets = w * y + (1 - w) * fit
    assert n_live >= 2


@pytest.mark.parametrize(
    "kernel, kw",
    [("rbf", {"gamma": 2.0}), ("laplacian", {"gamma": 1.0}),
     ("poly", {"degree": 2, "coef0": 1.0}), ("linear", {})],
)
def test_round_zero_is_kernel_ridge(kernel, kw):
    rng = np.random.RandomState(1)
    X = rng.randn(30, 4)
    y = X[:, 0] ** 2 - X[:, 1] + 0.2 * rng.randn(30)
    Xt = rng.randn(8, 4)
    eps = 0.5 * np.mean(y**2) if kernel == "linear" else 0.1
    model = SelfDistilledKernelRidge(epsilon=eps, n_rounds=0, kernel=kernel, **kw)
    model.fit(X, y)
    ref = KernelRidge(alpha=model.c_[0] * X.shape[0], kernel=kernel, **kw).fit(X, y)
    assert max_rel(model.predict(Xt), ref.predict(Xt)) < 1e-8
    expected_dual = ref.dual_coef_
    if not np.isfinite(model.condition_number_):
        # Unique up to the null space of G; the estimator keeps the range part.
        expected_dual = range_projector(pairwise_kernels(X, metric=kernel, **kw)) @ (
            expected_dual
        )
    assert max_rel(model.dual_coef_, expected_dual) < 1e-8
    assert_allclose(model.train_mse_[0], eps, rtol=1e-10)


def test_precomputed_matches_named_kernel_and_leaves_input_alone():
    rng = np.random.RandomState(2)
    X = rng.randn(25, 3)
    Xt = rng.randn(6, 3)
    y = np.sin(X[:, 0]) + 0.1 * rng.randn(25)
    gram = pairwise_kernels(X, metric="rbf", gamma=0.3)
    gram_copy = gram.copy()
    pre = SelfDistilledKernelRidge(kernel="precomputed", epsilon=0.02, n_rounds=2)
    pre.fit(gram, y)
    assert_array_equal(gram, gram_copy)
    named = SelfDistilledKernelRidge(kernel="rbf", gamma=0.3, epsilon=0.02, n_rounds=2)
    named.fit(X, y)
    assert_allclose(pre.c_, named.c_, rtol=1e-12)
    K_test = pairwise_kernels(Xt, X, metric="rbf", gamma=0.3)
    assert max_rel(pre.predict(K_test), named.predict(Xt)) < 1e-12


def test_two_outputs_are_independent_problems():
    rng = np.random.RandomState(4)
    X = rng.uniform(size=(30, 2))
    Y = np.column_stack([np.sin(4 * X[:, 0]), np.cos(3 * X[:, 1]) + 1.0])
    Y += 0.2 * rng.randn(30, 2)
    eps = np.array([0.03, 0.2])
    both = SelfDistilledKernelRidge(epsilon=eps, n_rounds=3, on_collapse="ignore")
    both.fit(X, Y)
    assert both.c_.shape == (4, 2)
    assert both.basis_coefficients_.shape == (4, 30, 2)
    for q in range(2):
        one = SelfDistilledKernelRidge(epsilon=eps[q], n_rounds=3, on_collapse="ignore")
        one.fit(X, Y[:, q])
        assert_allclose(both.c_[:, q], one.c_, rtol=1e-13)
        assert_array_equal(both.collapsed_[:, q], one.collapsed_)
        assert_allclose(both.predict(X)[:, q], one.predict(X), rtol=1e-12, atol=1e-14)
    # Different tolerances give different multipliers per output.
    assert both.c_[0, 0] != both.c_[0, 1]


def test_linear_kernel_is_repeated_ridge():
    # Self-distillation with the linear kernel: round t is Ridge without
    # intercept, alpha = c_t * n, refitted on the previous round's predictions.
    rng = np.random.RandomState(5)
    X = rng.randn(40, 5)
    y = X @ rng.randn(5) + 0.1 * rng.randn(40)
    Xt = rng.randn(10, 5)
    model = SelfDistilledKernelRidge(
        kernel="linear", epsilon=0.02 * np.mean(y**2), n_rounds=8, on_collapse="ignore"
    ).fit(X, y)
    n_live = int(np.sum(~model.collapsed_))
    assert n_live >= 3
    targets = y
    stages = zip(model.staged_predict(X), model.staged_predict(Xt))
    for t, (fit_train, fit_test) in enumerate(list(stages)[:n_live]):
        ridge = Ridge(alpha=model.c_[t] * 40, fit_intercept=False, solver="cholesky")
        ridge.fit(X, targets)
        assert max_rel(fit_train, ridge.predict(X)) < 1e-9
        assert max_rel(fit_test, ridge.predict(Xt)) < 1e-9
        targets = ridge.predict(X)


def test_staged_predict_last_equals_predict():
    X, Xt, y, _ = make_problem("rbf", CONFIGS["rounds-n40"])
    for rounds in (0, 1, 4):
        model = SelfDistilledKernelRidge(epsilon=0.05, n_rounds=rounds).fit(X, y)
        stages = list(model.staged_predict(Xt))
        assert len(stages) == rounds + 1
        assert_array_equal(stages[-1], model.predict(Xt))
        assert_allclose(model.predict(Xt), pairwise_kernels(
            Xt, X, metric="rbf", gamma=1 / 3) @ model.dual_coef_, rtol=1e-12)


# --------------------------------------------------------------------------
# Collapse
# --------------------------------------------------------------------------


def _collapse_problem():
    rng = np.random.RandomState(6)
    X = rng.uniform(size=(20, 1))
    y = np.sin(6 * X[:, 0]) + 0.4 * rng.randn(20)
    return X, y, 0.25 * np.mean(y**2)


GAMMA = 100.0  # G is nonsingular on these points: no null space


def test_collapse_warns_and_records():
    X, y, eps = _collapse_problem()
    model = SelfDistilledKernelRidge(epsilon=eps, n_rounds=8, gamma=GAMMA)
    with pytest.warns(SelfDistillationCollapseWarning) as record:
        model.fit(X, y)
    first = int(np.argmax(model.collapsed_))
    assert first >= 1
    assert f"round {first}" in str(record[0].message)
    assert issubclass(SelfDistillationCollapseWarning, UserWarning)
    # Absorbing: every later round collapsed too.
    assert_array_equal(model.collapsed_, np.arange(9) >= first)
    assert np.all(np.isinf(model.c_[first:])) and np.all(np.isfinite(model.c_[:first]))
    assert_array_equal(model.basis_coefficients_[first:], 0.0)
    assert np.all(model.basis_coefficients_[:first] > 0)
    stages = list(model.staged_predict(X))
    for t in range(first, 9):
        assert_array_equal(stages[t], 0.0)
    assert_array_equal(model.predict(X), 0.0)
    assert_array_equal(model.dual_coef_, 0.0)
    assert_allclose(model.train_mse_[first:], np.mean(y**2), rtol=1e-12)
    # The round before collapse still fits its targets to epsilon, and those
    # targets' mean square is above epsilon while the next ones are not.
    assert np.mean(stages[first - 1] ** 2) <= eps
    assert not np.any(np.isnan(model.c_))


def test_collapse_with_normalize_y_predicts_the_mean():
    X, y, _ = _collapse_problem()
    y = y + 3.0
    model = SelfDistilledKernelRidge(
        epsilon=0.3, n_rounds=8, gamma=GAMMA, normalize_y=True, on_collapse="ignore"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X, y)
    assert model.collapsed_[-1]
    assert_allclose(model.predict(X), np.mean(y), rtol=1e-15)


def test_collapse_raise():
    X, y, eps = _collapse_problem()
    model = SelfDistilledKernelRidge(epsilon=eps, n_rounds=8, gamma=GAMMA,
                                     on_collapse="raise")
    match = r"collapsed .* at round \d"
    with pytest.raises(SelfDistillationCollapseError, match=match):
        model.fit(X, y)
    assert issubclass(SelfDistillationCollapseError, ValueError)


def test_collapse_at_round_zero():
    rng = np.random.RandomState(7)
    X = rng.uniform(size=(10, 1))
    y = 0.1 * rng.randn(10)
    model = SelfDistilledKernelRidge(epsilon=1.0, n_rounds=2)
    with pytest.warns(SelfDistillationCollapseWarning, match="round 0"):
        model.fit(X, y)
    assert np.all(model.collapsed_) and np.all(np.isinf(model.c_))
    assert_array_equal(model.predict(X), 0.0)


@pytest.mark.parametrize("seed", [0, 7, 10, 33, 124])
def test_epsilon_equal_to_mean_square_collapses_at_round_zero(seed):
    # mean(y^2) = epsilon is the collapse boundary of Sec. 2.1; the rotated
    # targets carry it only to round-off, which once gave huge multipliers,
    # "Could not bracket" errors (seed 10) or a math domain error (seed 124).
    rng = np.random.RandomState(seed)
    n = rng.randint(2, 300)
    X = rng.rand(n, 3)
    y = rng.randn(n) * 10 ** rng.uniform(-3, 3) + rng.randn()
    for params, expected in (
        ({"normalize_y": True, "epsilon": 1.0}, np.mean(y)),
        ({"epsilon": float(np.mean(y**2))}, 0.0),
    ):
        model = SelfDistilledKernelRidge(n_rounds=1, **params)
        with pytest.warns(SelfDistillationCollapseWarning, match="round 0"):
            model.fit(X, y)
        assert model.collapsed_.all()
        assert_allclose(model.predict(X[:3]), expected, rtol=1e-15, atol=0)


def test_collapse_names_the_output_for_2d_y():
    X, y, eps = _collapse_problem()
    Y = np.column_stack([y, 10 * y])
    model = SelfDistilledKernelRidge(epsilon=eps, n_rounds=8, gamma=GAMMA)
    with pytest.warns(SelfDistillationCollapseWarning, match="for output 0") as rec:
        model.fit(X, Y)
    assert model.collapsed_[-1, 0] and not model.collapsed_[-1, 1]
    assert "for output 1" not in str(rec[0].message)


def test_ignore_is_silent():
    X, y, eps = _collapse_problem()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = SelfDistilledKernelRidge(
            epsilon=eps, n_rounds=8, gamma=GAMMA, on_collapse="ignore"
        ).fit(X, y)
    assert model.collapsed_[-1]


def test_ground_truth_weight_delays_collapse():
    X, y, eps = _collapse_problem()
    plain = SelfDistilledKernelRidge(epsilon=eps, n_rounds=8, gamma=GAMMA,
                                     on_collapse="ignore").fit(X, y)
    weighted = SelfDistilledKernelRidge(epsilon=eps, n_rounds=8, gamma=GAMMA,
                                        ground_truth_weight=0.5).fit(X, y)
    assert plain.collapsed_.any()
    assert not weighted.collapsed_.any()


# --------------------------------------------------------------------------
# Null space, infeasible epsilon, the paper's data
# --------------------------------------------------------------------------


def test_duplicated_rows_give_exact_zero_eigenvalues():
    rng = np.random.RandomState(8)
    base = rng.uniform(size=(30, 2))
    dup = base[:12]
    X = np.vstack([base, dup])
    y = rng.randn(42)
    # gamma=20 keeps the other eigenvalues well above round-off (with a
    # smoother kernel they approach the null space and mix with it).
    model = SelfDistilledKernelRidge(epsilon=0.5, n_rounds=0, gamma=20.0).fit(X, y)
    assert np.sum(model.eigenvalues_ == 0) == 12
    assert np.all(model.eigenvalues_[:30] > 0)
    assert np.all(np.diff(model.eigenvalues_) <= 0)
    assert model.condition_number_ == np.inf
    assert model.guaranteed_rounds_ == 0.0
    # The floor is the within-pair variance: for each duplicated pair the
    # best fit predicts their mean, leaving (y_i - y_j)^2 / 2.
    floor = np.sum((y[:12] - y[30:]) ** 2 / 2) / 42
    assert_allclose(model.min_reachable_mse_, floor, rtol=1e-10)


def test_floor_of_linear_kernel_is_least_squares_residual():
    rng = np.random.RandomState(9)
    X = rng.randn(30, 3)
    y = X @ [1.0, 2.0, -1.0] + 0.5 * rng.randn(30)
    model = SelfDistilledKernelRidge(kernel="linear", epsilon=1.0, n_rounds=0).fit(X, y)
    coef, *_ = linalg.lstsq(X, y)
    assert_allclose(model.min_reachable_mse_, np.mean((y - X @ coef) ** 2), rtol=1e-9)
    assert np.sum(model.eigenvalues_ > 0) == 3


def test_infeasible_epsilon_names_epsilon_and_floor():
    rng = np.random.RandomState(10)
    X = np.repeat(rng.uniform(size=(10, 1)), 2, axis=0)
    y = rng.randn(20)
    floor = SelfDistilledKernelRidge(epsilon=10.0, n_rounds=0, on_collapse="ignore")
    floor = floor.fit(X, y).min_reachable_mse_
    eps = 0.5 * floor
    with pytest.raises(ValueError, match=rf"epsilon={eps:.6g} .*\({floor:.6g}"):
        SelfDistilledKernelRidge(epsilon=eps).fit(X, y)


def test_infeasible_epsilon_is_typed_and_carries_the_floor():
    import pickle

    import sklearn_selfdistill
    from sklearn_selfdistill.exceptions import InfeasibleEpsilonError

    assert sklearn_selfdistill.InfeasibleEpsilonError is InfeasibleEpsilonError
    assert issubclass(InfeasibleEpsilonError, ValueError)
    rng = np.random.RandomState(10)
    X = np.repeat(rng.uniform(size=(10, 1)), 2, axis=0)
    y = rng.randn(20)
    # gamma=400 keeps the distinct points' Gram matrix well conditioned: the
    # floor is the energy of y between duplicated points, a quarter of each
    # pair's squared difference, averaged.
    floor = SelfDistilledKernelRidge(
        epsilon=10.0, n_rounds=0, gamma=400.0, on_collapse="ignore"
    ).fit(X, y).min_reachable_mse_
    pairs = y.reshape(10, 2)
    assert_allclose(floor, np.mean((pairs[:, 0] - pairs[:, 1]) ** 2) / 4, rtol=1e-9)
    model = SelfDistilledKernelRidge(epsilon=0.5 * floor, gamma=400.0)
    with pytest.raises(InfeasibleEpsilonError) as info:
        model.fit(X, y)
    assert info.value.floor == floor
    assert info.value.epsilon == 0.5 * floor
    assert not hasattr(model, "c_")
    copy = pickle.loads(pickle.dumps(info.value))
    assert (type(copy), copy.floor, str(copy)) == (
        InfeasibleEpsilonError, floor, str(info.value)
    )


def test_infeasible_epsilon_of_a_low_rank_solver_names_the_kept_directions():
    from sklearn_selfdistill.exceptions import InfeasibleEpsilonError

    rng = np.random.RandomState(0)
    X = rng.uniform(size=(60, 2))
    y = np.sin(6 * X[:, 0]) + 0.3 * rng.randn(60)
    kw = dict(gamma=3.0, eigen_solver="nystroem", n_components=5, random_state=0,
              on_collapse="ignore")
    floor = SelfDistilledKernelRidge(epsilon=10.0, n_rounds=0, **kw)
    floor = floor.fit(X, y).min_reachable_mse_
    with pytest.raises(InfeasibleEpsilonError, match="outside the 5 kept") as info:
        SelfDistilledKernelRidge(epsilon=0.9 * floor, **kw).fit(X, y)
    assert info.value.floor == floor


@pytest.mark.parametrize("seed", [0, 3, 8])
def test_epsilon_at_the_floor_to_round_off(seed):
    # A few ulps above the floor is infeasible to round-off (a clear error,
    # once a math domain error); a little more is fitted to epsilon exactly.
    rng = np.random.RandomState(seed)
    base = rng.rand(rng.randint(3, 60), 2)
    X = np.vstack([base, base[: rng.randint(1, len(base))]])
    y = rng.randn(len(X))
    kw = {"gamma": 20.0, "on_collapse": "ignore"}
    floor = SelfDistilledKernelRidge(epsilon=100.0, n_rounds=0, **kw)
    floor = floor.fit(X, y).min_reachable_mse_
    with pytest.raises(ValueError, match="below the smallest training mean squared"):
        SelfDistilledKernelRidge(epsilon=floor * (1 + 4e-16), **kw).fit(X, y)
    eps = floor * (1 + 1e-6)
    model = SelfDistilledKernelRidge(epsilon=eps, n_rounds=0, **kw).fit(X, y)
    assert_allclose(np.mean((y - model.predict(X)) ** 2), eps, rtol=1e-9)


def test_paper_example_spline():
    X, y = load_paper_example()
    with pytest.raises(ValueError, match=r"epsilon=0\.04 .*0\.04186"):
        SelfDistilledKernelRidge(kernel="green_spline", epsilon=0.04).fit(X, y)
    model = SelfDistilledKernelRidge(
        kernel="green_spline", epsilon=0.045, n_rounds=6, on_collapse="ignore"
    ).fit(X, y)
    assert_array_equal(model.collapsed_, [False] * 4 + [True] * 3)
    # Two zero eigenvalues (the kernel vanishes at x = 0 and x = 1); the floor
    # is the end points' share of the training MSE.
    assert np.sum(model.eigenvalues_ == 0) == 2
    assert_allclose(model.min_reachable_mse_, (y[0] ** 2 + y[-1] ** 2) / 11, rtol=1e-10)
    assert round(model.min_reachable_mse_, 5) == 0.04186
    # Every fit passes through zero at both ends.
    for fit in model.staged_predict(np.array([[0.0], [1.0]])):
        assert_allclose(fit, 0.0, atol=1e-12)
    # B_t shrinks and sparsifies round by round.
    B = model.basis_coefficients_[:4]
    assert np.all(np.diff(B, axis=0) <= 0)
    counts = [(row > 0.01 * row.max()).sum() for row in B]
    assert counts == sorted(counts, reverse=True) and counts[-1] < counts[0]


def test_non_psd_kernel_raises_naming_it():
    rng = np.random.RandomState(11)
    X = rng.randn(30, 3)
    y = rng.randn(30)
    match = r"kernel='sigmoid' is not positive semi-definite"
    with pytest.raises(ValueError, match=match):
        SelfDistilledKernelRidge(kernel="sigmoid", gamma=1.0, coef0=1.0).fit(X, y)


def negative_distance(a, b):
    return -float(np.sum(np.abs(a - b)))


def test_non_psd_callable_raises_naming_it():
    X = np.random.RandomState(12).randn(15, 2)
    match = r"kernel='negative_distance' is not positive semi-definite"
    with pytest.raises(ValueError, match=match):
        SelfDistilledKernelRidge(kernel=negative_distance).fit(X, np.ones(15))


@pytest.mark.parametrize(
    "X, match",
    [
        (np.random.RandomState(0).uniform(size=(10, 2)), "one feature in"),
        (np.linspace(-0.5, 1.0, 10).reshape(-1, 1), r"defined on \[0, 1\]"),
    ],
)
def test_green_spline_domain_errors(X, match):
    with pytest.raises(ValueError, match=match):
        SelfDistilledKernelRidge(kernel="green_spline").fit(X, np.ones(10))


def test_green_spline_predict_outside_unit_interval():
    X, y = load_paper_example()
    model = SelfDistilledKernelRidge(kernel="green_spline", epsilon=0.05).fit(X, y)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.predict([[1.5]])


# --------------------------------------------------------------------------
# Bad parameters and input
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"epsilon": 0.0},
        {"epsilon": -1.0},
        {"n_rounds": -1},
        {"n_rounds": 1.5},
        {"ground_truth_weight": 1.0},
        {"ground_truth_weight": -0.1},
        {"kernel": "no-such-kernel"},
        {"on_collapse": "explode"},
        {"gamma": -1.0},
    ],
)
def test_invalid_parameters(params):
    X = np.random.RandomState(0).randn(10, 2)
    with pytest.raises(InvalidParameterError, match=list(params)[0]):
        SelfDistilledKernelRidge(**params).fit(X, np.ones(10))


def test_epsilon_array_errors():
    rng = np.random.RandomState(12)
    X = rng.randn(10, 2)
    Y = rng.randn(10, 2)
    with pytest.raises(ValueError, match=r"one value per\s+output .*\(2,\)"):
        SelfDistilledKernelRidge(epsilon=[0.1, 0.1, 0.1]).fit(X, Y)
    with pytest.raises(ValueError, match=r"one value per\s+output .*\(1,\)"):
        SelfDistilledKernelRidge(epsilon=[0.1, 0.1]).fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="epsilon must be finite and > 0"):
        SelfDistilledKernelRidge(epsilon=[0.1, -0.1]).fit(X, Y)
    with pytest.raises(ValueError, match="epsilon must be finite and > 0"):
        SelfDistilledKernelRidge(epsilon=[0.1, np.nan]).fit(X, Y)


def test_precomputed_must_be_square():
    with pytest.raises(ValueError, match="square Gram matrix"):
        SelfDistilledKernelRidge(kernel="precomputed").fit(np.ones((5, 3)), np.ones(5))


@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0], [2.0, 1.0]]), "NaN"),
        (np.array([[0.0, np.inf], [1.0, 2.0], [2.0, 1.0]]), "infinity"),
        (np.empty((0, 2)), "0 sample"),
        (np.array([[1 + 1j, 0], [0, 1], [1, 1]]), "[Cc]omplex"),
    ],
)
def test_bad_input_uses_sklearn_messages(X, match):
    with pytest.raises(ValueError, match=match):
        SelfDistilledKernelRidge().fit(X, np.ones(X.shape[0]))


def test_bad_targets_use_sklearn_messages():
    X = np.random.RandomState(0).randn(5, 2)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        SelfDistilledKernelRidge().fit(X, [0.0, 1.0, np.nan, 1.0, 0.0])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        SelfDistilledKernelRidge().fit(X, np.ones(4))


def test_predict_wrong_number_of_features():
    X, Xt, y, _ = make_problem("rbf", CONFIGS["plain-n15"])
    model = SelfDistilledKernelRidge(epsilon=0.05).fit(X, y)
    with pytest.raises(ValueError, match="3 features"):
        model.predict(Xt[:, :2])


# --------------------------------------------------------------------------
# scikit-learn integration
# --------------------------------------------------------------------------


def test_pickle_and_clone():
    X, Xt, y, _ = make_problem("rbf", CONFIGS["rounds-n40"])
    model = SelfDistilledKernelRidge(epsilon=0.05, n_rounds=3, store_eigenvectors=True)
    model.fit(X, y)
    loaded = pickle.loads(pickle.dumps(model))
    assert_array_equal(loaded.predict(Xt), model.predict(Xt))
    for a, b in zip(loaded.staged_predict(Xt), model.staged_predict(Xt)):
        assert_array_equal(a, b)
    assert_array_equal(loaded.c_, model.c_)
    fresh = clone(model)
    assert fresh.get_params() == model.get_params()
    assert not hasattr(fresh, "c_")
    # The eigenvectors are stored on request only and reproduce G.
    U, d = model.eigenvectors_, model.eigenvalues_
    G = pairwise_kernels(X, metric="rbf", gamma=1 / 3) / 40
    assert_allclose((U * d) @ U.T, G, atol=1e-14)
    no_vec = SelfDistilledKernelRidge(epsilon=0.05, n_rounds=3).fit(X, y)
    assert not hasattr(no_vec, "eigenvectors_")


def test_pipeline_with_standard_scaler():
    rng = np.random.RandomState(13)
    X = rng.randn(40, 3) * [1.0, 10.0, 100.0]
    y = np.sin(X[:, 0]) + X[:, 1] / 10 + 0.1 * rng.randn(40)
    pipe = make_pipeline(
        StandardScaler(), SelfDistilledKernelRidge(epsilon=0.05, n_rounds=2)
    ).fit(X, y)
    Xs = StandardScaler().fit(X).transform(X)
    manual = SelfDistilledKernelRidge(epsilon=0.05, n_rounds=2).fit(Xs, y)
    Xt = rng.randn(5, 3) * [1.0, 10.0, 100.0]
    scaler = pipe[0]
    assert_allclose(pipe.predict(Xt), manual.predict(scaler.transform(Xt)), rtol=1e-12)


def test_grid_search_picks_the_manual_best():
    rng = np.random.RandomState(14)
    X = rng.uniform(size=(45, 1))
    y = np.sin(2 * np.pi * X[:, 0]) + 0.4 * rng.randn(45)
    grid = {"n_rounds": [0, 1, 3], "epsilon": [0.05, 0.15, 0.3]}
    cv = KFold(3, shuffle=True, random_state=0)
    base = SelfDistilledKernelRidge(kernel="laplacian", gamma=5.0, on_collapse="ignore")
    search = GridSearchCV(base, grid, cv=cv).fit(X, y)
    scores = {}
    for n_rounds in grid["n_rounds"]:
        for eps in grid["epsilon"]:
            fold = []
            for train, test in cv.split(X):
                m = clone(base).set_params(n_rounds=n_rounds, epsilon=eps)
                fold.append(m.fit(X[train], y[train]).score(X[test], y[test]))
            scores[(n_rounds, eps)] = np.mean(fold)
    best = max(scores, key=scores.get)
    assert search.best_params_ == {"n_rounds": best[0], "epsilon": best[1]}
    assert_allclose(search.best_score_, scores[best], rtol=1e-12)
    # The grid matters: the scores are not all equal.
    assert np.ptp(list(scores.values())) > 0.01
