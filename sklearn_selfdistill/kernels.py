"""Kernels of :mod:`sklearn_selfdistill`.

The Green's function of the paper's illustrative example (Sec. 4, eq. (57) of
Mobahi et al., 2020), and the neural tangent kernel and NNGP kernel of fully
connected ReLU networks (Jacot et al., 2018), the kernels of the infinitely
wide networks that Sec. 5 of the paper appeals to. Every other kernel comes
from :mod:`sklearn.metrics.pairwise` or :mod:`sklearn.gaussian_process.kernels`.
"""

import math

import numpy as np
from sklearn.gaussian_process.kernels import Hyperparameter, Kernel
from sklearn.utils import check_array
from sklearn.utils.extmath import row_norms

from . import _ntk

__all__ = ["green_spline_kernel", "ntk_kernel", "nngp_kernel", "NTK", "NNGP"]


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


_RECURSION_DOC = r"""
    The kernel of the network ``stax.serial(Dense(W_std, b_std), [Relu(),
    Dense(W_std, b_std)] * depth)`` of neural-tangents in the NTK
    parameterization (each layer ``h = W_std W z / sqrt(fan_in) + b_std b``
    with ``W`` and ``b`` standard normal, the last ``Dense`` the readout), in
    the limit of infinite width. With ``d`` input features,

    .. math::

        \Sigma_0(x, x') = W^2 x \cdot x' / d + b^2, \qquad
        \Theta_0 = \Sigma_0,

    and for each ReLU layer, with :math:`\theta` the angle whose cosine is
    :math:`\Sigma_{l-1}(x, x') / \sqrt{\Sigma_{l-1}(x, x)\Sigma_{l-1}(x', x')}`,

    .. math::

        \Sigma_l &= \frac{W^2}{2\pi}
            \sqrt{\Sigma_{l-1}(x, x)\Sigma_{l-1}(x', x')}
            \left(\sin\theta + (\pi - \theta)\cos\theta\right) + b^2, \\
        \Theta_l &= \Sigma_l + \Theta_{l-1} \frac{W^2 (\pi - \theta)}{2\pi}.

    The NNGP kernel is :math:`\Sigma_{depth}`, the neural tangent kernel
    :math:`\Theta_{depth}`; ``depth=0`` gives the affine kernel
    :math:`W^2 x \cdot x' / d + b^2`. Kernel ridge regression with the NTK is
    what training the infinitely wide network on the squared loss converges
    to (Jacot et al., 2018), the bridge by which Sec. 5 of the paper carries
    its kernel analysis over to networks.
"""


def _arccos_kernel(X, Y, *, kernel, depth, weight_std, bias_std,
                   free_gradient=None):
    """The ntk or nngp matrix of validated parameters (numpy, whole matrices).

    ``free_gradient`` (a list of ``"weight_std"``/``"bias_std"``, Gram matrix
    only) also returns the derivatives with respect to their logarithms.
    """
    X = check_array(X, accept_sparse=("csr", "csc"), dtype=np.float64,
                    input_name="X")
    if Y is not None:
        Y = check_array(Y, accept_sparse=("csr", "csc"), dtype=np.float64,
                        input_name="Y")
        if Y.shape[1] != X.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features but Y has {Y.shape[1]}; the "
                f"{kernel} kernel compares samples with the same features."
            )
    params = {"depth": depth, "weight_std": weight_std, "bias_std": bias_std}
    if free_gradient is None:
        return _ntk.kernel_matrix(X, Y, kernel=kernel, xp=np, **params)
    # The gradient (Gram matrix only, for Gaussian processes): one block.
    w, beta = weight_std**2, bias_std**2
    q = row_norms(X, squared=True) * (w / X.shape[1]) + beta
    S, dm, dp = _ntk.first_layer(X, X, q, q, weight_std=weight_std,
                                 bias_std=bias_std, xp=np, diagonal=True)
    gradient = []
    for name in free_gradient:
        if name == "weight_std":
            gradient.append((2.0 * w, 0.0, 2.0 * (S - beta), 2.0 * (q - beta)))
        else:
            gradient.append((0.0, 2.0 * beta, np.full_like(S, 2.0 * beta),
                             np.full_like(q, 2.0 * beta)))
    K, dK = _ntk.recursion(S, q, q, dm, dp, xp=np, diagonal=True,
                           gradient=gradient, ntk=kernel == "ntk", **params)
    K = np.triu(K) + np.triu(K, 1).T
    np.fill_diagonal(K, _ntk.diag_recursion(q, ntk=kernel == "ntk", **params))
    return K, (np.stack(dK, axis=-1) if dK else np.empty(K.shape + (0,)))


