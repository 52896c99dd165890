"""sample_weight of the kernel estimators: the weighted problem of each round."""

import warnings

import numpy as np
import pytest
from sklearn.model_selection import KFold

from sklearn_selfdistill import (
    SelfDistilledKernelRidge,
    SelfDistilledKernelRidgeClassifier,
    SelfDistilledKernelRidgeClassifierCV,
    SelfDistilledKernelRidgeCV,
)

SOLVERS = [
    {"eigen_solver": "dense"},
    {"eigen_solver": "randomized", "n_components": 15, "random_state": 0},
    {"eigen_solver": "nystroem", "n_components": 15, "random_state": 0},
]


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (30, 2))
    y = np.sin(3 * X[:, 0]) + X[:, 1] + 0.2 * rng.randn(30)
    X_test = rng.uniform(-1, 1, (15, 2))
    w = rng.randint(1, 4, size=30)
    return X, y, X_test, w


def _repeat(X, y, w):
    index = np.repeat(np.arange(X.shape[0]), w)
    return X[index], y[index]


@pytest.mark.parametrize("ground_truth_weight", [0.0, 0.3])
@pytest.mark.parametrize("normalize_y", [False, True])
def test_integer_weights_equal_repeated_rows(data, ground_truth_weight, normalize_y):
    X, y, X_test, w = data
    params = dict(epsilon=0.05, n_rounds=3, gamma=2.0, normalize_y=normalize_y,
                  ground_truth_weight=ground_truth_weight)
    weighted = SelfDistilledKernelRidge(**params).fit(X, y, sample_weight=w)
    repeated = SelfDistilledKernelRidge(**params).fit(*_repeat(X, y, w))
    np.testing.assert_allclose(
        weighted.predict(X_test), repeated.predict(X_test), rtol=0, atol=1e-10
    )
    for a, b in zip(weighted.staged_predict(X_test), repeated.staged_predict(X_test)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
    np.testing.assert_allclose(weighted.c_, repeated.c_, rtol=1e-8)
    np.testing.assert_allclose(weighted.train_mse_, repeated.train_mse_, rtol=1e-9)
    # The weighted training MSE of every round equals epsilon.
    P = np.stack(list(weighted.staged_predict(X)))
    if not normalize_y and ground_truth_weight == 0:
        assert np.sum(w * (P[0] - y) ** 2) / w.sum() == pytest.approx(0.05, rel=1e-10)
    # The nonzero eigenvalues of the repeated Gram matrix / N.
    top = repeated.eigenvalues_[: X.shape[0]]
    np.testing.assert_allclose(weighted.eigenvalues_, top, rtol=1e-8, atol=1e-12)


def test_integer_weights_equal_repeated_rows_classifier():
    rng = np.random.RandomState(1)
    X = rng.randn(36, 2)
    y = np.array(["a", "b", "c"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]
    w = rng.randint(1, 4, size=36)
    X_test = rng.randn(12, 2)
    params = dict(epsilon=0.3, n_rounds=2, gamma=1.0)
    weighted = SelfDistilledKernelRidgeClassifier(**params).fit(X, y, sample_weight=w)
    repeated = SelfDistilledKernelRidgeClassifier(**params).fit(*_repeat(X, y, w))
    np.testing.assert_allclose(
        weighted.decision_function(X_test), repeated.decision_function(X_test),
        rtol=0, atol=1e-10,
    )
    assert np.array_equal(weighted.predict(X_test), repeated.predict(X_test))


def test_zero_weights_drop_rows(data):
    X, y, X_test, w = data
    w = w.astype(float)
    w[::3] = 0
    kept = w > 0
    for params in SOLVERS:
        model = SelfDistilledKernelRidge(epsilon=0.05, gamma=2.0, **params)
        weighted = model.fit(X, y, sample_weight=w)
        dropped = SelfDistilledKernelRidge(epsilon=0.05, gamma=2.0, **params).fit(
            X[kept], y[kept], sample_weight=w[kept]
        )
        np.testing.assert_allclose(
            weighted.predict(X_test), dropped.predict(X_test), rtol=0, atol=1e-12
        )
        # Never landmarks, never in the eigendecomposition.
        assert weighted.X_fit_.shape[0] <= kept.sum()
        assert not any((row == X[~kept]).all(axis=1).any() for row in weighted.X_fit_)


def test_zero_weights_precomputed_kernel(data):
    X, y, X_test, w = data
    from sklearn.metrics.pairwise import rbf_kernel

    w = w.astype(float)
    w[:5] = 0
    model = SelfDistilledKernelRidge(epsilon=0.05, kernel="precomputed")
    model.fit(rbf_kernel(X, gamma=2.0), y, sample_weight=w)
    ref = SelfDistilledKernelRidge(epsilon=0.05, gamma=2.0).fit(
        X[5:], y[5:], sample_weight=w[5:]
    )
    np.testing.assert_allclose(
        model.predict(rbf_kernel(X_test, X, gamma=2.0)), ref.predict(X_test),
        rtol=0, atol=1e-12,
    )
    assert np.all(model.dual_coef_[:5] == 0)


@pytest.mark.parametrize("params", SOLVERS, ids=lambda p: p["eigen_solver"])
def test_scale_invariance(data, params):
    X, y, X_test, w = data
    a = SelfDistilledKernelRidge(epsilon=0.05, n_rounds=2, gamma=2.0, **params)
    b = SelfDistilledKernelRidge(epsilon=0.05, n_rounds=2, gamma=2.0, **params)
    a.fit(X, y, sample_weight=w)
    b.fit(X, y, sample_weight=3.7 * w)
    np.testing.assert_allclose(a.c_, b.c_, rtol=1e-10)
    np.testing.assert_allclose(a.eigenvalues_, b.eigenvalues_, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(a.predict(X_test), b.predict(X_test), atol=1e-10)


@pytest.mark.parametrize("params", SOLVERS, ids=lambda p: p["eigen_solver"])
def test_low_rank_weighted_all_components_match_dense(data, params):
    X, y, X_test, w = data
    if params["eigen_solver"] == "dense":
        pytest.skip("the reference")
    full = {**params, "n_components": X.shape[0]}
    low = SelfDistilledKernelRidge(epsilon=0.05, n_rounds=2, gamma=2.0, **full)
    dense = SelfDistilledKernelRidge(epsilon=0.05, n_rounds=2, gamma=2.0)
    low.fit(X, y, sample_weight=w)
    dense.fit(X, y, sample_weight=w)
    np.testing.assert_allclose(low.c_, dense.c_, rtol=1e-6)
    np.testing.assert_allclose(low.predict(X_test), dense.predict(X_test), atol=1e-6)


def _estimators(params):
    cv_params = dict(epsilons=[0.02, 0.05, 0.2], max_rounds=2)
    return [
        SelfDistilledKernelRidge(epsilon=0.05, n_rounds=2, gamma=2.0, **params),
        SelfDistilledKernelRidgeClassifier(
            epsilon=0.3, n_rounds=2, gamma=2.0, **params
        ),
        SelfDistilledKernelRidgeCV(gamma=2.0, **cv_params, **params),
        SelfDistilledKernelRidgeCV(gamma=2.0, cv=KFold(3), **cv_params, **params),
        SelfDistilledKernelRidgeClassifierCV(
            gamma=2.0, epsilons=[0.2, 0.5], max_rounds=2, **params
        ),
        SelfDistilledKernelRidgeClassifierCV(
            gamma=2.0, epsilons=[0.2, 0.5], max_rounds=2, cv=3,
            scoring="accuracy", **params
        ),
    ]


@pytest.mark.parametrize(
    "params", SOLVERS + [{"eigen_solver": "dense", "device": "cpu"}],
    ids=["dense", "randomized", "nystroem", "torch"],
)
def test_unit_weights_change_nothing(data, params):
    if "device" in params:
        pytest.importorskip("torch")
    X, y, X_test, _ = data
    labels = (y > np.median(y)).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for est in _estimators(params):
            target = labels if "Classifier" in type(est).__name__ else y
            a = est.fit(X, target).predict(X_test)
            state = {k: v for k, v in vars(est).items() if k.endswith("_")}
            b = est.fit(X, target, sample_weight=np.ones(len(y))).predict(X_test)
            assert np.array_equal(a, b), type(est).__name__
            assert np.array_equal(state["c_"], est.c_)
            if hasattr(est, "best_params_"):
                assert state["best_params_"] == est.best_params_
                assert np.array_equal(
                    state["cv_results_"]["mean_test_score"],
                    est.cv_results_["mean_test_score"],
                )


def test_weighted_normalize_y_and_default_grid(data):
    X, y, _, w = data
    model = SelfDistilledKernelRidge(epsilon=0.1, normalize_y=True, gamma=2.0)
    model.fit(X, y, sample_weight=w)
    mean = np.sum(w * y) / w.sum()
    std = np.sqrt(np.sum(w * (y - mean) ** 2) / w.sum())
    assert model._coding_.mean[0] == pytest.approx(mean, rel=1e-12)
    assert model._coding_.std[0] == pytest.approx(std, rel=1e-12)
    search = SelfDistilledKernelRidgeCV(gamma=2.0, max_rounds=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y, sample_weight=w)
    reference = np.sum(w * y**2) / w.sum()
    assert search.epsilons_[0] == pytest.approx(1e-3 * reference, rel=1e-12)


def test_weighted_leave_one_out_is_brute_force(data):
    """The weighted LOO criterion equals refitting at fixed c without each point."""
    X, y, _, w = data
    w = w.astype(float)
    search = SelfDistilledKernelRidgeCV(
        epsilons=[0.05], max_rounds=1, gamma=2.0
    ).fit(X, y, sample_weight=w)
    model = SelfDistilledKernelRidge(epsilon=0.05, n_rounds=1, gamma=2.0).fit(
        X, y, sample_weight=w
    )
    from sklearn.metrics.pairwise import rbf_kernel

    K = rbf_kernel(X, gamma=2.0)
    n = len(y)
    # Round 0: exactly the fit without point i at the same multiplier.
    errors = np.zeros(n)
    for i in range(n):
        keep = np.arange(n) != i
        p = w[keep] / w.sum()
        Kk = K[np.ix_(keep, keep)]
        alpha = np.linalg.solve(model.c_[0] * np.eye(n - 1) + p[:, None] * Kk,
                                p * y[keep])
        errors[i] = (K[i, keep] @ alpha - y[i]) ** 2
    assert search.loo_errors_[0, 0] == pytest.approx(
        np.sum(w * errors) / w.sum(), rel=1e-9
    )
    # Every round: the leave-one-out residuals of the linear smoother S_t,
    # S = K (c I + P K)^{-1} P of each round, built densely.
    P = np.diag(w / w.sum())
    S = np.eye(n)
    for t in range(2):
        S = K @ np.linalg.solve(model.c_[t] * np.eye(n) + P @ K, P) @ S
        held_out = (y - S @ y) / (1 - np.diag(S))
        expected = np.sum(w * held_out**2) / w.sum()
        assert search.loo_errors_[0, t] == pytest.approx(expected, rel=1e-9)


def test_bad_weights_raise(data):
    X, y, _, _ = data
    model = SelfDistilledKernelRidge()
    with pytest.raises(ValueError, match="[Ss]ample.weight"):
        model.fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="[Nn]egative"):
        model.fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="sample_weight"):
        model.fit(X, y, sample_weight=np.ones(3))
    assert not hasattr(model, "c_")


@pytest.mark.parametrize("params", SOLVERS, ids=lambda p: p["eigen_solver"])
def test_torch_device_weighted_matches_numpy(data, params):
    pytest.importorskip("torch")
    X, y, X_test, w = data
    a = SelfDistilledKernelRidge(epsilon=0.05, n_rounds=2, gamma=2.0, **params)
    b = SelfDistilledKernelRidge(
        epsilon=0.05, n_rounds=2, gamma=2.0, device="cpu", **params
    )
    a.fit(X, y, sample_weight=w)
    b.fit(X, y, sample_weight=w)
    np.testing.assert_allclose(a.c_, b.c_, rtol=1e-8)
    np.testing.assert_allclose(a.predict(X_test), b.predict(X_test), atol=1e-9)


@pytest.mark.parametrize("routing", [True, False])
def test_metadata_routing_in_pipeline_in_gridsearchcv(data, routing):
    import sklearn
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, _, w = data
    w = w.astype(float)
    folds = list(KFold(3).split(X))
    with sklearn.config_context(enable_metadata_routing=routing):
        model = SelfDistilledKernelRidge(n_rounds=1, gamma=2.0)
        if routing:
            model.set_fit_request(sample_weight=True).set_score_request(
                sample_weight=True
            )
            # scikit-learn 1.7 also asks the pipeline's own score to request it.
            pipe = make_pipeline(
                StandardScaler().set_fit_request(sample_weight=False), model
            ).set_score_request(sample_weight=True)
            search = GridSearchCV(pipe, {"selfdistilledkernelridge__epsilon":
                                         [0.05, 0.1]}, cv=folds)
            search.fit(X, y, sample_weight=w)
        else:
            pipe = make_pipeline(StandardScaler(), model)
            search = GridSearchCV(pipe, {"selfdistilledkernelridge__epsilon":
                                         [0.05, 0.1]}, cv=folds)
            search.fit(X, y, selfdistilledkernelridge__sample_weight=w)
        # The refitted model saw the weights: it equals a weighted fit.
        scaled = StandardScaler().fit_transform(X)
        best = search.best_params_["selfdistilledkernelridge__epsilon"]
        ref = SelfDistilledKernelRidge(epsilon=best, n_rounds=1, gamma=2.0).fit(
            scaled, y, sample_weight=w
        )
        unweighted = SelfDistilledKernelRidge(
            epsilon=best, n_rounds=1, gamma=2.0
        ).fit(scaled, y)
        np.testing.assert_allclose(search.best_estimator_[-1].c_, ref.c_, rtol=1e-12)
        assert not np.allclose(unweighted.c_, ref.c_)
        # Each fold's fit got its part of the weights.
        train, test = folds[0]
        fold = SelfDistilledKernelRidge(epsilon=0.05, n_rounds=1, gamma=2.0)
        sc = StandardScaler().fit(X[train])
        fold.fit(sc.transform(X[train]), y[train], sample_weight=w[train])
        # With routing the score is weighted too (requested above).
        score_weight = {"sample_weight": w[test]} if routing else {}
        expected = fold.score(sc.transform(X[test]), y[test], **score_weight)
        assert search.cv_results_["split0_test_score"][0] == pytest.approx(
            expected, rel=1e-12
        )


def test_every_estimator_requests_sample_weight():
    import sklearn

    with sklearn.config_context(enable_metadata_routing=True):
        for cls in (SelfDistilledKernelRidge, SelfDistilledKernelRidgeClassifier,
                    SelfDistilledKernelRidgeCV, SelfDistilledKernelRidgeClassifierCV):
            est = cls().set_fit_request(sample_weight=True)
            routing = est.get_metadata_routing()
            assert routing.fit.requests == {"sample_weight": True}


@pytest.mark.parametrize(
    "cls", [SelfDistilledKernelRidgeClassifier, SelfDistilledKernelRidgeClassifierCV]
)
def test_one_class_with_positive_weight_raises(cls):
    rng = np.random.RandomState(0)
    X = rng.randn(20, 2)
    y = np.repeat(["a", "b"], 10)
    w = np.r_[np.ones(10), np.zeros(10)]
    model = cls()
    with pytest.raises(ValueError, match="one class only, 'a'.*positive weight"):
        model.fit(X, y, sample_weight=w)
    assert not hasattr(model, "dual_coef_")


def test_weighted_kfold_criterion_is_manual_loop(data):
    X, y, _, w = data
    w = w.astype(float)
    w[4] = 0.0  # dropped within its fold; the splits still index every row
    folds = list(KFold(3, shuffle=True, random_state=0).split(X))
    search = SelfDistilledKernelRidgeCV(
        epsilons=[0.05, 0.1], max_rounds=1, gamma=2.0, cv=folds
    ).fit(X, y, sample_weight=w)
    expected = np.zeros((2, 2))
    for train, test in folds:
        train, test = train[w[train] > 0], test[w[test] > 0]
        for e, eps in enumerate([0.05, 0.1]):
            model = SelfDistilledKernelRidge(epsilon=eps, n_rounds=1, gamma=2.0)
            model.fit(X[train], y[train], sample_weight=w[train])
            for t, pred in enumerate(model.staged_predict(X[test])):
                expected[e, t] += np.sum(w[test] * (pred - y[test]) ** 2) / np.sum(
                    w[test]
                ) / len(folds)
    np.testing.assert_allclose(search.loo_errors_, expected, rtol=1e-10)
