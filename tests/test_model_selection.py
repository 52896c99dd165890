"""compare_with_early_stopping against manual computations."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import Ridge
from sklearn.metrics import accuracy_score, mean_squared_error
from sklearn.model_selection import KFold, StratifiedKFold

from sklearn_selfdistill import (
    SelfDistilledKernelRidge,
    SelfDistilledKernelRidgeClassifier,
)
from sklearn_selfdistill.model_selection import (
    _kernel_epsilons,
    compare_with_early_stopping,
)


def _manual_kernel(estimator, X, y, folds, n_rounds, score):
    """The comparison written out with the public estimator API."""
    losses, sd, es = [], [], []
    for train, test in folds.split(X, y):
        model = estimator.__class__(**{**estimator.get_params(), "n_rounds": n_rounds})
        model.set_params(on_collapse="ignore").fit(X[train], y[train])
        mse = np.asarray(model.train_mse_)
        losses.append(mse.mean(axis=1) if mse.ndim == 2 else mse)
        sd.append([score(y[test], p) for p in model.staged_predict(X[test])])
        row = []
        for t in range(n_rounds + 1):
            eps = np.asarray(model.train_mse_)[t]
            if getattr(model, "normalize_y", False):
                eps = eps / y[train].var(axis=0)
            collapsed = np.asarray(model.collapsed_)[t]
            eps = np.where(collapsed, 2 * eps, eps)
            stopped = estimator.__class__(
                **{**estimator.get_params(), "n_rounds": 0, "epsilon": eps,
                   "on_collapse": "ignore"}
            ).fit(X[train], y[train])
            row.append(score(y[test], stopped.predict(X[test])))
        es.append(row)
    return [np.array(a) for a in (losses, sd, es)]


def _neg_mse(y_true, y_pred):
    return -mean_squared_error(y_true, y_pred)


@pytest.mark.parametrize("normalize_y", [False, True])
def test_kernel_regressor_matches_manual_computation(regression_60, normalize_y):
    X, y = regression_60
    folds = KFold(n_splits=3, shuffle=True, random_state=0)
    est = SelfDistilledKernelRidge(epsilon=0.08, gamma=5.0, normalize_y=normalize_y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = compare_with_early_stopping(
            est, X, y, n_rounds=3, cv=folds, scoring="neg_mean_squared_error"
        )
        losses, sd, es = _manual_kernel(est, X, y, folds, 3, _neg_mse)
    np.testing.assert_array_equal(table["round"], np.arange(4))
    for key, values in [("train_loss", losses), ("self_distilled_score", sd),
                        ("early_stopped_score", es)]:
        np.testing.assert_allclose(table[f"{key}_mean"], values.mean(axis=0),
                                   rtol=1e-10)
        np.testing.assert_allclose(table[f"{key}_std"], values.std(axis=0),
                                   rtol=1e-8, atol=1e-12)
    # Round 0 is its own early-stopped model; losses grow with the rounds.
    np.testing.assert_allclose(table["early_stopped_score_mean"][0],
                               table["self_distilled_score_mean"][0], rtol=1e-9)
    assert np.all(np.diff(table["train_loss_mean"]) > 0)
    if not normalize_y:
        np.testing.assert_allclose(table["train_loss_mean"][0], 0.08, rtol=1e-10)


def test_early_stopped_fit_reaches_the_rounds_training_loss(regression_60):
    # The epsilon conversion: with normalize_y the early-stopped fit's
    # training MSE (in the units of y) equals the round's.
    X, y = regression_60
    Y = np.column_stack([y, 3 * y + 1])
    model = SelfDistilledKernelRidge(epsilon=0.1, n_rounds=2, gamma=5.0,
                                     normalize_y=True).fit(X, Y)
    eps = _kernel_epsilons(model, Y)
    assert eps.shape == (3, 2)
    for t in range(3):
        stopped = SelfDistilledKernelRidge(
            epsilon=eps[t], n_rounds=0, gamma=5.0, normalize_y=True
        ).fit(X, Y)
        np.testing.assert_allclose(stopped.train_mse_[0], model.train_mse_[t],
                                   rtol=1e-9)


@pytest.mark.slow
def test_kernel_classifier_matches_manual_computation():
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    est = SelfDistilledKernelRidgeClassifier(epsilon=0.1, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = compare_with_early_stopping(est, X, y, n_rounds=2, cv=folds)
        table2 = compare_with_early_stopping(est, X, y, n_rounds=2, cv=folds,
                                             n_jobs=2)
        losses, sd, es = _manual_kernel(est, X, y, folds, 2, accuracy_score)
    np.testing.assert_allclose(table["train_loss_mean"], losses.mean(axis=0),
                               rtol=1e-10)
    np.testing.assert_allclose(table["self_distilled_score_mean"], sd.mean(axis=0))
    np.testing.assert_allclose(table["early_stopped_score_mean"], es.mean(axis=0))
    for key in table:
        np.testing.assert_array_equal(table[key], table2[key])


def test_unsupported_estimators_get_clear_errors(regression_60):
    X, y = regression_60
    with pytest.raises(TypeError, match="supports SelfDistilledKernelRidge"):
        compare_with_early_stopping(Ridge(), X, y, n_rounds=1)
    with pytest.raises(ValueError, match="n_rounds. parameter of compare_with_early"):
        compare_with_early_stopping(SelfDistilledKernelRidge(), X, y, n_rounds=-1)


@pytest.mark.slow
def test_wrapper_with_network_matches_manual_computation():
    pytest.importorskip("skorch")
    from sklearn_selfdistill import SelfDistillationWrapper
    from sklearn_selfdistill.nets import DistillNetClassifier

    X, y = load_iris(return_X_y=True)
    X = ((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)
    folds = StratifiedKFold(n_splits=2, shuffle=True, random_state=0)
    wrapper = SelfDistillationWrapper(
        DistillNetClassifier(max_epochs=15, lr=0.05), random_state=0,
        basis_kernel=None,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = compare_with_early_stopping(wrapper, X, y, n_rounds=1, cv=folds)
    losses, sd, es = [], [], []
    for train, test in folds.split(X, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = SelfDistillationWrapper(
                DistillNetClassifier(max_epochs=15, lr=0.05), random_state=0,
                basis_kernel=None, n_rounds=1,
            ).fit(X[train], y[train])
        onehot = np.eye(3)[y[train]]
        # l2 loss of the probabilities against the ORIGINAL labels.
        loss = [float(((p - onehot) ** 2).sum(axis=1).mean())
                for p in model.staged_predict_proba(X[train])]
        losses.append(loss)
        sd.append([accuracy_score(y[test], p) for p in model.staged_predict(X[test])])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stopped = SelfDistillationWrapper(
                DistillNetClassifier(max_epochs=15, lr=0.05), random_state=0,
                basis_kernel=None, n_rounds=0, epsilon=loss[1],
            ).fit(X[train], y[train])
        es.append([sd[-1][0], accuracy_score(y[test], stopped.predict(X[test]))])
        # Stopped at the first epoch whose loss is at or below round 1's.
        assert stopped.history_[0]["epochs"] <= model.history_[0]["epochs"]
    np.testing.assert_allclose(table["train_loss_mean"], np.mean(losses, axis=0),
                               rtol=1e-5)
    np.testing.assert_allclose(table["self_distilled_score_mean"], np.mean(sd, axis=0))
    np.testing.assert_allclose(table["early_stopped_score_mean"], np.mean(es, axis=0))
    assert table["early_stopped_score_mean"][0] == table["self_distilled_score_mean"][0]

    with pytest.raises(ValueError, match="needs a skorch net"):
        compare_with_early_stopping(SelfDistillationWrapper(Ridge()), X, y,
                                    n_rounds=1)
