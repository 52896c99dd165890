"""Scale-equivariance in y: no square of y overflows or underflows.

For s from 1e-150 to 1e150, every kernel regressor fitted on ``s * y`` has the
multipliers ``c_`` and the diagonals ``B_t`` of the fit on ``y`` and predicts
``s`` times its predictions: with ``normalize_y=True`` as it is, with
``normalize_y=False`` when ``epsilon`` (``epsilons``) is scaled by ``s**2``.
Squares of ``s * y`` alone would overflow beyond 1e154 and underflow below
1e-154; the targets are scaled by a power of two before any square.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sklearn_selfdistill import SelfDistilledKernelRidge, SelfDistilledKernelRidgeCV
from sklearn_selfdistill._targets import RegressionCoding

RNG = np.random.RandomState(0)
X = RNG.uniform(size=(30, 2))
Y = np.sin(4 * X[:, 0]) + 0.2 * RNG.randn(30)
X_NEW = RNG.uniform(size=(7, 2))

SOLVERS = [
    {"eigen_solver": "dense"},
    {"eigen_solver": "randomized", "n_components": 12, "random_state": 0},
    {"eigen_solver": "nystroem", "n_components": 12, "random_state": 0},
]
#: The ends of the range, powers of two and ten, and random exponents with
#: random mantissas in between (a fixed seed: the same cases every run).
EXPONENTS = sorted(
    [-150.0, -100.0, -37.5, 0.0, 1.0, 64 * np.log10(2.0), 150.0]
    + np.random.RandomState(1).uniform(-150.0, 150.0, 5).round(3).tolist()
)


def _fit_pair(make, s, normalize_y):
    base = make(1.0).fit(X, Y)
    scaled = make(1.0 if normalize_y else s * s).fit(X, Y * s)
    return base, scaled


def _assert_equivariant(base, scaled, s):
    assert_allclose(scaled.c_, base.c_, rtol=1e-10)
    assert_allclose(scaled.basis_coefficients_, base.basis_coefficients_,
                    rtol=1e-10, atol=1e-12)
    pred, pred_s = base.predict(X_NEW), scaled.predict(X_NEW)
    assert np.all(np.isfinite(pred_s))
    # Compare in units of y: pred_s / s, not s * pred (no overflow either way).
    assert_allclose(pred_s / s, pred, rtol=1e-10, atol=1e-10 * np.abs(pred).max())


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda p: p["eigen_solver"])
@pytest.mark.parametrize("normalize_y", [True, False])
@pytest.mark.parametrize("exponent", EXPONENTS)
def test_regressor_is_equivariant_in_y(solver, normalize_y, exponent):
    s = 10.0**exponent

    def make(eps_scale):
        return SelfDistilledKernelRidge(
            epsilon=0.05 * eps_scale, n_rounds=2, gamma=3.0,
            normalize_y=normalize_y, **solver,
        )

    base, scaled = _fit_pair(make, s, normalize_y)
    _assert_equivariant(base, scaled, s)
    # train_mse_ is in the units of y**2 in both cases.
    assert_allclose(scaled.train_mse_ / s / s, base.train_mse_, rtol=1e-9)
    assert_allclose(scaled.dual_coef_ / (1.0 if normalize_y else s),
                    base.dual_coef_, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cv", [None, 3])
@pytest.mark.parametrize("normalize_y", [True, False])
@pytest.mark.parametrize("exponent", EXPONENTS[::2] + [150.0])
def test_regressor_cv_is_equivariant_in_y(cv, normalize_y, exponent):
    s = 10.0**exponent

    def make(eps_scale):
        return SelfDistilledKernelRidgeCV(
            epsilons=np.array([0.02, 0.05, 0.2]) * eps_scale, max_rounds=2,
            gamma=3.0, normalize_y=normalize_y, cv=cv,
        )

    base, scaled = _fit_pair(make, s, normalize_y)
    assert scaled.best_n_rounds_ == base.best_n_rounds_
    assert_allclose(scaled.epsilons_, base.epsilons_ * (1 if normalize_y else s * s),
                    rtol=1e-14)
    _assert_equivariant(base, scaled, s)


@pytest.mark.parametrize("exponent", [-150, 150])
def test_default_grid_is_equivariant(exponent):
    s = 10.0**exponent
    base = SelfDistilledKernelRidgeCV(max_rounds=1, gamma=3.0).fit(X, Y)
    scaled = SelfDistilledKernelRidgeCV(max_rounds=1, gamma=3.0).fit(X, Y * s)
    assert_allclose(scaled.epsilons_, base.epsilons_ * s * s, rtol=1e-12)
    _assert_equivariant(base, scaled, s)


@pytest.mark.parametrize("factor", [1e160, 1e-200, 1e300, 1e-300])
def test_normalize_y_fits_targets_whose_squares_are_not_representable(factor):
    # The variance of y * 1e-200 underflows to 0 and that of y * 1e160
    # overflows; relative to var(y) the fit is the one on y.
    base = SelfDistilledKernelRidge(epsilon=0.05, normalize_y=True, gamma=3.0)
    scaled = SelfDistilledKernelRidge(epsilon=0.05, normalize_y=True, gamma=3.0)
    base.fit(X, Y)
    scaled.fit(X, Y * factor)
    _assert_equivariant(base, scaled, factor)
    assert_allclose(scaled._coding_.std / factor, base._coding_.std, rtol=1e-12)


def test_unnormalized_fit_of_huge_targets():
    # epsilon in the units of y**2 is representable (1e300 here) while the
    # energy of y (1e302) would overflow float64 if squared unscaled.
    s = 1e150
    base = SelfDistilledKernelRidge(epsilon=0.05, gamma=3.0).fit(X, Y)
    scaled = SelfDistilledKernelRidge(epsilon=0.05 * s * s, gamma=3.0).fit(X, Y * s)
    _assert_equivariant(base, scaled, s)
    assert_allclose(scaled.min_reachable_mse_, base.min_reachable_mse_ * s * s)


def test_default_grid_beyond_float64_names_normalize_y():
    search = SelfDistilledKernelRidgeCV(max_rounds=1)
    with pytest.raises(ValueError, match=r"overflows float64.*normalize_y=True"):
        search.fit(X, Y * 1e160)
    assert not hasattr(search, "best_estimator_")
    # With normalize_y the grid is representable, the squared errors in the
    # units of y are not: the search says so instead of ranking infinities.
    search.set_params(normalize_y=True)
    with pytest.raises(ValueError, match=r"mean squared error.*overflows float64"):
        search.fit(X, Y * 1e160)
    assert not hasattr(search, "best_estimator_")
    search.fit(X, Y * 1e150)
    assert np.all(np.isfinite(search.predict(X_NEW)))


def test_power_of_two_coding_is_exact():
    coding = RegressionCoding.fit(Y * 3.7e-123, normalize_y=False)
    unit = coding.std[0]
    assert np.frexp(unit)[0] == 0.5  # a power of two
    assert unit / 2 <= np.abs(Y * 3.7e-123).max() < unit
    # Dividing by a power of two is exact: decoding recovers every bit.
    assert np.array_equal(coding.decode(coding.encode(Y * 3.7e-123)), Y * 3.7e-123)
    assert coding.core_epsilon(coding.user_epsilon(0.25)) == 0.25
    zero = RegressionCoding.fit(np.zeros(4), normalize_y=False)
    assert zero.std[0] == 1.0


def test_epsilon_negligible_against_y_squared_names_normalize_y():
    # 0.1 against |y|**2 ~ 1e320: below float64's resolution, not a
    # Brent's-method failure on NaN.
    model = SelfDistilledKernelRidge(epsilon=0.1)
    with pytest.raises(
        ValueError,
        match=r"epsilon=0.1 is too small for the scale of y .*normalize_y=True",
    ):
        model.fit(X, Y * 1e160)
    assert not hasattr(model, "c_")
    # The floor of a representable epsilon may itself exceed float64.
    from sklearn_selfdistill.exceptions import InfeasibleEpsilonError

    X_dup = np.vstack([X, X[:1]])
    y_dup = np.append(Y, Y[0] + 1.0) * 1e160
    with pytest.raises(InfeasibleEpsilonError, match="exceeds float64's range") as info:
        SelfDistilledKernelRidge(epsilon=1e300, gamma=3.0).fit(X_dup, y_dup)
    assert info.value.floor == np.inf and info.value.epsilon == 1e300


def test_tiny_targets_collapse_without_warnings_of_overflow():
    # mean(y**2) ~ 1e-400 is below epsilon = 0.1: round 0 collapses, as it
    # should, and no overflow of the coded epsilon is reported.
    import warnings

    from sklearn_selfdistill.exceptions import SelfDistillationCollapseWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.warns(SelfDistillationCollapseWarning, match="round 0"):
            model = SelfDistilledKernelRidge(epsilon=0.1).fit(X, Y * 1e-200)
    assert np.all(model.collapsed_) and np.all(model.predict(X_NEW) == 0)
