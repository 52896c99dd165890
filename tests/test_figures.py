"""sklearn_selfdistill.figures: whole figures built from the Displays."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sklearn_selfdistill import SelfDistilledKernelRidge  # noqa: E402
from sklearn_selfdistill.datasets import load_paper_example  # noqa: E402
from sklearn_selfdistill.figures import (  # noqa: E402
    plot_basis_coefficients_per_round,
    plot_fits_per_round,
    plot_sparsification,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def spline(epsilon=0.045, n_rounds=5):
    X, y = load_paper_example()
    model = SelfDistilledKernelRidge(kernel="green_spline", epsilon=epsilon,
                                     n_rounds=n_rounds, on_collapse="ignore")
    return model.fit(X, y), X, y


def test_fits_per_round_is_one_fit_display_on_its_own_figure():
    model, X, y = spline()
    disp = plot_fits_per_round(model, X, y, grid_resolution=21)
    assert disp.figure_.axes == [disp.ax_]
    assert disp.figure_.get_layout_engine() is not None  # nothing clipped
    x = np.linspace(0, 1, 21)
    staged = list(model.staged_predict(x.reshape(-1, 1)))
    assert_array_equal(disp.rounds, [0, 1, 2, 3])
    for t in disp.rounds:
        assert_allclose(disp.lines_[t].get_ydata(), staged[t], rtol=0, atol=0)
    assert "target" not in disp.lines_
    assert disp.ax_.get_title() == r"Self-distillation rounds, $\epsilon$ = 0.045"
    # No model name in the legend: the rounds only.
    labels = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert labels == ["training points"] + [f"round {t}" for t in range(4)]


def test_fits_per_round_title_without_a_numeric_epsilon():
    from sklearn.linear_model import Ridge

    from sklearn_selfdistill import SelfDistillationWrapper

    X, y = load_paper_example()
    model = SelfDistillationWrapper(Ridge(alpha=1e-3), n_rounds=2).fit(X, y)
    assert model.epsilon is None
    disp = plot_fits_per_round(model, X, y)
    assert disp.ax_.get_title() == "Self-distillation rounds"


def test_fits_per_round_closes_its_figure_on_error():
    model, X, y = spline()
    before = plt.get_fignums()
    with pytest.raises(ValueError, match="2 features"):
        plot_fits_per_round(model, np.hstack([X, X]), y)
    assert plt.get_fignums() == before


def test_basis_coefficients_per_round_one_panel_per_live_round():
    model, _, _ = spline()
    displays = plot_basis_coefficients_per_round(model)
    fig = displays[0].figure_
    assert [d.ax_ for d in displays] == fig.axes
    assert [int(d.rounds[0]) for d in displays] == [0, 1, 2, 3]
    for t, disp in enumerate(displays):
        heights = [p.get_height() for p in disp.artists_[0].patches]
        assert_allclose(heights, model.basis_coefficients_[t], rtol=0, atol=0)
        assert disp.ax_.get_legend() is None
        assert disp.ax_.get_title() == f"round {t}"
    # One y label, on the first panel; a shared y axis.
    assert [ax.get_ylabel() != "" for ax in fig.axes] == [True, False, False, False]
    assert fig.axes[1].get_shared_y_axes().joined(fig.axes[0], fig.axes[1])
    # Figure.get_suptitle is matplotlib 3.8; the plot extra allows 3.6.
    title = (fig.get_suptitle() if hasattr(fig, "get_suptitle")
             else fig._suptitle.get_text())
    assert title == r"Diagonal of $B_t$ per round"


def test_basis_coefficients_per_round_rounds_output_and_errors():
    model, _, _ = spline()
    displays = plot_basis_coefficients_per_round(model, rounds=[2, 0])
    assert [int(d.rounds[0]) for d in displays] == [2, 0]
    with pytest.raises(ValueError, match="rounds is empty"):
        plot_basis_coefficients_per_round(model, rounds=[])
    before = plt.get_fignums()
    with pytest.raises(ValueError, match=r"rounds \[9\] out of range"):
        plot_basis_coefficients_per_round(model, rounds=[0, 9])
    assert plt.get_fignums() == before
    from sklearn.linear_model import Ridge

    with pytest.raises(ValueError, match="Ridge has no basis_coefficients_"):
        plot_basis_coefficients_per_round(Ridge().fit(np.eye(3), [0, 1, 2]))

    # Two outputs that collapse at different rounds: the panels are those
    # of the chosen output.
    X, y = load_paper_example()
    two = SelfDistilledKernelRidge(kernel="green_spline", epsilon=0.045,
                                   n_rounds=5, on_collapse="ignore")
    two.fit(X, np.c_[y, 0.4 * y])
    assert two.collapsed_[:, 0].sum() == 2 and two.collapsed_[:, 1].sum() == 5
    with pytest.raises(ValueError, match="pass output="):
        plot_basis_coefficients_per_round(two)
    for output, live in ((0, [0, 1, 2, 3]), (1, [0])):
        displays = plot_basis_coefficients_per_round(two, output=output)
        assert [int(d.rounds[0]) for d in displays] == live
        for disp, t in zip(displays, live):
            heights = [p.get_height() for p in disp.artists_[0].patches]
            assert_allclose(heights, two.basis_coefficients_[t, :, output],
                            rtol=0, atol=0)


def test_sparsification_names_title_and_errors():
    models = [spline(eps, 3)[0] for eps in (0.045, 0.1)]
    displays = plot_sparsification(iter(models))
    ax = displays[0].ax_
    assert [d.ax_ for d in displays] == [ax, ax]
    assert [d.line_.get_label() for d in displays] == [
        r"$\epsilon$ = 0.045", r"$\epsilon$ = 0.1"]
    for disp, model in zip(displays, models):
        B = model.basis_coefficients_
        live = np.flatnonzero(np.any(B != 0, axis=1))
        fitted = np.flatnonzero(B[0] != 0)
        assert_allclose(disp.line_.get_ydata(),
                        B[live, fitted[0]] / B[live, fitted[-1]], rtol=1e-12)
    # Both share the kernel's Gram matrix: one condition number in the title,
    # infinite here (the spline kernel's null space), so not shown.
    assert not np.isfinite(models[0].condition_number_)
    assert ax.get_title() == "Sparsification round by round until collapse"

    before = plt.get_fignums()
    with pytest.raises(ValueError, match="estimators is empty"):
        plot_sparsification([])
    with pytest.raises(ValueError, match="names has 1 entries but estimators has more"):
        plot_sparsification(models, names=["one"])
    with pytest.raises(ValueError, match="names has 3 entries for 2 estimators"):
        plot_sparsification(models, names=["a", "b", "c"])
    assert plt.get_fignums() == before


def test_sparsification_title_names_a_common_condition_number():
    rng = np.random.RandomState(0)
    d = np.geomspace(1.0, 0.25, 8)
    V, _ = np.linalg.qr(rng.randn(8, 8))
    gram, y = (V * d) @ V.T * 8, rng.randn(8)
    models = [SelfDistilledKernelRidge(kernel="precomputed", epsilon=e, n_rounds=3,
                                       on_collapse="ignore").fit(gram, y)
              for e in (0.01, 0.1)]
    assert models[0].condition_number_ == pytest.approx(4.0, rel=1e-10)
    displays = plot_sparsification(models, names=["small", "large"])
    assert displays[0].ax_.get_title().endswith(r", $\kappa$ = 4")
    assert [d.line_.get_label() for d in displays] == ["small", "large"]
