"""The grid of epsilons of the CV estimators.

The default grid is placed between the smallest training MSE the solver in
use reaches on the training data (below it eq. (21) has no root) and half the
targets' mean square (at the mean square round 0 collapses, Sec. 2.1 of
Mobahi et al., 2020); a user's grid is checked and sorted.
"""

import numpy as np

from ._distill import min_reachable_mse

__all__ = ["check_epsilons", "check_reference_scale", "default_epsilons"]

_N_DEFAULT_EPSILONS = 8
_DEFAULT_EPSILON_RANGE = (1e-3, 0.5)


def default_epsilons(spectrum, Y, sample_weight=None, mean_square=None):
    """The default grid: 8 points between the reachable floor and ``y``'s scale.

    Today's reference range is ``[1e-3, 0.5] * mean(Y^2)``. An epsilon at or
    below the smallest training MSE the solver reaches (``floor``: the energy
    of ``y`` in the null space, and with a low-rank solver outside the kept
    directions, over ``K``; eq. (21) has no root there) is infeasible, and one
    at or above an output's mean square collapses round 0. So the grid is
    ``floor + geomspace(low - floor, high - floor, 8)`` with ``floor`` the
    largest over the outputs on this spectrum, ``high = 0.5 * min_q
    mean(y_q^2)`` and ``low = max(1e-3 * mean(Y^2), floor + 1e-3 (high -
    floor))``: geometric in the distance to the floor, which sets the
    multiplier ``c`` of eq. (21), and exactly today's grid when the floor is 0.

    Parameters
    ----------
    spectrum : Spectrum
        The spectrum of the training data with the solver in use.
    Y : ndarray of shape (K, Q)
        The coded training targets.
    sample_weight : ndarray of shape (K,), default=None
        Positive weights of the rows: the mean squares are weighted, as the
        training MSE of a weighted fit is.
    mean_square : ndarray of shape (Q,), default=None
        Those (weighted) mean squares of the columns of ``Y`` when the caller
        knows them already (the search passes its coding's, which a dask
        ``Y`` needs: it is not read again).

    Returns
    -------
    epsilons : ndarray of shape (8,)
        Increasing, every point above the floor of every output.
    """
    low_factor, high_factor = _DEFAULT_EPSILON_RANGE
    if mean_square is None:
        mean_square = np.average(Y * Y, axis=0, weights=sample_weight)
    reference = float(np.mean(mean_square))
    d, Z = spectrum.augmented()
    floor = max(
        min_reachable_mse(d, Z[:, q], n_samples=spectrum.n_samples)
        for q in range(Z.shape[1])
    )
    high = high_factor * float(mean_square.min())
    if not high > floor:
        # An output (almost) without fittable energy: stay below the largest
        # mean square instead; that output collapses at round 0.
        high = floor + high_factor * (float(mean_square.max()) - floor)
    low = max(low_factor * reference, floor + low_factor * (high - floor))
    if not high > low:
        return np.geomspace(low_factor, high_factor, _N_DEFAULT_EPSILONS) * reference
    return floor + np.geomspace(low - floor, high - floor, _N_DEFAULT_EPSILONS)


def check_reference_scale(reference_mse):
    """Raise if the targets' mean square (the default grid's scale) overflows."""
    if not np.isfinite(reference_mse):
        raise ValueError(
            "The mean square of y overflows float64, so the default grid "
            "of epsilons (fractions of it) cannot be represented; pass "
            "normalize_y=True (epsilons relative to var(y)) or rescale y."
        )


def check_epsilons(epsilons):
    """A user's grid of epsilons: a non-empty 1-D array of positive floats."""
    grid = np.asarray(epsilons, dtype=np.float64)
    if grid.ndim != 1 or grid.shape[0] == 0:
        raise ValueError(
            "epsilons must be a non-empty 1-D array of positive floats (one "
            f"scalar tolerance per grid point); got shape {grid.shape}."
        )
    if not np.all(np.isfinite(grid)) or np.any(grid <= 0):
        raise ValueError(
            f"epsilons must be finite and > 0; got {grid.tolist()}."
        )
    return grid
