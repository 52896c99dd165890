"""The arc-cosine recursion of the NNGP and neural tangent kernels of ReLU nets.

One implementation serves numpy and torch: the functions take the array
namespace ``xp`` (the ``numpy`` or ``torch`` module) and use only operations the
two spell alike (``sqrt``, ``arctan2``, ``where``, ``triu``, in-place
arithmetic, broadcasting), so the torch device path evaluates exactly the
recursion the numpy one does. Matrices are computed by blocks of rows, and the
angle is carried as ``1 - cos`` without cancellation (see :func:`first_layer`
and :func:`recursion`).

The network is neural-tangents' ``stax.serial(Dense(W_std, b_std), [Relu(),
Dense(W_std, b_std)] * depth)`` in the NTK parameterization; with ``w =
W_std**2``, ``beta = b_std**2`` and ``d`` input features (Jacot et al., 2018;
Cho and Saul, 2009, for the ReLU expectations)::

    Sigma_0(x, x') = w x.x' / d + beta,      Theta_0 = Sigma_0
    cos(theta) = Sigma_{l-1}(x, x') / sqrt(Sigma_{l-1}(x, x) Sigma_{l-1}(x', x'))
    Sigma_l = w sqrt(Sigma_{l-1}(x, x) Sigma_{l-1}(x', x'))
              * (sin(theta) + (pi - theta) cos(theta)) / (2 pi) + beta
    Theta_l = Sigma_l + Theta_{l-1} w (pi - theta) / (2 pi)

NNGP = ``Sigma_depth``, NTK = ``Theta_depth``.
"""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError

_PI = math.pi
_KERNELS = ("ntk", "nngp")
_PARAMS = ("depth", "weight_std", "bias_std")
# Below this sine the derivative of the angle, d(rho) / sin(theta), is replaced
# by 0: it is O(sin(theta)) analytically, while round-off in d(rho) divided by
# the sine grows as the sine shrinks (the two errors balance near 1e-8).
_SIN_FLOOR = 1e-8
# Pairs whose first-layer cosine is within this of +-1 get 1 -+ cos from the
# rows (an O(d) difference per pair) instead of from the cosine.
_NEAR = 1e-3


def check_params(kernel, params):
    """``{"depth", "weight_std", "bias_std"}`` with defaults, validated.

    Raises ``InvalidParameterError`` (a ``ValueError`` and a ``TypeError``)
    naming the parameter for an unknown key, a depth that is not a
    non-negative integer, a weight_std that is not positive and finite, or a
    bias_std that is not non-negative and finite.
    """
    params = dict(params or {})
    unknown = sorted(set(params) - set(_PARAMS))
    if unknown:
        raise InvalidParameterError(
            f"kernel_params has unknown key(s) {unknown} for kernel={kernel!r}; "
            "the ntk and nngp kernels accept 'depth' (number of ReLU layers), "
            "'weight_std' and 'bias_std'."
        )
    depth = params.get("depth", 1)
    weight_std = params.get("weight_std", math.sqrt(2.0))
    bias_std = params.get("bias_std", 0.0)
    if isinstance(depth, bool) or not isinstance(depth, Integral) or depth < 0:
        raise InvalidParameterError(
            f"depth must be a non-negative integer (the number of ReLU layers), "
            f"got {depth!r}; depth=0 is the affine kernel "
            "weight_std**2 * x.x' / n_features + bias_std**2."
        )
    for name, value, low, what in (
        ("weight_std", weight_std, "positive", "weights"),
        ("bias_std", bias_std, "non-negative", "biases"),
    ):
        ok = isinstance(value, Real) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
        ok = ok and (value > 0 if name == "weight_std" else value >= 0)
        if not ok:
            raise InvalidParameterError(
                f"{name} must be a {low} finite real number (the standard "
                f"deviation of the network's {what}), got "
                f"{value!r}."
            )
    return {"depth": int(depth), "weight_std": float(weight_std),
            "bias_std": float(bias_std)}


def _safe_div(a, b, xp):
    """``a / b`` where ``b > 0``, else 0 (zero-norm rows have zero kernel)."""
    pos = b > 0
    return xp.where(pos, a / xp.where(pos, b, 1.0), 0.0)


