"""Subcommands of ``python -m sklearn_selfdistill``: numbers and behaviour."""

import os

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import brentq

from sklearn_selfdistill._cli import SUBCOMMANDS, main, sparsity_table


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: selfdistill {name}")
    assert "--out" in out or name == "compare"


def test_top_level_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert name in out


def _brute_force_rounds(d, z0, eps, n_max):
    """Ratios B_t[0] / B_t[-1] by solving each round's multiplier with brentq."""
    z, B, ratios = z0.copy(), np.ones_like(d), []
    for _ in range(n_max):
        if np.mean(z**2) <= eps:
            break

        def h(log_c):
            c = np.exp(log_c)
            return np.mean((c / (c + d) * z) ** 2) - eps

        c = np.exp(brentq(h, -60, 60, xtol=1e-14, rtol=1e-15, maxiter=500))
        A = d / (c + d)
        B = B * A
        z = A * z
        ratios.append(B[0] / B[-1])
    return np.array(ratios)


def test_sparsity_table_against_brute_force():
    fractions = [1e-2, 0.1, 0.5]
    rows, curves = sparsity_table(n_samples=30, kappa=10.0, fractions=fractions,
                                  max_rounds=500, seed=3)
    rng = np.random.RandomState(3)
    d = np.geomspace(1.0, 0.1, 30)
    V, _ = np.linalg.qr(rng.randn(30, 30))
    y = rng.randn(30)
    z0 = V.T @ y
    for frac, row, curve in zip(fractions, rows, curves):
        eps = frac * np.mean(y**2)
        expected = _brute_force_rounds(d, z0, eps, 500)
        assert row["rounds_before_collapse"] == len(expected)
        assert_allclose(curve, expected, rtol=1e-7)
        t_low = (np.linalg.norm(y) / np.sqrt(30 * eps) - 1) / 10.0
        assert row["guaranteed_rounds"] == pytest.approx(t_low, rel=1e-12)
        # The last round Prop. 4 guarantees: every round t < t_low.
        t_g = min(max(int(np.ceil(t_low)) - 1, 0), len(expected) - 1)
        assert row["ratio_at_guaranteed"] == pytest.approx(expected[t_g], rel=1e-7)
    # What the subcommand reports: per round, larger epsilon sparsifies more.
    ratio_0 = [row["ratio_round_0"] for row in rows]
    assert ratio_0[0] < ratio_0[1] < ratio_0[2]


