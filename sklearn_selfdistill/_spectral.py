"""Eigenbasis numerics of epsilon-constrained self-distillation.

Everything here works on the spectrum of the normalised Gram matrix
``G = kernel(X, X) / K`` (eq. (16) of Mobahi et al., 2020) with ``K`` the number
of training points. Letters follow the paper: ``d`` the eigenvalues, ``U`` the
eigenvectors as columns (the paper's ``V = U.T``), ``z = U.T @ y`` the rotated
targets, ``c`` the multiplier of eq. (18), ``A_t`` (eq. 31) and ``B_t`` (eq. 46)
the diagonal shrink factors. One eigendecomposition serves every round and every
root-finding evaluation costs O(K).
"""

import math
import warnings

import numpy as np
from scipy import linalg
from scipy.optimize import brentq

from .exceptions import SelfDistillationCollapseError, SelfDistillationCollapseWarning

__all__ = [
    "null_space_threshold",
    "eigh_gram",
    "clean_spectrum",
    "solve_multiplier",
    "distill_path",
]

#: A most-negative eigenvalue below ``-PSD_TOLERANCE * max|d|`` means the kernel
#: is not positive semi-definite (MATH.md section 1).
PSD_TOLERANCE = 1e-8


def null_space_threshold(d_max, n_samples):
    """Eigenvalues at or below this value count as exactly zero.

    The threshold is ``n_samples * finfo(float64).eps * d_max``: round-off of a
    symmetric eigensolver is of that size, and letting such eigenvalues absorb
    residual energy creates spurious roots of eq. (21).
    """
    return n_samples * np.finfo(np.float64).eps * max(float(d_max), 0.0)


def eigh_gram(gram, *, kernel_name="kernel", overwrite=False, eigenvectors=True):
    """Eigendecomposition of a normalised Gram matrix, descending.

    Parameters
    ----------
    gram : ndarray of shape (K, K)
        Symmetric matrix ``G`` of eq. (16) (already divided by ``K``).
    kernel_name : str, default="kernel"
        Name used in the error raised for an indefinite matrix.
    overwrite : bool, default=False
        Let LAPACK overwrite ``gram`` (saves one K x K copy).
    eigenvectors : bool, default=True
        Whether to compute the eigenvectors.

    Returns
    -------
    d : ndarray of shape (K,)
        Eigenvalues in descending order, with the numerical null space
        (:func:`null_space_threshold`) set to exactly 0.
    U : ndarray of shape (K, K) or None
        Matching orthonormal eigenvectors as columns.

    Raises
    ------
    ValueError
        If ``gram`` has a negative eigenvalue below ``-1e-8 * max|d|``: the
        kernel is not positive semi-definite and the theory does not apply.
    """
    n = gram.shape[0]
    if n == 0:
        return np.zeros(0), (np.zeros((0, 0)) if eigenvectors else None)
    if eigenvectors:
        d, U = linalg.eigh(
            gram, overwrite_a=overwrite, check_finite=False, driver="evr"
        )
    else:
        d = linalg.eigh(
            gram, eigvals_only=True, overwrite_a=overwrite, check_finite=False
        )
        U = None
    d = d[::-1].copy()
    if U is not None:
        U = U[:, ::-1]
    return clean_spectrum(d, n, kernel_name=kernel_name), U


def clean_spectrum(d, n_samples, *, kernel_name="kernel"):
    """Check a descending spectrum for definiteness and zero its null space.

    Shared by the exact and the low-rank eigensolvers: ``d`` may hold only the
    leading eigenvalues of a Gram matrix of ``n_samples`` points, and the
    null-space threshold of :func:`null_space_threshold` uses ``n_samples``.
    Modifies ``d`` in place and returns it.

    Raises
    ------
    ValueError
        If ``d`` has a negative eigenvalue below ``-1e-8 * max|d|``.
    """
    if d.shape[0] == 0:
        return d
    scale = max(abs(d[0]), abs(d[-1]))
    if scale > 0 and d[-1] < -PSD_TOLERANCE * scale:
        raise ValueError(
            f"The Gram matrix of kernel={kernel_name!r} is not positive "
            f"semi-definite on these data (smallest eigenvalue {d[-1]:.3g}, "
            f"largest {d[0]:.3g}); self-distillation needs a positive "
            "semi-definite kernel. Use e.g. 'rbf', 'laplacian', 'linear', "
            "'poly' or 'green_spline'."
        )
    d[d <= null_space_threshold(d[0], n_samples)] = 0.0
    return d


