"""The wrapper as a metadata router: fit metadata to every round, score's
sample_weight in its own score; with routing on and off."""

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose
from sklearn.datasets import load_diabetes, load_iris
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_selfdistill import SelfDistillationWrapper


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def _data():
    X, y = load_diabetes(return_X_y=True)
    X, y = X[:150], (y[:150] - y[:150].mean()) / y[:150].std()
    w = np.random.RandomState(0).randint(1, 5, len(y)).astype(float)
    return X, y, w


def _ridge_chain(X, y, w, n_rounds, alpha=1.0):
    """Weighted Ridge rounds by hand: round t fits round t-1's predictions."""
    targets, models = y, []
    for _ in range(n_rounds + 1):
        model = Ridge(alpha=alpha).fit(X, targets, sample_weight=w)
        targets = model.predict(X)
        models.append(model)
    return models


def test_fit_metadata_reach_every_round(routing):
    X, y, w = _data()
    model = SelfDistillationWrapper(
        Ridge().set_fit_request(sample_weight=True), n_rounds=2,
        basis_kernel=None).fit(X, y, sample_weight=w)
    for got, ref in zip(model.estimators_, _ridge_chain(X, y, w, 2)):
        assert_allclose(got.coef_, ref.coef_, rtol=1e-10)
    routing_info = model.get_metadata_routing()
    assert routing_info.consumes("fit", ["sample_weight"]) == {"sample_weight"}
    assert "sample_weight" in str(routing_info)


def test_unrequested_metadata_is_an_error(routing):
    X, y, w = _data()
    with pytest.raises(UnsetMetadataPassedError, match=r"\[sample_weight\] are "
                       r"passed but are not explicitly set as requested or not "
                       r"requested for Ridge.fit"):
        SelfDistillationWrapper(Ridge(), basis_kernel=None).fit(
            X, y, sample_weight=w)
    # Declined: consumed by nothing, which scikit-learn reports.
    # scikit-learn 1.7 names the estimator by its repr, later versions by its
    # class.
    with pytest.raises(TypeError, match=r"SelfDistillationWrapper(\(.*\))?\.fit got "
                       r"unexpected argument\(s\) \{'sample_weight'\}, which are "
                       r"not routed to any object"):
        SelfDistillationWrapper(
            Ridge().set_fit_request(sample_weight=False), n_rounds=1,
            basis_kernel=None).fit(X, y, sample_weight=w)


def test_classifier_rounds_multiply_routed_weights(routing):
    X, y = load_iris(return_X_y=True)
    w = np.random.RandomState(1).randint(1, 4, len(y)).astype(float)
    model = SelfDistillationWrapper(
        LogisticRegression(max_iter=2000).set_fit_request(sample_weight=True),
        n_rounds=1, basis_kernel=None).fit(X, y, sample_weight=w)
    ref0 = LogisticRegression(max_iter=2000).fit(X, y, sample_weight=w)
    assert_allclose(model.estimators_[0].coef_, ref0.coef_, rtol=1e-6)
    P = ref0.predict_proba(X)
    ref1 = LogisticRegression(max_iter=2000).fit(
        np.concatenate([X] * 3), np.repeat(np.arange(3), len(y)),
        sample_weight=P.T.reshape(-1) * np.tile(w, 3))
    assert_allclose(model.estimators_[1].coef_, ref1.coef_, rtol=1e-5, atol=1e-7)


def _search_by_hand(X, y, w, grid):
    """Mean weighted test R^2 of each n_rounds over the same folds."""
    means = []
    for n_rounds in grid:
        scores = []
        for train, test in KFold(3).split(X):
            scaler = StandardScaler().fit(X[train], sample_weight=w[train])
            last = _ridge_chain(scaler.transform(X[train]), y[train], w[train],
                                n_rounds)[-1]
            scores.append(r2_score(y[test], last.predict(scaler.transform(X[test])),
                                   sample_weight=w[test]))
        means.append(np.mean(scores))
    return np.array(means)


def test_pipeline_in_grid_search_with_routing(routing):
    X, y, w = _data()
    wrapper = SelfDistillationWrapper(
        Ridge().set_fit_request(sample_weight=True), basis_kernel=None,
    ).set_score_request(sample_weight=True)
    # scikit-learn 1.7 also asks the pipeline's own score to request it.
    pipe = make_pipeline(StandardScaler().set_fit_request(sample_weight=True),
                         wrapper).set_score_request(sample_weight=True)
    grid = [0, 1, 3]
    search = GridSearchCV(pipe, {"selfdistillationwrapper__n_rounds": grid},
                          cv=KFold(3)).fit(X, y, sample_weight=w)
    expected = _search_by_hand(X, y, w, grid)
    assert_allclose(search.cv_results_["mean_test_score"], expected, rtol=1e-10)
    best = search.best_estimator_
    assert best[-1].n_rounds_ == grid[int(np.argmax(expected))]
    # The pipeline's score routes sample_weight to the wrapper's score.
    assert_allclose(best.score(X, y, sample_weight=w),
                    r2_score(y, best.predict(X), sample_weight=w), rtol=1e-12)
    assert not np.isclose(best.score(X, y, sample_weight=w), best.score(X, y))


def test_routing_off_as_before():
    X, y, w = _data()
    assert not sklearn.get_config()["enable_metadata_routing"]
    model = SelfDistillationWrapper(Ridge(), n_rounds=2, basis_kernel=None).fit(
        X, y, sample_weight=w)
    for got, ref in zip(model.estimators_, _ridge_chain(X, y, w, 2)):
        assert_allclose(got.coef_, ref.coef_, rtol=1e-10)
    pipe = make_pipeline(StandardScaler(), SelfDistillationWrapper(
        Ridge(), n_rounds=1, basis_kernel=None))
    pipe.fit(X, y, selfdistillationwrapper__sample_weight=w)
    ref = _ridge_chain(StandardScaler().fit_transform(X), y, w, 1)
    assert_allclose(pipe[-1].estimators_[1].coef_, ref[1].coef_, rtol=1e-10)
    # Weighted score without routing too.
    assert_allclose(model.score(X, y, sample_weight=w),
                    r2_score(y, model.predict(X), sample_weight=w), rtol=1e-12)


def test_nets_request_sample_weight(routing):
    pytest.importorskip("skorch")
    from sklearn_selfdistill.nets import DistillNetClassifier, DistillNetRegressor

    X, y, w = _data()
    net = DistillNetRegressor(max_epochs=2, batch_size=-1).set_fit_request(
        sample_weight=True)
    reps = w.astype(int)
    kw = dict(n_rounds=1, basis_kernel=None, random_state=0)
    weighted = SelfDistillationWrapper(net, **kw).fit(X, y, sample_weight=w)
    repeated = SelfDistillationWrapper(net, **kw).fit(
        np.repeat(X, reps, axis=0), np.repeat(y, reps))
    assert_allclose(weighted.predict(X), repeated.predict(X), atol=1e-5)
    # The default network requests sample_weight.
    router = SelfDistillationWrapper().get_metadata_routing()
    assert "sample_weight" in str(router)
    assert isinstance(DistillNetClassifier().set_fit_request(sample_weight=True),
                      DistillNetClassifier)
