"""The main job: ``python -m sklearn_selfdistill`` (the paper's Sec. 4)."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose

import sklearn_selfdistill
from sklearn_selfdistill import SelfDistilledKernelRidge
from sklearn_selfdistill._cli import main
from sklearn_selfdistill.datasets import load_paper_example

ROW = re.compile(
    r"^\s*(\d+)\s+(\S+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s+(yes|no)\s*$", re.MULTILINE
)


def parse_table(text):
    return [
        (int(t), float(c), float(train), float(test), int(big), flag == "yes")
        for t, c, train, test, big, flag in ROW.findall(text)
    ]


def reference(epsilon, n_rounds):
    X, y = load_paper_example()
    model = SelfDistilledKernelRidge(
        kernel="green_spline", epsilon=epsilon, n_rounds=n_rounds, on_collapse="ignore"
    ).fit(X, y)
    grid = np.linspace(0.0, 1.0, 501).reshape(-1, 1)
    truth = np.sin(2 * np.pi * grid[:, 0])
    test_mse = [np.mean((f - truth) ** 2) for f in model.staged_predict(grid)]
    return model, np.array(test_mse)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("illustrate")
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["--out", str(out)])
    return code, buffer.getvalue(), out


def test_table_matches_the_estimator(default_run):
    code, text, _ = default_run
    assert code == 0
    rows = parse_table(text)
    model, test_mse = reference(0.045, 5)
    assert [r[0] for r in rows] == list(range(6))
    for t, c, train, test, big, collapsed in rows:
        assert collapsed == bool(model.collapsed_[t])
        if collapsed:
            assert c == np.inf
            assert big == 0
        else:
            assert_allclose(c, model.c_[t], rtol=5e-5)  # printed with 5 digits
            B = model.basis_coefficients_[t]
            assert big == int(np.sum(B > 0.01 * B.max()))
        assert abs(train - model.train_mse_[t]) <= 5e-6
        assert abs(test - test_mse[t]) <= 5e-6
    # The paper's finding on its data: four rounds (t = 0..3), then collapse;
    # round 0 fits to epsilon; the test error is lowest after some distillation.
    assert [r[5] for r in rows] == [False] * 4 + [True] * 2
    assert rows[0][2] == 0.045
    best = int(np.argmin(test_mse))
    assert best == 1
    assert "4 non-collapsed rounds" in text
    assert f"lowest at round {best}" in text
    assert "below 0.04186" in text


def test_figures_are_written(default_run):
    _, text, out = default_run
    image = pytest.importorskip("matplotlib.image")
    for name in ("illustrate_fits.png", "illustrate_basis_coefficients.png"):
        path = out / name
        assert path.is_file()
        assert str(path) in text
        pixels = image.imread(str(path))
        assert pixels.ndim == 3 and min(pixels.shape[:2]) > 200
        # Not a blank canvas.
        assert pixels[..., :3].std() > 0.05


def test_infeasible_epsilon_message(tmp_path, capsys):
    # The paper's own epsilon is below what the kernel reaches on its data:
    # an argument error, found before anything runs.
    with pytest.raises(SystemExit) as exc:
        main(["illustrate", "--epsilon", "0.04", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert exc.value.code == 2
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert re.search(r"argument --epsilon: 0\.04 is below .*\(0\.04186", captured.err)
    assert "choose --epsilon > 0.04186" in captured.err
    assert not any(tmp_path.iterdir())


def test_other_epsilon_and_rounds(tmp_path, capsys):
    code = main(["--epsilon", "0.06", "--rounds", "2", "--out", str(tmp_path)])
    rows = parse_table(capsys.readouterr().out)
    assert code == 0
    model, test_mse = reference(0.06, 2)
    assert len(rows) == 3
    for t, c, train, test, _, collapsed in rows:
        assert collapsed == bool(model.collapsed_[t])
        if not collapsed:
            assert_allclose(c, model.c_[t], rtol=5e-5)
        assert abs(train - model.train_mse_[t]) <= 5e-6
        assert abs(test - test_mse[t]) <= 5e-6


def test_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code = main(["--out", str(tmp_path / "figs")])
    text = capsys.readouterr().out
    assert code == 0
    assert "matplotlib is not installed" in text
    assert len(parse_table(text)) == 6
    assert not (tmp_path / "figs").exists()


def test_module_entry_point(tmp_path):
    root = os.path.dirname(os.path.dirname(sklearn_selfdistill.__file__))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_selfdistill", "--help"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, env=env,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("usage: python -m sklearn_selfdistill ")
    assert "Without a subcommand, 'illustrate' runs" in result.stdout
