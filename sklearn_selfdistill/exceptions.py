"""Warnings and errors raised by :mod:`sklearn_selfdistill`."""

__all__ = ["SelfDistillationCollapseWarning", "SelfDistillationCollapseError"]


class SelfDistillationCollapseWarning(UserWarning):
    """A round of self-distillation collapsed to the zero function.

    Raised as a warning by ``fit`` when ``on_collapse="warn"`` and the mean
    square of a round's targets fell to ``epsilon`` or below (Sec. 2.1 of
    Mobahi et al., 2020): that round and every later round predict zero (the
    mean of ``y`` when ``normalize_y=True``). The message names the round.
    """


class SelfDistillationCollapseError(ValueError):
    """A round of self-distillation collapsed and ``on_collapse="raise"``."""
