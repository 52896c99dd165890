"""Sphinx configuration of the sklearn_selfdistill documentation."""

import os
import re
import sys
import warnings

# The gallery runs in this process. Its linear algebra is small, and a
# multithreaded BLAS stalls on a busy machine (an eigendecomposition of a few
# hundred points went from 0.06 s to 2.4 s), so use one thread.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from threadpoolctl import threadpool_limits

threadpool_limits(limits=1, user_api="blas")
sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.abspath("."))

import sklearn_selfdistill

from _numbers import compute as _compute_numbers, rst_prolog as _numbers_prolog

project = "sklearn_selfdistill"
author = "The sklearn_selfdistill developers"
copyright = "2026, The sklearn_selfdistill developers"
version = release = sklearn_selfdistill.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.extlinks",
    "sphinx.ext.mathjax",
    # MathJax 3 shipped with the build: the math renders with no network.
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# Files whose name starts with an underscore are included by other pages.
exclude_patterns = ["_build", "_*.rst", "**/README.rst", "sg_execution_times.rst"]
templates_path = ["_templates"]
# Relative to _static/, where sphinx-mathjax-offline copies MathJax.
mathjax_path = "mathjax/tex-chtml.js"

# Every number the user guide quotes is computed here, at build time, by the
# code that the gallery and the command line run (see _numbers.py), and used
# in the guide as a substitution such as |prop6_ratio_high|.
rst_prolog = _numbers_prolog(_compute_numbers())

autosummary_generate = True
autodoc_default_options = {"members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

extlinks = {
    "arxiv": ("https://arxiv.org/abs/%s", "arXiv:%s"),
    "doi": ("https://doi.org/%s", "doi:%s"),
}

html_theme = "pydata_sphinx_theme"
html_title = "sklearn_selfdistill"
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "show_prev_next": False,
}
html_static_path = ["_static"]
html_css_files = ["css/custom.css"]

# The examples run with the Agg backend, one torch thread, without warnings
# from third-party deprecations cluttering the pages.
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", category=UserWarning, message=".*non-GUI backend.*")

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    "doc_module": ("sklearn_selfdistill",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sklearn_selfdistill": None},
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
}

_TYPE_LINE = re.compile(r"^(\s*\**\w+\s:\s)(.*)$")
# Methods inherited from scikit-learn (``set_fit_request``...) cite its
# glossary and user guide, which are not part of this site.
_SKLEARN_ROLE = re.compile(r":(?:term|ref):`(?:([^`<]+?)\s*<([^`>]+)>|([^`]+))`")
_SKLEARN_PAGES = {
    "metadata_routing": "https://scikit-learn.org/stable/metadata_routing.html",
}


def _sklearn_role(match):
    text, label, bare = match.groups()
    if label in _SKLEARN_PAGES:
        return f"`{text} <{_SKLEARN_PAGES[label]}>`__"
    return text or bare
_TRAILING_UNDERSCORE = re.compile(r"(?<![`\w])([A-Za-z]\w*_)(?![`\w])")


def _tidy_docstring(app, what, name, obj, options, lines):
    """Join backslash-continued lines (raw docstrings keep the backslash),
    quote names ending with an underscore in parameter types, where docutils
    would read ``name_`` as a hyperlink reference, and point scikit-learn's
    glossary terms and routing guide of inherited methods to plain text and
    scikit-learn's site."""
    joined = []
    for line in lines:
        if joined and joined[-1].endswith("\\"):
            joined[-1] = joined[-1][:-1].rstrip() + " " + line.strip()
        else:
            joined.append(line)
    for i, line in enumerate(joined):
        match = _TYPE_LINE.match(line)
        if match:
            joined[i] = match.group(1) + _TRAILING_UNDERSCORE.sub(
                r"``\1``", match.group(2)
            )
    if (getattr(obj, "__module__", None) or "").startswith("sklearn."):
        joined = [_SKLEARN_ROLE.sub(_sklearn_role, line) for line in joined]
    lines[:] = joined


def setup(app):
    app.connect("autodoc-process-docstring", _tidy_docstring, priority=100)