def ntk_kernel(X, Y=None, *, depth=1, weight_std=math.sqrt(2.0), bias_std=0.0):
    """Neural tangent kernel of a fully connected ReLU network.
    %s
    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples_X, n_features)
    Y : {array-like, sparse matrix} of shape (n_samples_Y, n_features)
        Default ``None`` means ``X``; the result is then exactly symmetric.
    depth : int, default=1
        Number of ReLU layers (hidden layers of the network).
    weight_std : float, default=sqrt(2)
        Standard deviation ``W_std`` of every layer's weights, the readout's
        included (``sqrt(2)`` is He's initialisation).
    bias_std : float, default=0.0
        Standard deviation ``b_std`` of every layer's biases.

    Returns
    -------
    K : ndarray of shape (n_samples_X, n_samples_Y)

    See Also
    --------
    nngp_kernel : The network's Gaussian-process kernel.
    NTK : The same kernel as a scikit-learn ``Kernel`` object.

    References
    ----------
    A. Jacot, F. Gabriel, C. Hongler. Neural tangent kernel: convergence and
    generalization in neural networks. NeurIPS 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_selfdistill.kernels import ntk_kernel
    >>> X = np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, -2.0, 1.0]])
    >>> ntk_kernel(X).round(6)
    array([[ 1.333333,  0.733631,  0.474508],
           [ 0.733631,  1.333333, -0.193707],
           [ 0.474508, -0.193707,  6.666667]])
    """
    params = _ntk.check_params("ntk", {"depth": depth, "weight_std": weight_std,
                                       "bias_std": bias_std})
    return _arccos_kernel(X, Y, kernel="ntk", **params)


def nngp_kernel(X, Y=None, *, depth=1, weight_std=math.sqrt(2.0),
                bias_std=0.0):
    """Gaussian-process (NNGP) kernel of a fully connected ReLU network.

    The covariance of the outputs of the randomly initialised network of
    :func:`ntk_kernel` in the limit of infinite width: the kernel of training
    only its readout layer.
    %s
    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples_X, n_features)
    Y : {array-like, sparse matrix} of shape (n_samples_Y, n_features)
        Default ``None`` means ``X``; the result is then exactly symmetric.
    depth : int, default=1
        Number of ReLU layers (hidden layers of the network).
    weight_std : float, default=sqrt(2)
        Standard deviation ``W_std`` of every layer's weights.
    bias_std : float, default=0.0
        Standard deviation ``b_std`` of every layer's biases.

    Returns
    -------
    K : ndarray of shape (n_samples_X, n_samples_Y)

    See Also
    --------
    ntk_kernel : The neural tangent kernel of the same network.
    NNGP : The same kernel as a scikit-learn ``Kernel`` object.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_selfdistill.kernels import nngp_kernel
    >>> X = np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0]])
    >>> nngp_kernel(X).round(6)
    array([[0.666667, 0.451698],
           [0.451698, 0.666667]])
    """
    params = _ntk.check_params("nngp", {"depth": depth,
                                        "weight_std": weight_std,
                                        "bias_std": bias_std})
    return _arccos_kernel(X, Y, kernel="nngp", **params)


for _f in (ntk_kernel, nngp_kernel):
    if _f.__doc__:  # None under python -OO
        _f.__doc__ = _f.__doc__ % _RECURSION_DOC


