"""Warnings and errors raised by :mod:`sklearn_selfdistill`."""

__all__ = [
    "InfeasibleEpsilonError",
    "SelfDistillationCollapseError",
    "SelfDistillationCollapseWarning",
]


class SelfDistillationCollapseWarning(UserWarning):
    """A round of self-distillation collapsed to the zero function.

    Raised as a warning by ``fit`` when ``on_collapse="warn"`` and the mean
    square of a round's targets fell to ``epsilon`` or below (Sec. 2.1 of
    Mobahi et al., 2020): that round and every later round predict zero (the
    mean of ``y`` when ``normalize_y=True``). The message names the round.
    """


class SelfDistillationCollapseError(ValueError):
    """A round of self-distillation collapsed and ``on_collapse="raise"``."""


class InfeasibleEpsilonError(ValueError):
    """``epsilon`` is at or below the smallest training MSE the kernel reaches.

    No function of the reproducing kernel Hilbert space fits the training
    targets to a mean squared error of ``epsilon`` (eq. (1) of Mobahi et al.,
    2020 has no solution): the part of ``y`` in the null space of the Gram
    matrix (with a low-rank ``eigen_solver``, also outside the kept
    directions) carries more energy. A subclass of :class:`ValueError`, so
    ``except ValueError`` keeps catching it.

    Parameters
    ----------
    message : str
        What happened and how to fix it.
    floor : float
        The smallest reachable training mean squared error, in the units of
        ``epsilon``.
    epsilon : float, default=None
        The tolerance that was asked for.

    Attributes
    ----------
    floor : float
        The smallest reachable training mean squared error; any ``epsilon``
        above it (and below the targets' mean square) is feasible.
    epsilon : float or None
        The infeasible tolerance.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_selfdistill import SelfDistilledKernelRidge
    >>> from sklearn_selfdistill.exceptions import InfeasibleEpsilonError
    >>> X = np.zeros((4, 1))  # one repeated point: only the mean is fittable
    >>> y = np.array([1.0, -1.0, 2.0, 0.0])
    >>> try:
    ...     SelfDistilledKernelRidge(epsilon=0.1).fit(X, y)
    ... except InfeasibleEpsilonError as error:
    ...     print(round(error.floor, 4))
    1.25
    """

    def __init__(self, message, *, floor, epsilon=None):
        super().__init__(message)
        self.floor = float(floor)
        self.epsilon = None if epsilon is None else float(epsilon)

    def __reduce__(self):
        return (_rebuild_infeasible, (self.args[0], self.floor, self.epsilon))


def _rebuild_infeasible(message, floor, epsilon):
    return InfeasibleEpsilonError(message, floor=floor, epsilon=epsilon)
