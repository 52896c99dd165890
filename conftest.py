"""Doctest collection of the package with and without its optional extras."""

import importlib.util


def _missing(*names):
    return any(importlib.util.find_spec(name) is None for name in names)


# The package's doctests run with `python -m pytest`. Modules and docstrings
# that need an optional extra are skipped when it is not installed, as the
# tests in tests/ are (pytest.importorskip), so that the core install alone
# runs the suite.
collect_ignore = []
if _missing("torch", "skorch"):
    collect_ignore += [
        "sklearn_selfdistill/callbacks.py",
        "sklearn_selfdistill/nets.py",
    ]
if _missing("matplotlib"):
    collect_ignore += ["sklearn_selfdistill/_plot.py"]
