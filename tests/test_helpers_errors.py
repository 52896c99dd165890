"""Bad input to the helpers: ``theory`` and ``compare_with_early_stopping``.

Every case asserts the exception type and the words that name the parameter
or the cause; ``compare_with_early_stopping`` rejects its arguments before
any fit.
"""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_selfdistill import SelfDistilledKernelRidge, model_selection as ms
from sklearn_selfdistill.theory import (
    basis_ratio_bound,
    guaranteed_rounds,
    multiplier_bounds,
)

THEORY = [multiplier_bounds, guaranteed_rounds,
          lambda d, y, eps: basis_ratio_bound(d, y, eps, 0)]
D = [2.0, 1.0, 0.5]
Y = [1.0, -2.0, 3.0]


@pytest.mark.parametrize("func", THEORY)
@pytest.mark.parametrize(
    "d, y, exc, message",
    [
        ([], [], ValueError, r"0 sample\(s\) \(shape=\(0,\)\)"),
        ([1.0, np.nan, 0.5], Y, ValueError, "Input eigenvalues contains NaN"),
        ([1.0, np.inf, 0.5], Y, ValueError, "Input eigenvalues contains infinity"),
        (D, [1.0, np.nan, 2.0], ValueError, "Input y contains NaN"),
        (D, [1.0, -np.inf, 2.0], ValueError, "Input y contains infinity"),
        ([1.0, -0.5, 0.2], Y, ValueError, "eigenvalues must be >= 0"),
        ([0.0, 0.0, 0.0], Y, ValueError, "eigenvalues must contain a positive"),
        ([-1.0, -2.0, -3.0], Y, ValueError, "eigenvalues must contain a positive"),
        (D, [1.0, 2.0], ValueError, r"same length.*\(3,\) and \(2,\)"),
        ([[1.0, 2.0], [3.0, 4.0]], [1.0, 2.0], ValueError, "1-D arrays"),
        (D, np.ones((3, 2)), ValueError, "one output"),
        ([1.0 + 1j, 2.0, 3.0], Y, ValueError, "eigenvalues must be .*complex"),
        (np.array([1.0 + 1j, 2.0, 3.0]), Y, ValueError, "Complex data not supported"),
        (["a", "b", "c"], Y, ValueError, "eigenvalues must be an array of real"),
        (3.0, Y, InvalidParameterError, "'eigenvalues' parameter"),
        (D, "abc", InvalidParameterError, "'y' parameter"),
    ],
)
def test_theory_rejects_bad_arrays(func, d, y, exc, message):
    with pytest.raises(exc, match=message):
        func(d, y, 0.1)


@pytest.mark.parametrize("func", THEORY)
@pytest.mark.parametrize(
    "epsilon", [0.0, -0.1, np.nan, np.inf, -np.inf, "0.1", None, [0.1]])
def test_theory_rejects_bad_epsilon_by_name(func, epsilon):
    with pytest.raises(InvalidParameterError,
                       match=r"'epsilon' parameter of .* range \(0.0, inf\)"):
        func(D, Y, epsilon)


@pytest.mark.parametrize("t", [-1, 0.5, 1.0, "1", None])
def test_basis_ratio_bound_rejects_bad_t_by_name(t):
    with pytest.raises(InvalidParameterError, match="'t' parameter of basis_ratio"):
        basis_ratio_bound(D, [30.0, 40.0, 50.0], 0.01, t)


def test_round_off_negative_and_tiny_eigenvalues_are_the_null_space():
    # -1e-12 is round-off of a zero eigenvalue: G is singular, not an error.
    d = [1.0, 0.5, -1e-12]
    assert guaranteed_rounds(d, Y, 0.1) == 0.0
    low, high = multiplier_bounds(d, Y, 0.1)
    assert low == 0.0 and high > 0
    # Within K ulps of d_max: zero as well (the estimators' threshold).
    assert guaranteed_rounds([1.0, 0.5, 1e-17], Y, 0.1) == 0.0
    with pytest.raises(ValueError, match="nonsingular G"):
        basis_ratio_bound([1.0, 0.5, 1e-17], Y, 0.1, 0)


def test_collapse_is_an_error_for_the_bracket_and_zero_rounds():
    y = np.array([0.3, -0.4])  # mean(y^2) = 0.125
    with pytest.raises(ValueError, match=r"mean\(y\^2\) <= epsilon.*collapse"):
        multiplier_bounds([1.0, 0.5], y, 0.125)
    assert guaranteed_rounds([1.0, 0.5], y, 0.125) == 0.0
    assert guaranteed_rounds([1.0, 0.5], np.zeros(2), 1e-300) == 0.0
    with pytest.raises(ValueError, match=r"0 <= t < t_low = 0"):
        basis_ratio_bound([1.0, 0.5], y, 0.125, 0)