def _mse_in_log_c(u, d_scaled, z2, n, epsilon):
    """h(c) of eq. (21) at ``c = exp(u)``, for eigenvalues scaled so d_max = 1."""
    # c / (c + d) = 1 / (1 + d exp(-u)): no cancellation for any c.
    shrink = 1.0 / (1.0 + d_scaled * math.exp(-u))
    return float(np.dot(z2, shrink * shrink)) / n - epsilon


def solve_multiplier(d, z, epsilon, *, n_samples=None):
    """Root ``c > 0`` of eq. (21): the training MSE of one round equals epsilon.

    Solves ``(1/K) sum_k (z_k c / (c + d_k))^2 = epsilon`` by Brent's method in
    ``log c`` inside a bracket written without cancellation. For a nonsingular
    ``G`` the bracket is eq. (25) with the corrected ``sqrt(K * epsilon)``; with
    a null space the lower end uses the smallest positive eigenvalue and only
    the energy that the range of ``G`` can absorb.

    Parameters
    ----------
    d : ndarray of shape (K,)
        Eigenvalues (descending, null space exactly 0, ``d[0] > 0``).
    z : ndarray of shape (K,)
        Rotated targets of this round.
    epsilon : float
        Training mean-squared-error tolerance, with
        ``null-space energy / K < epsilon < mean(y^2)``.
    n_samples : int, default=None
        ``K``, the number of training points; ``None`` means ``len(d)``. A
        low-rank spectrum passes its kept eigenvalues plus one zero eigenvalue
        carrying the energy of ``y`` outside the kept span.

    Returns
    -------
    c : float
        The multiplier.
    """
    n = d.shape[0] if n_samples is None else n_samples
    d_max = d[0]
    d_scaled = d / d_max
    z2 = z * z
    positive = d_scaled > 0
    pos_energy = float(z2[positive].sum())
    null_energy = float(z2[~positive].sum())
    total = pos_energy + null_energy
    target = n * epsilon
    # MSE(c) >= (c / (c + d_max))^2 ||z||^2 / K, so with r_hi = sqrt(K eps)/||z||
    # h(c_hi) >= 0 at c_hi = d_max r / (1 - r); and MSE(c) <= null/K +
    # (c / (c + d_min))^2 pos/K gives h(c_lo) <= 0 at c_lo = d_min r / (1 - r)
    # with r_lo = sqrt((K eps - null) / pos). 1 - r = (1 - r^2) / (1 + r) keeps
    # the digits when epsilon is close to mean(y^2).
    r_hi = math.sqrt(target / total)
    c_hi = r_hi * (1.0 + r_hi) * total / (total - target)
    r_lo = math.sqrt((target - null_energy) / pos_energy)
    d_min = float(d_scaled[positive][-1])
    c_lo = d_min * r_lo * (1.0 + r_lo) * pos_energy / (total - target)
    lo, hi = math.log(c_lo), math.log(c_hi)
    args = (d_scaled, z2, n, epsilon)
    # Round-off can put the bracket's ends on the wrong side by an ulp (e.g. a
    # kappa = 1 problem where both ends are the root): widen until signs differ.
    step = 1e-12
    f_lo, f_hi = _mse_in_log_c(lo, *args), _mse_in_log_c(hi, *args)
    while f_lo > 0 or f_hi < 0:
        if f_lo > 0:
            lo -= step
            f_lo = _mse_in_log_c(lo, *args)
        if f_hi < 0:
            hi += step
            f_hi = _mse_in_log_c(hi, *args)
        step *= 4.0
        if step > 1e6:  # pragma: no cover - guarded by the feasibility checks
            raise RuntimeError("Could not bracket the multiplier of eq. (21).")
    if f_lo == 0:
        u = lo
    elif f_hi == 0:
        u = hi
    else:
        u = brentq(
            _mse_in_log_c, lo, hi, args=args, xtol=1e-300, rtol=4 * np.finfo(float).eps,
            maxiter=200,
        )
    return math.exp(u) * d_max


def min_reachable_mse(d, z, *, n_samples=None):
    """Smallest training MSE any function in the space reaches: null energy / K."""
    n = d.shape[0] if n_samples is None else n_samples
    return float(np.dot(z[d == 0], z[d == 0])) / n if n else 0.0


