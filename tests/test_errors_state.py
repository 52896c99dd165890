"""Failed fits leave no state; a refit clears every attribute of the previous fit.

One rule for every kernel estimator: a ``fit`` that raises leaves the
estimator unfitted (``NotFittedError`` afterwards, no attribute ending in
``_``), whatever failed (parameter validation, the data, an infeasible
epsilon, a collapse with ``on_collapse="raise"``), and a successful fit keeps
nothing of the previous one.
"""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_selfdistill import (
    SelfDistilledKernelRidge,
    SelfDistilledKernelRidgeClassifier,
    SelfDistilledKernelRidgeCV,
)
from sklearn_selfdistill._checks import clear_fitted
from sklearn_selfdistill.exceptions import (
    InfeasibleEpsilonError,
    SelfDistillationCollapseError,
)

from _kernel_cases import ESTIMATORS, assert_unfitted, data, make


def _fitted_attributes(estimator):
    return {k for k in vars(estimator) if k.endswith("_") and not k.startswith("__")}


@pytest.mark.parametrize("name", ESTIMATORS)
def test_invalid_parameter_after_a_fit_leaves_it_unfitted(name):
    X, y = data(name)
    estimator = make(name).fit(X, y)
    assert _fitted_attributes(estimator)
    estimator.set_params(gamma=-1.0)
    with pytest.raises(InvalidParameterError, match="'gamma' parameter"):
        estimator.fit(X, y)
    assert_unfitted(estimator, X)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_bad_data_after_a_fit_leaves_it_unfitted(name):
    X, y = data(name)
    estimator = make(name).fit(X, y)
    X_bad = X.copy()
    X_bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        estimator.fit(X_bad, y)
    assert_unfitted(estimator, X)


@pytest.mark.parametrize("name", ["regressor", "classifier"])
def test_infeasible_epsilon_after_a_fit_leaves_it_unfitted(name):
    X, y = data(name)
    X[1] = X[0]  # a duplicated input with a different target: floor > 0
    y[1] = y[0] + 1 if name == "regressor" else 1 - y[0]
    estimator = make(name).fit(X, y)
    estimator.set_params(epsilon=1e-6)
    with pytest.raises(InfeasibleEpsilonError, match="epsilon=1e-06 is below"):
        estimator.fit(X, y)
    assert_unfitted(estimator, X)


@pytest.mark.parametrize("name", ["regressor_cv", "classifier_cv"])
def test_every_grid_point_infeasible_leaves_it_unfitted(name):
    X, y = data(name)
    X[1] = X[0]
    y[1] = y[0] + 1 if name == "regressor_cv" else 1 - y[0]
    estimator = make(name).fit(X, y)
    estimator.set_params(epsilons=[1e-7, 1e-6])
    with pytest.raises(ValueError, match="Every grid point was infeasible"):
        estimator.fit(X, y)
    assert_unfitted(estimator, X)


@pytest.mark.parametrize(
    "estimator",
    [SelfDistilledKernelRidge(epsilon=0.3, n_rounds=8, gamma=5.0,
                              on_collapse="raise"),
     SelfDistilledKernelRidgeClassifier(epsilon=0.8, n_rounds=8, gamma=5.0,
                                        on_collapse="raise")],
    ids=["regressor", "classifier"],
)
def test_collapse_error_leaves_no_half_fitted_model(estimator):
    # The collapse is found after the rounds are computed: before, predict
    # answered zeros from the half-fitted model.
    name = "classifier" if "Classifier" in type(estimator).__name__ else "regressor"
    X, y = data(name)
    estimator = clone(estimator)
    with pytest.raises(SelfDistillationCollapseError, match="collapsed"):
        estimator.fit(X, y)
    assert_unfitted(estimator, X)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_switching_store_eigenvectors_off_drops_them(name):
    X, y = data(name)
    estimator = make(name, store_eigenvectors=True).fit(X, y)
    assert estimator.eigenvectors_.shape == (24, 24)
    estimator.set_params(store_eigenvectors=False).fit(X, y)
    assert not hasattr(estimator, "eigenvectors_")


@pytest.mark.parametrize("name", ESTIMATORS)
def test_refit_keeps_nothing_of_the_previous_fit(name):
    X, y = data(name)
    estimator = make(name).fit(X, y)
    estimator.stale_ = "from an earlier fit"
    estimator._staged_dual_coef = "stale"
    X3 = np.column_stack([X, X[:, 0]])
    estimator.fit(X3, y)
    assert not hasattr(estimator, "stale_")
    assert estimator.n_features_in_ == 3
    fresh = make(name).fit(X3, y)
    assert _fitted_attributes(estimator) == _fitted_attributes(fresh)
    np.testing.assert_array_equal(estimator.predict(X3), fresh.predict(X3))


def test_clear_fitted_keeps_parameters():
    estimator = SelfDistilledKernelRidgeCV(epsilons=[0.1]).fit(*data("regressor"))
    params = estimator.get_params()
    clear_fitted(estimator)
    assert _fitted_attributes(estimator) == set()
    assert estimator.get_params() == params