class _ArcCosineKernel(Kernel):
    """The NTK and NNGP of ReLU networks as scikit-learn ``Kernel`` objects."""

    _kind = None

    def __init__(self, depth=1, weight_std=math.sqrt(2.0), bias_std=0.0,
                 weight_std_bounds=(1e-5, 1e5), bias_std_bounds=(1e-5, 1e5)):
        self.depth = depth
        self.weight_std = weight_std
        self.bias_std = bias_std
        self.weight_std_bounds = weight_std_bounds
        self.bias_std_bounds = bias_std_bounds

    @property
    def hyperparameter_depth(self):
        return Hyperparameter("depth", "numeric", "fixed")

    @property
    def hyperparameter_weight_std(self):
        return Hyperparameter("weight_std", "numeric", self.weight_std_bounds)

    @property
    def hyperparameter_bias_std(self):
        # log(0) is -inf: a network without biases stays without them.
        bounds = "fixed" if self.bias_std == 0 else self.bias_std_bounds
        return Hyperparameter("bias_std", "numeric", bounds)

    def _params(self):
        return _ntk.check_params(self._kind, {
            "depth": self.depth, "weight_std": self.weight_std,
            "bias_std": self.bias_std})

    def __call__(self, X, Y=None, eval_gradient=False):
        """The kernel matrix ``k(X, Y)`` and, optionally, its gradient.

        Parameters
        ----------
        X : ndarray of shape (n_samples_X, n_features)
        Y : ndarray of shape (n_samples_Y, n_features), default=None
            ``None`` evaluates ``k(X, X)``, exactly symmetric.
        eval_gradient : bool, default=False
            Also return the gradient with respect to the logarithms of the
            free hyperparameters (``Y`` must be ``None``). It is exact up to
            about 1e-8 relative for pairs of nearly parallel inputs, where the
            derivative of the angle is computed from a vanishing sine.

        Returns
        -------
        K : ndarray of shape (n_samples_X, n_samples_Y)
        K_gradient : ndarray of shape (n_samples_X, n_samples_X, n_dims)
            Only when ``eval_gradient`` is True; the last axis follows
            ``self.theta``.
        """
        params = self._params()
        if not eval_gradient:
            return _arccos_kernel(X, Y, kernel=self._kind, **params)
        if Y is not None:
            raise ValueError("Gradient can only be evaluated when Y is None.")
        free = [h.name for h in self.hyperparameters if not h.fixed]
        return _arccos_kernel(X, None, kernel=self._kind, free_gradient=free,
                              **params)

    def diag(self, X):
        """``k(x, x)`` for each row, without forming the matrix.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        K_diag : ndarray of shape (n_samples,)
        """
        params = self._params()
        X = check_array(X, dtype=np.float64, input_name="X")
        q = row_norms(X, squared=True) * (params["weight_std"]**2 / X.shape[1])
        return _ntk.diag_recursion(q + params["bias_std"]**2,
                                   ntk=self._kind == "ntk", **params)

    def is_stationary(self):
        """False: the kernel depends on the inputs' norms, not their difference."""
        return False

    def __repr__(self):
        return (f"{type(self).__name__}(depth={self.depth}, "
                f"weight_std={self.weight_std:.3g}, bias_std={self.bias_std:.3g})")


class NTK(_ArcCosineKernel):
    """Neural tangent kernel of a fully connected ReLU network.

    The kernel of :func:`ntk_kernel` as a
    :class:`sklearn.gaussian_process.kernels.Kernel`, usable in
    :class:`sklearn.kernel_ridge.KernelRidge`,
    :class:`sklearn.gaussian_process.GaussianProcessRegressor` (which can tune
    ``weight_std`` and ``bias_std`` by maximum likelihood, with the analytic
    gradient) and every estimator of this package.

    Parameters
    ----------
    depth : int, default=1
        Number of ReLU layers; a fixed hyperparameter.
    weight_std : float, default=sqrt(2)
        Standard deviation of every layer's weights.
    bias_std : float, default=0.0
        Standard deviation of every layer's biases. At 0 (no biases) it is
        held fixed, since its logarithm is the optimizer's coordinate; start
        from a positive value to tune it.
    weight_std_bounds, bias_std_bounds : pair of floats >= 0 or "fixed", \
            default=(1e-5, 1e5)
        The range the optimizer of a Gaussian process explores.

    See Also
    --------
    ntk_kernel : The function, with the recursion.
    NNGP : The Gaussian-process kernel of the same network.

    Examples
    --------
    >>> from sklearn.kernel_ridge import KernelRidge
    >>> from sklearn_selfdistill.kernels import NTK
    >>> X = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    >>> model = KernelRidge(alpha=0.1, kernel=NTK(depth=2)).fit(X, [0.0, 1.0, 1.0])
    >>> model.predict([[0.5, 0.5]]).round(4)
    array([0.4939])
    """

    _kind = "ntk"