def distill_path(d, z0, epsilon, n_rounds, *, ground_truth_weight=0.0,
                 n_samples=None):
    """Multipliers and shrink factors of every round, for one output.

    Implements the recursion of Sec. 3.2 in the eigenbasis (eq. 30-35, 46) with
    the ground-truth weighting ``y_{t+1} = w y_0 + (1 - w) f_t(X)``:
    ``z_t = gamma_t z_0``, ``gamma_0 = 1``, ``A_t = d / (c_t + d)``,
    ``B_t = A_t gamma_t`` and ``gamma_{t+1} = w + (1 - w) B_t``.

    Collapse is absorbing: once ``mean(y_t^2) <= epsilon`` the round's solution
    is the zero function (``c_t = inf``, ``B_t = 0``) and so is every later one.

    Parameters
    ----------
    d : ndarray of shape (K,)
        Eigenvalues (descending, null space exactly 0).
    z0 : ndarray of shape (K,)
        Rotated labels ``U.T @ y_0``.
    epsilon : float
        Tolerance of eq. (1).
    n_rounds : int
        Number of self-distillation rounds after round 0.
    ground_truth_weight : float, default=0.0
        Weight ``w`` of the labels in every round's targets.
    n_samples : int, default=None
        ``K``; ``None`` means ``len(d)`` (see :func:`solve_multiplier`).

    Returns
    -------
    c : ndarray of shape (n_rounds + 1,)
    B : ndarray of shape (n_rounds + 1, K)
    collapsed : ndarray of shape (n_rounds + 1,) of bool

    Raises
    ------
    ValueError
        If epsilon is below the smallest reachable training MSE.
    """
    n = d.shape[0] if n_samples is None else n_samples
    w = ground_truth_weight
    c = np.full(n_rounds + 1, np.inf)
    B = np.zeros((n_rounds + 1, d.shape[0]))
    collapsed = np.ones(n_rounds + 1, dtype=bool)
    floor = min_reachable_mse(d, z0, n_samples=n)
    # z_t is a rotation of y_t, so mean(y_t^2) is known only to about n ulps:
    # within that of epsilon the round counts as collapsed (its multiplier
    # would exceed d_max / (n ulp) and its solution would be zero to that
    # precision). Then epsilon = mean(y^2), e.g. epsilon=1 with normalize_y,
    # collapses at round 0 as documented, whatever the rounding of U.T @ y.
    # The floor carries the same round-off: epsilon within n ulps above it
    # is infeasible too (the root would sit in the rounding of the floor).
    slack = 1.0 + n * np.finfo(np.float64).eps
    collapse_level = epsilon * slack
    if float(np.dot(z0, z0)) / n > collapse_level and floor * slack >= epsilon:
        raise ValueError(
            f"epsilon={epsilon:.6g} is below the smallest training mean squared "
            f"error this kernel can reach on these points ({floor:.6g}: the part "
            "of y in the null space of the Gram matrix, e.g. from duplicated "
            "inputs with different targets or points where the kernel vanishes). "
            f"Choose epsilon > {floor:.6g}."
        )
    gamma = np.ones(d.shape[0])
    for t in range(n_rounds + 1):
        z_t = gamma * z0
        if float(np.dot(z_t, z_t)) / n <= collapse_level:
            break
        c_t = solve_multiplier(d, z_t, epsilon, n_samples=n)
        A_t = d / (c_t + d)
        c[t] = c_t
        B[t] = A_t * gamma
        collapsed[t] = False
        gamma = w + (1.0 - w) * B[t]
    return c, B, collapsed


def report_collapse(collapsed, on_collapse, *, output_names=None):
    """Warn or raise for collapsed rounds according to ``on_collapse``.

    ``collapsed`` has shape (n_rounds + 1, n_outputs).
    """
    if on_collapse == "ignore" or not collapsed.any():
        return
    first = collapsed.argmax(axis=0)
    hit = np.flatnonzero(collapsed.any(axis=0))
    if collapsed.shape[1] > 1 and hit.size == collapsed.shape[1] and np.all(
        first == first[0]
    ):
        parts = [f"round {first[0]} for every output"]
    else:
        parts = []
        for q in hit:
            where = "" if collapsed.shape[1] == 1 else (
                f" for output {output_names[q] if output_names is not None else q}"
            )
            parts.append(f"round {first[q]}{where}")
    message = (
        "Self-distillation collapsed to the zero function at "
        + ", ".join(parts)
        + ": the targets' mean square fell to epsilon or below (Sec. 2.1 of "
        "Mobahi et al., 2020), so that round and every later one predicts "
        "zero. Use fewer rounds (n_rounds), a smaller epsilon, or "
        "ground_truth_weight > 0."
    )
    if on_collapse == "raise":
        raise SelfDistillationCollapseError(message)
    warnings.warn(message, SelfDistillationCollapseWarning, stacklevel=4)