def _divide(a, b, positive, xp):
    """``a / b``, or :func:`_safe_div` unless ``b`` is known positive."""
    if positive:
        return a / b
    if xp is np:
        return np.divide(a, b, out=np.zeros_like(a), where=b > 0)
    return _safe_div(a, b, xp)


def _clip_(a, low, high, xp):
    """Clip in place."""
    if xp is np:
        return np.clip(a, low, high, out=a)
    return a.clamp_(low, high)


def _fill_diagonal(A, value, xp):
    if xp is np:
        np.fill_diagonal(A, value)
    elif isinstance(value, float):
        A.diagonal().fill_(value)
    else:
        A.diagonal().copy_(value)
    return A


def diag_recursion(q, *, depth, weight_std, bias_std, ntk):
    """The kernel at (x, x) from ``q = Sigma_0(x, x)``, for any namespace.

    At theta = 0 the recursion reduces to ``Sigma_l = w/2 Sigma_{l-1} + beta``
    and ``Theta_l = Sigma_l + w/2 Theta_{l-1}``; the operations are ordered as
    in :func:`recursion` so that the two agree bit for bit.
    """
    w, beta = weight_std**2, bias_std**2
    c = w / (2.0 * _PI)
    s, t = q, q
    for _ in range(depth):
        s = c * s * _PI + beta
        t = s + t * c * _PI
    return t if ntk else s


def _nonzero(mask, xp):
    return np.nonzero(mask) if xp is np else xp.nonzero(mask, as_tuple=True)


def _norm_products(qx, qy, xp):
    """``sqrt(qx_i qy_j)``; ``sqrt(q q)`` is exactly ``q`` in IEEE arithmetic."""
    P = qx[:, None] * qy[None, :]
    return xp.sqrt(P, out=P) if xp is np else P.sqrt_()


def _sq_norms(A, xp):
    if xp is np:
        from sklearn.utils.extmath import row_norms

        return row_norms(A, squared=True)
    return (A * A).sum(1)


