"""Doctest collection of the package with and without its optional extras."""

import importlib.util

# The package's doctests run with `python -m pytest`. Modules and docstrings
# that need an optional extra are skipped when it is not installed, as the
# tests in tests/ are (pytest.importorskip), so that the core install alone
# runs the suite.
collect_ignore = []
if importlib.util.find_spec("torch") is None or importlib.util.find_spec(
    "skorch"
) is None:
    collect_ignore += ["sklearn_selfdistill/callbacks.py", "sklearn_selfdistill/nets.py"]
if importlib.util.find_spec("matplotlib") is None:
    collect_ignore += ["sklearn_selfdistill/_plot.py"]
