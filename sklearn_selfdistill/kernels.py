"""Kernels of :mod:`sklearn_selfdistill`.

The only kernel defined here is the Green's function of the paper's
illustrative example (Sec. 4, eq. (57) of Mobahi et al., 2020); every other
kernel comes from :mod:`sklearn.metrics.pairwise` or
:mod:`sklearn.gaussian_process.kernels`.
"""

import numpy as np
from sklearn.utils import check_array

__all__ = ["green_spline_kernel"]


def _check_unit_interval(X, name):
    X = check_array(X, dtype=np.float64, ensure_2d=True, input_name=name)
    if X.shape[1] != 1:
        raise ValueError(
            f"The green_spline kernel is defined for one feature in [0, 1]; {name} "
            f"has {X.shape[1]} features. Select a single feature or use another "
            "kernel such as 'rbf'."
        )
    if X.size and (X.min() < 0.0 or X.max() > 1.0):
        raise ValueError(
            f"The green_spline kernel is defined on [0, 1]; {name} has values in "
            f"[{X.min():.6g}, {X.max():.6g}]. Rescale the feature, e.g. with "
            "sklearn.preprocessing.MinMaxScaler."
        )
    return X[:, 0]


def green_spline_kernel(X, Y=None):
    """Green's function of the spline regulariser of eq. (57).

    For the regulariser ``R(f) = integral of f''(x)^2`` on [0, 1] with boundary
    conditions ``f(0) = f(1) = f''(0) = f''(1) = 0`` (eq. (55)),

    .. math::

        g(x, s) = \\tfrac16 \\max(x - s, 0)^3 - \\tfrac16 x (1 - s) (x^2 - 2 s + s^2).

    The kernel is symmetric and positive semi-definite and vanishes at 0 and 1,
    so every fit passes through zero at both ends.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, 1)
        Points in [0, 1].
    Y : array-like of shape (n_samples_Y, 1), default=None
        Points in [0, 1]; ``None`` means ``X``.

    Returns
    -------
    K : ndarray of shape (n_samples_X, n_samples_Y)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_selfdistill.kernels import green_spline_kernel
    >>> K = green_spline_kernel(np.array([[0.0], [0.5], [1.0]]))
    >>> K.round(6)
    array([[0.      , 0.      , 0.      ],
           [0.      , 0.020833, 0.      ],
           [0.      , 0.      , 0.      ]])
    """
    x = _check_unit_interval(X, "X")
    s = x if Y is None else _check_unit_interval(Y, "Y")
    x = x[:, None]
    s = s[None, :]
    diff = np.maximum(x - s, 0.0)
    K = (diff**3 - x * (1.0 - s) * (x * x - 2.0 * s + s * s)) / 6.0
    if Y is None:
        # Symmetrise exactly: the formula is symmetric only up to round-off.
        K = 0.5 * (K + K.T)
    return K


def _kernel_name(kernel):
    if isinstance(kernel, str):
        return kernel
    return getattr(kernel, "__name__", None) or repr(kernel)


def _pairwise(X, Y=None, *, kernel="rbf", gamma=None, degree=3, coef0=1,
              kernel_params=None):
    """Kernel matrix for every kernel the estimators of this package accept.

    ``kernel`` is a name of :data:`sklearn.metrics.pairwise.PAIRWISE_KERNEL_FUNCTIONS`,
    ``"green_spline"``, ``"precomputed"`` (``X`` is returned as it is), a
    callable on pairs of samples, or a
    :class:`sklearn.gaussian_process.kernels.Kernel` instance.
    """
    from sklearn.gaussian_process.kernels import Kernel
    from sklearn.metrics.pairwise import pairwise_kernels

    if isinstance(kernel, Kernel):
        return np.asarray(kernel(X, Y), dtype=np.float64)
    if isinstance(kernel, str) and kernel == "green_spline":
        return green_spline_kernel(X, Y)
    if callable(kernel):
        params = kernel_params or {}
    else:
        params = {"gamma": gamma, "degree": degree, "coef0": coef0}
        params.update(kernel_params or {})
    return np.asarray(
        pairwise_kernels(X, Y, metric=kernel, filter_params=True, **params),
        dtype=np.float64,
    )
