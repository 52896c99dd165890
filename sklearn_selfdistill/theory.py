"""Bounds of Sec. 3 of Mobahi et al. (2020), with the sqrt(K * epsilon) erratum.

The paper writes :math:`\\sqrt{K}\\epsilon` in eq. (24), (25), (37), (44) and
Prop. 3-6. With ``epsilon`` the mean squared tolerance of eq. (1) the training
residual has norm :math:`\\sqrt{K\\epsilon}`, and every bound below uses that
quantity; with the literal :math:`\\sqrt{K}\\epsilon` the bounds fail on random
problems. ``eigenvalues`` are those of :math:`G = g(X, X) / K` (eq. (16)), e.g.
``SelfDistilledKernelRidge().fit(X, y).eigenvalues_``.
"""

import numpy as np

__all__ = ["multiplier_bounds", "guaranteed_rounds", "basis_ratio_bound"]


def _prepare(eigenvalues, y, epsilon):
    d = np.asarray(eigenvalues, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).ravel()
    if d.ndim != 1 or d.shape != y.shape:
        raise ValueError(
            "eigenvalues and y must be 1-D arrays of the same length (one "
            f"eigenvalue of G per training target); got {d.shape} and {y.shape}."
        )
    if not np.isfinite(epsilon) or epsilon <= 0:
        raise ValueError(f"epsilon must be finite and > 0; got {epsilon!r}.")
    n = d.shape[0]
    return d, float(np.linalg.norm(y)), float(np.sqrt(n * epsilon))


def multiplier_bounds(eigenvalues, y, epsilon):
    """Bracket of the multiplier c of one round, eq. (25) corrected.

    .. math::

        \\frac{d_{min}\\sqrt{K\\epsilon}}{\\|y\\| - \\sqrt{K\\epsilon}}
        \\le c \\le
        \\frac{d_{max}\\sqrt{K\\epsilon}}{\\|y\\| - \\sqrt{K\\epsilon}}

    Parameters
    ----------
    eigenvalues : array-like of shape (K,)
        Eigenvalues of the normalised Gram matrix G.
    y : array-like of shape (K,)
        Targets of the round.
    epsilon : float
        Training mean squared error tolerance of eq. (1).

    Returns
    -------
    low, high : float
        The bracket; ``low`` is 0 when G is singular (then only the upper end
        holds in closed form).

    Raises
    ------
    ValueError
        If ``mean(y^2) <= epsilon``: the solution is zero (collapse) and no
        positive multiplier exists.

    Examples
    --------
    >>> from sklearn_selfdistill.theory import multiplier_bounds
    >>> low, high = multiplier_bounds([2.0, 1.0], [1.0, 1.0], 0.25)
    >>> round(low, 6), round(high, 6)
    (1.0, 2.0)
    """
    d, y_norm, root = _prepare(eigenvalues, y, epsilon)
    if y_norm <= root:
        raise ValueError(
            f"mean(y^2) = {y_norm**2 / d.size:.6g} <= epsilon = {epsilon:.6g}: the "
            "epsilon-constrained solution is the zero function (collapse) and "
            "has no multiplier."
        )
    # ||y|| - sqrt(K eps) = (||y||^2 - K eps) / (||y|| + sqrt(K eps)): no cancellation.
    denom = (y_norm**2 - root**2) / (y_norm + root)
    d_min = float(d.min()) if d.min() > 0 else 0.0
    return d_min * root / denom, float(d.max()) * root / denom


def guaranteed_rounds(eigenvalues, y, epsilon):
    """Rounds of self-distillation before collapse guaranteed by Prop. 4.

    .. math::

        \\underline{t} = \\frac{\\|y_0\\| / \\sqrt{K\\epsilon} - 1}{\\kappa},
        \\qquad \\kappa = d_{max} / d_{min},

    eq. (44) with the corrected :math:`\\sqrt{K\\epsilon}`: at least
    ``floor(t)`` rounds after round 0 do not collapse. For realistic kernels
    :math:`\\kappa` is huge and the bound is below 1.

    Parameters
    ----------
    eigenvalues : array-like of shape (K,)
        Eigenvalues of G.
    y : array-like of shape (K,)
        Labels :math:`y_0`.
    epsilon : float
        Tolerance of eq. (1).

    Returns
    -------
    t : float
        The bound; 0 when G is singular (:math:`\\kappa = \\infty`) or when
        round 0 already collapses.

    Examples
    --------
    >>> from sklearn_selfdistill.theory import guaranteed_rounds
    >>> guaranteed_rounds([2.0, 1.0], [3.0, 4.0], 0.5)
    2.0
    """
    d, y_norm, root = _prepare(eigenvalues, y, epsilon)
    if d.min() <= 0 or y_norm <= root:
        return 0.0
    return float((y_norm / root - 1.0) / (d.max() / d.min()))


def basis_ratio_bound(eigenvalues, y, epsilon, t):
    """Lower bounds of Prop. 5 on the ratios of the entries of B_t.

    For :math:`d_k > d_j` and :math:`t \\le \\underline{t}` (Prop. 4),

    .. math::

        \\frac{B_t[k]}{B_t[j]} \\ge \\left(
        \\frac{\\|y_0\\|/\\sqrt{K\\epsilon} - 1 + d_{min}/d_j}
             {\\|y_0\\|/\\sqrt{K\\epsilon} - 1 + d_{min}/d_k}\\right)^{t+1},

    eq. (47) with the corrected :math:`\\sqrt{K\\epsilon}`. The entries with a
    larger eigenvalue keep more of their weight: :math:`B_t` gets sparser.

    Parameters
    ----------
    eigenvalues : array-like of shape (K,)
        Eigenvalues of G, all positive.
    y : array-like of shape (K,)
        Labels :math:`y_0`.
    epsilon : float
        Tolerance of eq. (1).
    t : int
        Round, ``0 <= t <= guaranteed_rounds(eigenvalues, y, epsilon)``.

    Returns
    -------
    bound : ndarray of shape (K, K)
        ``bound[k, j]`` is a lower bound of ``B_t[k] / B_t[j]``: the right-hand
        side of eq. (47) where ``d_k > d_j`` and the trivial bound 0 elsewhere.

    Raises
    ------
    ValueError
        If G is singular or ``t`` is outside the range of Prop. 5.
    """
    d, y_norm, root = _prepare(eigenvalues, y, epsilon)
    if d.min() <= 0:
        raise ValueError(
            "basis_ratio_bound needs a nonsingular G (all eigenvalues > 0); "
            "Prop. 5 is vacuous with a null space."
        )
    t_low = guaranteed_rounds(d, y, epsilon)
    if t < 0 or (t > t_low and not np.isclose(t, t_low)):
        raise ValueError(
            f"Prop. 5 holds for 0 <= t <= {t_low:.6g} (Prop. 4) here; got t={t}."
        )
    a = y_norm / root - 1.0
    ratio = (a + d.min() / d[None, :]) / (a + d.min() / d[:, None])
    bound = ratio ** (t + 1)
    return np.where(d[:, None] > d[None, :], bound, 0.0)
