"""SelfDistilledKernelRidgeCV and SelfDistilledKernelRidgeClassifierCV."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.kernel_ridge import KernelRidge
from sklearn.metrics import accuracy_score, r2_score
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_selfdistill import (
    SelfDistilledKernelRidge,
    SelfDistilledKernelRidgeClassifier,
    SelfDistilledKernelRidgeClassifierCV,
    SelfDistilledKernelRidgeCV,
)

GAMMA = 5.0


@parametrize_with_checks(
    [
        SelfDistilledKernelRidgeCV(epsilons=[0.05, 0.2], max_rounds=2),
        SelfDistilledKernelRidgeClassifierCV(
            epsilons=[0.15, 0.3], max_rounds=1, cv=3, scoring="accuracy"
        ),
    ]
)
def test_sklearn_compatible_cv(estimator, check):
    check(estimator)


def _smoother(X, c_path, gamma=GAMMA):
    """S_t = prod_i G (c_i I + G)^{-1}, built with dense linear solves."""
    n = X.shape[0]
    G = rbf_kernel(X, gamma=gamma) / n
    S = np.eye(n)
    for c in c_path:
        S = G @ np.linalg.solve(c * np.eye(n) + G, S)
    return S


def test_loo_round_zero_is_exact_leave_one_out(regression):
    X, y = regression
    n = X.shape[0]
    epsilons = [0.05, 0.1, 0.2]
    model = SelfDistilledKernelRidgeCV(
        epsilons=epsilons, max_rounds=2, gamma=GAMMA
    ).fit(X, y)
    for e, eps in enumerate(epsilons):
        round0 = SelfDistilledKernelRidge(epsilon=eps, n_rounds=0, gamma=GAMMA)
        c0 = round0.fit(X, y).c_[0]
        errors = []
        for i in range(n):
            keep = np.arange(n) != i
            held_out = KernelRidge(alpha=n * c0, kernel="rbf", gamma=GAMMA)
            held_out.fit(X[keep], y[keep])
            errors.append((held_out.predict(X[i : i + 1])[0] - y[i]) ** 2)
        np.testing.assert_allclose(model.loo_errors_[e, 0], np.mean(errors), rtol=1e-8)


def test_loo_later_rounds_match_smoother_definition(regression):
    X, y = regression
    epsilons = [0.05, 0.1]
    model = SelfDistilledKernelRidgeCV(
        epsilons=epsilons, max_rounds=3, gamma=GAMMA, scoring="r2"
    ).fit(X, y)
    for e, eps in enumerate(epsilons):
        ref = SelfDistilledKernelRidge(epsilon=eps, n_rounds=3, gamma=GAMMA).fit(X, y)
        assert not ref.collapsed_.any()
        for t in range(4):
            S = _smoother(X, ref.c_[: t + 1])
            residual = (y - S @ y) / (1.0 - np.diag(S))
            np.testing.assert_allclose(
                model.loo_errors_[e, t], np.mean(residual**2), rtol=1e-8
            )
            score = model.cv_results_["mean_test_score"][e * 4 + t]
            np.testing.assert_allclose(score, r2_score(y, y - residual), rtol=1e-8)


def test_classifier_loo_round_zero_matches_brute_force_per_column(iris_half):
    X, y = iris_half
    n = X.shape[0]
    clf = SelfDistilledKernelRidgeClassifierCV(
        epsilons=[0.2], max_rounds=1, gamma=0.5, scoring="accuracy"
    ).fit(X, y)
    ref = SelfDistilledKernelRidgeClassifier(epsilon=0.2, n_rounds=0, gamma=0.5)
    ref.fit(X, y)
    Y = np.column_stack([np.where(y == c, 1.0, -1.0) for c in ref.classes_])
    loo_scores = np.empty_like(Y)
    for i in range(n):
        keep = np.arange(n) != i
        for q in range(3):
            held_out = KernelRidge(alpha=n * ref.c_[0, q], kernel="rbf", gamma=0.5)
            held_out.fit(X[keep], Y[keep, q])
            loo_scores[i, q] = held_out.predict(X[i : i + 1])[0]
    np.testing.assert_allclose(
        clf.loo_errors_[0, 0], np.mean((loo_scores - Y) ** 2), rtol=1e-8
    )
    expected = accuracy_score(y, ref.classes_[np.argmax(loo_scores, axis=1)])
    assert clf.cv_results_["mean_test_score"][0] == expected


def test_kfold_equals_manual_loop_and_grid_search(regression):
    X, y = regression
    folds = KFold(n_splits=4, shuffle=True, random_state=0)
    epsilons = [0.05, 0.1, 0.3]
    model = SelfDistilledKernelRidgeCV(
        epsilons=epsilons, max_rounds=2, gamma=GAMMA, cv=folds, normalize_y=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    manual = np.zeros((3, 3))
    valid = np.ones((3, 3), dtype=bool)
    for train, test in folds.split(X):
        for e, eps in enumerate(epsilons):
            ref = SelfDistilledKernelRidge(
                epsilon=eps, n_rounds=2, gamma=GAMMA, normalize_y=True,
                on_collapse="ignore",
            ).fit(X[train], y[train])
            valid[e] &= ~ref.collapsed_
            for t, pred in enumerate(ref.staged_predict(X[test])):
                manual[e, t] += np.mean((pred - y[test]) ** 2) / 4
    assert valid.sum() > 3 and not valid.all()
    np.testing.assert_allclose(model.loo_errors_[valid], manual[valid], rtol=1e-10)
    assert np.all(np.isinf(model.loo_errors_[~valid]))
    e, t = np.unravel_index(np.argmin(np.where(valid, manual, np.inf)), manual.shape)
    assert (model.best_epsilon_, model.best_n_rounds_) == (epsilons[e], t)

    search = GridSearchCV(
        SelfDistilledKernelRidge(gamma=GAMMA, normalize_y=True, on_collapse="ignore"),
        {"epsilon": epsilons, "n_rounds": [0, 1, 2]},
        cv=folds, scoring="neg_mean_squared_error",
    ).fit(X, y)
    ours = model.cv_results_["mean_test_score"]
    flat_valid = valid.ravel()
    np.testing.assert_allclose(
        ours[flat_valid], search.cv_results_["mean_test_score"][flat_valid],
        rtol=1e-10,
    )
    for k in range(4):
        np.testing.assert_allclose(
            model.cv_results_[f"split{k}_test_score"][flat_valid],
            search.cv_results_[f"split{k}_test_score"][flat_valid], rtol=1e-10,
        )


def test_classifier_kfold_accuracy_equals_manual_loop(iris_half):
    X, y = iris_half
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=1)
    clf = SelfDistilledKernelRidgeClassifierCV(
        epsilons=[0.1, 0.3], max_rounds=1, cv=folds, scoring="accuracy"
    )
    clf.fit(X, labels)
    assert list(clf.cv_results_["status"]).count("collapsed") == 1
    manual = np.zeros((2, 2))
    for train, test in folds.split(X, labels):
        for e, eps in enumerate([0.1, 0.3]):
            ref = SelfDistilledKernelRidgeClassifier(
                epsilon=eps, n_rounds=1, on_collapse="ignore"
            ).fit(X[train], labels[train])
            for t, pred in enumerate(ref.staged_predict(X[test])):
                score = accuracy_score(labels[test], pred)
                # A round where some class collapsed is scored the worst.
                manual[e, t] += -np.inf if ref.collapsed_[t].any() else score / 3
    assert np.isinf(manual).sum() == 1
    np.testing.assert_allclose(
        clf.cv_results_["mean_test_score"], manual.ravel(), rtol=1e-12
    )
    assert clf.predict(X[:5]).dtype.kind == "U"


def test_refit_and_results_layout(regression):
    X, y = regression
    epsilons = [0.04, 0.08, 0.16]
    model = SelfDistilledKernelRidgeCV(epsilons=epsilons, max_rounds=4, gamma=GAMMA)
    model.fit(X, y)
    res = model.cv_results_
    assert model.loo_errors_.shape == (3, 5)
    np.testing.assert_array_equal(res["param_epsilon"], np.repeat(epsilons, 5))
    np.testing.assert_array_equal(res["param_n_rounds"], np.tile(np.arange(5), 3))
    np.testing.assert_allclose(res["mean_test_score"], -model.loo_errors_.ravel())
    best = int(np.argmin(model.loo_errors_))
    assert res["rank_test_score"][best] == 1
    assert res["params"][best] == {
        "epsilon": model.best_epsilon_, "n_rounds": model.best_n_rounds_
    }
    scores = res["mean_test_score"]
    expected_rank = [1 + np.sum(scores > s) for s in scores]
    np.testing.assert_array_equal(res["rank_test_score"], expected_rank)
    ref = SelfDistilledKernelRidge(
        epsilon=model.best_epsilon_, n_rounds=model.best_n_rounds_, gamma=GAMMA
    ).fit(X, y)
    np.testing.assert_allclose(model.predict(X), ref.predict(X), rtol=1e-12)
    np.testing.assert_allclose(model.c_, ref.c_, rtol=1e-12)
    staged = list(model.staged_predict(X))
    assert len(staged) == model.best_n_rounds_ + 1


def test_default_grid_scales_with_targets(regression):
    X, y = regression
    raw = SelfDistilledKernelRidgeCV(max_rounds=1, gamma=GAMMA)
    norm = SelfDistilledKernelRidgeCV(max_rounds=1, gamma=GAMMA, normalize_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw.fit(X, 3.0 * y)
        norm.fit(X, 3.0 * y)
    np.testing.assert_allclose(
        raw.epsilons_, np.geomspace(1e-3, 0.5, 8) * np.mean((3.0 * y) ** 2)
    )
    np.testing.assert_allclose(norm.epsilons_, np.geomspace(1e-3, 0.5, 8))


def test_infeasible_and_collapsed_points_get_worst_score_and_status():
    rng = np.random.RandomState(3)
    X = np.repeat(rng.uniform(size=(20, 1)), 2, axis=0)  # duplicated inputs
    y = np.sin(6 * X[:, 0]) + 0.5 * rng.randn(40)  # with different targets
    floor = SelfDistilledKernelRidge(epsilon=1.0, n_rounds=0, gamma=GAMMA).fit(
        X, y
    ).min_reachable_mse_
    assert floor > 0.05
    too_small, fine, too_large = 0.5 * floor, 1.5 * floor, 2 * np.mean(y**2)
    model = SelfDistilledKernelRidgeCV(
        epsilons=[too_small, fine, too_large], max_rounds=3, gamma=GAMMA
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X, y)
    status = model.cv_results_["status"]
    assert list(status[:4]) == ["infeasible"] * 4
    assert list(status[8:]) == ["collapsed"] * 4
    assert np.all(np.isinf(model.loo_errors_[[0, 2]]))
    assert np.all(model.cv_results_["mean_test_score"][[*range(4), *range(8, 12)]]
                  == -np.inf)
    assert model.best_epsilon_ == fine
    with pytest.raises(ValueError, match="Every grid point was infeasible"):
        SelfDistilledKernelRidgeCV(
            epsilons=[too_small, too_large], max_rounds=1, gamma=GAMMA
        ).fit(X, y)


def test_bad_epsilons_and_precomputed_kernel(regression):
    X, y = regression
    with pytest.raises(ValueError, match="epsilons must be finite and > 0"):
        SelfDistilledKernelRidgeCV(epsilons=[0.1, -1.0]).fit(X, y)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        SelfDistilledKernelRidgeCV(epsilons=[[0.1]]).fit(X, y)
    K = rbf_kernel(X, gamma=GAMMA)
    K_copy = K.copy()
    pre = SelfDistilledKernelRidgeCV(epsilons=[0.05, 0.1], max_rounds=2,
                                     kernel="precomputed").fit(K, y)
    named = SelfDistilledKernelRidgeCV(epsilons=[0.05, 0.1], max_rounds=2,
                                       gamma=GAMMA).fit(X, y)
    np.testing.assert_array_equal(K, K_copy)
    np.testing.assert_allclose(pre.loo_errors_, named.loo_errors_, rtol=1e-10)
    np.testing.assert_allclose(pre.predict(K), named.predict(X), rtol=1e-10)


def test_multi_output_regression(regression):
    X, y = regression
    Y = np.column_stack([y, 2 * y + 1])
    model = SelfDistilledKernelRidgeCV(
        epsilons=[0.1, 0.2], max_rounds=1, gamma=GAMMA, normalize_y=True
    ).fit(X, Y)
    assert model.predict(X).shape == (50, 2)
    # With normalize_y both columns are the same standardised target, so the
    # error in the units of y averages var(y) and 4 var(y): 2.5 var(y) times
    # the single-output error.
    single = SelfDistilledKernelRidgeCV(
        epsilons=[0.1, 0.2], max_rounds=1, gamma=GAMMA, normalize_y=True
    ).fit(X, y)
    np.testing.assert_allclose(model.loo_errors_, 2.5 * single.loo_errors_, rtol=1e-10)


@pytest.mark.parametrize("classifier", [False, True])
def test_loo_refit_reuses_the_search_eigendecomposition(
    regression, iris_half, eigh_calls, classifier
):
    # Leave-one-out needs the Gram matrix of all points, which is also the
    # refit's: one eigendecomposition serves both, with the refit identical to
    # a fit of its own.
    if classifier:
        X, y = iris_half
        model = SelfDistilledKernelRidgeClassifierCV(epsilons=[0.05, 0.1], max_rounds=1)
        reference = SelfDistilledKernelRidgeClassifier
    else:
        X, y = regression
        model = SelfDistilledKernelRidgeCV(
            epsilons=[0.04, 0.08], max_rounds=2, gamma=GAMMA, normalize_y=True
        )
        reference = SelfDistilledKernelRidge
    calls = eigh_calls
    model.fit(X, y)
    assert calls == [(X.shape[0], X.shape[0])]
    params = {k: v for k, v in model.best_estimator_.get_params().items()}
    # The search forms the eigenvectors (leave-one-out needs them): a fit that
    # forms them too runs the same LAPACK calls, to the last bit.
    own = reference(**{**params, "store_eigenvectors": True}).fit(X, y)
    assert len(calls) == 2
    np.testing.assert_array_equal(model.dual_coef_, own.dual_coef_)
    np.testing.assert_array_equal(model.c_, own.c_)
    # A plain fit skips them (tridiagonal path): equal to round-off.
    plain = reference(**params).fit(X, y)
    scale = np.abs(own.dual_coef_).max()
    np.testing.assert_allclose(plain.dual_coef_, own.dual_coef_, rtol=0,
                               atol=1e-9 * scale)
    np.testing.assert_allclose(plain.c_, own.c_, rtol=1e-10)


def test_kfold_refit_computes_the_spectrum_of_all_points(regression, eigh_calls):
    X, y = regression
    calls = eigh_calls
    SelfDistilledKernelRidgeCV(epsilons=[0.04, 0.08], max_rounds=2, gamma=GAMMA,
                               cv=3).fit(X, y)
    # One per fold, then the refit's on all points.
    assert [shape[0] for shape in calls] == [33, 33, 34, 50]


def test_search_that_raises_leaves_no_results(regression):
    X, y = regression
    model = SelfDistilledKernelRidgeCV(epsilons=[1e-12], max_rounds=1, gamma=GAMMA,
                                       kernel="linear")
    with pytest.raises(ValueError, match="Every grid point was infeasible"):
        model.fit(X, y)
    for name in ("cv_results_", "best_estimator_", "loo_errors_", "c_"):
        assert not hasattr(model, name)
    with pytest.raises(NotFittedError):
        model.predict(X)


def test_refit_skips_a_point_infeasible_on_all_points():
    # Trained and scored on the distinct points, the smallest epsilon wins;
    # on all points (each one twice, with other targets) it is below the
    # smallest reachable MSE, so the next best point is refitted.
    rng = np.random.RandomState(0)
    base = rng.uniform(size=(20, 1))
    X = np.vstack([base, base])
    y = np.sin(2 * np.pi * X[:, 0]) + 0.3 * rng.randn(40)
    floor = np.mean((y[:20] - y[20:]) ** 2) / 4  # half the pair differences
    first = np.arange(20)
    epsilons = [0.5 * floor, 2.0 * floor]
    # gamma=400: the distinct points' Gram matrix is well conditioned (kappa
    # about 1e5), so the floor is that of the duplicates alone.
    model = SelfDistilledKernelRidgeCV(
        epsilons=epsilons, max_rounds=0, gamma=400.0, cv=[(first, first)]
    )
    with pytest.warns(UserWarning, match="could not be refitted"):
        model.fit(X, y)
    assert model.cv_results_["rank_test_score"].tolist() == [1, 2]
    assert model.best_epsilon_ == epsilons[1]
    np.testing.assert_allclose(
        model.best_estimator_.min_reachable_mse_, floor, rtol=1e-8
    )
