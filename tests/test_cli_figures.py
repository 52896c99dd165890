"""The command line's figures are the Displays' and the gallery's.

Every figure a subcommand writes is captured just before it is saved, and its
artists are compared with the numbers of the fitted models (and, for the
figures the gallery shows too, with the gallery's image pixel by pixel).
"""

import argparse
import os
import runpy
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.image import imread  # noqa: E402

from sklearn_selfdistill import (  # noqa: E402
    BasisCoefficientsDisplay,
    DistillationCurveDisplay,
    DistillationFitDisplay,
    SelfDistilledKernelRidge,
    SparsificationDisplay,
    _cli_args,
    _cli_kernel,
    _cli_nets,
)
from sklearn_selfdistill._cli import main  # noqa: E402
from sklearn_selfdistill._cli_kernel import sparsity_table  # noqa: E402
from sklearn_selfdistill.datasets import load_paper_example  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def saved(monkeypatch):
    """Figures the subcommands save, by file name, kept open for inspection."""
    figures = {}

    def keep(fig, path):
        fig.savefig(path, dpi=_cli_args.FIGURE_DPI)
        figures[os.path.basename(path)] = fig

    for module in (_cli_kernel, _cli_nets):
        monkeypatch.setattr(module, "save_figure", keep)
    return figures


@pytest.fixture
def spies(monkeypatch):
    """Every Display object drawn, by class name, in drawing order."""
    drawn = {}
    for cls in (BasisCoefficientsDisplay, DistillationCurveDisplay,
                DistillationFitDisplay, SparsificationDisplay):
        original = cls.plot

        def plot(self, *args, _original=original, **kwargs):
            drawn.setdefault(type(self).__name__, []).append(self)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "plot", plot)
    return drawn


def legend_texts(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def paper_model(epsilon=0.045, n_rounds=5):
    X, y = load_paper_example()
    model = SelfDistilledKernelRidge(
        kernel="green_spline", epsilon=epsilon, n_rounds=n_rounds,
        on_collapse="ignore",
    )
    return model.fit(X, y), X, y


def pixels(fig, path):
    fig.savefig(path, dpi=_cli_args.FIGURE_DPI)
    return imread(str(path))


def test_illustrate_draws_the_models_numbers_through_the_displays(
    tmp_path, saved, spies, capsys
):
    assert main(["--out", str(tmp_path), "--epsilon", "0.05", "--rounds", "4"]) == 0
    capsys.readouterr()
    model, X, y = paper_model(0.05, 4)
    live = np.flatnonzero(~model.collapsed_)
    assert live.size >= 2 and not model.collapsed_[0]

    # Fig. 2: one DistillationFitDisplay of the live rounds on a 501-point grid.
    (fit,) = spies["DistillationFitDisplay"]
    ax = saved["illustrate_fits.png"].axes[0]
    assert fit.ax_ is ax
    grid = np.linspace(0, 1, 501)
    staged = list(model.staged_predict(grid.reshape(-1, 1)))
    assert_array_equal(fit.rounds, live)
    for t in live:
        assert_array_equal(fit.lines_[t].get_xdata(), grid)
        assert_allclose(fit.lines_[t].get_ydata(), staged[t], rtol=0, atol=1e-12)
    assert_allclose(fit.lines_["target"].get_ydata(), np.sin(2 * np.pi * grid))
    assert_array_equal(fit.lines_["data"].get_ydata(), y)
    assert ax.get_title() == r"Self-distillation rounds, $\epsilon$ = 0.05"
    assert legend_texts(ax)[2:] == [f"round {t}" for t in live]

    # Fig. 3: one BasisCoefficientsDisplay per live round, one panel each,
    # bar heights the diagonal of B_t.
    bars = spies["BasisCoefficientsDisplay"]
    fig = saved["illustrate_basis_coefficients.png"]
    assert [d.ax_ for d in bars] == fig.axes
    assert [int(d.rounds[0]) for d in bars] == list(live)
    for disp, t in zip(bars, live):
        (container,) = disp.artists_
        heights = [patch.get_height() for patch in container.patches]
        assert_allclose(heights, model.basis_coefficients_[t], rtol=0, atol=0)
        assert disp.ax_.get_title() == f"round {t}"
    # Figure.get_suptitle is matplotlib 3.8; the plot extra allows 3.6.
    title = (fig.get_suptitle() if hasattr(fig, "get_suptitle")
             else fig._suptitle.get_text())
    assert title == r"Diagonal of $B_t$ per round"
    for name in ("illustrate_fits.png", "illustrate_basis_coefficients.png"):
        assert (tmp_path / name).is_file()


def test_illustrate_png_is_the_shared_figure_function(tmp_path, capsys):
    from sklearn_selfdistill.figures import (
        plot_basis_coefficients_per_round,
        plot_fits_per_round,
    )

    assert main(["--out", str(tmp_path)]) == 0
    capsys.readouterr()
    # The gallery's model has one round fewer: only collapsed rounds differ.
    model, X, y = paper_model(0.045, 4)
    disp = plot_fits_per_round(model, X, y, target=lambda x: np.sin(2 * np.pi * x))
    assert_array_equal(pixels(disp.figure_, tmp_path / "fits.png"),
                       imread(str(tmp_path / "illustrate_fits.png")))
    displays = plot_basis_coefficients_per_round(model)
    assert_array_equal(pixels(displays[0].figure_, tmp_path / "bars.png"),
                       imread(str(tmp_path / "illustrate_basis_coefficients.png")))


def run_example(name, monkeypatch):
    """The open figures after running a gallery example, in creation order."""
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: None)
    plt.close("all")
    runpy.run_path(os.path.join(ROOT, "examples", name), run_name="__main__")
    return [plt.figure(n) for n in plt.get_fignums()]


