"""SelfDistilledKernelRidgeClassifier: one-vs-all -1/+1 regression (Sec. 3.6)."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_selfdistill import (
    SelfDistilledKernelRidge,
    SelfDistilledKernelRidgeClassifier,
)
from sklearn_selfdistill.exceptions import SelfDistillationCollapseWarning


@parametrize_with_checks([SelfDistilledKernelRidgeClassifier()])
def test_sklearn_compatible_classifier(estimator, check):
    check(estimator)


def _coded(y, classes):
    return np.column_stack([np.where(y == c, 1.0, -1.0) for c in classes])


@pytest.mark.parametrize("ground_truth_weight", [0.0, 0.3])
def test_multiclass_equals_argmax_of_regressor_on_coded_targets(
    iris, ground_truth_weight
):
    X, y = iris
    params = dict(epsilon=0.1, n_rounds=2, gamma=0.5,
                  ground_truth_weight=ground_truth_weight)
    clf = SelfDistilledKernelRidgeClassifier(**params).fit(X, y)
    Y = _coded(y, np.unique(y))
    reg = SelfDistilledKernelRidge(**params).fit(X, Y)

    X_new = X[::3] + 0.1
    np.testing.assert_allclose(
        clf.decision_function(X_new), reg.predict(X_new), rtol=1e-12, atol=1e-12
    )
    assert np.array_equal(
        clf.predict(X_new), clf.classes_[np.argmax(reg.predict(X_new), axis=1)]
    )
    for t, (scores, labels, target) in enumerate(
        zip(clf.staged_decision_function(X_new), clf.staged_predict(X_new),
            reg.staged_predict(X_new))
    ):
        np.testing.assert_allclose(scores, target, rtol=1e-12, atol=1e-12)
        assert np.array_equal(labels, clf.classes_[np.argmax(target, axis=1)])
    assert t == 2
    for name in ("c_", "basis_coefficients_", "collapsed_", "train_mse_",
                 "min_reachable_mse_", "guaranteed_rounds_", "dual_coef_"):
        np.testing.assert_allclose(getattr(clf, name), getattr(reg, name), rtol=1e-12)
    assert clf.c_.shape == (3, 3)
    assert not clf.collapsed_.any()


def test_binary_uses_one_output_and_sign(iris):
    X, y = iris
    mask = y > 0
    X, y = X[mask], np.array(["versicolor", "virginica"])[y[mask] - 1]
    clf = SelfDistilledKernelRidgeClassifier(epsilon=0.1, n_rounds=2).fit(X, y)
    reg = SelfDistilledKernelRidge(epsilon=0.1, n_rounds=2).fit(
        X, np.where(y == "virginica", 1.0, -1.0)
    )
    scores = clf.decision_function(X)
    assert scores.shape == (X.shape[0],)
    np.testing.assert_allclose(scores, reg.predict(X), rtol=1e-12, atol=1e-12)
    expected = np.where(reg.predict(X) > 0, "virginica", "versicolor")
    assert np.array_equal(clf.predict(X), expected)
    assert not clf.collapsed_.any()
    assert clf.c_.shape == (3,) and clf.dual_coef_.shape == (X.shape[0],)
    assert clf.basis_coefficients_.shape == (3, X.shape[0])
    assert isinstance(clf.min_reachable_mse_, float)
    assert list(clf.classes_) == ["versicolor", "virginica"]
    # Training accuracy of this easy problem: a wrong sign or class order fails.
    assert clf.score(X, y) > 0.9
    last = list(clf.staged_predict(X))[-1]
    assert np.array_equal(last, clf.predict(X))


def test_string_labels_multiclass_and_round_zero_error(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])
    clf = SelfDistilledKernelRidgeClassifier(epsilon=0.2, n_rounds=1).fit(X, names[y])
    numeric = SelfDistilledKernelRidgeClassifier(epsilon=0.2, n_rounds=1).fit(X, y)
    assert np.array_equal(clf.predict(X), names[numeric.predict(X)])
    # Round 0 fits the coded labels with training MSE exactly epsilon (eq. 21).
    np.testing.assert_allclose(clf.train_mse_[0], 0.2, rtol=1e-10)


def test_per_output_epsilon_equals_separate_fits(iris):
    X, y = iris
    eps = np.array([0.1, 0.2, 0.3])
    clf = SelfDistilledKernelRidgeClassifier(epsilon=eps, n_rounds=2).fit(X, y)
    Y = _coded(y, clf.classes_)
    for q in range(3):
        single = SelfDistilledKernelRidge(epsilon=eps[q], n_rounds=2).fit(X, Y[:, q])
        np.testing.assert_allclose(clf.c_[:, q], single.c_, rtol=1e-12)
        np.testing.assert_allclose(
            clf.decision_function(X)[:, q], single.predict(X), rtol=1e-10, atol=1e-12
        )


def test_rare_classes_do_not_collapse_with_plus_minus_one_coding():
    # With 0/1 targets a class of frequency below epsilon collapses at round 0
    # (mean(y_q^2) = frequency); with -1/+1 every column has mean square 1.
    X, y = load_digits(return_X_y=True)
    keep = (y != 9) | (np.cumsum(y == 9) <= 10)  # class 9 is ~2% of the data
    X, y = X[keep][:600] / 16.0, y[keep][:600]
    assert np.mean(y == 9) < 0.1
    clf = SelfDistilledKernelRidgeClassifier(epsilon=0.1, n_rounds=0, gamma=0.2)
    clf.fit(X, y)
    assert not clf.collapsed_.any()
    assert np.all(np.isfinite(clf.c_))
    rare = clf.decision_function(X)[:, 9]
    # Measured: -0.52 on its own samples against -0.77 on the others.
    assert rare[y == 9].mean() > rare[y != 9].mean() + 0.2
    zero_one = SelfDistilledKernelRidge(epsilon=0.1, n_rounds=0, gamma=0.2)
    with pytest.warns(SelfDistillationCollapseWarning, match="round 0"):
        zero_one.fit(X, (y == 9).astype(float))


def test_single_class_and_bad_epsilon_messages(iris):
    X, y = iris
    with pytest.raises(ValueError, match="at least 2 classes.*one class only"):
        SelfDistilledKernelRidgeClassifier().fit(X[:20], y[:20])
    with pytest.raises(ValueError, match=r"one value\s+per output.*\(3,\)"):
        SelfDistilledKernelRidgeClassifier(epsilon=[0.1, 0.2]).fit(X, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        SelfDistilledKernelRidgeClassifier().fit(X, np.linspace(0, 1, X.shape[0]))


def test_collapse_is_reported_per_class(iris):
    X, y = iris
    # One tolerance per class: the classes collapse at rounds 1, 4 and 4.
    clf = SelfDistilledKernelRidgeClassifier(epsilon=[0.45, 0.1, 0.1], n_rounds=4)
    with pytest.warns(SelfDistillationCollapseWarning, match="for output class"):
        clf.fit(X, y)
    first = clf.collapsed_.argmax(axis=0)
    assert np.all(clf.collapsed_[first[0]:, 0])
    assert np.all(np.isinf(clf.c_[clf.collapsed_]))


def test_collapse_message_names_classes_plainly_and_summarises_all_outputs(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    # Only 'setosa' collapses (at round 1): it is named as the user wrote it.
    clf = SelfDistilledKernelRidgeClassifier(epsilon=[0.45, 0.1, 0.1], n_rounds=2)
    with pytest.warns(SelfDistillationCollapseWarning) as record:
        clf.fit(X, names)
    message = str(record[0].message)
    assert clf.collapsed_.any(axis=0).tolist() == [True, False, False]
    assert "at round 1 for output class 'setosa':" in message
    assert "np.str_" not in message and "versicolor" not in message
    # Every output collapsing at the same round: one phrase, not one per class.
    clf = SelfDistilledKernelRidgeClassifier(epsilon=0.99, n_rounds=1)
    with pytest.warns(SelfDistillationCollapseWarning,
                      match="at round 1 for every output:"):
        clf.fit(X, names)
    assert np.all(clf.collapsed_[1]) and not clf.collapsed_[0].any()