def test_sparsity_subcommand_prints_table_and_writes_figure(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    rc = main(["sparsity", "--n-samples", "20", "--fractions", "0.01", "0.5",
               "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    rows, _ = sparsity_table(n_samples=20, fractions=[0.01, 0.5])
    lines = [line for line in out.splitlines() if line.strip().startswith("0.5 ")]
    assert len(lines) == 1
    assert f"{rows[1]['ratio_at_guaranteed']:.3g}" in lines[0]
    # The conclusion follows the measured numbers: the word and both values.
    low, high = rows[0]["ratio_at_guaranteed"], rows[1]["ratio_at_guaranteed"]
    trend, other = ("grows", "shrinks") if high > low else ("shrinks", "grows")
    assert f"guaranteed rounds {trend} with epsilon ({low:.3g} at 0.01, " \
        f"{high:.3g} at 0.5)" in out
    assert f"{other} with epsilon" not in out
    with open(os.path.join(tmp_path, "sparsity.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_nets_subcommand_matches_the_wrapper(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    pytest.importorskip("skorch")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from sklearn_selfdistill import SelfDistillationWrapper
    from sklearn_selfdistill.nets import DistillNetClassifier, MLPModule

    rc = main(["nets", "--rounds", "1", "--epochs", "3", "--repeats", "2",
               "--train-size", "200", "--label-noise", "0", "--loss",
               "cross_entropy", "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "[SelfDistillationWrapper] round 1" in out  # progress while training
    assert "train_loss" not in out.split("[SelfDistillationWrapper]")[0]  # no epochs
    rec = np.loadtxt(tmp_path / "nets_digits_mlp_cross_entropy.csv", delimiter=",",
                     skiprows=1)
    assert rec.shape == (4, 6)
    assert_allclose(rec[:, :2], [[0, 0], [0, 1], [1, 0], [1, 1]])
    assert (tmp_path / "nets_digits_mlp_cross_entropy.png").exists()

    # The same protocol by hand: same split, nets and seeds.
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, train_size=200, stratify=y,
                                              random_state=0)
    torch.set_num_threads(1)
    for repeat in range(2):
        net = DistillNetClassifier(module=MLPModule, loss="cross_entropy", lr=0.01,
                                   max_epochs=3, batch_size=128, device="cpu",
                                   module__hidden_units=(128,))
        model = SelfDistillationWrapper(net, n_rounds=1, basis_kernel=None,
                                        random_state=repeat).fit(X_tr, y_tr)
        test_acc = [np.mean(p == y_te) for p in model.staged_predict(X_te)]
        train_acc = [np.mean(p == y_tr) for p in model.staged_predict(X_tr)]
        assert_allclose(rec[2 * repeat:2 * repeat + 2, 3], test_acc, atol=1e-6)
        assert_allclose(rec[2 * repeat:2 * repeat + 2, 2], train_acc, atol=1e-6)
    mean_test = rec[:, 3].reshape(2, 2).mean(axis=0)
    assert f"{mean_test[1]:.4f} +- " in out


def test_nets_without_network_points_to_digits(tmp_path, capsys, monkeypatch):
    torchvision = pytest.importorskip("torchvision")
    pytest.importorskip("skorch")

    def offline(*args, **kwargs):
        raise OSError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    rc = main(["nets", "--dataset", "cifar10", "--data-dir", str(tmp_path),
               "--out", str(tmp_path)])
    assert rc == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("selfdistill nets: error: could not download CIFAR-10")
    assert "Use --dataset digits, which works offline" in err


def test_compare_subcommand_reports_compare_with_early_stopping(tmp_path, capsys):
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import StandardScaler

    from sklearn_selfdistill import SelfDistilledKernelRidge
    from sklearn_selfdistill.model_selection import compare_with_early_stopping

    rc = main(["compare", "--rounds", "2", "--cv", "3", "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    expected = compare_with_early_stopping(
        SelfDistilledKernelRidge(epsilon=0.05, gamma=0.05, normalize_y=True,
                                 on_collapse="ignore"),
        X, y, n_rounds=2, cv=KFold(3, shuffle=True, random_state=0),
    )
    with open(tmp_path / "compare_diabetes.csv") as f:
        keys = f.readline().strip().split(",")
    got = np.loadtxt(tmp_path / "compare_diabetes.csv", delimiter=",", skiprows=1)
    assert set(keys) == set(expected)
    for j, key in enumerate(keys):
        assert_allclose(got[:, j], expected[key], rtol=1e-9)
    # Round 0 is the common reference: both columns agree exactly there.
    assert expected["early_stopped_score_mean"][0] == pytest.approx(
        expected["self_distilled_score_mean"][0], rel=1e-12)
    row1 = [line for line in out.splitlines() if line.strip().startswith("1 ")][0]
    assert f"{expected['self_distilled_score_mean'][1]:.4f}" in row1
    assert f"{expected['early_stopped_score_mean'][1]:.4f}" in row1
    if (tmp_path / "compare_diabetes.png").exists():
        with open(tmp_path / "compare_diabetes.png", "rb") as f:
            assert f.read(4) == b"\x89PNG"


def test_nets_verbose_prints_epochs_and_a_progress_bar(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("skorch")
    rc = main(["nets", "--rounds", "1", "--epochs", "3", "--repeats", "1",
               "--train-size", "100", "--batch-size", "32", "--verbose",
               "--out", str(tmp_path)])
    assert rc == 0
    captured = capsys.readouterr()
    # skorch's epoch table, once per round, before the round's summary line.
    rounds = captured.out.split("[SelfDistillationWrapper] round")
    assert len(rounds) == 3
    for log in rounds[:2]:
        words = [line.split() for line in log.splitlines() if line.strip()]
        assert [w[:2] for w in words if w[0] == "epoch"] == [["epoch", "train_loss"]]
        assert [w[0] for w in words if w[0].isdigit()] == ["1", "2", "3"]
    # A progress bar over the ceil(100 / 32) = 4 mini-batches of every epoch.
    bars = captured.err.replace("\r", "\n")
    assert bars.count("0/4 [") == 2 * 3
