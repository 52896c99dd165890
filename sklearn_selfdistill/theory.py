"""Bounds of Sec. 3 of Mobahi et al. (2020), with the sqrt(K * epsilon) erratum.

The paper writes :math:`\\sqrt{K}\\epsilon` in eq. (24), (25), (37), (44) and
Prop. 3-6. With ``epsilon`` the mean squared tolerance of eq. (1) the training
residual has norm :math:`\\sqrt{K\\epsilon}`, and every bound below uses that
quantity; with the literal :math:`\\sqrt{K}\\epsilon` the bounds fail on random
problems. ``eigenvalues`` are those of :math:`G = g(X, X) / K` (eq. (16)), e.g.
``SelfDistilledKernelRidge().fit(X, y).eigenvalues_``.

The eigenvalues are read as the estimators read them: a most-negative one below
``-1e-8 * max|d|`` means the kernel is not positive semi-definite (an error),
and those at or below ``K * finfo(float64).eps * d_max`` count as exactly zero
(the numerical null space).
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["multiplier_bounds", "guaranteed_rounds", "basis_ratio_bound"]

# The estimators' tolerances (see the module docstring).
_PSD_TOLERANCE = 1e-8
_EPSILON = Interval(Real, 0, None, closed="neither")


def _as_array(values, name):
    try:
        return check_array(values, ensure_2d=False, dtype=np.float64,
                           input_name=name)
    except (TypeError, ValueError) as exc:
        if name in str(exc):
            raise
        raise ValueError(f"{name} must be an array of real numbers: {exc}") from None


def _prepare(eigenvalues, y, epsilon):
    """Validated eigenvalues (null space set to 0), ||y||^2 and K epsilon, rescaled."""
    d = _as_array(eigenvalues, "eigenvalues")
    y = _as_array(y, "y")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if d.ndim != 1 or y.ndim != 1 or d.shape != y.shape:
        raise ValueError(
            "eigenvalues and y must be 1-D arrays of the same length (one "
            f"eigenvalue of G per training target, one output); got shapes "
            f"{d.shape} and {y.shape}."
        )
    d_max = float(d.max())
    if d_max <= 0:
        raise ValueError(
            "eigenvalues must contain a positive value: with G = 0 no function "
            "but zero is representable and no epsilon below mean(y^2) is "
            "reachable."
        )
    if d.min() < -_PSD_TOLERANCE * float(np.abs(d).max()):
        raise ValueError(
            f"eigenvalues must be >= 0 (G positive semi-definite); the most "
            f"negative is {d.min():.6g}. A kernel that is not positive "
            "semi-definite is outside the theory; round-off negatives of size "
            "1e-8 * max|d| or less are read as 0."
        )
    n = d.shape[0]
    d = np.where(d <= n * np.finfo(np.float64).eps * d_max, 0.0, d)
    # ||y||^2 and K epsilon in units of max|y|^2: no overflow or underflow of
    # the squares, and the bounds depend only on their ratio.
    scale = float(np.abs(y).max())
    if scale == 0.0:
        return d, 0.0, 1.0
    energy = float(np.dot(y / scale, y / scale))
    return d, energy, n * (epsilon / scale / scale)


def _t_low(d, energy, level):
    """Prop. 4 from the prepared quantities; 0 when singular or collapsed."""
    if d.min() <= 0 or energy <= level:
        return 0.0
    return float((np.sqrt(energy / level) - 1.0) / (d.max() / d.min()))


@validate_params(
    {"eigenvalues": ["array-like"], "y": ["array-like"], "epsilon": [_EPSILON]},
    prefer_skip_nested_validation=True,
)
def multiplier_bounds(eigenvalues, y, epsilon):
    """Bracket of the multiplier c of one round, eq. (25) corrected.

    .. math::

        \\frac{d_{min}\\sqrt{K\\epsilon}}{\\|y\\| - \\sqrt{K\\epsilon}}
        \\le c \\le
        \\frac{d_{max}\\sqrt{K\\epsilon}}{\\|y\\| - \\sqrt{K\\epsilon}}

    Parameters
    ----------
    eigenvalues : array-like of shape (K,)
        Eigenvalues of the normalised Gram matrix G (eq. (16)), at least one
        positive.
    y : array-like of shape (K,)
        Targets of the round.
    epsilon : float
        Training mean squared error tolerance of eq. (1), finite and > 0.

    Returns
    -------
    low, high : float
        The bracket; ``low`` is 0 when G is singular (then only the upper end
        holds in closed form).

    Raises
    ------
    ValueError
        If ``mean(y^2) <= epsilon``: the solution is zero (collapse) and no
        positive multiplier exists; or if the arguments are invalid (empty,
        NaN or infinite entries, lengths that differ, a negative eigenvalue
        beyond round-off).

    Examples
    --------
    >>> from sklearn_selfdistill.theory import multiplier_bounds
    >>> low, high = multiplier_bounds([2.0, 1.0], [1.0, 1.0], 0.25)
    >>> round(low, 6), round(high, 6)
    (1.0, 2.0)
    """
    d, energy, level = _prepare(eigenvalues, y, epsilon)
    if energy <= level:
        raise ValueError(
            f"mean(y^2) <= epsilon = {epsilon:.6g}: the epsilon-constrained "
            "solution is the zero function (collapse) and has no multiplier. "
            "Choose epsilon < mean(y^2)."
        )
    # sqrt(K eps) / (||y|| - sqrt(K eps)), with the difference written as
    # (||y||^2 - K eps) / (||y|| + sqrt(K eps)): no cancellation.
    root = float(np.sqrt(level))
    factor = root * (float(np.sqrt(energy)) + root) / (energy - level)
    return float(d.min()) * factor, float(d.max()) * factor


@validate_params(
    {"eigenvalues": ["array-like"], "y": ["array-like"], "epsilon": [_EPSILON]},
    prefer_skip_nested_validation=True,
)
def guaranteed_rounds(eigenvalues, y, epsilon):
    """Rounds of self-distillation guaranteed not to collapse by Prop. 4.

    .. math::

        \\underline{t} = \\frac{\\|y_0\\| / \\sqrt{K\\epsilon} - 1}{\\kappa},
        \\qquad \\kappa = d_{max} / d_{min},

    eq. (44) with the corrected :math:`\\sqrt{K\\epsilon}`. Every round
    :math:`t < \\underline{t}` is guaranteed not to collapse: rounds 0 to
    :math:`\\lceil \\underline{t} \\rceil - 1`, i.e. at least
    :math:`\\underline{t}` rounds counting round 0. Round
    :math:`\\underline{t}` itself is not guaranteed when
    :math:`\\underline{t}` is an integer: with :math:`\\kappa = 1` and
    :math:`\\|y_0\\| / \\sqrt{K\\epsilon} = 3`, :math:`\\underline{t} = 2`
    and round 2 collapses. For realistic kernels :math:`\\kappa` is huge and
    the bound is below 1 (round 0 only).

    Parameters
    ----------
    eigenvalues : array-like of shape (K,)
        Eigenvalues of G, at least one positive.
    y : array-like of shape (K,)
        Labels :math:`y_0`.
    epsilon : float
        Tolerance of eq. (1), finite and > 0.

    Returns
    -------
    t : float
        The bound :math:`\\underline{t}`; 0 when G is singular
        (:math:`\\kappa = \\infty`) or when round 0 already collapses.

    Notes
    -----
    The factor :math:`1 / \\kappa` is not needed. Each non-collapsed round
    leaves a training residual of norm exactly :math:`\\sqrt{K\\epsilon}` and
    passes its fit on as the next targets, so by the triangle inequality
    :math:`\\|y_{t+1}\\| \\ge \\|y_t\\| - \\sqrt{K\\epsilon}`, and every round
    :math:`t < \\|y_0\\| / \\sqrt{K\\epsilon} - 1 = \\kappa\\,\\underline{t}`
    is non-collapsed, whatever the eigenvalues (without ground-truth
    weighting). With :math:`\\kappa = 1` both bounds are exact.

    Examples
    --------
    >>> from sklearn_selfdistill.theory import guaranteed_rounds
    >>> guaranteed_rounds([2.0, 1.0], [3.0, 4.0], 0.5)
    2.0
    """
    return _t_low(*_prepare(eigenvalues, y, epsilon))


@validate_params(
    {
        "eigenvalues": ["array-like"],
        "y": ["array-like"],
        "epsilon": [_EPSILON],
        "t": [Interval(Integral, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def basis_ratio_bound(eigenvalues, y, epsilon, t):
    """Lower bounds of Prop. 5 on the ratios of the entries of B_t.

    For :math:`d_k > d_j` and a round :math:`t < \\underline{t}` (Prop. 4:
    rounds 0 to ``t`` are all non-collapsed),

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
        Tolerance of eq. (1), finite and > 0.
    t : int
        Round, ``0 <= t < guaranteed_rounds(eigenvalues, y, epsilon)``.

    Returns
    -------
    bound : ndarray of shape (K, K)
        ``bound[k, j]`` is a lower bound of ``B_t[k] / B_t[j]``: the right-hand
        side of eq. (47) where ``d_k > d_j`` and the trivial bound 0 elsewhere.

    Raises
    ------
    ValueError
        If G is singular, or ``t`` is not below the bound of Prop. 4 (by more
        than round-off: round :math:`\\underline{t}` may be collapsed).

    Examples
    --------
    >>> from sklearn_selfdistill.theory import basis_ratio_bound
    >>> bound = basis_ratio_bound([2.0, 1.0], [3.0, 4.0], 0.5, 1)
    >>> round(float(bound[0, 1]), 6)  # ((4 + 1) / (4 + 0.5))^2
    1.234568
    """
    d, energy, level = _prepare(eigenvalues, y, epsilon)
    if d.min() <= 0:
        raise ValueError(
            "basis_ratio_bound needs a nonsingular G (all eigenvalues > 0); "
            "Prop. 5 is vacuous with a null space."
        )
    t_low = _t_low(d, energy, level)
    # ||y_0|| / sqrt(K eps) carries about K ulps of round-off: a t equal to
    # t_low within it is not known to lie below it.
    margin = 4.0 * d.size * np.finfo(np.float64).eps * max(t_low, 1.0)
    if not t < t_low - margin:
        raise ValueError(
            f"Prop. 5 holds for the rounds 0 <= t < t_low = {t_low:.6g} (Prop. 4) "
            f"here; got t={t}. Choose a smaller t, or a smaller epsilon for "
            "more guaranteed rounds."
        )
    a = np.sqrt(energy / level) - 1.0
    ratio = (a + d.min() / d[None, :]) / (a + d.min() / d[:, None])
    bound = ratio ** (t + 1)
    return np.where(d[:, None] > d[None, :], bound, 0.0)
