"""Doctest collection of the package with and without its optional extras."""

import ast
import importlib.util
from pathlib import Path

PACKAGE = Path(__file__).parent / "sklearn_selfdistill"


def _missing(*names):
    return any(importlib.util.find_spec(name) is None for name in names)


def _top_level_imports(path):
    """Absolute module names and package-private siblings imported at import time.

    Only statements at the module's top level count: an import inside a
    function (the package's lazy imports of its extras) does not.
    """
    absolute, siblings = set(), set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            absolute.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                absolute.add(node.module.split(".")[0])
            elif node.module:
                siblings.add(node.module.split(".")[0])
            else:
                siblings.update(alias.name for alias in node.names)
    return absolute, siblings


def _modules_needing(extras):
    """The package's modules that import one of ``extras`` when imported,
    directly or through a sibling module."""
    imports = {p.stem: _top_level_imports(p) for p in PACKAGE.glob("*.py")}
    needing = {name for name, (absolute, _) in imports.items() if absolute & extras}
    grown = True
    while grown:
        more = {name for name, (_, siblings) in imports.items()
                if siblings & needing} - needing
        needing |= more
        grown = bool(more)
    return sorted(needing)


# The package's doctests run with `python -m pytest`. Modules that import an
# optional extra at import time are skipped when it is not installed, as the
# tests in tests/ are (pytest.importorskip), so that the core install alone
# runs the suite.
_EXTRAS = {"torch": ("torch", "skorch"), "plot": ("matplotlib",)}
collect_ignore = []
for _names in _EXTRAS.values():
    if _missing(*_names):
        collect_ignore += [f"sklearn_selfdistill/{name}.py"
                           for name in _modules_needing(set(_names))]
