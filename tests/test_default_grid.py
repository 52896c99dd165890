"""The default epsilon grid of the CV estimators starts above the reachable floor."""

import warnings

import numpy as np
from numpy.testing import assert_allclose
from sklearn.metrics import r2_score

from sklearn_selfdistill import (
    SelfDistilledKernelRidge,
    SelfDistilledKernelRidgeClassifierCV,
    SelfDistilledKernelRidgeCV,
)
from sklearn_selfdistill._distill import min_reachable_mse
from sklearn_selfdistill._grid import default_epsilons
from sklearn_selfdistill._solvers import Spectrum


def _spectrum(d, Z, residual=None):
    d = np.asarray(d, dtype=float)
    Z = np.asarray(Z, dtype=float).reshape(d.shape[0], -1)
    n = d.shape[0]
    residual = np.zeros(Z.shape[1]) if residual is None else np.asarray(residual)
    return Spectrum(d=d, Z0=Z, residual=residual, energy=(Z * Z).sum(0) + residual,
                    n_samples=n, dual_map=None, X_fit=None)


def _data(n=400, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    y = np.sin(3 * X[:, 0]) * np.cos(2 * X[:, 1]) + 0.1 * rng.randn(n)
    return X, y


def test_full_rank_spectrum_gives_the_reference_grid():
    rng = np.random.RandomState(0)
    Y = rng.randn(30, 1)
    grid = default_epsilons(_spectrum(np.linspace(1.0, 0.01, 30), Y), Y)
    assert_allclose(grid, np.geomspace(1e-3, 0.5, 8) * np.mean(Y * Y), rtol=1e-14)


def test_grid_starts_above_the_floor_and_ends_below_every_mean_square():
    # Two outputs; half of output 0's energy and a tenth of output 1's sit in
    # the null space (d = 0): floors 0.5 * ms0 and 0.1 * ms1.
    n = 40
    d = np.r_[np.linspace(1.0, 0.1, 20), np.zeros(20)]
    Z = np.ones((n, 2))
    Z[:20, 0] = 2.0
    Z[:20, 1] = 3.0
    Y = Z  # an orthonormal basis of coordinates: U = I
    ms = np.mean(Y * Y, axis=0)
    floors = [min_reachable_mse(d, Z[:, q], n_samples=n) for q in range(2)]
    assert_allclose(floors, [0.5, 0.5])
    assert_allclose(ms, [2.5, 5.0])
    grid = default_epsilons(_spectrum(d, Z), Y)
    floor, high = max(floors), 0.5 * ms.min()
    assert grid.shape == (8,)
    assert np.all(np.diff(grid) > 0)
    assert grid[0] > floor
    assert_allclose(grid[-1], high, rtol=1e-14)
    # Geometric in the distance to the floor, from 1e-3 of the range.
    assert_allclose(np.diff(np.log(grid - floor)), np.log(1e3) / 7, rtol=1e-10)
    assert_allclose(grid[0] - floor, 1e-3 * (high - floor), rtol=1e-12)


def test_low_rank_residual_counts_in_the_floor():
    d = np.linspace(1.0, 0.1, 10)
    Z = np.ones((10, 1))
    spectrum = _spectrum(d, Z, residual=[90.0])
    spectrum.n_samples = 100
    Y = np.ones((100, 1))  # energy 100 = 10 kept + 90 outside
    grid = default_epsilons(spectrum, Y)
    # Floor 90 / 100 = 0.9, above today's upper end 0.5 * mean(y^2): the grid
    # ends halfway between the floor and the mean square instead.
    assert grid[0] > 0.9
    assert_allclose(grid[-1], 0.95, rtol=1e-14)


def test_nystroem_default_grid_is_all_feasible_and_competitive():
    X, y = _data(600)
    X_test, y_test = _data(400, seed=1)
    model = SelfDistilledKernelRidgeCV(
        gamma=4.0, eigen_solver="nystroem", n_components=20, random_state=0,
        max_rounds=2,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    # Later rounds may collapse; no grid point is infeasible.
    assert not any("infeasible" in str(w.message) for w in caught)
    floor = SelfDistilledKernelRidge(
        epsilon=1.0, n_rounds=0, gamma=4.0, eigen_solver="nystroem",
        n_components=20, random_state=0, on_collapse="ignore",
    ).fit(X, y).min_reachable_mse_
    assert floor > 1e-3 * np.mean(y * y)  # today's lower end is infeasible
    assert model.epsilons_[0] > floor
    # Round 0 of every grid point is scored (later rounds may collapse).
    scores = model.cv_results_["mean_test_score"].reshape(8, 3)
    assert np.all(np.isfinite(scores[:, 0]))
    # Today's grid: every point below the floor scores worst.
    old = np.geomspace(1e-3, 0.5, 8) * np.mean(y * y)
    assert np.count_nonzero(old <= floor) >= 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = SelfDistilledKernelRidgeCV(
            gamma=4.0, eigen_solver="nystroem", n_components=20, random_state=0,
            max_rounds=2, epsilons=old,
        ).fit(X, y)
    # Measured 0.931 against 0.920.
    assert r2_score(y_test, model.predict(X_test)) > r2_score(
        y_test, reference.predict(X_test)
    ) + 0.005


def test_kfold_default_grid_reuses_the_spectrum_for_the_refit(eigh_calls):
    X, y = _data(120)
    model = SelfDistilledKernelRidgeCV(gamma=4.0, cv=3, max_rounds=1).fit(X, y)
    # One decomposition of all points (grid and refit) and one per fold.
    assert len(eigh_calls) == 4
    own = SelfDistilledKernelRidge(
        epsilon=model.best_epsilon_, n_rounds=model.best_n_rounds_, gamma=4.0
    ).fit(X, y)
    np.testing.assert_array_equal(model.dual_coef_, own.dual_coef_)


def test_classifier_default_grid_above_floor_with_duplicates():
    # Duplicated points with different labels: a singular Gram matrix and a
    # positive floor on the coded targets.
    rng = np.random.RandomState(1)
    X = np.repeat(rng.uniform(size=(40, 2)), 2, axis=0)
    labels = rng.randint(0, 3, size=80)
    model = SelfDistilledKernelRidgeClassifierCV(gamma=3.0, max_rounds=1)
    model.fit(X, labels)
    floors = np.atleast_1d(model.best_estimator_.min_reachable_mse_)
    assert floors.max() > 1e-3 * 1.0  # above today's lower end (coded +-1)
    assert model.epsilons_[0] > floors.max()
    assert not np.any(np.isneginf(model.cv_results_["mean_test_score"][::2]))
