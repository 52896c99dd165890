"""``selfdistill nets --basis-kernel ntk``: its flags and its protocol."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sklearn_selfdistill import _cli_nets
from sklearn_selfdistill._cli import main
from sklearn_selfdistill._cli_ntk import kernel_gd_coefficients
from sklearn_selfdistill.exceptions import SelfDistillationCollapseWarning


@pytest.fixture
def no_run(monkeypatch):
    def fail(args):
        raise AssertionError("the subcommand ran despite an invalid argument")

    monkeypatch.setattr(_cli_nets, "run_nets", fail)


NTK = ["nets", "--basis-kernel", "ntk"]
INVALID = [
    (["nets", "--basis-kernel", "rbf"], "--basis-kernel", "invalid choice: 'rbf'"),
    ([*NTK, "--arch", "vgg11"], "--basis-kernel", "use --arch mlp, not vgg11"),
    ([*NTK, "--loss", "cross_entropy"], "--loss", "use --loss l2"),
    (["nets", "--widths", "64"], "--widths", "only with --basis-kernel ntk"),
    (["nets", "--depth", "2"], "--depth", "only with --basis-kernel ntk"),
    (["nets", "--bias-std", "0.1"], "--bias-std", "only with --basis-kernel ntk"),
    ([*NTK, "--widths", "0,5"], "--widths", "comma-separated integers >= 1"),
    ([*NTK, "--widths", "a,b"], "--widths", "got 'a,b'"),
    ([*NTK, "--widths", "1,2,3,4,5,6"], "--widths", "1 to 5 comma-separated"),
    ([*NTK, "--depth", "0"], "--depth", "must be an integer >= 1"),
    ([*NTK, "--weight-std", "0"], "--weight-std", "must be a number > 0"),
    ([*NTK, "--weight-std", "inf"], "--weight-std", "must be a number > 0"),
    ([*NTK, "--bias-std", "-1"], "--bias-std", "must be a number >= 0"),
    ([*NTK, "--dataset", "cifar10"], "--train-size", "must be <= 5000"),
]


@pytest.mark.parametrize("argv, flag, fix", INVALID,
                         ids=[" ".join(case[0]) for case in INVALID])
def test_invalid_flag_is_one_line_and_exit_2(argv, flag, fix, capsys, no_run,
                                             tmp_path):
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith(f"selfdistill nets: error: argument {flag}")
    assert fix in captured.err
    assert not (tmp_path / "out").exists()


def test_kernel_gd_coefficients_are_gradient_descent_in_the_eigenbasis():
    # E steps of f <- f - 2 lr K/n (f - y) from f = 0, then a second round on
    # the first one's outputs: U^T f_t / U^T y = g^(t + 1).
    rng = np.random.RandomState(0)
    A = rng.standard_normal((12, 12))
    G = A @ A.T / 12
    d, U = np.linalg.eigh(G)
    d, U = d[::-1], U[:, ::-1]
    y = rng.standard_normal(12)
    lr, epochs = 0.4 / d[0], 7
    target, ratios = y, []
    for _ in range(3):
        f = np.zeros(12)
        for _ in range(epochs):
            f = f - 2 * lr * G @ (f - target)
        ratios.append((U.T @ f) / (U.T @ y))
        target = f
    assert_allclose(ratios, kernel_gd_coefficients(d, lr, epochs, 2), rtol=1e-9,
                    atol=1e-12)


def test_nets_ntk_matches_the_protocol_by_hand(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from sklearn_selfdistill import SelfDistillationWrapper, SelfDistilledKernelRidge
    from sklearn_selfdistill.kernels import ntk_kernel
    from sklearn_selfdistill.nets import DistillNetRegressor

    rc = main([*NTK, "--widths", "16,48", "--rounds", "1", "--epochs", "40",
               "--repeats", "1", "--train-size", "60", "--label-noise", "0",
               "--bias-std", "0.2", "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "NTK ridge" in out and "B_t gap" in out
    rec = np.loadtxt(tmp_path / "nets_ntk_digits_depth1.csv", delimiter=",",
                     skiprows=1)
    assert rec.shape == (6, 5)
    assert_allclose(rec[:, 1:3], [[16, 0], [16, 1], [48, 0], [48, 1], [0, 0], [0, 1]])
    assert (tmp_path / "nets_ntk_digits_depth1.png").exists()

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, train_size=60, stratify=y,
                                              random_state=0)
    Y = np.eye(10, dtype=np.float32)[y_tr]
    params = {"depth": 1, "weight_std": 0.5, "bias_std": 0.2}
    lr = 0.75 / np.linalg.eigvalsh(ntk_kernel(X_tr, **params) / 60)[-1]
    assert f"SGD lr {lr:.4g}" in out
    torch.set_num_threads(1)
    for i, width in enumerate((16, 48)):
        net = DistillNetRegressor(
            module__hidden_units=(width,), module__parameterization="ntk",
            module__weight_std=0.5, module__bias_std=0.2,
            optimizer=torch.optim.SGD, lr=lr, max_epochs=40, batch_size=60)
        model = SelfDistillationWrapper(net, n_rounds=1, random_state=0,
                                        basis_kernel=None).fit(X_tr, Y)
        assert_allclose(rec[2 * i:2 * i + 2, 3],
                        [np.mean(f.argmax(1) == y_tr)
                         for f in model.staged_predict(X_tr)], atol=1e-6)
        assert_allclose(rec[2 * i:2 * i + 2, 4],
                        [np.mean(f.argmax(1) == y_te)
                         for f in model.staged_predict(X_te)], atol=1e-6)
    mse0 = float(np.mean((next(iter(model.staged_predict(X_tr))) - Y) ** 2))
    with warnings.catch_warnings():  # the main() run ignores collapse too
        warnings.simplefilter("ignore", SelfDistillationCollapseWarning)
        kernel = SelfDistilledKernelRidge(kernel="ntk", kernel_params=params,
                                          epsilon=mse0, n_rounds=1).fit(X_tr, Y)
    assert_allclose(rec[4:, 4], [np.mean(f.argmax(1) == y_te)
                                 for f in kernel.staged_predict(X_te)], atol=1e-6)
    assert not kernel.collapsed_[0].any()  # a real fit, not the zero function
