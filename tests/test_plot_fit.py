"""DistillationFitDisplay and SparsificationDisplay draw the estimator's numbers."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from sklearn_selfdistill import (  # noqa: E402
    DistillationFitDisplay,
    SelfDistilledKernelRidge,
    SparsificationDisplay,
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
    return model.fit(X, y), X, y


def legend_texts(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_fit_display_draws_staged_predictions(paper_model):
    model, X, y = paper_model
    disp = DistillationFitDisplay.from_estimator(
        model, X, y, target=lambda x: np.sin(2 * np.pi * x), grid_resolution=51
    )
    x = np.linspace(0, 1, 51)
    staged = list(model.staged_predict(x.reshape(-1, 1)))
    assert_array_equal(disp.rounds, [0, 1, 2, 3])  # rounds 4 and 5 collapsed
    for t in disp.rounds:
        assert_array_equal(disp.lines_[t].get_xdata(), x)
        assert_allclose(disp.lines_[t].get_ydata(), staged[t], rtol=0, atol=0)
    assert_allclose(disp.lines_["target"].get_ydata(), np.sin(2 * np.pi * x))
    assert_array_equal(disp.lines_["data"].get_ydata(), y)
    assert legend_texts(disp.ax_)[:3] == [
        "noiseless function", "training points", "SelfDistilledKernelRidge, round 0"
    ]
    cmap = matplotlib.colormaps["viridis"]
    assert_allclose(to_rgba(disp.lines_[0].get_color()), cmap(0.0))
    assert disp.ax_.get_title() == "The fit of every round"


def test_fit_display_kwargs_name_and_user_axes(paper_model):
    model, X, y = paper_model
    fig, ax = plt.subplots()
    ax.set_title("mine")
    disp = DistillationFitDisplay.from_estimator(
        model, X, rounds=[0, 2], ax=ax, name="spline", color="red", lw=1
    )
    assert ax.get_title() == "mine"
    assert "data" not in disp.lines_  # no y: no points
    assert [disp.lines_[t].get_color() for t in (0, 2)] == ["red", "red"]
    assert [disp.lines_[t].get_linestyle() for t in (0, 2)] == ["-", "--"]
    assert disp.lines_[0].get_linewidth() == 1
    assert legend_texts(ax) == ["spline, round 0", "spline, round 2"]


def test_fit_display_errors(paper_model):
    model, X, y = paper_model
    with pytest.raises(ValueError, match="rounds \\[9\\] out of range"):
        DistillationFitDisplay.from_estimator(model, X, y, rounds=[9])
    with pytest.raises(ValueError, match="grid_resolution must be an integer"):
        DistillationFitDisplay.from_estimator(model, X, y, grid_resolution=1)
    rng = np.random.RandomState(0)
    X2 = rng.uniform(size=(20, 2))
    two = SelfDistilledKernelRidge(epsilon=0.01, n_rounds=1).fit(X2, X2[:, 0])
    with pytest.raises(ValueError, match="one input feature"):
        DistillationFitDisplay.from_estimator(two, X2)


def well_conditioned(n=30, kappa=10.0, seed=0):
    rng = np.random.RandomState(seed)
    d = np.geomspace(1.0, 1.0 / kappa, n)
    V, _ = np.linalg.qr(rng.randn(n, n))
    return (V * d) @ V.T * n, rng.randn(n), d


def test_sparsification_ratio_is_the_closed_form():
    gram, y, d = well_conditioned()
    model = SelfDistilledKernelRidge(
        kernel="precomputed", epsilon=0.01 * np.mean(y**2), n_rounds=6,
        on_collapse="ignore",
    ).fit(gram, y)
    disp = SparsificationDisplay.from_estimator(model, name="eps")
    live = np.flatnonzero(~model.collapsed_)
    assert_array_equal(disp.line_.get_xdata(), live)
    # eq. (46): B_t[k] = prod_{s <= t} d_k / (c_s + d_k), so the ratio of the
    # first to the last direction is prod_s (c_s + d_min) d_max / ((c_s + d_max) d_min).
    c = model.c_[live]
    expected = np.cumprod((c + d[-1]) * d[0] / ((c + d[0]) * d[-1]))
    assert_allclose(disp.line_.get_ydata(), expected, rtol=1e-8)
    assert disp.ax_.get_yscale() == "log"
    t = int(np.ceil(model.guaranteed_rounds_)) - 1
    assert disp.guaranteed_marker_.get_xdata()[0] == min(t, live.max())
    assert legend_texts(disp.ax_) == ["eps", "guaranteed rounds (Prop. 4)"]


def test_sparsification_models_share_axes_and_errors():
    gram, y, _ = well_conditioned()
    fig, ax = plt.subplots()
    ax.set_title("mine")
    colors = []
    for frac in (1e-4, 0.1):
        model = SelfDistilledKernelRidge(
            kernel="precomputed", epsilon=frac * np.mean(y**2), n_rounds=2000,
            on_collapse="ignore",
        ).fit(gram, y)
        disp = SparsificationDisplay.from_estimator(model, ax=ax, name=f"{frac:g}")
        colors.append(disp.line_.get_color())
    assert colors[0] != colors[1]
    assert ax.get_title() == "mine"
    assert ax.get_xscale() == "symlog"  # the 1e-4 model runs beyond 40 rounds
    assert legend_texts(ax) == ["0.0001", "0.1", "guaranteed rounds (Prop. 4)"]
    with pytest.raises(ValueError, match="rounds and ratios must be 1-D"):
        SparsificationDisplay(rounds=[0, 1], ratios=[1.0]).plot()
    # A rank-one Gram matrix: a single fitted direction.
    flat = SelfDistilledKernelRidge(
        kernel="precomputed", epsilon=0.1, n_rounds=1
    ).fit(np.ones((2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="fewer than two fitted eigen-directions"):
        SparsificationDisplay.from_estimator(flat)


@pytest.mark.parametrize("t_low, marked", [(2.0, 1), (2.5, 2), (1.0, 0), (0.3, 0)])
def test_sparsification_marks_the_last_round_prop4_guarantees(t_low, marked):
    # Prop. 4 guarantees every round t < t_low (theory.guaranteed_rounds): with
    # an integer t_low the round t_low itself may collapse, so it is not marked.
    rounds = np.arange(5)
    ratios = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    disp = SparsificationDisplay(
        rounds=rounds, ratios=ratios, guaranteed_rounds=t_low
    ).plot()
    assert_array_equal(disp.guaranteed_marker_.get_xdata(), [marked])
    assert_array_equal(disp.guaranteed_marker_.get_ydata(), [ratios[marked]])
