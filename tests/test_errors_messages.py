"""Messages that name the cause: infeasible epsilon, NaN scorers, units.

An infeasible epsilon tells a kernel too smooth for the points (most
eigenvalues below float64's resolution) from duplicated inputs with different
targets, and from the directions a low-rank solver did not keep; its numbers
are in the units of ``epsilon``. A scorer that answers only NaN is named as
the cause instead of an empty list of infeasible epsilons.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.metrics import make_scorer

from sklearn_selfdistill import (
    SelfDistilledKernelRidge,
    SelfDistilledKernelRidgeClassifierCV,
    SelfDistilledKernelRidgeCV,
)
from sklearn_selfdistill.exceptions import InfeasibleEpsilonError

from _kernel_cases import assert_unfitted, data


def _smooth_problem():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(50, 1))
    y = np.sin(2 * np.pi * X[:, 0]) + 0.3 * rng.randn(50)
    return X, y


def test_too_smooth_kernel_is_named_with_the_fix():
    X, y = _smooth_problem()
    model = SelfDistilledKernelRidge(epsilon=0.005, gamma=10.0)
    with pytest.raises(InfeasibleEpsilonError) as info:
        model.fit(X, y)
    message = str(info.value)
    # Most of the 50 eigenvalues are numerically zero; no input is duplicated.
    n_zero = int(message.split(" of the 50 eigenvalues")[0].split(": ")[-1])
    assert 25 <= n_zero < 50
    assert "too smooth for these points" in message
    assert "larger gamma" in message and "larger epsilon" in message
    assert "duplicated" not in message
    assert info.value.epsilon == 0.005 and info.value.floor > 0.005
    assert f"Choose epsilon > {info.value.floor:.6g}" in message
    assert_unfitted(model, X)
    # A larger gamma makes the same epsilon feasible, as the message says.
    SelfDistilledKernelRidge(epsilon=0.005, gamma=1000.0).fit(X, y)


def test_duplicated_inputs_are_named():
    X = np.zeros((4, 1))
    y = np.array([1.0, -1.0, 2.0, 0.0])
    with pytest.raises(InfeasibleEpsilonError, match="3 duplicated inputs") as info:
        SelfDistilledKernelRidge(epsilon=0.1).fit(X, y)
    assert "too smooth" not in str(info.value)
    assert info.value.floor == pytest.approx(1.25, rel=1e-12)  # var(y)


@pytest.mark.parametrize("factor", [1e3, 1e-80])
def test_infeasible_numbers_are_in_the_units_of_epsilon(factor):
    # Without normalize_y, epsilon and the floor are in the units of y**2
    # (the targets are coded by a power of two inside the fit).
    X = np.zeros((4, 1))
    y = np.array([1.0, -1.0, 2.0, 0.0]) * factor
    epsilon = 0.1 * factor**2
    with pytest.raises(InfeasibleEpsilonError) as info:
        SelfDistilledKernelRidge(epsilon=epsilon).fit(X, y)
    assert_allclose(info.value.floor, 1.25 * factor**2, rtol=1e-12)
    assert_allclose(info.value.epsilon, epsilon, rtol=1e-15)
    assert f"epsilon={epsilon:.6g} is below" in str(info.value)
    assert f"({1.25 * factor**2:.6g})" in str(info.value)


def test_low_rank_solver_is_named():
    X, y = data("regressor", n=60)
    model = SelfDistilledKernelRidge(
        epsilon=1e-4, gamma=50.0, eigen_solver="nystroem", n_components=3,
        random_state=0,
    )
    with pytest.raises(
        InfeasibleEpsilonError,
        match=r"eigen_solver='nystroem' and n_components=3.*increase n_components",
    ):
        model.fit(X, y)
    assert_unfitted(model, X)


def _nan_score(y_true, y_pred):
    return float("nan")


@pytest.mark.parametrize("cv", [None, 3])
@pytest.mark.parametrize(
    "search",
    [SelfDistilledKernelRidgeCV(epsilons=[0.05, 0.1], max_rounds=1, gamma=5.0),
     SelfDistilledKernelRidgeClassifierCV(epsilons=[0.3, 0.5], max_rounds=1,
                                          gamma=5.0)],
    ids=["regressor_cv", "classifier_cv"],
)
def test_scorer_returning_nan_is_named(search, cv):
    name = "classifier_cv" if "Classifier" in type(search).__name__ else "regressor"
    X, y = data(name)
    search.set_params(scoring=make_scorer(_nan_score), cv=cv)
    match = r"scoring=make_scorer\(_nan_score.*NaN"
    with pytest.raises(ValueError, match=match) as info:
        search.fit(X, y)
    assert "epsilons []" not in str(info.value)
    assert_unfitted(search, X)


def test_scorer_nan_on_some_points_ranks_them_last():
    X, y = data("regressor")
    calls = []

    def score(y_true, y_pred):
        calls.append(1)
        return float("nan") if len(calls) % 2 else -np.mean((y_true - y_pred) ** 2)

    search = SelfDistilledKernelRidgeCV(
        epsilons=[0.05, 0.1], max_rounds=1, gamma=5.0, scoring=make_scorer(score)
    ).fit(X, y)
    assert np.isfinite(search.best_score_)
