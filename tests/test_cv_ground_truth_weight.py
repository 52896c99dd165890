"""The ground-truth weight searched by the CV classes (``ground_truth_weights``)."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.kernel_ridge import KernelRidge
from sklearn.metrics import accuracy_score
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold

from sklearn_selfdistill import (
    SelfDistilledKernelRidge,
    SelfDistilledKernelRidgeClassifier,
    SelfDistilledKernelRidgeClassifierCV,
    SelfDistilledKernelRidgeCV,
)

GAMMA = 5.0


def _quiet_fit(model, X, y):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*grid points", category=UserWarning)
        return model.fit(X, y)


def _weighted_smoothers(X, c_path, w, gamma=GAMMA):
    """S_0..S_T of y_{t+1} = w y + (1 - w) f_t, by dense solves, no eigenvectors.

    ``H_i = G (c_i I + G)^{-1}``, ``S_0 = H_0`` and
    ``S_{t+1} = H_{t+1} (w I + (1 - w) S_t)``.
    """
    n = X.shape[0]
    G = rbf_kernel(X, gamma=gamma) / n
    eye = np.eye(n)
    smoothers, S = [], None
    for c in c_path:
        target = eye if S is None else w * eye + (1.0 - w) * S
        S = G @ np.linalg.solve(c * eye + G, target)
        smoothers.append(S)
    return smoothers


def _brute_force_loo(S, y):
    """Leave-one-out predictions of a linear smoother, one point at a time.

    Point i is predicted from the others alone: its own target is removed and
    the weights of the remaining points renormalised, ``sum_{j != i} S_ij y_j /
    (1 - S_ii)``; equivalently the fixed point of predicting i after replacing
    its target with its own prediction.
    """
    n = y.shape[0]
    out = np.empty(n)
    for i in range(n):
        others = np.arange(n) != i
        out[i] = S[i, others] @ y[others] / (1.0 - S[i, i])
    return out


@pytest.mark.parametrize("w", [0.2, 0.6])
def test_loo_criterion_with_weight_equals_brute_force_smoother(regression, w):
    X, y = regression
    epsilons = [0.05, 0.1]
    model = SelfDistilledKernelRidgeCV(
        epsilons=epsilons, max_rounds=3, gamma=GAMMA, ground_truth_weights=[0.0, w]
    ).fit(X, y)
    assert model.loo_errors_.shape == (2, 2, 4)
    for e, eps in enumerate(epsilons):
        ref = SelfDistilledKernelRidge(
            epsilon=eps, n_rounds=3, gamma=GAMMA, ground_truth_weight=w
        ).fit(X, y)
        assert not ref.collapsed_.any()
        for t, S in enumerate(_weighted_smoothers(X, ref.c_, w)):
            held_out = _brute_force_loo(S, y)
            np.testing.assert_allclose(
                model.loo_errors_[e, 1, t], np.mean((held_out - y) ** 2), rtol=1e-8
            )


def test_weight_leaves_round_zero_exact_leave_one_out(regression):
    # Round 0 does not see the weight: its criterion is the exact
    # leave-one-out error of KernelRidge(alpha = n c_0) for every weight.
    X, y = regression
    n = X.shape[0]
    model = SelfDistilledKernelRidgeCV(
        epsilons=[0.1], max_rounds=1, gamma=GAMMA, ground_truth_weights=[0.3, 0.7]
    ).fit(X, y)
    c0 = SelfDistilledKernelRidge(epsilon=0.1, n_rounds=0, gamma=GAMMA).fit(X, y).c_[0]
    errors = []
    for i in range(n):
        keep = np.arange(n) != i
        held_out = KernelRidge(alpha=n * c0, kernel="rbf", gamma=GAMMA)
        held_out.fit(X[keep], y[keep])
        errors.append((held_out.predict(X[i : i + 1])[0] - y[i]) ** 2)
    np.testing.assert_allclose(model.loo_errors_[0, :, 0], np.mean(errors), rtol=1e-8)
    assert model.loo_errors_[0, 0, 1] != model.loo_errors_[0, 1, 1]


def test_weight_grid_slices_equal_single_weight_searches(regression):
    X, y = regression
    weights = [0.0, 0.25, 0.5]
    params = dict(epsilons=[0.03, 0.1, 0.3], max_rounds=4, gamma=GAMMA)
    grid = _quiet_fit(
        SelfDistilledKernelRidgeCV(ground_truth_weights=weights, **params), X, y
    )
    for k, w in enumerate(weights):
        single = _quiet_fit(
            SelfDistilledKernelRidgeCV(ground_truth_weights=w, **params), X, y
        )
        assert single.loo_errors_.shape == (3, 5)
        np.testing.assert_allclose(
            grid.loo_errors_[:, k], single.loo_errors_, rtol=1e-12
        )


def test_results_layout_best_params_and_refit(regression):
    X, y = regression
    epsilons, weights = [0.04, 0.1], [0.0, 0.3, 0.6]
    model = _quiet_fit(
        SelfDistilledKernelRidgeCV(
            epsilons=epsilons, max_rounds=2, gamma=GAMMA, ground_truth_weights=weights
        ),
        X, y,
    )
    res = model.cv_results_
    # GridSearchCV's order: parameter names sorted, the last varying fastest.
    assert [k for k in res if k.startswith("param_")] == [
        "param_epsilon", "param_ground_truth_weight", "param_n_rounds",
    ]
    np.testing.assert_array_equal(res["param_epsilon"], np.repeat(epsilons, 9))
    np.testing.assert_array_equal(
        res["param_ground_truth_weight"], np.tile(np.repeat(weights, 3), 2)
    )
    np.testing.assert_array_equal(res["param_n_rounds"], np.tile(np.arange(3), 6))
    np.testing.assert_allclose(res["mean_test_score"], -model.loo_errors_.ravel())
    best = int(np.argmin(model.loo_errors_))
    assert model.best_index_ == best
    assert res["rank_test_score"][best] == 1
    assert model.best_params_ == res["params"][best] == {
        "epsilon": model.best_epsilon_,
        "ground_truth_weight": model.best_ground_truth_weight_,
        "n_rounds": model.best_n_rounds_,
    }
    assert model.best_score_ == -model.loo_errors_.ravel()[best]
    ref = SelfDistilledKernelRidge(gamma=GAMMA, **model.best_params_).fit(X, y)
    assert model.best_estimator_.get_params() == ref.get_params()
    # The refit reuses the search's eigenvectors; a fresh fit without them
    # takes the eigenvalue-only path: the same numbers to round-off.
    np.testing.assert_allclose(model.predict(X[:7]), ref.predict(X[:7]), rtol=1e-9)
    np.testing.assert_allclose(model.c_, ref.c_, rtol=1e-9)


def test_single_weight_keeps_two_parameter_layout(regression):
    X, y = regression
    model = SelfDistilledKernelRidgeCV(
        epsilons=[0.05, 0.1], max_rounds=2, gamma=GAMMA, ground_truth_weights=0.4
    ).fit(X, y)
    assert "param_ground_truth_weight" not in model.cv_results_
    assert set(model.best_params_) == {"epsilon", "n_rounds"}
    assert model.best_ground_truth_weight_ == 0.4
    assert model.best_estimator_.ground_truth_weight == 0.4
    # A list of one weight is a searched grid of one.
    listed = SelfDistilledKernelRidgeCV(
        epsilons=[0.05, 0.1], max_rounds=2, gamma=GAMMA, ground_truth_weights=[0.4]
    ).fit(X, y)
    assert listed.loo_errors_.shape == (2, 1, 3)
    np.testing.assert_allclose(listed.loo_errors_[:, 0], model.loo_errors_, rtol=1e-12)
    assert listed.best_params_["ground_truth_weight"] == 0.4


def test_kfold_equals_grid_search_over_three_parameters(regression):
    X, y = regression
    folds = KFold(n_splits=4, shuffle=True, random_state=0)
    epsilons, weights, rounds = [0.05, 0.1, 0.3], [0.0, 0.3, 0.7], [0, 1, 2]
    model = _quiet_fit(
        SelfDistilledKernelRidgeCV(
            epsilons=epsilons, max_rounds=2, gamma=GAMMA, cv=folds,
            normalize_y=True, ground_truth_weights=weights,
        ),
        X, y,
    )
    search = GridSearchCV(
        SelfDistilledKernelRidge(gamma=GAMMA, normalize_y=True, on_collapse="ignore"),
        {"epsilon": epsilons, "ground_truth_weight": weights, "n_rounds": rounds},
        cv=folds, scoring="neg_mean_squared_error",
    ).fit(X, y)
    ours = model.cv_results_
    assert ours["params"] == list(search.cv_results_["params"])
    valid = np.isfinite(ours["mean_test_score"])
    # Collapsed points are the worst here, GridSearchCV scores their zeros.
    assert 10 < valid.sum() < valid.size
    np.testing.assert_allclose(
        ours["mean_test_score"][valid], search.cv_results_["mean_test_score"][valid],
        rtol=1e-10,
    )
    for k in range(4):
        np.testing.assert_allclose(
            ours[f"split{k}_test_score"][valid],
            search.cv_results_[f"split{k}_test_score"][valid], rtol=1e-10,
        )
    theirs = np.where(valid, search.cv_results_["mean_test_score"], -np.inf)
    assert model.best_index_ == int(np.argmax(theirs))
    assert model.best_params_ == search.cv_results_["params"][model.best_index_]


def test_classifier_kfold_accuracy_over_weights_equals_grid_search(iris_half):
    X, y = iris_half
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=1)
    epsilons, weights = [0.1, 0.3], [0.0, 0.5]
    clf = _quiet_fit(
        SelfDistilledKernelRidgeClassifierCV(
            epsilons=epsilons, max_rounds=2, cv=folds, scoring="accuracy",
            ground_truth_weights=weights,
        ),
        X, y,
    )
    manual = np.zeros((2, 2, 3))
    for train, test in folds.split(X, y):
        for e, eps in enumerate(epsilons):
            for k, w in enumerate(weights):
                ref = SelfDistilledKernelRidgeClassifier(
                    epsilon=eps, n_rounds=2, ground_truth_weight=w,
                    on_collapse="ignore",
                ).fit(X[train], y[train])
                for t, pred in enumerate(ref.staged_predict(X[test])):
                    score = accuracy_score(y[test], pred)
                    manual[e, k, t] += (
                        -np.inf if ref.collapsed_[t].any() else score / 3
                    )
    np.testing.assert_allclose(
        clf.cv_results_["mean_test_score"], manual.ravel(), rtol=1e-12
    )
    assert clf.best_estimator_.ground_truth_weight == clf.best_ground_truth_weight_


def test_status_column_over_the_weight_grid(regression):
    X, y = regression
    high = 0.9 * float(np.mean(y**2))
    model = SelfDistilledKernelRidgeCV(
        epsilons=[0.05, high], max_rounds=3, gamma=GAMMA,
        ground_truth_weights=[0.0, 0.5],
    ).fit(X, y)
    assert np.isfinite(model.loo_errors_[0]).all()
    assert np.isinf(model.loo_errors_[1, :, 1:]).all()
    status = model.cv_results_["status"].reshape(2, 2, 4)
    np.testing.assert_array_equal(status == "ok", np.isfinite(model.loo_errors_))
    assert set(status[1, :, 1:].ravel()) == {"collapsed"}
    assert model.cv_results_["status"][model.best_index_] == "ok"


def test_deprecated_ground_truth_weight_warns_and_is_used(regression):
    X, y = regression
    params = dict(epsilons=[0.05, 0.1], max_rounds=2, gamma=GAMMA)
    old = SelfDistilledKernelRidgeCV(ground_truth_weight=0.3, **params)
    assert clone(old).get_params()["ground_truth_weight"] == 0.3
    with pytest.warns(FutureWarning, match="renamed ground_truth_weights") as record:
        old.fit(X, y)
    # The warning points at the caller's fit, not into the package.
    assert [w.filename for w in record] == [__file__]
    new = SelfDistilledKernelRidgeCV(ground_truth_weights=0.3, **params).fit(X, y)
    np.testing.assert_array_equal(old.loo_errors_, new.loo_errors_)
    assert old.best_estimator_.ground_truth_weight == 0.3
    clf = SelfDistilledKernelRidgeClassifierCV(
        epsilons=[0.2], max_rounds=1, ground_truth_weight=0.5
    )
    X_c = np.r_[X[:25] - 1.0, X[25:] + 1.0]
    with pytest.warns(FutureWarning, match="removed in 0.3"):
        clf.fit(X_c, np.r_[np.zeros(25), np.ones(25)])
    assert clf.best_ground_truth_weight_ == 0.5


def test_default_does_not_warn(regression):
    X, y = regression
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SelfDistilledKernelRidgeCV(
            epsilons=[0.05, 0.1], max_rounds=1, gamma=GAMMA
        ).fit(X, y)


def test_both_names_raise_and_leave_unfitted(regression):
    X, y = regression
    model = SelfDistilledKernelRidgeCV(
        epsilons=[0.1], ground_truth_weight=0.3, ground_truth_weights=[0.1, 0.2]
    )
    with pytest.warns(FutureWarning), pytest.raises(
        ValueError, match="pass only ground_truth_weights"
    ):
        model.fit(X, y)
    with pytest.raises(NotFittedError):
        model.predict(X)


@pytest.mark.parametrize(
    "weights, match",
    [
        ([0.2, 1.0], r"ground_truth_weights must lie in \[0, 1\)"),
        ([-0.1], r"ground_truth_weights must lie in \[0, 1\)"),
        ([0.1, np.nan], r"ground_truth_weights must lie in \[0, 1\)"),
        ([], "ground_truth_weights must be a float in"),
        ([[0.1, 0.2]], "ground_truth_weights must be a float in"),
        (1.0, "'ground_truth_weights' parameter"),
    ],
)
def test_invalid_weights_are_value_errors_naming_the_parameter(
    regression, weights, match
):
    X, y = regression
    model = SelfDistilledKernelRidgeCV(epsilons=[0.1], ground_truth_weights=weights)
    with pytest.raises(ValueError, match=match):
        model.fit(X, y)
    assert not hasattr(model, "best_estimator_")


@pytest.mark.parametrize("solver", ["randomized", "nystroem"])
def test_full_rank_low_rank_weight_grid_equals_dense(regression, solver):
    X, y = regression
    params = dict(epsilons=[0.05, 0.1], max_rounds=3, gamma=GAMMA,
                  ground_truth_weights=[0.0, 0.4])
    dense = _quiet_fit(SelfDistilledKernelRidgeCV(**params), X, y)
    low = _quiet_fit(
        SelfDistilledKernelRidgeCV(
            eigen_solver=solver, n_components=X.shape[0], random_state=0, **params
        ),
        X, y,
    )
    assert np.isfinite(dense.loo_errors_).all()
    # Full-rank Nystroem whitens the landmark Gram matrix: round-off of
    # order 1e-8 in the smallest directions, amplified over the rounds.
    np.testing.assert_allclose(low.loo_errors_, dense.loo_errors_, rtol=1e-7)
    assert low.best_params_ == dense.best_params_


def test_search_display_marks_the_selected_weight_row(regression):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from sklearn_selfdistill import DistillationSearchDisplay

    X, y = regression
    model = SelfDistilledKernelRidgeCV(
        epsilons=[0.05, 0.1], max_rounds=2, gamma=GAMMA,
        ground_truth_weights=[0.0, 0.5],
    ).fit(X, y)
    disp = DistillationSearchDisplay.from_estimator(model)
    # Each (epsilon, rounds) cell shows the best score over the weights.
    np.testing.assert_array_equal(disp.scores, -model.loo_errors_.min(axis=1))
    assert (disp.best_epsilon, disp.best_n_rounds) == (
        model.best_epsilon_, model.best_n_rounds_
    )
    plt.close("all")


def test_weight_grid_with_sample_weight(regression):
    # Unit sample weights change nothing; scaled weights neither (the
    # weighted mean square is scale-free); a zero weight drops its row.
    X, y = regression
    params = dict(epsilons=[0.05, 0.1], max_rounds=2, gamma=GAMMA,
                  ground_truth_weights=[0.0, 0.4])
    plain = SelfDistilledKernelRidgeCV(**params).fit(X, y)
    unit = SelfDistilledKernelRidgeCV(**params).fit(X, y, sample_weight=np.ones(50))
    np.testing.assert_allclose(unit.loo_errors_, plain.loo_errors_, rtol=1e-10)
    scaled = SelfDistilledKernelRidgeCV(**params).fit(
        X, y, sample_weight=np.full(50, 3.0)
    )
    np.testing.assert_allclose(scaled.loo_errors_, plain.loo_errors_, rtol=1e-10)
    dropped = np.ones(50)
    dropped[:5] = 0.0
    zero = SelfDistilledKernelRidgeCV(**params).fit(X, y, sample_weight=dropped)
    subset = SelfDistilledKernelRidgeCV(**params).fit(X[5:], y[5:])
    np.testing.assert_allclose(zero.loo_errors_, subset.loo_errors_, rtol=1e-10)
    assert zero.best_params_ == subset.best_params_