def first_layer(X, Y, qx, qy, *, weight_std, bias_std, xp, diagonal=False):
    """``Sigma_0`` on (X, Y) and the first angle's ``1 - cos``, ``1 + cos``.

    ``qx`` and ``qy`` are ``Sigma_0`` of each row with itself. ``Sigma_0`` is
    the Gram matrix of the augmented inputs ``u = (W_std x / sqrt(d), b_std)``.
    One minus the cosine of nearly parallel ``u`` loses every digit below
    1e-16, and the angle, its square root, would be wrong by 1e-8 (a
    duplicated row would not match itself): for the pairs within ``_NEAR`` of
    parallel or antiparallel, ``1 -+ cos = |u/|u| -+ u'/|u'||^2 / 2`` comes
    from the rows. ``diagonal``: row ``k`` of ``X`` is row ``k`` of ``Y``.
    ``X`` may be a scipy sparse matrix when ``xp`` is numpy.
    """
    scale = weight_std**2 / X.shape[1]
    if xp is np:
        from sklearn.utils.extmath import safe_sparse_dot

        S = safe_sparse_dot(X, Y.T, dense_output=True)
    else:
        S = X @ Y.T
    S *= scale
    S += bias_std**2
    if diagonal:
        _fill_diagonal(S, qx, xp)
    P = _norm_products(qx, qy, xp)
    rho = _clip_(_divide(S, P, False, xp), -1.0, 1.0, xp)
    dm, dp = 1.0 - rho, 1.0 + rho
    i, j = _nonzero((P > 0) & ((dm < _NEAR) | (dp < _NEAR)), xp)
    is_sparse = xp is np and hasattr(X, "tocsr")
    if is_sparse:
        from scipy import sparse

        X, Y = X.tocsr(), Y.tocsr()
    r = math.sqrt(scale)
    chunk = max(1, 2**22 // (X.shape[1] + 1))
    for start in range(0, len(i), chunk):
        ic, jc = i[start:start + chunk], j[start:start + chunk]
        ix, iy = r / xp.sqrt(qx[ic]), r / xp.sqrt(qy[jc])
        if is_sparse:
            a, b = sparse.diags(ix) @ X[ic], sparse.diags(iy) @ Y[jc]
        else:
            a, b = X[ic] * ix[:, None], Y[jc] * iy[:, None]
        # The bias coordinate of u / |u| is b_std / sqrt(q) = b_std ix / r.
        bx, by = bias_std * ix / r, bias_std * iy / r
        dmc = 0.5 * (_sq_norms(a - b, xp) + (bx - by) ** 2)
        dpc = 0.5 * (_sq_norms(a + b, xp) + (bx + by) ** 2)
        dm[ic, jc], dp[ic, jc] = dmc, dpc
        # The covariance from the same numbers: duplicated rows get exactly
        # the covariance of a row with itself.
        S[ic, jc] = xp.where(dmc <= dpc, 1.0 - dmc, dpc - 1.0) * P[ic, jc]
    if diagonal:
        _fill_diagonal(dm, 0.0, xp)
    return S, dm, dp


def kernel_matrix(X, Y=None, *, kernel, depth, weight_std, bias_std, xp,
                  block=2**18):
    """The ntk or nngp matrix, by blocks of about ``block`` entries.

    The recursion is elementwise, so each block of rows needs about twenty
    block-sized temporaries and no n x m one. With ``Y=None`` only the blocks
    on and above the diagonal are computed and mirrored: half the work, and
    exact symmetry whatever the BLAS and the vectorised ``arctan2`` did.
    """
    params = {"depth": depth, "weight_std": weight_std, "bias_std": bias_std}
    if hasattr(X, "tocsr"):  # scipy sparse: rows are sliced
        X = X.tocsr()
        Y = None if Y is None else Y.tocsr()
    scale, beta = weight_std**2 / X.shape[1], bias_std**2
    qx = _sq_norms(X, xp) * scale + beta
    qy = qx if Y is None else _sq_norms(Y, xp) * scale + beta
    n, m = X.shape[0], (X if Y is None else Y).shape[0]
    if xp is np:
        K = np.empty((n, m))
    else:
        K = xp.empty((n, m), dtype=xp.float64, device=X.device)
    rows = max(1, block // max(m, 1))
    for a in range(0, n, rows):
        b = min(a + rows, n)
        c = a if Y is None else 0
        S, dm, dp = first_layer(X[a:b], (X if Y is None else Y)[c:], qx[a:b],
                                qy[c:], xp=xp, diagonal=Y is None,
                                weight_std=weight_std, bias_std=bias_std)
        Kb = recursion(S, qx[a:b], qy[c:], dm, dp, ntk=kernel == "ntk", xp=xp,
                       diagonal=Y is None, **params)
        if Y is None:
            d = Kb[:, : b - a]
            d = xp.triu(d) + xp.triu(d, 1).T
            Kb[:, : b - a] = d
            K[a:, a:b] = Kb.T
        K[a:b, c:] = Kb
    if Y is None:
        _fill_diagonal(K, diag_recursion(qx, ntk=kernel == "ntk", **params), xp)
    return K


def recursion(S, qx, qy, dm, dp, *, depth, weight_std, bias_std, ntk, xp,
              diagonal=False, gradient=None):
    """Sigma_depth or Theta_depth from the first layer's covariance.

    Parameters
    ----------
    S : array of shape (n, m)
        ``Sigma_0(x_i, y_j)``; new arrays are made, ``S`` is not modified.
    qx, qy : arrays of shape (n,), (m,)
        ``Sigma_0(x_i, x_i)`` and ``Sigma_0(y_j, y_j)``.
    dm, dp : arrays of shape (n, m)
        ``1 - cos`` and ``1 + cos`` of the first layer's angle, accurate near
        0 (see :func:`first_layer`); the later layers' ``1 - cos`` is carried
        through the recursion without cancellation, so the angle is accurate
        to round-off near 0 and pi at every depth.
    diagonal : bool
        Row ``k`` of the first layer is its column ``k``: the leading
        diagonal follows :func:`diag_recursion` exactly.
    gradient : None or list of (dw, dbeta, dS, dqx)
        numpy only, for a Gram matrix: for each log-hyperparameter, the
        derivatives of ``w`` and ``beta`` and of the first layer's ``S`` and
        ``qx``; the derivatives of the result are returned as a list.
    """
    w, beta = weight_std**2, bias_std**2
    c = w / (2.0 * _PI)
    T = S if ntk else None
    grads = gradient or []
    dT = [g[2] if ntk else None for g in grads]
    # Without zero rows (always with biases) every norm product is positive.
    positive = bool((qx > 0).all()) and bool((qy > 0).all())
    P = _norm_products(qx, qy, xp)
    for layer in range(depth):
        rho = _clip_(_divide(S, P, positive, xp), -1.0, 1.0, xp)
        if diagonal:
            _fill_diagonal(rho, 1.0, xp)
        if layer:
            dp = 1.0 + rho  # the cosine is >= 0 after a ReLU layer: no loss
        sin = xp.sqrt(dm * dp)
        theta = xp.arctan2(sin, rho)
        # 1 - kappa_1(theta) = (1 - cos) + (theta cos - sin) / pi, the
        # relative gap the next cosine inherits, free of cancellation.
        gap = theta * rho
        gap -= sin
        gap /= _PI
        gap += dm
        arc = theta
        arc *= -1.0
        arc += _PI  # pi - theta
        cP = P * c
        S_new = arc * rho
        S_new += sin
        S_new *= cP
        S_new += beta
        qx_new, qy_new = c * qx * _PI + beta, c * qy * _PI + beta
        if diagonal:
            _fill_diagonal(S_new, qx_new, xp)
        R = _norm_products(qx_new, qy_new, xp)
        # 1 - cos of the next angle is (R - S_new) / R, and with a = sqrt(w q/2),
        # R - S_new = (w/2) P (1 - kappa_1) + beta (a - a')^2 / (R + a a' + beta).
        gap *= cP
        gap *= _PI
        if beta:
            ax, ay = xp.sqrt(c * qx * _PI), xp.sqrt(c * qy * _PI)
            gap += beta * (ax[:, None] - ay[None, :]) ** 2 / (R + _PI * cP + beta)
        if grads:
            grads, dT = _layer_gradient(grads, dT, S, qx, P, rho, sin, arc, T,
                                        w, beta, ntk)
        if ntk:
            T = T * c
            T *= arc
            T += S_new
        dm = _clip_(_divide(gap, R, positive, xp), 0.0, 2.0, xp)
        if diagonal:
            _fill_diagonal(dm, 0.0, xp)
        S, qx, qy, P = S_new, qx_new, qy_new, R
    out = T if ntk else S
    if gradient is not None:
        return out, (dT if ntk else [g[2] for g in grads])
    return out


def _layer_gradient(grads, dT, S, q, P, rho, sin, arc, T, w, beta, ntk):
    """Forward-mode derivatives of one layer (Gram matrices, numpy).

    With ``F = P (sin + arc rho) / pi`` (so ``Sigma_l = w F / 2 + beta``),
    ``dF/dS = arc / pi`` and ``dF/dq = P sin / (2 pi q)``; the angle moves by
    ``d theta = -d rho / sin`` with ``d rho = dS / P - rho (dq/q + dq'/q') / 2``.
    """
    F = P * (sin + arc * rho) / _PI
    new_grads, new_dT = [], []
    for (dw, dbeta, dS, dq), dTk in zip(grads, dT):
        r = _safe_div(dq, q, np)  # d log q
        rr = r[:, None] + r[None, :]
        dF = (arc / _PI) * dS + (P * sin / (2.0 * _PI)) * rr
        dS_new = 0.5 * dw * F + 0.5 * w * dF + dbeta
        dq_new = 0.5 * dw * q + 0.5 * w * dq + dbeta
        np.fill_diagonal(dS_new, dq_new)
        new_grads.append((dw, dbeta, dS_new, dq_new))
        if not ntk:
            new_dT.append(None)
            continue
        if beta == 0.0:
            # The cosine is the same for every W_std: d rho = 0 exactly.
            darc = 0.0
        else:
            drho = _safe_div(dS, P, np) - 0.5 * rho * rr
            big = sin > _SIN_FLOOR
            darc = np.where(big, drho / np.where(big, sin, 1.0), 0.0)
        new_dT.append(dS_new + (w * dTk + dw * T) * arc / (2.0 * _PI)
                          + w * T * darc / (2.0 * _PI))
    return new_grads, new_dT
