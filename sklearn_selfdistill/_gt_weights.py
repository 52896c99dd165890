"""The ground-truth weights of the CV search: the grid and the deprecated name.

``ground_truth_weights`` (a float, or a sequence searched with epsilon and the
rounds) replaced ``ground_truth_weight`` in the CV classes; the old name is
honoured with a ``FutureWarning`` until it is removed.
"""

import warnings
from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Hidden, Interval, StrOptions

__all__ = [
    "GROUND_TRUTH_WEIGHTS_CONSTRAINTS",
    "check_ground_truth_weights",
    "resolve_ground_truth_weights",
]

GROUND_TRUTH_WEIGHTS_CONSTRAINTS = {
    "ground_truth_weights": [Interval(Real, 0, 1, closed="left"), "array-like"],
    # Deprecated in 0.1 (renamed ground_truth_weights), removed in 0.3.
    "ground_truth_weight": [
        Interval(Real, 0, 1, closed="left"), Hidden(StrOptions({"deprecated"})),
    ],
}


def check_ground_truth_weights(weights):
    """The grid of ground-truth weights as a 1-D array, and whether it is one float.

    A float is a grid of one weight that is not a searched parameter (no
    ``param_ground_truth_weight`` column, 2-D ``loo_errors_``), as a fixed
    estimator parameter is for :class:`~sklearn.model_selection.GridSearchCV`.
    """
    scalar = np.ndim(weights) == 0
    grid = np.atleast_1d(np.asarray(weights, dtype=np.float64))
    if grid.ndim != 1 or grid.shape[0] == 0:
        raise ValueError(
            "ground_truth_weights must be a float in [0, 1) or a non-empty 1-D "
            f"sequence of such floats (the grid); got shape {grid.shape}."
        )
    if not np.all(np.isfinite(grid)) or np.any(grid < 0) or np.any(grid >= 1):
        raise ValueError(
            "ground_truth_weights must lie in [0, 1) (0 is the paper's "
            "self-distillation, 1 would ignore the teacher); got "
            f"{grid.tolist()}."
        )
    return grid, scalar


def resolve_ground_truth_weights(estimator):
    """The weight grid of a CV estimator, honouring ``ground_truth_weight``.

    Returns ``(grid, scalar)`` as :func:`check_ground_truth_weights`. The
    deprecated name warns (``FutureWarning``) and is used in place of the
    default ``ground_truth_weights``; setting both is an error.
    """
    weights = estimator.ground_truth_weights
    old = estimator.ground_truth_weight
    if not (isinstance(old, str) and old == "deprecated"):
        warnings.warn(
            "ground_truth_weight was renamed ground_truth_weights in 0.1 (it "
            "also takes a sequence, the grid to search) and will be removed "
            f"in 0.3; pass ground_truth_weights={old!r} instead.",
            FutureWarning,
            stacklevel=6,
        )
        if np.ndim(weights) != 0 or float(weights) != 0.0:
            raise ValueError(
                "Both ground_truth_weight (deprecated) and ground_truth_weights "
                "were set; pass only ground_truth_weights."
            )
        weights = old
    return check_ground_truth_weights(weights)
