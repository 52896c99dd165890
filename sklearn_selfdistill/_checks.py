"""Checks of the kernel estimators' inputs, memory and fitted state.

Everything a kernel fit verifies before (or instead of) doing numerical work
lives here, so that a bad input fails at once with a typed error naming the
parameter and the fix:

* the Gram matrix: square, symmetric with ``kernel="precomputed"``, finite
  whatever the solver (:func:`check_precomputed_gram`, :func:`checked_kernel`);
* the memory of the dense eigensolver against the memory the platform says is
  available (:func:`dense_peak_bytes`, :func:`check_dense_memory`);
* the fitted state: a fit that raises leaves no fitted attribute behind and a
  refit starts from none (:func:`unfitted_on_error`);
* the message of an infeasible ``epsilon`` in the user's units, naming its
  cause (:func:`explain_infeasible`).
"""

import functools
import math
import os

import numpy as np

from ._dask import is_dask_array
from .exceptions import InfeasibleEpsilonError

__all__ = [
    "available_memory_bytes",
    "check_epsilon_scale",
    "check_dense_memory",
    "check_precomputed_gram",
    "checked_kernel",
    "clear_fitted",
    "dense_peak_bytes",
    "explain_infeasible",
    "unfitted_on_error",
]

#: Relative asymmetry ``max|K - K^T| / max|K|`` above which a precomputed Gram
#: matrix is rejected: the eigensolvers read one triangle only.
SYMMETRY_TOLERANCE = 1e-10


