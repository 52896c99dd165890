"""The pure core: epsilon-constrained self-distillation in the eigenbasis.

Everything here works on the spectrum of the normalised Gram matrix
``G = kernel(X, X) / K`` (eq. (16) of Mobahi et al., 2020) with ``K`` the number
of training points. Letters follow the paper: ``d`` the eigenvalues, ``U`` the
eigenvectors as columns (the paper's ``V = U.T``), ``z = U.T @ y`` the rotated
targets, ``c`` the multiplier of eq. (18), ``A_t`` (eq. 31) and ``B_t`` (eq. 46)
the diagonal shrink factors. One eigendecomposition serves every round and every
root-finding evaluation costs O(K).

:func:`self_distill` is the function every kernel estimator fits through: a
:class:`~._solvers.Spectrum` (whatever solver made it), the tolerances, the
number of rounds and the ground-truth weight in; the multipliers, ``B_t``,
collapse and the dual coefficients of every round out. It keeps no state.
"""

import math
import warnings
from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq

from .exceptions import (
    InfeasibleEpsilonError,
    SelfDistillationCollapseError,
    SelfDistillationCollapseWarning,
)

__all__ = [
    "DistillationPath",
    "distill_path",
    "guaranteed_rounds",
    "min_reachable_mse",
    "report_collapse",
    "self_distill",
    "solve_multiplier",
]


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
    InfeasibleEpsilonError
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
        raise InfeasibleEpsilonError(
            f"epsilon={epsilon:.6g} is below the smallest training mean squared "
            f"error this kernel can reach on these points ({floor:.6g}: the part "
            "of y in the null space of the Gram matrix, e.g. from duplicated "
            "inputs with different targets or points where the kernel vanishes). "
            f"Choose epsilon > {floor:.6g}.",
            floor=floor, epsilon=epsilon,
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


class DistillationPath(NamedTuple):
    """Every round of :func:`self_distill`, ``T = n_rounds + 1``, ``Q`` outputs."""

    #: (T, Q) multipliers ``c_t`` of eq. (21); ``inf`` once collapsed.
    c: np.ndarray
    #: (T, m, Q) diagonals of ``B_t`` (eq. (46)) on the kept eigenvalues.
    B: np.ndarray
    #: (T, Q) whether the round collapsed to the zero function.
    collapsed: np.ndarray
    #: (Q,) smallest reachable training MSE (null-space energy / K).
    min_reachable_mse: np.ndarray
    #: (T, Q) training MSE of each round against the targets ``y_0``.
    train_mse: np.ndarray
    #: (T, n_fit, Q) dual coefficients of each round on ``spectrum.X_fit``.
    dual_coef: np.ndarray
    #: (Q,) lower bound of Prop. 4 on the rounds before collapse.
    guaranteed_rounds: np.ndarray


def guaranteed_rounds(y_norm, n, epsilon, kappa):
    """Prop. 4 with the corrected sqrt(K * epsilon); 0 when it is vacuous."""
    root = np.sqrt(n * epsilon)
    if not np.isfinite(kappa) or y_norm <= root:
        return 0.0
    return float((y_norm / root - 1.0) / kappa)


def self_distill(spectrum, epsilon, n_rounds, *, ground_truth_weight=0.0):
    """Rounds 0 to ``n_rounds`` of self-distillation from one spectrum.

    Every output ``q`` runs :func:`distill_path` on the spectrum with the
    unfittable remainder of a low-rank solver as one zero eigenvalue
    (:meth:`~._solvers.Spectrum.augmented`). The round-``t`` dual
    coefficients are ``U ((B_t / d) z_0) / K`` (Sec. 2 of MATH.md), mapped by
    the solver onto ``spectrum.X_fit``; directions with ``d = 0`` contribute
    nothing.

    Parameters
    ----------
    spectrum : Spectrum
        Eigenvalues ``d``, rotated targets ``z_0`` (one column per output) and
        the map to dual coefficients, from :func:`~._solvers.compute_spectrum`.
    epsilon : ndarray of shape (Q,)
        Tolerance of eq. (1) of each output, in the units of the targets.
    n_rounds : int
        Number of self-distillation rounds after round 0.
    ground_truth_weight : float, default=0.0
        Weight ``w`` of the labels in each round's targets.

    Returns
    -------
    path : DistillationPath

    Raises
    ------
    InfeasibleEpsilonError
        If some output's epsilon is at or below its smallest reachable MSE.
    """
    d, Z0 = spectrum.d, spectrum.Z0
    d_run, Z_run = spectrum.augmented()
    n = spectrum.n_samples
    m = d.shape[0]
    n_outputs = Z0.shape[1]
    n_stages = n_rounds + 1
    c = np.empty((n_stages, n_outputs))
    B_run = np.empty((n_stages, d_run.shape[0], n_outputs))
    collapsed = np.empty((n_stages, n_outputs), dtype=bool)
    floor = np.empty(n_outputs)
    for q in range(n_outputs):
        floor[q] = min_reachable_mse(d_run, Z_run[:, q], n_samples=n)
        try:
            c[:, q], B_run[:, :, q], collapsed[:, q] = distill_path(
                d_run, Z_run[:, q], epsilon[q], n_rounds,
                ground_truth_weight=ground_truth_weight, n_samples=n,
            )
        except InfeasibleEpsilonError as exc:
            if not spectrum.low_rank:
                raise
            raise InfeasibleEpsilonError(
                f"{exc} With eigen_solver={spectrum.solver!r} and "
                f"n_components={m}, the part of y outside the {m} kept "
                "directions counts as unfittable (eigenvalue 0): increase "
                "n_components or epsilon, or use eigen_solver='dense'.",
                floor=exc.floor, epsilon=exc.epsilon,
            ) from exc
    B = B_run[:, :m]
    inv_d = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
    dual_coef = spectrum.dual_coef(B * (inv_d[None, :, None] * Z0[None, :, :]))
    residual = (1.0 - B_run) * Z_run[None, :, :]
    train_mse = np.einsum("tiq,tiq->tq", residual, residual) / n
    kappa = spectrum.condition_number
    rounds = np.array([
        guaranteed_rounds(np.sqrt(spectrum.energy[q]), n, epsilon[q], kappa)
        for q in range(n_outputs)
    ])
    return DistillationPath(
        c=c, B=B, collapsed=collapsed, min_reachable_mse=floor,
        train_mse=train_mse, dual_coef=dual_coef, guaranteed_rounds=rounds,
    )


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
