"""Everything of the kernel estimator works without torch installed.

torch is made unimportable in a fresh interpreter, in two ways: a finder at
the front of ``sys.meta_path`` that refuses torch, torchvision and skorch, and
``sys.modules["torch"] = None``. The second needs ``scipy.stats`` imported
first: SciPy's array-API helpers take any ``"torch"`` entry of ``sys.modules``
for the real module and fail on ``None`` while ``scipy.stats`` is imported.
"""

import os
import subprocess
import sys
import textwrap

import pytest

import sklearn_selfdistill

BLOCKERS = {
    "meta_path": textwrap.dedent(
        """
        import sys

        class NoTorch:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("torch", "torchvision", "skorch"):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, NoTorch())
        """
    ),
    "sys_modules_none": textwrap.dedent(
        """
        import sys
        import scipy.stats  # noqa: F401  (see the module docstring)

        sys.modules["torch"] = None
        """
    ),
}

SCRIPT = textwrap.dedent(
    """
    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    else:
        raise AssertionError("torch is still importable")
    import io, contextlib, tempfile
    import numpy as np

    import sklearn_selfdistill
    from sklearn_selfdistill import SelfDistilledKernelRidge
    from sklearn_selfdistill import datasets, kernels, theory
    from sklearn_selfdistill._cli import main

    X, y = datasets.load_paper_example()
    model = SelfDistilledKernelRidge(
        kernel="green_spline", epsilon=0.045, n_rounds=5, on_collapse="ignore"
    ).fit(X, y)
    assert int((~model.collapsed_).sum()) == 4
    assert model.predict(X).shape == (11,)
    K = kernels.green_spline_kernel(X)
    assert abs(K[5, 5] - 1 / 48) < 1e-15
    low, high = theory.multiplier_bounds(np.ones(11), y, 0.045)
    assert low == high > 0
    with tempfile.TemporaryDirectory() as out:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = main(["illustrate", "--out", out])
    assert code == 0, buffer.getvalue()
    assert "4 non-collapsed rounds" in buffer.getvalue()
    loaded = [m for m in ("torch", "skorch", "torchvision")
              if sys.modules.get(m) is not None]
    assert not loaded, loaded
    print("OK", sklearn_selfdistill.__version__)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("blocker", list(BLOCKERS))
def test_works_without_torch(tmp_path, blocker):
    root = os.path.dirname(os.path.dirname(sklearn_selfdistill.__file__))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    result = subprocess.run(
        [sys.executable, "-c", BLOCKERS[blocker] + SCRIPT],
        capture_output=True, text=True,
        cwd=tmp_path, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f"OK {sklearn_selfdistill.__version__}")


@pytest.mark.slow
def test_imports_and_fits_without_docstrings(tmp_path):
    # python -OO strips every docstring: nothing may read or patch __doc__ at
    # import time. (skorch itself does, so the wrapper is left out.)
    root = os.path.dirname(os.path.dirname(sklearn_selfdistill.__file__))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    script = textwrap.dedent(
        """
        import numpy as np
        import sklearn_selfdistill as sd
        from sklearn_selfdistill import model_selection, theory  # noqa: F401

        assert sd.SelfDistilledKernelRidgeCV.__doc__ is None
        X = np.linspace(0, 1, 30)[:, None]
        y = np.sin(6 * X[:, 0])
        model = sd.SelfDistilledKernelRidgeCV(max_rounds=2, gamma=10.0).fit(X, y)
        print("OK", model.best_n_rounds_ >= 0)
        """
    )
    result = subprocess.run(
        [sys.executable, "-OO", "-c", script], capture_output=True, text=True,
        cwd=tmp_path, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "OK True"