class NNGP(_ArcCosineKernel):
    """Gaussian-process (NNGP) kernel of a fully connected ReLU network.

    The kernel of :func:`nngp_kernel` as a
    :class:`sklearn.gaussian_process.kernels.Kernel`; see :class:`NTK` for the
    parameters, which are the same.

    Parameters
    ----------
    depth : int, default=1
        Number of ReLU layers; a fixed hyperparameter.
    weight_std : float, default=sqrt(2)
        Standard deviation of every layer's weights.
    bias_std : float, default=0.0
        Standard deviation of every layer's biases; held fixed at 0.
    weight_std_bounds, bias_std_bounds : pair of floats >= 0 or "fixed", \
            default=(1e-5, 1e5)
        The range the optimizer of a Gaussian process explores.

    Examples
    --------
    >>> from sklearn_selfdistill.kernels import NNGP
    >>> NNGP(depth=2, bias_std=0.1)([[1.0, 0.0], [0.0, 1.0]]).round(4)
    array([[1.03  , 0.5208],
           [0.5208, 1.03  ]])
    """

    _kind = "nngp"


def _arccos_kernel_torch(A, B=None, *, kernel="ntk", kernel_params=None):
    """The ntk or nngp matrix of torch tensors, on their device, in float64.

    The same recursion as :func:`ntk_kernel` (the operations are shared), for
    the torch solvers: no round trip through the host.
    """
    import torch

    p = _ntk.check_params(kernel, kernel_params)
    a = A.to(torch.float64)
    if B is not None and B.shape[1] != a.shape[1]:
        raise ValueError(
            f"X has {a.shape[1]} features but Y has {B.shape[1]}; the {kernel} "
            "kernel compares samples with the same features."
        )
    if B is not None:
        B = B.to(device=a.device, dtype=torch.float64)
    return _ntk.kernel_matrix(a, B, kernel=kernel, xp=torch, block=2**22, **p)


def _kernel_name(kernel):
    if isinstance(kernel, str):
        return kernel
    return getattr(kernel, "__name__", None) or repr(kernel)


def _pairwise(X, Y=None, *, kernel="rbf", gamma=None, degree=3, coef0=1,
              kernel_params=None):
    """Kernel matrix for every kernel the estimators of this package accept.

    ``kernel`` is a name of :data:`sklearn.metrics.pairwise.PAIRWISE_KERNEL_FUNCTIONS`,
    ``"green_spline"``, ``"ntk"`` or ``"nngp"`` (``kernel_params`` ``depth``,
    ``weight_std``, ``bias_std``; ``gamma``, ``degree`` and ``coef0`` are
    ignored), ``"precomputed"`` (``X`` is returned as it is), a
    callable on pairs of samples, or a
    :class:`sklearn.gaussian_process.kernels.Kernel` instance.
    """
    from sklearn.metrics.pairwise import pairwise_kernels

    if isinstance(kernel, Kernel):
        return np.asarray(kernel(X, Y), dtype=np.float64)
    if isinstance(kernel, str) and kernel == "green_spline":
        return green_spline_kernel(X, Y)
    if isinstance(kernel, str) and kernel in _ntk._KERNELS:
        params = _ntk.check_params(kernel, kernel_params)
        return _arccos_kernel(X, Y, kernel=kernel, **params)
    if callable(kernel):
        params = kernel_params or {}
    else:
        params = {"gamma": gamma, "degree": degree, "coef0": coef0}
        params.update(kernel_params or {})
    return np.asarray(
        pairwise_kernels(X, Y, metric=kernel, filter_params=True, **params),
        dtype=np.float64,
    )