# ---------------------------------------------------------------- Gram matrix
def check_precomputed_gram(kernel, X):
    """With ``kernel="precomputed"`` the training ``X`` is a symmetric Gram matrix.

    Raises
    ------
    ValueError
        If ``X`` is not square, or if ``max|X - X^T|`` exceeds
        ``SYMMETRY_TOLERANCE * max|X|``.
    """
    if not (isinstance(kernel, str) and kernel == "precomputed"):
        return
    if X.ndim != 2 or X.shape[0] != X.shape[1]:
        raise ValueError(
            "With kernel='precomputed', X must be the square Gram matrix of the "
            f"training points; got shape {X.shape}."
        )
    n = X.shape[0]
    if n == 0:
        return
    scale = float(np.max(np.abs(X)))
    # Row blocks keep the temporary at 8 MiB whatever n is.
    block = max(1, 2**20 // n)
    asymmetry = 0.0
    for start in range(0, n, block):
        stop = min(start + block, n)
        diff = np.abs(X[start:stop] - X[:, start:stop].T)
        asymmetry = max(asymmetry, float(diff.max()))
    if asymmetry > SYMMETRY_TOLERANCE * scale:
        raise ValueError(
            "With kernel='precomputed', X must be the symmetric Gram matrix "
            f"kernel(X_train, X_train); max|X - X.T| = {asymmetry:.3g} "
            f"(largest entry {scale:.3g}). Pass the Gram matrix of a positive "
            "semi-definite kernel, e.g. (K + K.T) / 2 if only round-off made "
            "it asymmetric."
        )


def checked_kernel(kernel, kernel_name):
    """``kernel(A, B=None)`` that rejects a wrong shape or a non-finite entry.

    Wraps the kernel of a solver's array operations (numpy or torch), so that
    every solver (dense, randomized, Nystroem) sees only finite kernel
    matrices of the right shape, like scikit-learn's ``KernelRidge``, which
    rejects a Gram matrix with "infs or NaNs".
    """

    @functools.wraps(kernel)
    def check(A, B=None):
        K = kernel(A, B)
        expected = (A.shape[0], A.shape[0] if B is None else B.shape[0])
        if tuple(K.shape) != expected:
            raise ValueError(
                f"kernel={kernel_name!r} returned a matrix of shape "
                f"{tuple(K.shape)} for {expected[0]} and {expected[1]} samples; "
                f"a kernel must return one value per pair, shape {expected}."
            )
        if K.shape[0] and K.shape[1]:
            low, high = float(K.min()), float(K.max())
            if not (math.isfinite(low) and math.isfinite(high)):
                raise ValueError(
                    f"The Gram matrix of kernel={kernel_name!r} contains infs "
                    "or NaNs: X is too large for the kernel (e.g. distances "
                    "that overflow float64) or the kernel returns non-finite "
                    "values. Scale X (e.g. sklearn.preprocessing."
                    "StandardScaler) or fix the kernel."
                )
        return K

    return check


# ---------------------------------------------------------------- memory
def dense_peak_bytes(n_samples):
    """Peak memory of ``eigen_solver="dense"`` on ``n_samples`` points, in bytes.

    Keep true to :func:`~._solvers.dense_spectrum` (the guard's message
    derives from it): today the Gram matrix, the eigenvectors and LAPACK's
    copy of the matrix inside ``syevr``, three n_samples x n_samples float64
    arrays (measured, ``doc/user_guide.rst``).
    """
    return 3 * 8 * n_samples * n_samples


def available_memory_bytes():
    """Memory available to a new allocation, in bytes, or None if unknown.

    ``MemAvailable`` of ``/proc/meminfo`` (Linux), else the available
    physical pages of ``os.sysconf`` where the platform has them (not on
    macOS or Windows: there no check is made).
    """
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def suggested_n_components(n_samples, available):
    """An ``n_components`` for Nystroem that fits easily in ``available`` bytes.

    Nystroem holds about five ``n_components`` square float64 arrays; allow a
    quarter of the available memory and at most 2000 landmarks.
    """
    fits = math.isqrt(max(int(available) // (4 * 5 * 8), 1))
    return max(1, min(n_samples - 1, 2000, fits))


def check_dense_memory(n_samples, *, eigen_solver="dense", device=None):
    """Fail before allocating when the dense eigensolver cannot fit in memory.

    Only for the host's memory (``device`` None or ``"cpu"``) and only where
    the platform tells the available memory (:func:`available_memory_bytes`).

    Raises
    ------
    MemoryError
        With the estimate, the available memory and the Nystroem solver as
        the fix.
    """
    if eigen_solver != "dense" or device not in (None, "cpu"):
        return
    available = available_memory_bytes()
    if available is None:
        return
    peak = dense_peak_bytes(n_samples)
    if peak <= available:
        return
    gib = 2.0**30
    raise MemoryError(
        f"eigen_solver='dense' on {n_samples} samples needs about "
        f"{peak / gib:.1f} GiB ({dense_peak_bytes(1) // 8} n_samples x "
        "n_samples float64 arrays at its peak) but only "
        f"{available / gib:.1f} GiB is available. Use eigen_solver='nystroem' "
        f"with n_components={suggested_n_components(n_samples, available)}, "
        "whose memory does not grow with n_samples, or fewer samples."
    )


# ---------------------------------------------------------------- state
#: Private attributes a fit sets besides the public ones ending in ``_``.
_PRIVATE_FITTED = ("_staged_dual_coef",)


def clear_fitted(estimator):
    """Delete every attribute a previous fit set (names ending in ``_``)."""
    for name in list(vars(estimator)):
        if (name.endswith("_") and not name.startswith("__")) or (
            name in _PRIVATE_FITTED
        ):
            delattr(estimator, name)


def unfitted_on_error(fit):
    """Decorate ``fit``: start from no fitted state, leave none if it raises.

    A refit therefore never keeps an attribute of the previous fit (e.g.
    ``eigenvectors_`` once ``store_eigenvectors`` is switched off), and after
    a fit that raises, ``predict`` raises scikit-learn's ``NotFittedError``.
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        clear_fitted(self)
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            clear_fitted(self)
            raise

    return wrapper


# ---------------------------------------------------------------- messages
def check_epsilon_scale(epsilon, core_epsilon, y):
    """Reject an ``epsilon`` that float64 cannot represent in the units of y.

    ``core_epsilon`` is ``epsilon`` divided by the square of the power of two
    that codes ``y``; below the smallest normal float64 it has lost its
    digits (``epsilon`` is negligible against ``y**2``).
    """
    tiny = np.finfo(np.float64).tiny
    if np.any(np.asarray(core_epsilon) < tiny):
        scale = float(np.max(np.abs(y)))
        shown = np.asarray(epsilon, dtype=np.float64)
        shown = f"{shown[0]:.6g}" if shown.size == 1 else shown.tolist()
        raise ValueError(
            f"epsilon={shown} is too small for the "
            f"scale of y (max|y| = {scale:.3g}): relative to max|y|**2 it is "
            "below float64's resolution. Pass normalize_y=True (epsilon "
            "relative to var(y)) or an epsilon in the units of y**2."
        )


def explain_infeasible(exc, *, spectrum, X, coding, kernel):
    """The core's :class:`InfeasibleEpsilonError` in user units, with its cause.

    ``exc`` carries ``epsilon`` and ``floor`` in the coded units the core
    works in; ``coding.user_epsilon`` turns them back. The cause is told
    apart from the spectrum and ``X``: duplicated inputs with different
    targets, or a kernel too smooth for the points (many eigenvalues below
    float64's resolution), or the directions a low-rank solver did not keep.
    """
    epsilon = float(coding.user_epsilon(exc.epsilon))
    floor = float(coding.user_epsilon(exc.floor))
    n = spectrum.n_samples
    m = spectrum.d.shape[0]
    n_zero = int(np.count_nonzero(spectrum.d == 0))
    causes = []
    if n_zero:
        n_duplicates = 0
        # Rows held by dask workers are not gathered to count duplicates.
        if not (isinstance(kernel, str) and kernel == "precomputed"
                or is_dask_array(X)):
            n_duplicates = n - np.unique(X, axis=0).shape[0]
        if n_duplicates >= n_zero:
            causes.append(
                f"{n_duplicates} duplicated inputs with different targets (or "
                "points where the kernel vanishes): average their targets or "
                "choose a larger epsilon"
            )
        else:
            causes.append(
                f"{n_zero} of the {m} eigenvalues of the Gram matrix are zero "
                "to float64 precision: the kernel is too smooth for these "
                "points (e.g. an RBF kernel with a small gamma on close "
                "points) or vanishes on some of them; use a larger gamma (a "
                "less smooth kernel) or a larger epsilon"
            )
    if spectrum.low_rank:
        causes.append(
            f"with eigen_solver={spectrum.solver!r} and n_components={m}, the "
            f"part of y outside the {m} kept directions counts as unfittable "
            "(eigenvalue 0): increase n_components or epsilon, or use "
            "eigen_solver='dense'"
        )
    cause = "; ".join(causes) if causes else "the part of y in the null space"
    if not math.isfinite(floor):
        return InfeasibleEpsilonError(
            f"epsilon={epsilon:.6g} is below the smallest training mean squared "
            "error this kernel can reach on these points, which exceeds "
            "float64's range in the units of y**2 (" + cause + "). Pass "
            "normalize_y=True (epsilon relative to var(y)) or rescale y.",
            floor=floor, epsilon=epsilon,
        )
    cause = "; ".join(causes) if causes else "the part of y in the null space"
    return InfeasibleEpsilonError(
        f"epsilon={epsilon:.6g} is below the smallest training mean squared "
        f"error this kernel can reach on these points ({floor:.6g}): {cause}. "
        f"Choose epsilon > {floor:.6g}.",
        floor=floor, epsilon=epsilon,
    )
