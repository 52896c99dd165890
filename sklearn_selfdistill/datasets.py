"""Data of the paper's illustrative example (Sec. 4 of Mobahi et al., 2020)."""

import numpy as np

__all__ = ["load_paper_example"]

# The eleven noisy targets of the paper's Fig. 2 (published with the toy example of
# Borup & Andersen, 2021, who reused the exact values), for x = 0, 0.1, ..., 1.
_PAPER_TARGETS = np.array(
    [
        0.38476636465198066,
        1.2333967683416893,
        1.33232242218057,
        0.69201594888895180,
        -0.29756145531871736,
        -0.24189291901377769,
        -0.7964485769175675,
        -0.9616480167034174,
        -0.49672509509916934,
        -0.3469066003991437,
        0.5589512650600734,
    ]
)


def load_paper_example():
    """The training set of the paper's illustrative example.

    Eleven points ``x = 0, 0.1, ..., 1`` with noisy targets
    ``y = sin(2 pi x) + N(0, 0.5^2)`` (the paper's own draw). With the spline
    kernel of eq. (57) the end points lie in the null space of the Gram matrix
    and alone leave a training MSE of 0.04186, so the paper's epsilon = 0.04 is
    unreachable; epsilon = 0.045 gives four non-zero rounds and then collapse,
    as the paper reports.

    Returns
    -------
    X : ndarray of shape (11, 1)
    y : ndarray of shape (11,)

    Examples
    --------
    >>> from sklearn_selfdistill.datasets import load_paper_example
    >>> X, y = load_paper_example()
    >>> X.shape, y.shape
    ((11, 1), (11,))
    """
    X = np.linspace(0.0, 1.0, 11).reshape(-1, 1)
    return X, _PAPER_TARGETS.copy()
