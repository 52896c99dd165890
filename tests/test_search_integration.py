"""The kernel estimators inside scikit-learn's search and validation tools."""

import warnings

import numpy as np
import pytest
from scipy.stats import loguniform, randint
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.metrics import accuracy_score, mean_squared_error, r2_score
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_selfdistill import (
    SelfDistilledKernelRidge,
    SelfDistilledKernelRidgeClassifier,
    SelfDistilledKernelRidgeCV,
)


@pytest.fixture(scope="module")
def unequal_scales():
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(60, 3)) * [1.0, 10.0, 0.1]  # unequal scales
    y = np.sin(X[:, 0]) + X[:, 1] / 10 + 0.2 * rng.randn(60)
    return X, y


def _manual_scores(make_model, X, y, folds, score):
    """Held-out score of a scaler + model pipeline, fold by fold, by hand."""
    out = []
    for train, test in folds.split(X, y):
        scaler = StandardScaler().fit(X[train])
        model = make_model().fit(scaler.transform(X[train]), y[train])
        out.append(score(y[test], model.predict(scaler.transform(X[test]))))
    return np.array(out)


def test_grid_search_in_pipeline_regressor(unequal_scales):
    X, y = unequal_scales
    folds = KFold(n_splits=3, shuffle=True, random_state=0)
    pipe = make_pipeline(StandardScaler(),
                         SelfDistilledKernelRidge(gamma=0.5, on_collapse="ignore"))
    grid = {"selfdistilledkernelridge__epsilon": [0.05, 0.1],
            "selfdistilledkernelridge__n_rounds": [0, 1, 2]}
    search = GridSearchCV(pipe, grid, cv=folds, scoring="neg_mean_squared_error",
                          n_jobs=2).fit(X, y)
    for params, mean in zip(search.cv_results_["params"],
                            search.cv_results_["mean_test_score"]):
        eps = params["selfdistilledkernelridge__epsilon"]
        rounds = params["selfdistilledkernelridge__n_rounds"]
        manual = _manual_scores(
            lambda: SelfDistilledKernelRidge(gamma=0.5, epsilon=eps, n_rounds=rounds,
                                             on_collapse="ignore"),
            X, y, folds, lambda a, b: -mean_squared_error(a, b),
        )
        np.testing.assert_allclose(mean, manual.mean(), rtol=1e-10)
    best = search.best_params_
    refit = make_pipeline(StandardScaler(), SelfDistilledKernelRidge(
        gamma=0.5, epsilon=best["selfdistilledkernelridge__epsilon"],
        n_rounds=best["selfdistilledkernelridge__n_rounds"])).fit(X, y)
    np.testing.assert_allclose(search.predict(X), refit.predict(X), rtol=1e-12)

    # A fitted search clones into an unfitted one with the same parameters,
    # which refits to the same results.
    twin = clone(search)
    assert not hasattr(twin, "cv_results_")
    assert twin.get_params()["estimator__selfdistilledkernelridge__gamma"] == 0.5
    assert not hasattr(twin.estimator.steps[-1][1], "dual_coef_")
    twin.set_params(n_jobs=1).fit(X, y)
    np.testing.assert_allclose(twin.cv_results_["mean_test_score"],
                               search.cv_results_["mean_test_score"], rtol=1e-12)


def test_grid_and_randomized_search_in_pipeline_classifier():
    X, y = load_iris(return_X_y=True)
    X = X[::2] * [1.0, 10.0, 1.0, 0.1]
    y = np.array(["setosa", "versicolor", "virginica"])[y[::2]]
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    pipe = make_pipeline(StandardScaler(),
                         SelfDistilledKernelRidgeClassifier(on_collapse="ignore"))
    grid = GridSearchCV(
        pipe, {"selfdistilledkernelridgeclassifier__epsilon": [0.1, 0.2],
               "selfdistilledkernelridgeclassifier__n_rounds": [0, 1]},
        cv=folds, n_jobs=2,
    ).fit(X, y)
    rand = RandomizedSearchCV(
        pipe, {"selfdistilledkernelridgeclassifier__epsilon": loguniform(0.05, 0.3),
               "selfdistilledkernelridgeclassifier__n_rounds": randint(0, 3)},
        n_iter=3, cv=folds, n_jobs=2, random_state=0,
    ).fit(X, y)
    for search in (grid, rand):
        for params, mean in zip(search.cv_results_["params"],
                                search.cv_results_["mean_test_score"]):
            eps = params["selfdistilledkernelridgeclassifier__epsilon"]
            rounds = params["selfdistilledkernelridgeclassifier__n_rounds"]
            manual = _manual_scores(
                lambda: SelfDistilledKernelRidgeClassifier(
                    epsilon=eps, n_rounds=rounds, on_collapse="ignore"),
                X, y, folds, accuracy_score,
            )
            np.testing.assert_allclose(mean, manual.mean(), rtol=1e-12)
        assert search.predict(X[:4]).dtype.kind == "U"
    sampled = rand.cv_results_["param_selfdistilledkernelridgeclassifier__epsilon"]
    assert len(set(np.asarray(sampled, dtype=float))) == 3


def test_cross_validate_with_several_scorers(unequal_scales):
    X, y = unequal_scales
    folds = KFold(n_splits=4, shuffle=True, random_state=1)
    pipe = make_pipeline(StandardScaler(),
                         SelfDistilledKernelRidge(epsilon=0.05, n_rounds=1, gamma=0.5))
    out = cross_validate(pipe, X, y, cv=folds, n_jobs=2,
                         scoring=["neg_mean_squared_error", "r2"],
                         return_train_score=True)
    make = lambda: SelfDistilledKernelRidge(epsilon=0.05, n_rounds=1, gamma=0.5)  # noqa: E731
    np.testing.assert_allclose(
        out["test_neg_mean_squared_error"],
        _manual_scores(make, X, y, folds, lambda a, b: -mean_squared_error(a, b)),
        rtol=1e-10,
    )
    np.testing.assert_allclose(out["test_r2"],
                               _manual_scores(make, X, y, folds, r2_score), rtol=1e-10)
    # Round 1 keeps the training MSE against its own targets at epsilon, so
    # the training error against y exceeds epsilon = 0.05 on every fold.
    assert np.all(-out["train_neg_mean_squared_error"] > 0.05)


def test_cv_estimator_in_pipeline_and_nested_cross_validation(unequal_scales):
    X, y = unequal_scales
    pipe = make_pipeline(StandardScaler(), SelfDistilledKernelRidgeCV(
        epsilons=[0.02, 0.05, 0.1], max_rounds=3, gamma=0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X, y)
        direct = SelfDistilledKernelRidgeCV(
            epsilons=[0.02, 0.05, 0.1], max_rounds=3, gamma=0.5
        ).fit(StandardScaler().fit_transform(X), y)
        nested = cross_validate(pipe, X, y, cv=3, scoring="r2")
    inner = pipe[-1]
    assert (inner.best_epsilon_, inner.best_n_rounds_) == (
        direct.best_epsilon_, direct.best_n_rounds_)
    np.testing.assert_allclose(inner.loo_errors_, direct.loo_errors_, rtol=1e-12)
    assert nested["test_score"].shape == (3,)
    assert np.all(nested["test_score"] > 0.5)
