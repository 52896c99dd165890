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
    assert out.startswith(f"usage: python -m sklearn_selfdistill {name}")
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
        t_g = min(int(np.floor(t_low)), len(expected) - 1)
        assert row["ratio_at_guaranteed"] == pytest.approx(expected[t_g], rel=1e-7)
    # What the subcommand reports: per round, larger epsilon sparsifies more.
    assert rows[0]["ratio_round_0"] < rows[1]["ratio_round_0"] < rows[2]["ratio_round_0"]


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
    assert "grows with epsilon" in out or "shrinks with epsilon" in out
    with open(os.path.join(tmp_path, "sparsity.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
