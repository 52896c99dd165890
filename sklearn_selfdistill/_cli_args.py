"""Argument types and checks shared by the subcommands of the command line.

Every argument is checked before any work starts: a bad value is one line on
stderr naming the flag and the fix, and exit status 2 (argparse's convention).
"""

import argparse
import math
import os
import tempfile

DEFAULT_OUT = "selfdistill_output"

#: Resolution of the figures the subcommands write (dots per inch).
FIGURE_DPI = 120

#: Seeds go to ``numpy.random.RandomState``, which takes 0 to 2**32 - 1.
MAX_SEED = 2**32 - 1


class UsageError(Exception):
    """An invalid combination of arguments, found after parsing.

    ``str(error)`` reads like argparse's own messages: ``argument FLAG: ...``.
    """

    def __init__(self, flag, message):
        super().__init__(f"argument {flag}: {message}")


class CommandError(Exception):
    """A subcommand could not run (a missing dependency, no network, ...)."""


def integer(low, high=None, *, what):
    """argparse type: an integer in ``[low, high]``; ``what`` says what it counts."""
    bounds = f">= {low}" if high is None else f"from {low} to {high}"

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be an integer {bounds} ({what}); got {text!r}"
            ) from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(
                f"must be an integer {bounds} ({what}); got {text!r}"
            )
        return value

    parse.__name__ = "integer"
    return parse


def real(low, high=None, *, low_open=True, high_open=False, what):
    """argparse type: a finite number in the interval from ``low`` to ``high``.

    ``low_open`` and ``high_open`` exclude the ends; ``high=None`` means no
    upper end.
    """
    if high is None:
        bounds = f"{'>' if low_open else '>='} {low:g}"
    else:
        bounds = (f"in {'(' if low_open else '['}{low:g}, {high:g}"
                  f"{')' if high_open else ']'}")

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        inside = math.isfinite(value) and (value > low if low_open else value >= low)
        if high is not None:
            inside = inside and (value < high if high_open else value <= high)
        if not inside:
            raise argparse.ArgumentTypeError(
                f"must be a number {bounds} ({what}); got {text!r}"
            )
        return value

    parse.__name__ = "number"
    return parse


def seed():
    return integer(0, MAX_SEED, what="the random seed")


def check_out(out, flag="--out"):
    """Raise :class:`UsageError` unless files can be written under ``out``.

    ``out`` need not exist (the subcommand creates it when it writes); the
    nearest existing folder above it must be writable. Nothing is left behind.
    """
    if not out:
        raise UsageError(flag, "must name a folder; got an empty string")
    path = os.path.abspath(out)
    probe = path
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        where = "exists and" if probe == path else f"is inside {probe!r}, which"
        raise UsageError(
            flag, f"{out!r} {where} is a file, not a folder; choose a folder to "
            "write into"
        )
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise UsageError(
            flag, f"cannot write into {probe!r} ({exc.strerror or exc}); choose "
            "a writable folder"
        ) from None


NO_MATPLOTLIB = ("matplotlib is not installed: no figures (pip install "
                 "'sklearn-selfdistill[plot]').")


def pyplot(announce=True):
    """matplotlib.pyplot with the Agg backend, or None.

    Without matplotlib, ``announce`` prints :data:`NO_MATPLOTLIB` (the caller
    prints it otherwise).
    """
    try:
        import matplotlib
    except ImportError:
        if announce:
            print(NO_MATPLOTLIB)
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path):
    """Write ``fig`` to ``path`` as the subcommands do, and close it."""
    import matplotlib.pyplot as plt

    try:
        fig.savefig(path, dpi=FIGURE_DPI)
    finally:
        plt.close(fig)


def one_line(text):
    """``text`` with its line breaks folded, for a one-line error message."""
    return " ".join(str(text).split())