@pytest.mark.parametrize("s", [1e-150, 1e-20, 1.0, 1e20, 1e150])
def test_theory_is_scale_invariant_without_overflow(s):
    # The bounds depend on ||y|| / sqrt(K eps) only: y -> s y, eps -> s^2 eps
    # changes nothing, far beyond where ||y||^2 over- or underflows.
    d = np.array([3.0, 1.0, 0.5, 0.25])
    y = np.array([1.0, -2.0, 0.5, 2.5])
    eps = 0.05
    ref_low, ref_high = multiplier_bounds(d, y, eps)
    low, high = multiplier_bounds(d, s * y, s * s * eps)
    assert_allclose([low, high], [ref_low, ref_high], rtol=1e-13)
    assert_allclose(guaranteed_rounds(d, s * y, s * s * eps),
                    guaranteed_rounds(d, y, eps), rtol=1e-13)
    assert_allclose(basis_ratio_bound(d, s * y, s * s * eps, 0),
                    basis_ratio_bound(d, y, eps, 0), rtol=1e-13)
    # And the closed form: t_low = (||y|| / sqrt(K eps) - 1) / kappa.
    t_low = (np.linalg.norm(y) / math.sqrt(4 * eps) - 1) / 12.0
    assert_allclose(guaranteed_rounds(d, s * y, s * s * eps), t_low, rtol=1e-13)


def test_column_y_is_one_output():
    assert guaranteed_rounds(D, np.array(Y).reshape(-1, 1), 0.1) == (
        guaranteed_rounds(D, Y, 0.1))


# compare_with_early_stopping ---------------------------------------------


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(30, 1))
    return X, np.sin(6 * X[:, 0]) + 0.1 * rng.randn(30)


@pytest.fixture
def no_fit(monkeypatch):
    """Fail the test if any split is processed (validation comes first)."""
    def fail(*args, **kwargs):
        raise AssertionError("a fit ran before the arguments were validated")

    monkeypatch.setattr(ms, "_one_split", fail)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_rounds": "3"}, "'n_rounds' parameter of compare_with_early_stopping"
                            r" must be an int in the range \[0, inf\). Got '3'"),
        ({"n_rounds": -1}, "'n_rounds' parameter"),
        ({"n_rounds": 1.5}, "'n_rounds' parameter"),
        ({"n_rounds": 2.0}, "'n_rounds' parameter"),
        ({"n_rounds": None}, "'n_rounds' parameter"),
        ({"n_rounds": 1, "cv": 1}, r"'cv' parameter.*int in the range \[2, inf\)"),
        ({"n_rounds": 1, "cv": 0}, "'cv' parameter"),
        ({"n_rounds": 1, "cv": "5"}, "'cv' parameter"),
        ({"n_rounds": 1, "cv": 2.5}, "'cv' parameter"),
        ({"n_rounds": 1, "scoring": "no_such_metric"}, "'scoring' parameter"),
        ({"n_rounds": 1, "scoring": 3}, "'scoring' parameter"),
        ({"n_rounds": 1, "scoring": ["r2"]}, "'scoring' parameter"),
        ({"n_rounds": 1, "n_jobs": "2"}, "'n_jobs' parameter"),
        ({"n_rounds": 1, "n_jobs": 1.5}, "'n_jobs' parameter"),
    ],
)
def test_compare_rejects_bad_arguments_before_any_fit(data, no_fit, kwargs,
                                                      message):
    X, y = data
    with pytest.raises(InvalidParameterError, match=message) as info:
        ms.compare_with_early_stopping(SelfDistilledKernelRidge(epsilon=0.05), X, y,
                                       **kwargs)
    # Caught as either built-in: the error is a ValueError and a TypeError.
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)


def test_compare_rejects_unsupported_estimators_before_any_fit(data, no_fit):
    X, y = data
    with pytest.raises(TypeError, match="supports SelfDistilledKernelRidge.*Ridge"):
        ms.compare_with_early_stopping(Ridge(), X, y, n_rounds=1)


def test_compare_accepts_every_documented_form(data):
    X, y = data
    model = SelfDistilledKernelRidge(epsilon=0.05, gamma=5.0, on_collapse="ignore")
    ref = ms.compare_with_early_stopping(model, X, y, n_rounds=np.int64(1),
                                         cv=KFold(3))
    same = [
        ms.compare_with_early_stopping(model, X, y, n_rounds=1, cv=3,
                                       scoring="r2", n_jobs=1),
        ms.compare_with_early_stopping(model, X, y, n_rounds=1,
                                       cv=list(KFold(3).split(X))),
    ]
    for table in same:
        for key in ref:
            assert_allclose(table[key], ref[key], rtol=1e-12)
    scored = ms.compare_with_early_stopping(
        model, X, y, n_rounds=1, cv=KFold(3),
        scoring=lambda est, X_, y_: -np.mean((est.predict(X_) - y_) ** 2))
    assert np.all(scored["self_distilled_score_mean"] < 0)
    default = ms.compare_with_early_stopping(model, X, y, n_rounds=0, cv=None)
    assert default["self_distilled_score_std"].shape == (1,)
