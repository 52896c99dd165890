"""DistillationSearchDisplay: the drawn scores are the search's cv_results_."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_selfdistill import (  # noqa: E402
    DistillationSearchDisplay,
    SelfDistilledKernelRidge,
    SelfDistilledKernelRidgeClassifierCV,
    SelfDistilledKernelRidgeCV,
)

EPSILONS = [0.02, 0.05, 0.1, 0.3]
COMMON = dict(kernel="laplacian", gamma=5.0)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(60, 1))
    y = np.sin(2 * np.pi * X[:, 0]) + 0.3 * rng.randn(60)
    return X, y


def fit_quietly(estimator, X, y):
    # Collapsed grid points are part of what is drawn here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X, y)


@pytest.fixture(scope="module")
def search(data):
    X, y = data
    return fit_quietly(
        SelfDistilledKernelRidgeCV(epsilons=EPSILONS, max_rounds=3, cv=3, **COMMON),
        X, y,
    )


def legend_texts(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_curves_are_cv_results(search):
    disp = DistillationSearchDisplay.from_estimator(search)
    results = search.cv_results_
    mean = results["mean_test_score"].reshape(len(EPSILONS), 4)
    assert_array_equal(disp.scores, mean)
    assert_array_equal(disp.epsilons, EPSILONS)
    assert_array_equal(disp.n_rounds, [0, 1, 2, 3])
    assert sorted(disp.lines_) == [0, 1, 2, 3]
    for t, line in disp.lines_.items():
        assert_array_equal(line.get_xdata(), EPSILONS)
        drawn = np.asarray(line.get_ydata(), dtype=float)
        # -inf (collapsed or infeasible) points are gaps, the others exact.
        assert_array_equal(np.isnan(drawn), ~np.isfinite(mean[:, t]))
        finite = np.isfinite(mean[:, t])
        assert_array_equal(drawn[finite], mean[finite, t])
    assert np.any(~np.isfinite(mean))  # the grid does have collapsed points
    # One band per curve from the folds' spread.
    assert len(disp.ax_.collections) == 4
    assert disp.ax_.get_xscale() == "log"
    assert disp.ax_.get_ylabel() == "minus mean squared error (K-fold)"
    assert disp.ax_.get_title() == "Held-out score over epsilon and rounds"


def test_selection_marked_with_edge(search):
    disp = DistillationSearchDisplay.from_estimator(search, name="search")
    x, y = disp.best_marker_.get_xdata()[0], disp.best_marker_.get_ydata()[0]
    assert x == search.best_epsilon_
    assert y == search.best_score_
    assert disp.best_n_rounds == search.best_n_rounds_
    at_edge = search.best_epsilon_ in (EPSILONS[0], EPSILONS[-1]) or (
        search.best_n_rounds_ == 3
    )
    assert disp.selection_on_edge_ is at_edge
    label = legend_texts(disp.ax_)[-1]
    assert label.startswith(f"search, selected: epsilon = {search.best_epsilon_:.3g}")
    assert label.endswith("(edge of the grid)") is at_edge
    inner = DistillationSearchDisplay(
        epsilons=[0.1, 0.2, 0.3], n_rounds=[0, 1, 2],
        scores=np.arange(9.0).reshape(3, 3), best_epsilon=0.2, best_n_rounds=1,
    ).plot()
    assert inner.selection_on_edge_ is False
    assert legend_texts(inner.ax_)[-1] == "selected: epsilon = 0.2, 1 round"
    edge = DistillationSearchDisplay(
        epsilons=[0.1, 0.2, 0.3], n_rounds=[0, 1, 2],
        scores=np.arange(9.0).reshape(3, 3), best_epsilon=0.2, best_n_rounds=2,
    ).plot()
    assert edge.selection_on_edge_ is True


def test_grid_search_cv_gives_the_same_curves(data, search):
    X, y = data
    folds = KFold(3)
    grid = fit_quietly(
        GridSearchCV(
            SelfDistilledKernelRidge(on_collapse="ignore", **COMMON),
            {"epsilon": EPSILONS, "n_rounds": [0, 1, 2, 3]},
            cv=folds, scoring="neg_mean_squared_error",
        ),
        X, y,
    )
    ours = DistillationSearchDisplay.from_estimator(search)
    theirs = DistillationSearchDisplay.from_estimator(grid, color="black")
    valid = np.isfinite(ours.scores)
    assert_allclose(theirs.scores[valid], ours.scores[valid], rtol=1e-9)
    assert (theirs.best_epsilon, theirs.best_n_rounds) == (
        grid.best_params_["epsilon"], grid.best_params_["n_rounds"])
    assert all(line.get_color() == "black" for line in theirs.lines_.values())
    assert theirs.ax_.get_ylabel() == "neg_mean_squared_error"


def test_pipeline_param_names_and_other_params_maximised(data):
    X, y = data
    pipe = Pipeline([("scale", StandardScaler()),
                     ("model", SelfDistilledKernelRidge(on_collapse="ignore",
                                                        kernel="laplacian"))])
    grid = fit_quietly(
        GridSearchCV(
            pipe,
            {"model__epsilon": [0.05, 0.1], "model__n_rounds": [0, 1],
             "model__gamma": [1.0, 5.0]},
            cv=3,
        ),
        X, y,
    )
    disp = DistillationSearchDisplay.from_estimator(grid)
    res = grid.cv_results_
    for i, eps in enumerate([0.05, 0.1]):
        for j, t in enumerate([0, 1]):
            rows = (np.asarray(res["param_model__epsilon"], float) == eps) & (
                np.asarray(res["param_model__n_rounds"], float) == t)
            assert disp.scores[i, j] == np.max(res["mean_test_score"][rows])
    assert disp.best_epsilon == grid.best_params_["model__epsilon"]
    assert disp.ax_.get_ylabel() == "mean test score"


def test_classifier_cv_and_rounds_subset(data):
    X, y = data
    labels = (y > 0).astype(int)
    clf = fit_quietly(
        SelfDistilledKernelRidgeClassifierCV(
            epsilons=[0.1, 0.2, 0.4], max_rounds=2, scoring="accuracy", **COMMON
        ),
        X, labels,
    )
    disp = DistillationSearchDisplay.from_estimator(clf, rounds=[0, 2])
    assert sorted(disp.lines_) == [0, 2]
    mean = clf.cv_results_["mean_test_score"].reshape(3, 3)
    assert_array_equal(
        np.nan_to_num(np.asarray(disp.lines_[2].get_ydata(), float), nan=-np.inf),
        mean[:, 2],
    )
    assert disp.ax_.get_ylabel() == "accuracy"
    assert len(disp.ax_.collections) == 0  # leave-one-out: no spread


def test_user_axes_title_kept_and_two_searches(search):
    fig, ax = plt.subplots()
    ax.set_title("mine")
    DistillationSearchDisplay.from_estimator(search, ax=ax, rounds=[0])
    DistillationSearchDisplay.from_estimator(search, ax=ax, rounds=[0])
    assert ax.get_title() == "mine"
    labels = legend_texts(ax)
    assert len(labels) == len(set(labels)) == 4
    assert labels[2] == "SelfDistilledKernelRidgeCV (2), 0 rounds"


def test_errors_name_the_parameter(search):
    results = dict(search.cv_results_)
    with pytest.raises(ValueError, match="no column for the parameter 'alpha'"):
        DistillationSearchDisplay.from_cv_results(results,
                                                  param_names=("alpha", "n_rounds"))
    with pytest.raises(ValueError, match="best_index must be a row"):
        DistillationSearchDisplay.from_cv_results(results, best_index=99)
    with pytest.raises(ValueError, match="mean_test_score"):
        DistillationSearchDisplay.from_cv_results({"param_epsilon": [1.0]})
    with pytest.raises(ValueError, match=r"rounds \[7\] are not in the grid"):
        DistillationSearchDisplay.from_estimator(search, rounds=[7])
    with pytest.raises(ValueError, match="scores must have shape"):
        DistillationSearchDisplay(epsilons=[1, 2], n_rounds=[0], scores=[1.0]).plot()


def test_from_cv_results_hand_built_grid():
    # A randomized search: cells missing (NaN), one cell seen twice (the
    # better score is drawn), the best by rank, and masked object columns as
    # GridSearchCV stores them.
    eps = np.ma.MaskedArray([0.1, 0.2, 0.2, 0.4], dtype=object)
    rounds = np.ma.MaskedArray([0, 1, 1, 0], dtype=object)
    results = {
        "param_epsilon": eps,
        "param_n_rounds": rounds,
        "mean_test_score": np.array([0.5, 0.6, 0.7, np.nan]),
        "rank_test_score": np.array([3, 2, 1, 4]),
    }
    disp = DistillationSearchDisplay.from_cv_results(results, score_name="R2")
    assert_array_equal(disp.epsilons, [0.1, 0.2, 0.4])
    assert_array_equal(disp.n_rounds, [0, 1])
    expected = np.array([[0.5, np.nan], [np.nan, 0.7], [np.nan, np.nan]])
    assert_array_equal(disp.scores, expected)
    assert (disp.best_epsilon, disp.best_n_rounds) == (0.2, 1)
    assert disp.selection_on_edge_ is True  # most rounds of the grid
    assert disp.scores_std is None and len(disp.ax_.collections) == 0
    assert disp.ax_.get_ylabel() == "R2"
    assert_array_equal(
        [t.get_text() for t in disp.ax_.get_xticklabels()], ["0.1", "0.2", "0.4"]
    )
