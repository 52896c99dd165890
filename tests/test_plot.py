"""Displays: the drawn data equal the estimator's numbers."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.metrics import mean_squared_error, r2_score  # noqa: E402

from sklearn_selfdistill import (  # noqa: E402
    BasisCoefficientsDisplay,
    DistillationCurveDisplay,
    SelfDistilledKernelRidge,
)
from sklearn_selfdistill.datasets import load_paper_example  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def paper_model():
    X, y = load_paper_example()
    model = SelfDistilledKernelRidge(
        kernel="green_spline", epsilon=0.045, n_rounds=5, on_collapse="ignore"
    )
    return model.fit(X, y)


@pytest.fixture(scope="module")
def sine_data():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(60, 1))
    y = np.sin(2 * np.pi * X[:, 0]) + 0.3 * rng.randn(60)
    return X[:40], y[:40], X[40:], y[40:]


def test_basis_display_bars_match_estimator(paper_model):
    disp = BasisCoefficientsDisplay.from_estimator(paper_model)
    # Four live rounds on the paper's data (t = 0..3), then collapse.
    assert_array_equal(disp.rounds, [0, 1, 2, 3])
    assert_array_equal(disp.basis_coefficients, paper_model.basis_coefficients_[:4])
    assert len(disp.artists_) == 4
    for t, container in zip(disp.rounds, disp.artists_):
        heights = [patch.get_height() for patch in container.patches]
        assert_allclose(heights, paper_model.basis_coefficients_[t], rtol=0, atol=0)
    legend = [text.get_text() for text in disp.ax_.get_legend().get_texts()]
    assert legend == [f"SelfDistilledKernelRidge, round {t}" for t in range(4)]
    assert "eigen-index" in disp.ax_.get_xlabel()
    assert "B_t" in disp.ax_.get_ylabel()
    assert disp.figure_ is disp.ax_.figure
    assert_allclose(disp.eigenvalues, paper_model.eigenvalues_)


def test_basis_display_lines_log_scale_and_rounds(paper_model):
    fig, ax = plt.subplots()
    disp = BasisCoefficientsDisplay.from_estimator(
        paper_model, rounds=[0, 2], kind="lines", log_scale=True, ax=ax
    )
    assert disp.ax_ is ax
    assert ax.get_yscale() == "log"
    for t, line in zip([0, 2], disp.artists_):
        expected = paper_model.basis_coefficients_[t]
        drawn = np.asarray(line.get_ydata(), dtype=float)
        # Zeros (the two null-space directions of the spline kernel) are not drawn.
        assert_array_equal(np.isnan(drawn), expected == 0)
        assert_allclose(drawn[expected > 0], expected[expected > 0], rtol=0, atol=0)
        assert_array_equal(line.get_xdata(), np.arange(1, 12))


def test_basis_display_multi_output_and_errors(sine_data):
    X, y, _, _ = sine_data
    Y = np.column_stack([y, 2 * y])
    model = SelfDistilledKernelRidge(
        epsilon=[0.08, 0.3], n_rounds=2, gamma=10.0, on_collapse="ignore"
    ).fit(X, Y)
    with pytest.raises(ValueError, match="pass output=<index>"):
        BasisCoefficientsDisplay.from_estimator(model)
    disp = BasisCoefficientsDisplay.from_estimator(model, output=1, rounds=[0, 1])
    assert_array_equal(
        disp.basis_coefficients, model.basis_coefficients_[[0, 1], :, 1]
    )
    assert "output 1" in disp.ax_.get_title()
    with pytest.raises(ValueError, match="out of range"):
        BasisCoefficientsDisplay.from_estimator(model, output=0, rounds=[3])
    with pytest.raises(ValueError, match="neither a class label"):
        BasisCoefficientsDisplay.from_estimator(model, output=5)
    with pytest.raises(ValueError, match="kind must be 'auto'"):
        BasisCoefficientsDisplay.from_estimator(model, output=0, kind="pie")


def test_distillation_curve_matches_staged_scores(sine_data):
    X, y, X_test, y_test = sine_data
    model = SelfDistilledKernelRidge(
        epsilon=0.08, n_rounds=4, gamma=10.0, on_collapse="ignore"
    ).fit(X, y)
    disp = DistillationCurveDisplay.from_estimator(
        model, X, y, X_test=X_test, y_test=y_test
    )
    expected_train = [r2_score(y, p) for p in model.staged_predict(X)]
    expected_test = [r2_score(y_test, p) for p in model.staged_predict(X_test)]
    assert_allclose(disp.train_scores, expected_train, rtol=1e-12)
    assert_allclose(disp.test_scores, expected_test, rtol=1e-12)
    # The training R^2 against the original labels is 1 - train_mse_ / var(y).
    assert_allclose(disp.train_scores, 1 - model.train_mse_ / np.var(y), rtol=1e-9)
    assert_allclose(disp.lines_["train"].get_ydata(), expected_train, rtol=1e-12)
    assert_allclose(disp.lines_["test"].get_ydata(), expected_test, rtol=1e-12)
    assert_array_equal(disp.lines_["train"].get_xdata(), np.arange(5))
    assert disp.ax_.get_xlabel() == "self-distillation round t"
    assert disp.ax_.get_ylabel() == "$R^2$"
    legend = [text.get_text() for text in disp.ax_.get_legend().get_texts()]
    assert legend == [
        "SelfDistilledKernelRidge, training data, original labels",
        "SelfDistilledKernelRidge, held-out data",
    ]


def test_distillation_curve_with_scorer_string(sine_data):
    X, y, X_test, y_test = sine_data
    model = SelfDistilledKernelRidge(
        epsilon=0.08, n_rounds=3, gamma=10.0, on_collapse="ignore"
    ).fit(X, y)
    disp = DistillationCurveDisplay.from_estimator(
        model, X, y, X_test=X_test, y_test=y_test, scoring="neg_mean_squared_error"
    )
    expected = [-mean_squared_error(y_test, p) for p in model.staged_predict(X_test)]
    assert_allclose(disp.test_scores, expected, rtol=1e-12)
    # Against the original labels the training MSE per round is train_mse_.
    assert_allclose(-disp.train_scores, model.train_mse_, rtol=1e-9)
    assert disp.ax_.get_ylabel() == "neg_mean_squared_error"


def test_distillation_curve_early_stopping_table(sine_data):
    X, y, _, _ = sine_data
    model = SelfDistilledKernelRidge(
        epsilon=0.08, n_rounds=2, gamma=10.0, on_collapse="ignore"
    ).fit(X, y)
    from sklearn_selfdistill.model_selection import compare_with_early_stopping

    table = compare_with_early_stopping(
        SelfDistilledKernelRidge(epsilon=0.08, gamma=10.0, on_collapse="ignore"),
        X, y, n_rounds=2, cv=3,
    )
    disp = DistillationCurveDisplay.from_estimator(model, X, y, early_stopping=table)
    assert_allclose(disp.lines_["early_stopped_cv"].get_ydata(),
                    table["early_stopped_score_mean"], rtol=0)
    assert_allclose(disp.lines_["self_distilled_cv"].get_ydata(),
                    table["self_distilled_score_mean"], rtol=0)
    assert_array_equal(disp.lines_["early_stopped_cv"].get_xdata(), [0, 1, 2])
    legend = [text.get_text() for text in disp.ax_.get_legend().get_texts()]
    assert (
        "SelfDistilledKernelRidge, early stopping at equal training loss, held-out"
        in legend
    )
    with pytest.raises(ValueError, match="compare_with_early_stopping"):
        DistillationCurveDisplay.from_estimator(model, X, y, early_stopping={"a": 1})
    with pytest.raises(ValueError, match="both X_test and y_test"):
        DistillationCurveDisplay.from_estimator(model, X, y, X_test=X)


def test_displays_with_wrapper_classifier():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, log_loss

    from sklearn_selfdistill import SelfDistillationWrapper

    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = X[::2], X[1::2], y[::2], y[1::2]
    model = SelfDistillationWrapper(
        LogisticRegression(C=0.5), n_rounds=2, random_state=0
    ).fit(X_train, y_train)
    disp = DistillationCurveDisplay.from_estimator(
        model, X_train, y_train, X_test=X_test, y_test=y_test
    )
    assert_allclose(
        disp.train_scores,
        [accuracy_score(y_train, p) for p in model.staged_predict(X_train)],
    )
    assert_allclose(disp.train_scores, [r["train_score"] for r in model.history_])
    assert disp.ax_.get_ylabel() == "accuracy"
    # A probabilistic scorer goes through staged_predict_proba.
    disp = DistillationCurveDisplay.from_estimator(
        model, X_train, y_train, X_test=X_test, y_test=y_test, scoring="neg_log_loss"
    )
    expected = [-log_loss(y_test, p) for p in model.staged_predict_proba(X_test)]
    assert_allclose(disp.test_scores, expected, rtol=1e-12)
    assert len(set(np.round(expected, 12))) == 3  # the rounds do differ

    coef = BasisCoefficientsDisplay.from_estimator(model, output=2, kind="lines")
    assert_array_equal(coef.basis_coefficients, model.basis_coefficients_[:, :, 2])
    assert "output 2" in coef.ax_.get_title()


def test_basis_display_with_wrapper_kernel_ridge_closed_form():
    from sklearn.kernel_ridge import KernelRidge

    from sklearn_selfdistill import SelfDistillationWrapper

    rng = np.random.RandomState(0)
    X = rng.uniform(size=(30, 1))
    y = np.sin(6 * X[:, 0]) + 0.1 * rng.randn(30)
    model = SelfDistillationWrapper(
        KernelRidge(alpha=0.1, kernel="rbf", gamma=10.0), n_rounds=2,
        basis_kernel_params={"gamma": 10.0},
    ).fit(X, y)
    disp = BasisCoefficientsDisplay.from_estimator(model, kind="lines")
    d = model.basis_eigenvalues_
    assert_allclose(disp.eigenvalues, d)
    for t, line in zip(disp.rounds, disp.artists_):
        drawn = np.asarray(line.get_ydata(), dtype=float)[:8]
        # The closed form (d / (d + alpha / n))^(t + 1) on the leading directions.
        assert_allclose(drawn, ((d / (d + 0.1 / 30)) ** (t + 1))[:8], rtol=1e-6)


def test_basis_display_classifier_by_class_label():
    from sklearn.datasets import load_iris

    from sklearn_selfdistill import SelfDistilledKernelRidgeClassifier

    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = SelfDistilledKernelRidgeClassifier(
        epsilon=0.3, n_rounds=1, on_collapse="ignore"
    ).fit(X, names)
    disp = BasisCoefficientsDisplay.from_estimator(model, output="virginica")
    assert_array_equal(
        disp.basis_coefficients,
        model.basis_coefficients_[:, :, 2][disp.rounds],
    )
    assert "output virginica" in disp.ax_.get_title()
    curve = DistillationCurveDisplay.from_estimator(model, X, names)
    assert_allclose(
        curve.train_scores, [np.mean(p == names) for p in model.staged_predict(X)]
    )


def test_distillation_curve_decision_function_scorer():
    from sklearn.datasets import load_breast_cancer
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    from sklearn_selfdistill import SelfDistilledKernelRidgeClassifier

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)[::3]
    y = y[::3]
    model = SelfDistilledKernelRidgeClassifier(
        epsilon=0.2, n_rounds=2, gamma=0.01, on_collapse="ignore"
    ).fit(X[:120], y[:120])
    disp = DistillationCurveDisplay.from_estimator(
        model, X[:120], y[:120], X_test=X[120:], y_test=y[120:], scoring="roc_auc"
    )
    expected = [
        roc_auc_score(y[120:], s) for s in model.staged_decision_function(X[120:])
    ]
    assert_allclose(disp.test_scores, expected, rtol=1e-12)
    assert disp.ax_.get_ylabel() == "roc_auc"
