"""Displays in scikit-learn's shape: names, styles, legends, titles, layouts."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from sklearn_selfdistill import (  # noqa: E402
    BasisCoefficientsDisplay,
    DistillationCurveDisplay,
    SelfDistilledKernelRidge,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(60, 1))
    y = np.sin(2 * np.pi * X[:, 0]) + 0.3 * rng.randn(60)
    return X[:40], y[:40], X[40:], y[40:]


@pytest.fixture(scope="module")
def model(data):
    X, y, _, _ = data
    return SelfDistilledKernelRidge(
        kernel="laplacian", gamma=5.0, epsilon=0.03, n_rounds=3
    ).fit(X, y)


def legend_texts(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_basis_color_kwarg_reaches_every_bar(model):
    disp = BasisCoefficientsDisplay.from_estimator(model, kind="bars", color="red")
    alphas = []
    for container in disp.artists_:
        for patch in container.patches:
            assert patch.get_facecolor()[:3] == to_rgba("red")[:3]
        alphas.append(container.patches[0].get_alpha())
    # One colour: the rounds differ by transparency, first round opaque.
    assert alphas[0] == 1.0
    assert np.all(np.diff(alphas) < 0)


def test_basis_default_colors_follow_round_cmap(model):
    disp = BasisCoefficientsDisplay.from_estimator(model, kind="lines")
    cmap = matplotlib.colormaps["viridis"]
    expected = [cmap(x) for x in np.linspace(0, 0.85, len(disp.rounds))]
    assert_allclose([to_rgba(line.get_color()) for line in disp.artists_], expected)


def test_basis_alias_and_conflicting_kwargs(model):
    disp = BasisCoefficientsDisplay.from_estimator(
        model, kind="lines", c="green", lw=3
    )
    assert all(line.get_color() == "green" for line in disp.artists_)
    assert all(line.get_linewidth() == 3 for line in disp.artists_)
    # One colour: the rounds differ by line style.
    assert [line.get_linestyle() for line in disp.artists_][:3] == ["-", "--", "-."]
    with pytest.raises(TypeError, match="both c and color"):
        BasisCoefficientsDisplay.from_estimator(model, c="g", color="r")


def test_basis_two_models_one_axes_legend_and_title_kept(data, model):
    X, y, _, _ = data
    other = SelfDistilledKernelRidge(
        kernel="laplacian", gamma=5.0, epsilon=0.1, n_rounds=1
    ).fit(X, y)
    fig, ax = plt.subplots()
    ax.set_title("my title")
    first = BasisCoefficientsDisplay.from_estimator(model, ax=ax, kind="lines")
    second = BasisCoefficientsDisplay.from_estimator(
        other, ax=ax, kind="lines", rounds=[0, 1]
    )
    assert first.ax_ is second.ax_ is ax
    assert ax.get_title() == "my title"
    labels = legend_texts(ax)
    assert len(labels) == len(set(labels)) == len(first.rounds) + 2
    assert labels[-2:] == [
        "SelfDistilledKernelRidge (2), round 0",
        "SelfDistilledKernelRidge (2), round 1",
    ]
    # Explicit names are used as given.
    fig, ax = plt.subplots()
    BasisCoefficientsDisplay.from_estimator(model, ax=ax, name="eps 0.05",
                                            rounds=[0])
    BasisCoefficientsDisplay.from_estimator(other, ax=ax, name="eps 0.1", rounds=[0])
    assert legend_texts(ax) == ["eps 0.05, round 0", "eps 0.1, round 0"]


def test_basis_plot_name_overrides_and_title_on_created_axes(model):
    disp = BasisCoefficientsDisplay.from_estimator(model)
    assert disp.ax_.get_title() == "Basis coefficients per round"
    assert disp.figure_.get_layout_engine() is not None  # constrained: no clipping
    disp.plot(name="renamed")
    assert legend_texts(disp.ax_)[0] == "renamed, round 0"
    bare = BasisCoefficientsDisplay(
        basis_coefficients=model.basis_coefficients_[:2], rounds=[0, 1]
    ).plot()
    assert legend_texts(bare.ax_) == ["round 0", "round 1"]


@pytest.mark.parametrize(
    "n_basis, kind, n_markers_expected, xscale",
    [(11, "bars", None, "linear"), (60, "lines", "o", "linear"),
     (2000, "lines", "None", "log")],
)
def test_basis_auto_kind_scales_with_directions(n_basis, kind, n_markers_expected,
                                                xscale):
    rng = np.random.RandomState(0)
    coef = np.sort(rng.uniform(size=(3, n_basis)), axis=1)[:, ::-1]
    disp = BasisCoefficientsDisplay(basis_coefficients=coef, rounds=[0, 1, 2]).plot()
    assert len(disp.artists_) == 3
    assert disp.ax_.get_xscale() == xscale
    if kind == "bars":
        assert all(isinstance(a, BarContainer) for a in disp.artists_)
        assert all(len(a.patches) == n_basis for a in disp.artists_)
    else:
        assert all(isinstance(a, Line2D) for a in disp.artists_)
        for row, line in zip(coef, disp.artists_):
            assert line.get_marker() == n_markers_expected
            assert_array_equal(line.get_xdata(), np.arange(1, n_basis + 1))
            assert_array_equal(line.get_ydata(), row)


def test_basis_max_directions(model):
    disp = BasisCoefficientsDisplay.from_estimator(model, max_directions=5)
    for t, container in zip(disp.rounds, disp.artists_):
        heights = [patch.get_height() for patch in container.patches]
        assert_allclose(heights, model.basis_coefficients_[t, :5], rtol=0, atol=0)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="max_directions must be a positive"):
            disp.plot(max_directions=bad)


def test_curve_one_color_per_model_and_kwargs(data, model):
    X, y, X_test, y_test = data
    fig, ax = plt.subplots()
    ax.set_title("kept")
    a = DistillationCurveDisplay.from_estimator(
        model, X, y, X_test=X_test, y_test=y_test, ax=ax, name="A"
    )
    b = DistillationCurveDisplay.from_estimator(
        model, X, y, X_test=X_test, y_test=y_test, ax=ax, name="B"
    )
    assert ax.get_title() == "kept"
    # Training and held-out curves of a model share its colour; models differ.
    assert a.lines_["train"].get_color() == a.lines_["test"].get_color()
    assert b.lines_["train"].get_color() == b.lines_["test"].get_color()
    assert a.lines_["train"].get_color() != b.lines_["train"].get_color()
    assert a.lines_["test"].get_linestyle() == "--"
    assert legend_texts(ax) == [
        "A, training data, original labels", "A, held-out data",
        "B, training data, original labels", "B, held-out data",
    ]
    c = DistillationCurveDisplay.from_estimator(model, X, y, X_test=X_test,
                                                y_test=y_test, color="k", lw=4)
    for line in c.lines_.values():
        assert line.get_color() == "k" and line.get_linewidth() == 4
    assert c.ax_.get_title() == "Score per self-distillation round"


def _table():
    return {
        "round": np.arange(3),
        "train_loss_mean": np.array([0.1, 0.2, 0.4]),
        "train_loss_std": np.zeros(3),
        "self_distilled_score_mean": np.array([0.8, 0.85, 0.82]),
        "self_distilled_score_std": np.array([0.01, 0.02, 0.01]),
        "early_stopped_score_mean": np.array([0.8, 0.83, 0.84]),
        "early_stopped_score_std": np.array([0.01, 0.01, 0.02]),
    }


def test_curve_from_early_stopping_over_training_loss():
    table = _table()
    disp = DistillationCurveDisplay.from_early_stopping(
        table, score_name="accuracy", name="net"
    )
    sd, es = disp.lines_["self_distilled_cv"], disp.lines_["early_stopped_cv"]
    assert_array_equal(sd.get_xdata(), table["train_loss_mean"])
    assert_array_equal(es.get_xdata(), table["train_loss_mean"])
    assert_array_equal(sd.get_ydata(), table["self_distilled_score_mean"])
    assert_array_equal(es.get_ydata(), table["early_stopped_score_mean"])
    assert sd.get_color() != es.get_color()
    assert "train" not in disp.lines_
    # One band per curve, spanning mean +- std.
    bands = disp.ax_.collections
    assert len(bands) == 2
    lower = bands[0].get_paths()[0].vertices[:, 1].min()
    assert_allclose(lower, np.min(table["self_distilled_score_mean"]
                                  - table["self_distilled_score_std"]))
    assert [t.get_text() for t in disp.ax_.texts] == ["t=0", "t=1", "t=2"]
    assert disp.ax_.get_xlabel() == "training loss on the original labels"
    assert disp.ax_.get_ylabel() == "accuracy"
    assert legend_texts(disp.ax_)[0] == "net, self-distillation, held-out"
    rounds = DistillationCurveDisplay.from_early_stopping(table, x="round")
    assert_array_equal(rounds.lines_["early_stopped_cv"].get_xdata(), [0, 1, 2])


def test_curve_errors_name_the_parameter():
    with pytest.raises(ValueError, match="x must be 'round' or 'train_loss'"):
        DistillationCurveDisplay.from_early_stopping(_table(), x="loss")
    with pytest.raises(ValueError, match="x='train_loss' needs the early_stopping"):
        DistillationCurveDisplay(rounds=[0, 1], train_scores=[1, 2]).plot(
            x="train_loss"
        )
    table = _table()
    del table["train_loss_mean"]
    with pytest.raises(ValueError, match="train_loss_mean"):
        DistillationCurveDisplay.from_early_stopping(table)
    with pytest.raises(ValueError, match="Nothing to draw"):
        DistillationCurveDisplay(rounds=[0, 1]).plot()


def test_empty_name_leaves_the_legend_unprefixed(model):
    disp = BasisCoefficientsDisplay.from_estimator(model, name="", rounds=[0, 1])
    assert legend_texts(disp.ax_) == ["round 0", "round 1"]


def test_curve_spread_over_runs_drawn_as_bands():
    # e.g. the mean and standard deviation of several training runs per round
    train = np.array([[0.9, 0.85, 0.8], [0.92, 0.86, 0.78]])
    test = np.array([[0.7, 0.75, 0.72], [0.72, 0.73, 0.7]])
    disp = DistillationCurveDisplay(
        rounds=np.arange(3), train_scores=train.mean(0), test_scores=test.mean(0),
        train_scores_std=train.std(0), test_scores_std=test.std(0),
        score_name="accuracy",
    ).plot()
    bands = disp.ax_.collections
    assert len(bands) == 2
    for band, runs in zip(bands, (train, test)):
        ys = band.get_paths()[0].vertices[:, 1]
        assert_allclose(ys.min(), np.min(runs.mean(0) - runs.std(0)))
        assert_allclose(ys.max(), np.max(runs.mean(0) + runs.std(0)))
    assert_allclose(disp.lines_["test"].get_ydata(), test.mean(0))
