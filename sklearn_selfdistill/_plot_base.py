"""What the Displays share: axes, artist styles, legend labels and titles.

Every Display of the package draws the same way, following scikit-learn's
Displays: ``plot(ax=None, *, name=None, **kwargs)`` creates a figure (with a
constrained layout, so titles and labels are never clipped) only when no axes
is given, passes ``kwargs`` to its artists over its own defaults, and sets a
title only on the axes it created. Each model drawn on an axes gets its own
legend entries: a label already on the axes gets a numbered suffix, and
``name=""`` leaves the name out.
"""

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils._plotting import _validate_style_kwargs

#: Colour map of the rounds when one Display draws several of them.
ROUND_CMAP = "viridis"


def _get_axes(display, ax, figsize=None):
    """The axes to draw on, and whether the Display created it."""
    check_matplotlib_support(f"{type(display).__name__}.plot")
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax, False
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax, True


def _style(defaults, kwargs):
    """The user's matplotlib keyword arguments over the Display's defaults.

    Aliases (``c`` for ``color``, ``ls`` for ``linestyle``...) replace the
    default they stand for; both spellings from the user raise ``TypeError``.
    """
    return _validate_style_kwargs(defaults, dict(kwargs))


def _round_colors(n):
    """``n`` colours of the sequential round colour map, dark to light."""
    from matplotlib import colormaps

    cmap = colormaps[ROUND_CMAP]
    if n == 1:
        return [cmap(0.0)]
    return [cmap(x) for x in np.linspace(0.0, 0.85, n)]


def _taken_labels(ax):
    return set(ax.get_legend_handles_labels()[1])


def _model_prefix(ax, name, taken=None):
    """``name``, numbered if the axes already shows a model of that name.

    ``taken`` lists the labels on the axes before this Display drew; ``None``
    reads them from ``ax``.
    """
    if not name:
        return None
    taken = _taken_labels(ax) if taken is None else taken
    prefixes = {label.split(",")[0] for label in taken}
    if name not in prefixes:
        return name
    k = 2
    while f"{name} ({k})" in prefixes:
        k += 1
    return f"{name} ({k})"


def _label(prefix, text):
    return text if not prefix else f"{prefix}, {text}"


def _finish(display, ax, created, *, title, legend=True):
    """Set the title (on a created axes only), the legend and the attributes."""
    if created and title:
        ax.set_title(title)
    if legend:
        ax.legend()
    display.ax_ = ax
    display.figure_ = ax.figure
    return display