def test_gallery_shows_the_images_the_command_line_writes(tmp_path, monkeypatch,
                                                          capsys):
    # The images of the gallery are the ones sphinx-gallery saves from the
    # example's figures; the command line's are its PNGs at default settings.
    figures = run_example("plot_illustrative_example.py", monkeypatch)
    capsys.readouterr()
    assert len(figures) == 3  # Fig. 2, Fig. 3, then the log-scale lines
    gallery = [pixels(fig, tmp_path / f"gallery_{i}.png")
               for i, fig in enumerate(figures[:2])]
    plt.close("all")
    out = tmp_path / "cli"
    assert main(["illustrate", "--out", str(out)]) == 0
    assert_array_equal(gallery[0], imread(str(out / "illustrate_fits.png")))
    assert_array_equal(gallery[1],
                       imread(str(out / "illustrate_basis_coefficients.png")))

    figures = run_example("plot_sparsity_near_interpolation.py", monkeypatch)
    assert len(figures) == 1
    gallery = pixels(figures[0], tmp_path / "gallery_sparsity.png")
    plt.close("all")
    assert main(["sparsity", "--out", str(out)]) == 0
    assert_array_equal(gallery, imread(str(out / "sparsity.png")))


def test_sparsity_draws_one_display_per_fraction(tmp_path, saved, spies, capsys):
    fractions = [0.003, 0.05, 0.4]
    assert main(["sparsity", "--n-samples", "25", "--kappa", "5", "--seed", "2",
                 "--fractions", "0.4", "0.003", "0.05", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.index("ratio@t_low") < out.index("figure written")
    rows, curves = sparsity_table(25, 5.0, fractions, 2000, 2)
    drawn = spies["SparsificationDisplay"]
    ax = saved["sparsity.png"].axes[0]
    assert [d.ax_ for d in drawn] == [ax] * 3
    for disp, row, curve in zip(drawn, rows, curves):
        assert_array_equal(disp.line_.get_xdata(), np.arange(len(curve)))
        assert_allclose(disp.line_.get_ydata(), curve, rtol=1e-12)
        # The diamond sits on the last guaranteed round, ceil(t_low) - 1.
        t_g = min(max(int(np.ceil(row["guaranteed_rounds"])) - 1, 0), len(curve) - 1)
        assert_array_equal(disp.guaranteed_marker_.get_xdata(), [t_g])
        assert_allclose(disp.guaranteed_marker_.get_ydata(),
                        [row["ratio_at_guaranteed"]], rtol=1e-12)
    assert legend_texts(ax)[:3] == [
        rf"$\epsilon$ = {f:g} mean($y^2$)" for f in fractions
    ]
    assert ax.get_title() == r"Sparsification round by round until collapse, " \
                             r"$\kappa$ = 5"
    assert (tmp_path / "sparsity.png").is_file()


def test_sparsity_without_matplotlib_prints_the_table(tmp_path, capsys,
                                                      monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["sparsity", "--n-samples", "10", "--fractions", "0.1",
                 "--out", str(tmp_path / "figs")]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith(_cli_args.NO_MATPLOTLIB)
    assert out.index("ratio@t_low") < out.index("matplotlib is not installed")
    assert not (tmp_path / "figs").exists()


def test_sparsity_table_draws_each_model_before_fitting_the_next(monkeypatch):
    # The models are not kept: when a model is fitted, the previous one has
    # been drawn already.
    fitted, drawn = [], []
    original_fit = SelfDistilledKernelRidge.fit
    original_plot = SparsificationDisplay.plot

    def fit(self, *args, **kwargs):
        assert len(drawn) == len(fitted)
        fitted.append(self.epsilon)
        return original_fit(self, *args, **kwargs)

    def plot(self, *args, **kwargs):
        drawn.append(self)
        return original_plot(self, *args, **kwargs)

    monkeypatch.setattr(SelfDistilledKernelRidge, "fit", fit)
    monkeypatch.setattr(SparsificationDisplay, "plot", plot)
    rows, curves, displays = sparsity_table(12, 10.0, [0.01, 0.3], 200, 0, plot=True)
    assert len(fitted) == len(drawn) == len(displays) == 2
    assert [r["epsilon"] for r in rows] == fitted
    for disp, curve in zip(displays, curves):
        assert_allclose(disp.ratios, curve, rtol=1e-12)


def test_compare_figure_is_the_curve_display_with_a_title(tmp_path, saved,
                                                          spies, capsys):
    from sklearn.metrics import r2_score

    assert main(["compare", "--rounds", "2", "--cv", "3", "--n-samples", "90",
                 "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    got = np.genfromtxt(tmp_path / "compare_diabetes.csv", delimiter=",",
                        names=True)
    (disp,) = spies["DistillationCurveDisplay"]
    ax = saved["compare_diabetes.png"].axes[0]
    assert disp.ax_ is ax
    for key in ("self_distilled", "early_stopped"):
        line = disp.lines_[f"{key}_cv"]
        assert_array_equal(line.get_xdata(), [0, 1, 2])
        assert_allclose(line.get_ydata(), got[f"{key}_score_mean"], rtol=1e-9)
    # The training curve: R^2 of each round of the model refitted on all data.
    args = argparse.Namespace(
        dataset="diabetes", seed=0, n_samples=90, epsilon=None, gamma=None,
        rounds=2, label_noise=None,
    )
    X, y, model, _, _ = _cli_kernel._compare_setup(args)
    model.fit(X, y)
    expected = [r2_score(y, p) for p in model.staged_predict(X)]
    assert_allclose(disp.lines_["train"].get_ydata(), expected, rtol=1e-10)
    assert legend_texts(ax)[0] == "diabetes, training data, original labels"
    assert ax.get_title() == ("Self-distillation vs early stopping on diabetes, "
                              "3-fold CV (Sec. 3.4, Fig. 6)")


def test_nets_figure_draws_the_mean_and_spread_of_the_csv(tmp_path, saved,
                                                         spies, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("skorch")
    assert main(["nets", "--rounds", "1", "--epochs", "2", "--repeats", "2",
                 "--train-size", "100", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    rec = np.loadtxt(tmp_path / "nets_digits_mlp_l2.csv", delimiter=",", skiprows=1)
    train, test = rec[:, 2].reshape(2, 2), rec[:, 3].reshape(2, 2)
    (disp,) = spies["DistillationCurveDisplay"]
    ax = saved["nets_digits_mlp_l2.png"].axes[0]
    assert disp.ax_ is ax
    assert_array_equal(disp.rounds, [0, 1])
    # The CSV holds the accuracies to 6 decimals.
    for got, expected in ((disp.train_scores, train.mean(axis=0)),
                          (disp.train_scores_std, train.std(axis=0)),
                          (disp.test_scores, test.mean(axis=0)),
                          (disp.test_scores_std, test.std(axis=0)),
                          (disp.lines_["train"].get_ydata(), disp.train_scores),
                          (disp.lines_["test"].get_ydata(), disp.test_scores)):
        assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert test.std(axis=0).max() > 1e-3  # two runs that differ: a real band
    assert len(ax.collections) == 2  # the bands of one standard deviation
    assert legend_texts(ax) == ["training data, original labels", "held-out data"]
    assert ax.get_ylabel() == "accuracy (mean \u00b1 std, 2 runs)"
    assert ax.get_title() == ("mlp on digits, 30% noisy labels, l2 loss "
                              "(as the paper's Fig. 4)")
