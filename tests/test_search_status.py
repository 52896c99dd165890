"""Searches record collapsed and infeasible grid points instead of warning."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.preprocessing import StandardScaler

from sklearn_selfdistill import (
    SelfDistilledKernelRidgeClassifierCV,
    SelfDistilledKernelRidgeCV,
)
from sklearn_selfdistill._search_results import selection_on_edge


@pytest.mark.slow
@pytest.mark.parametrize(
    "loader, estimator",
    [
        (load_diabetes, SelfDistilledKernelRidgeCV()),
        (load_breast_cancer, SelfDistilledKernelRidgeClassifierCV()),
        (load_digits, SelfDistilledKernelRidgeClassifierCV()),
    ],
    ids=["diabetes", "breast_cancer", "digits"],
)
def test_default_search_is_quiet_and_records_collapse(loader, estimator):
    X, y = loader(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        estimator.fit(X, y)
    results = estimator.cv_results_
    status = results["status"]
    collapsed = status == "collapsed"
    # Collapse at large epsilon after many rounds is what the theory predicts.
    assert collapsed.sum() > 0
    assert np.all(results["mean_test_score"][collapsed] == -np.inf)
    assert np.all(np.isfinite(results["mean_test_score"][status == "ok"]))
    # Exactly the rounds that collapse on all points, as a refit shows.
    n_rounds = estimator.max_rounds + 1
    flat_collapsed = collapsed.reshape(-1, n_rounds)
    assert np.array_equal(
        flat_collapsed, np.isinf(estimator.loo_errors_)
    )


def test_best_params_and_index_as_in_gridsearchcv():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(50, 1))
    y = np.sin(2 * np.pi * X[:, 0]) + 0.3 * rng.randn(50)
    search = SelfDistilledKernelRidgeCV(
        epsilons=[0.02, 0.05, 0.1, 0.2], max_rounds=3, gamma=10.0
    ).fit(X, y)
    results = search.cv_results_
    assert results["rank_test_score"][search.best_index_] == 1
    assert search.best_params_ == results["params"][search.best_index_]
    assert search.best_params_ == {
        "epsilon": search.best_epsilon_, "n_rounds": search.best_n_rounds_
    }
    assert results["mean_test_score"][search.best_index_] == search.best_score_
    e = list(search.epsilons_).index(search.best_epsilon_)
    assert search.selection_on_edge_ == (
        e in (0, 3) or search.best_n_rounds_ == 3
    )
    assert set(results["status"]) <= {"ok", "collapsed", "infeasible"}


@pytest.mark.parametrize(
    "best, shape, expected",
    [((0, 1), (4, 4), True), ((3, 1), (4, 4), True), ((1, 3), (4, 4), True),
     ((1, 0), (4, 4), False), ((1, 2), (4, 4), False), ((0, 0), (1, 1), False),
     ((0, 0), (1, 3), False), ((0, 2), (1, 3), True)],
)
def test_selection_on_edge(best, shape, expected):
    assert selection_on_edge(best, shape) is expected


def test_display_uses_the_search_edge_attribute():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sklearn_selfdistill import DistillationSearchDisplay

    rng = np.random.RandomState(0)
    X = rng.uniform(size=(40, 1))
    y = np.sin(2 * np.pi * X[:, 0]) + 0.3 * rng.randn(40)
    search = SelfDistilledKernelRidgeCV(
        epsilons=[0.02, 0.05, 0.1], max_rounds=2, gamma=10.0
    ).fit(X, y)
    search.selection_on_edge_ = not search.selection_on_edge_
    disp = DistillationSearchDisplay.from_estimator(search)
    assert disp.selection_on_edge_ is search.selection_on_edge_
    plt.close("all")
