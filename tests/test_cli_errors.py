"""Invalid arguments and failed runs of the command line.

Every invalid flag of every subcommand: exit status 2, one line on stderr that
names the flag and the fix, nothing on stdout, no traceback, and no work done
(the subcommands' run functions are replaced by ones that fail the test). A run
that fails is one line on stderr and exit status 1.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import sklearn_selfdistill
from sklearn_selfdistill import _cli, _cli_args, _cli_kernel, _cli_nets
from sklearn_selfdistill._cli import SUBCOMMANDS, main
from sklearn_selfdistill.datasets import load_paper_example

ROOT = os.path.dirname(os.path.dirname(sklearn_selfdistill.__file__))
MEAN_SQ = float(np.mean(load_paper_example()[1] ** 2))


@pytest.fixture
def no_run(monkeypatch):
    def fail(args):
        raise AssertionError("the subcommand ran despite an invalid argument")

    for module, name in [(_cli_kernel, "run_illustrate"), (_cli_kernel, "run_sparsity"),
                         (_cli_kernel, "run_compare"), (_cli_nets, "run_nets")]:
        monkeypatch.setattr(module, name, fail)


INVALID = [
    # (argv, flag named, words of the fix)
    (["illustrate", "--epsilon", "0"], "--epsilon", "must be a number > 0"),
    (["illustrate", "--epsilon", "-1"], "--epsilon", "must be a number > 0"),
    (["illustrate", "--epsilon", "nan"], "--epsilon", "must be a number > 0"),
    (["illustrate", "--epsilon", "inf"], "--epsilon", "must be a number > 0"),
    (["illustrate", "--epsilon", "abc"], "--epsilon", "got 'abc'"),
    (["illustrate", "--epsilon", "0.04"], "--epsilon", "choose --epsilon > 0.04186"),
    (["illustrate", "--epsilon", "0.6"], "--epsilon",
     f"choose --epsilon < {MEAN_SQ:.5f}"),
    (["illustrate", "--rounds", "-1"], "--rounds", "must be an integer >= 0"),
    (["illustrate", "--rounds", "1.5"], "--rounds", "must be an integer >= 0"),
    (["--rounds", "-1"], "--rounds", "must be an integer >= 0"),  # the default
    (["illustrate", "--out", ""], "--out", "must name a folder"),
    (["illustrate", "--epsilon"], "--epsilon", "expected one argument"),
    (["sparsity", "--n-samples", "0"], "--n-samples", "from 2 to 5000"),
    (["sparsity", "--n-samples", "1"], "--n-samples", "from 2 to 5000"),
    (["sparsity", "--n-samples", "5001"], "--n-samples", "from 2 to 5000"),
    (["sparsity", "--kappa", "0"], "--kappa", "must be a number in [1, 1e+10]"),
    (["sparsity", "--kappa", "0.5"], "--kappa", "condition number"),
    (["sparsity", "--kappa", "1e11"], "--kappa", "must be a number in [1, 1e+10]"),
    (["sparsity", "--fractions", "2"], "--fractions", "must be a number in (0, 1)"),
    (["sparsity", "--fractions", "0.1", "1"], "--fractions", "in (0, 1)"),
    (["sparsity", "--fractions", "0"], "--fractions", "in (0, 1)"),
    (["sparsity", "--fractions", "-0.1"], "--fractions", "in (0, 1)"),
    (["sparsity", "--max-rounds", "0"], "--max-rounds", "must be an integer >= 1"),
    (["sparsity", "--seed", "-1"], "--seed", "from 0 to 4294967295"),
    (["sparsity", "--seed", str(2**32)], "--seed", "from 0 to 4294967295"),
    (["compare", "--cv", "1"], "--cv", "must be an integer >= 2"),
    (["compare", "--cv", "0"], "--cv", "must be an integer >= 2"),
    (["compare", "--n-samples", "0"], "--n-samples", "must be an integer >= 1"),
    (["compare", "--n-samples", "5"], "--n-samples", "use --cv <= 2 or more samples"),
    (["compare", "--n-samples", "500"], "--n-samples", "--n-samples <= 442"),
    (["compare", "--cv", "300"], "--cv", "use --cv <= 221"),
    (["compare", "--dataset", "digits", "--n-samples", "2000"], "--n-samples",
     "--n-samples <= 1797"),
    (["compare", "--dataset", "digits", "--cv", "60"], "--cv", "use --cv <= 50"),
    (["compare", "--dataset", "digits", "--n-samples", "30"], "--n-samples",
     "at least 50 samples"),
    (["compare", "--label-noise", "0.2"], "--label-noise", "digits only"),
    (["compare", "--dataset", "digits", "--label-noise", "1.5"], "--label-noise",
     "must be a number in [0, 1]"),
    (["compare", "--epsilon", "0"], "--epsilon", "must be a number > 0"),
    (["compare", "--gamma", "-2"], "--gamma", "must be a number > 0"),
    (["compare", "--gamma", "inf"], "--gamma", "must be a number > 0"),
    (["compare", "--rounds", "-1"], "--rounds", "must be an integer >= 0"),
    (["compare", "--dataset", "iris"], "--dataset", "invalid choice: 'iris'"),
    (["compare", "--seed", "-3"], "--seed", "from 0 to 4294967295"),
    (["compare", "--epsilon", "nan"], "--epsilon", "must be a number > 0"),
    (["nets", "--dataset", "mnist"], "--dataset", "invalid choice: 'mnist'"),
    (["nets", "--device", "tpu"], "--device", "invalid choice: 'tpu'"),
    (["nets", "--seed", "x"], "--seed", "from 0 to 4294967295"),
    (["nets", "--repeats", "0"], "--repeats", "must be an integer >= 1"),
    (["nets", "--epochs", "0"], "--epochs", "must be an integer >= 1"),
    (["nets", "--rounds", "-2"], "--rounds", "must be an integer >= 0"),
    (["nets", "--batch-size", "0"], "--batch-size", "must be an integer >= 1"),
    (["nets", "--lr", "0"], "--lr", "must be a number > 0"),
    (["nets", "--lr", "nan"], "--lr", "must be a number > 0"),
    (["nets", "--train-size", "0"], "--train-size", "must be an integer >= 1"),
    (["nets", "--train-size", "5"], "--train-size", "from 10 to 1787"),
    (["nets", "--train-size", "1790"], "--train-size", "from 10 to 1787"),
    (["nets", "--dataset", "cifar10", "--train-size", "60000"], "--train-size",
     "from 1 to 50000"),
    (["nets", "--label-noise", "-0.1"], "--label-noise", "in [0, 1]"),
    (["nets", "--label-noise", "2"], "--label-noise", "in [0, 1]"),
    (["nets", "--threads", "0"], "--threads", "must be an integer >= 1"),
    (["nets", "--seed", str(2**32 - 1), "--repeats", "2"], "--seed",
     "choose --seed <= 4294967294"),
    (["nets", "--arch", "resnet99"], "--arch", "invalid choice: 'resnet99'"),
    (["nets", "--loss", "hinge"], "--loss", "invalid choice: 'hinge'"),
]


def _command(argv):
    return argv[0] if argv[0] in SUBCOMMANDS else "illustrate"


def assert_one_line_error(capsys, prefix):
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith(prefix), captured.err
    assert "Traceback" not in captured.err
    return captured.err


@pytest.mark.parametrize("argv, flag, fix", INVALID,
                         ids=[" ".join(case[0]) for case in INVALID])
def test_invalid_flag_is_one_line_and_exit_2(argv, flag, fix, capsys, no_run,
                                             tmp_path):
    out = [] if "--out" in argv else ["--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as exc:
        main([*argv, *out])
    assert exc.value.code == 2
    err = assert_one_line_error(
        capsys, f"selfdistill {_command(argv)}: error: argument {flag}")
    assert fix in err
    assert f"(see 'selfdistill {_command(argv)} --help')" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_unwritable_out_is_found_before_any_work(name, tmp_path, capsys, no_run,
                                                 monkeypatch):
    blocker = tmp_path / "results.txt"
    blocker.write_text("not a folder")
    for out, words in [(blocker, "exists and is a file, not a folder"),
                       (blocker / "figs", "which is a file, not a folder")]:
        with pytest.raises(SystemExit) as exc:
            main([name, "--out", str(out)])
        assert exc.value.code == 2
        err = assert_one_line_error(capsys, f"selfdistill {name}: error: "
                                            "argument --out:")
        assert words in err and "choose a folder to write into" in err

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_cli_args.tempfile, "TemporaryFile", denied)
    with pytest.raises(SystemExit) as exc:
        main([name, "--out", str(tmp_path / "new" / "figs")])
    assert exc.value.code == 2
    err = assert_one_line_error(capsys, f"selfdistill {name}: error: argument --out:")
    assert f"cannot write into '{tmp_path}' (Permission denied)" in err
    assert "choose a writable folder" in err
    assert not (tmp_path / "new").exists()


def test_writable_out_is_probed_without_leaving_anything(tmp_path):
    _cli_args.check_out(str(tmp_path / "a" / "b"))
    assert list(tmp_path.iterdir()) == []


def test_mistyped_subcommand_is_an_invalid_choice(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sparsty", "--kappa", "5"])
    assert exc.value.code == 2
    err = assert_one_line_error(capsys, "selfdistill: error: argument SUBCOMMAND: "
                                        "invalid choice: 'sparsty'")
    assert "(choose from 'illustrate', 'sparsity', 'compare', 'nets')" in err


def test_unknown_option_goes_to_the_default_subcommand(capsys, no_run):
    with pytest.raises(SystemExit) as exc:
        main(["--kappa", "5"])
    assert exc.value.code == 2
    err = assert_one_line_error(capsys, "selfdistill illustrate: error: ")
    assert "unrecognized arguments: --kappa 5" in err


def test_cuda_without_a_device_is_an_argument_error(capsys, no_run, tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(SystemExit) as exc:
        main(["nets", "--device", "cuda", "--out", str(tmp_path)])
    assert exc.value.code == 2
    err = assert_one_line_error(capsys, "selfdistill nets: error: argument --device:")
    assert "use --device cpu" in err


def test_help_and_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: illustrate)" in out
    assert ("Without a subcommand, 'illustrate' runs: 'selfdistill --epsilon 0.05' "
            "is 'selfdistill illustrate --epsilon 0.05'") in out
    assert "2 for invalid arguments" in out and "1 when a run fails" in out
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == (
        f"sklearn-selfdistill {sklearn_selfdistill.__version__}\n")


# Runs that fail: one line, exit status 1 ----------------------------------


def test_estimator_error_is_one_line_and_exit_1(capsys, tmp_path):
    # Within round-off of mean(y^2) epsilon collapses at round 0: the sparsity
    # table has nothing to measure and says so.
    rc = main(["sparsity", "--n-samples", "10", "--fractions", "0.9999999999999999",
               "--out", str(tmp_path)])
    assert rc == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("selfdistill sparsity: error: epsilon = 1 "
                                   "mean(y^2) collapses at round 0")
    assert "choose a smaller fraction" in captured.err


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_nets_without_torch_is_one_line_and_exit_1(device, capsys, monkeypatch,
                                                   tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)
    rc = main(["nets", "--device", device, "--out", str(tmp_path)])
    assert rc == 1
    assert capsys.readouterr().err == (
        "selfdistill nets: error: nets needs torch and skorch (pip install "
        "'sklearn-selfdistill[torch]').\n")


def test_infeasible_epsilon_inside_compare_is_one_line_and_exit_1(capsys, tmp_path):
    # gamma = 1e-9 makes the RBF kernel numerically constant: most of y lies in
    # the null space and epsilon = 0.001 is out of reach, found by the fit.
    rc = main(["compare", "--n-samples", "40", "--cv", "2", "--rounds", "1",
               "--epsilon", "0.001", "--gamma", "1e-9", "--out", str(tmp_path)])
    assert rc == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("selfdistill compare: error: epsilon=0.001 is "
                                   "below the smallest training mean squared error")
    assert "Choose epsilon > " in captured.err
    assert "Traceback" not in captured.err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("error, expected", [
    (MemoryError("Unable to allocate 74.5 GiB"), "MemoryError: Unable to allocate"),
    (OSError(28, "No space left on device"), "OSError: [Errno 28] No space left"),
    (ValueError("first line\nsecond line"), "first line second line"),
])
def test_runtime_failures_are_one_line_and_exit_1(error, expected, capsys,
                                                  monkeypatch, tmp_path):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(_cli_kernel, "sparsity_table", fail)
    rc = main(["sparsity", "--out", str(tmp_path)])
    assert rc == 1
    err = capsys.readouterr().err
    assert err == f"selfdistill sparsity: error: {expected}" + err.split(expected)[1]
    assert err.count("\n") == 1


def test_bugs_keep_their_traceback(monkeypatch, tmp_path):
    # Only failures of the run are turned into a message; a bug is not hidden.
    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(_cli_kernel, "sparsity_table", bug)
    with pytest.raises(ZeroDivisionError):
        main(["sparsity", "--out", str(tmp_path)])


# The console script and python -m ------------------------------------------


def test_console_script_and_module_exit_status(tmp_path):
    tomllib = pytest.importorskip("tomllib")  # the standard library from 3.11
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        scripts = tomllib.load(f)["project"]["scripts"]
    assert scripts == {"selfdistill": "sklearn_selfdistill._cli:main"}
    module, attr = scripts["selfdistill"].split(":")
    assert getattr(__import__(module, fromlist=[attr]), attr) is _cli.main
    # The launcher pip writes for a console script.
    launcher = tmp_path / "selfdistill"
    launcher.write_text(textwrap.dedent("""\
        import re
        import sys
        from sklearn_selfdistill._cli import main
        if __name__ == "__main__":
            sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
            sys.exit(main())
        """))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [ROOT, *filter(None, [os.environ.get("PYTHONPATH")])])}
    runs = {
        "selfdistill": [sys.executable, str(launcher)],
        "python -m sklearn_selfdistill": [sys.executable, "-m", "sklearn_selfdistill"],
    }
    for prog, command in runs.items():
        result = subprocess.run([*command, "sparsity", "--kappa", "0"],
                                capture_output=True, text=True, cwd=tmp_path,
                                timeout=120, env=env)
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith(f"{prog} sparsity: error: argument --kappa: "
                                         "must be a number in [1, 1e+10]")
