"""Dense symmetric eigensolvers that never copy the Gram matrix.

Two ways to the spectrum of the normalised Gram matrix ``G = kernel(X, X) / K``
(eq. (16) of Mobahi et al., 2020), both working in place on the caller's array:

* :func:`eigh_inplace`: the full eigendecomposition ``G = U diag(d) U^T``. A
  C-ordered symmetric matrix is handed to LAPACK's ``dsyevr`` as its transpose,
  which is the same matrix in Fortran order, so ``overwrite_a`` really works in
  place; ``scipy.linalg.eigh(G, overwrite_a=True)`` on the C-ordered array first
  makes a Fortran-ordered copy of it (one hidden ``K x K`` array). The
  eigenvectors are returned contiguous in descending order, not as the reversed
  view ``U[:, ::-1]``, whose matrix products BLAS cannot run at full speed.

* :func:`tridiagonal_eigh`: everything a fit needs without forming ``U``: the
  eigenvalues ``d``, the rotated targets ``Z = U^T Y`` (``z = V y`` of eq. (21),
  ``V = U^T``) and, once the
  rounds' spectral factors ``g`` are known, the dual coefficients
  ``U diag(g) Z``. ``G = Q T Q^T`` is reduced to tridiagonal form by ``dsytrd``
  in place (``Q`` kept as Householder reflectors in the overwritten lower
  triangle), ``T = V diag(d) V^T`` is solved by MRRR (``dstemr``), and
  ``U = Q V`` is only ever applied to blocks of vectors: ``U^T Y = V^T (Q^T Y)``
  and ``U g = Q (V g)``, ``O(K^2)`` per column. This skips the ``O(K^3)``
  back-transformation ``Q V`` that ``dsyevr`` performs after the same two
  steps.

Memory above the input, traced at K = 2000: ``eigh_inplace`` ``K^2 + 40 K``
doubles (the eigenvectors and ``dsyevr``'s workspace); ``tridiagonal_eigh``
``K^2 + 75 K`` (``V``, which ``dstemr`` allocates whole even for a subset of
eigenvectors, its workspace, and one ``K x 64`` panel of reflectors while
applying ``Q``). ``V`` is as large as ``U``: the eigenvector-free path saves
time, not memory. Both keep the caller's array as their workspace: its
content is destroyed.
"""

import math

import numpy as np
from scipy import linalg
from scipy.linalg import lapack

__all__ = [
    "PSD_TOLERANCE",
    "TridiagonalEigenvectors",
    "clean_spectrum",
    "eigh_inplace",
    "null_space_threshold",
    "tridiagonal_eigh",
]

#: A most-negative eigenvalue below ``-PSD_TOLERANCE * max|d|`` means the kernel
#: is not positive semi-definite (MATH.md section 1).
PSD_TOLERANCE = 1e-8

#: Reflectors per ``dormqr`` call when applying ``Q``: each call copies a panel
#: of at most ``K x _PANEL`` reflector entries out of the reduced matrix.
_PANEL = 64

#: Rows per block of the fallback finiteness check (a mask of _ROWS x K bools).
_ROWS = 256

#: Where MRRR reports a failure: divide and conquer (``dstevd``), or the
#: implicit QL/QR iteration (``dstev``, slower, as stable) with a scipy that
#: does not wrap ``dstevd`` (1.15 and older).
_FALLBACK_DRIVER = "stevd" if hasattr(lapack, "dstevd") else "stev"


def null_space_threshold(d_max, n_samples):
    """Eigenvalues at or below this value count as exactly zero.

    The threshold is ``n_samples * finfo(float64).eps * d_max``: round-off of a
    symmetric eigensolver is of that size, and letting such eigenvalues absorb
    residual energy creates spurious roots of eq. (21).
    """
    return n_samples * np.finfo(np.float64).eps * max(float(d_max), 0.0)


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


def _check_square(gram, name):
    if gram.ndim != 2 or gram.shape[0] != gram.shape[1]:
        raise ValueError(
            f"{name} must be a square 2-D array (the Gram matrix of the "
            f"training points); got shape {gram.shape}."
        )


def _check_finite(gram, name):
    """Raise if ``gram`` holds NaN or infinity, without an ``K x K`` mask.

    One pairwise sum decides in the common case; a non-finite sum (NaN, inf,
    or finite entries so large that they overflow) is settled row block by
    row block.
    """
    if math.isfinite(float(np.sum(gram))):
        return
    for start in range(0, gram.shape[0], _ROWS):
        if not np.isfinite(gram[start:start + _ROWS]).all():
            raise ValueError(
                f"{name} contains NaN or infinity; the kernel of these data "
                "is not finite. Check X for NaN/inf and the kernel parameters "
                "(e.g. a huge gamma or degree)."
            )


def _fortran_view(gram, name, *, transposed=False):
    """The same symmetric matrix as a Fortran-ordered float64 array, no copy.

    A C-ordered symmetric matrix equals its transpose, which is Fortran-ordered
    and shares its memory. Anything else (another dtype, a strided view) is
    copied once into Fortran order. With ``transposed=True`` also returns
    whether the result is the transpose of ``gram``: its upper triangle is
    then the lower triangle of ``gram``, which lets LAPACK read exactly the
    entries it reads from a copy (the two triangles of a computed Gram matrix
    may differ in the last bit).
    """
    gram = np.asarray(gram)
    _check_square(gram, name)
    if gram.dtype == np.float64 and gram.flags.writeable:
        if gram.flags.f_contiguous:
            return (gram, False) if transposed else gram
        if gram.flags.c_contiguous:
            return (gram.T, True) if transposed else gram.T
    a = np.array(gram, dtype=np.float64, order="F")
    return (a, False) if transposed else a


def eigh_descending(gram, *, top=None, eigenvectors=True):
    """Descending eigenpairs by ``dsyevr`` in place, spectrum not cleaned.

    The raw step of :func:`eigh_inplace` for callers that clean the spectrum
    themselves (the low-rank solvers use the number of training points, not
    the order of ``gram``). Reads the lower triangle of ``gram`` as
    ``scipy.linalg.eigh`` does, without its Fortran-ordered copy; ``U`` is
    contiguous (Fortran-ordered), in descending order.
    """
    a, transposed = _fortran_view(gram, "gram", transposed=True)
    n = a.shape[0]
    if n == 0:
        return np.zeros(0), (np.zeros((0, 0), order="F") if eigenvectors else None)
    if top is not None and not 1 <= top:
        raise ValueError(f"top must be None or a positive integer; got {top!r}.")
    subset = None if top is None or top >= n else (n - top, n - 1)
    if eigenvectors:
        d, U = linalg.eigh(a, lower=not transposed, overwrite_a=True,
                           check_finite=False, driver="evr",
                           subset_by_index=subset)
        U = _reverse_columns(np.asfortranarray(U))
    else:
        d = linalg.eigh(a, lower=not transposed, eigvals_only=True,
                        overwrite_a=True, check_finite=False, driver="evr",
                        subset_by_index=subset)
        U = None
    return d[::-1].copy(), U


def _reverse_columns(M, block=16):
    """Reverse the column order of the Fortran-ordered ``M`` in place.

    Swaps blocks of ``block`` columns through two ``K x block`` buffers, so
    the result is contiguous (fast in BLAS products) with no second ``K x K``
    array.
    """
    n = M.shape[1]
    half = n // 2
    left = np.empty((M.shape[0], block), order="F")
    right = np.empty((M.shape[0], block), order="F")
    for start in range(0, half, block):
        stop = min(start + block, half)
        width = stop - start
        np.copyto(left[:, :width], M[:, start:stop])
        np.copyto(right[:, :width], M[:, n - stop:n - start])
        M[:, start:stop] = right[:, width - 1::-1]
        M[:, n - stop:n - start] = left[:, width - 1::-1]
    return M


def eigh_inplace(gram, *, kernel_name="kernel", eigenvectors=True, top=None,
                 check_finite=True):
    """Descending eigendecomposition of a symmetric matrix, overwriting it.

    The in-place counterpart of ``_solvers.eigh_gram`` with the same
    conventions: eigenvalues in descending order, the numerical null space
    (:func:`null_space_threshold`) set to exactly 0, the same error for
    an indefinite matrix. LAPACK's ``dsyevr`` (MRRR) works directly on the
    memory of ``gram``, whether it is C- or Fortran-ordered.

    Parameters
    ----------
    gram : ndarray of shape (K, K)
        Symmetric matrix ``G`` of eq. (16) (already divided by ``K``). Its
        content is destroyed when it is a writeable C- or Fortran-contiguous
        float64 array; any other array is copied once first.
    kernel_name : str, default="kernel"
        Name used in the error raised for an indefinite matrix.
    eigenvectors : bool, default=True
        Whether to compute the eigenvectors.
    top : int, default=None
        Compute only the ``top`` largest eigenpairs (``U`` of shape
        ``(K, top)``); ``None`` or ``top >= K`` computes all.
    check_finite : bool, default=True
        Raise a ``ValueError`` for NaN or infinite entries (one pass over
        ``gram``, no extra ``K x K`` memory) instead of handing them to LAPACK.

    Returns
    -------
    d : ndarray of shape (K,) or (top,)
        Eigenvalues in descending order, null space exactly 0.
    U : ndarray of shape (K, K) or (K, top), or None
        Matching orthonormal eigenvectors as columns, a Fortran-ordered array
        (not a reversed view). ``None`` when ``eigenvectors=False``.

    Raises
    ------
    ValueError
        If ``gram`` is not square, not finite, or has a negative eigenvalue
        below ``-1e-8 * max|d|`` (the kernel is not positive semi-definite).
    """
    gram = np.asarray(gram)
    _check_square(gram, "gram")
    n = gram.shape[0]
    if check_finite and n:
        _check_finite(gram, "gram")
    d, U = eigh_descending(gram, top=top, eigenvectors=eigenvectors)
    return clean_spectrum(d, n, kernel_name=kernel_name), U


def _panel_apply(reduced, tau, W, *, transpose):
    """``W Q`` (``transpose=False``) or ``W Q^T`` in place, ``W`` Fortran (p, K).

    ``Q = H(0) H(1) ... H(K-2)`` are ``dsytrd``'s reflectors (``lower=1``):
    ``H(i) = I - tau_i v v^T`` with ``v[:i+1] = 0``, ``v[i+1] = 1`` and
    ``v[i+2:]`` below the subdiagonal of column ``i`` of ``reduced``. The
    reflectors of columns ``j0:j1`` are a QR-type panel
    ``reduced[j0+1:, j0:j1]`` (unit diagonal implied) acting on rows ``j0+1:``,
    so LAPACK's ``dormqr`` applies them; this is ``dormtr``, which scipy does
    not wrap. Applied from the right to ``W = C^T`` so that every slice
    ``W[:, j0+1:]`` is contiguous and updated in place.
    """
    n = reduced.shape[0]
    n_refl = n - 1
    if n_refl <= 0 or W.shape[0] == 0:
        return W
    starts = list(range(0, n_refl, _PANEL))
    trans = "N"
    if transpose:
        # W Q^T = W H(K-2) ... H(0): panels in reverse order, each transposed.
        starts.reverse()
        trans = "T"
    # dormqr's blocked path needs rows(W) * nb plus its 65 x 64 T factor.
    lwork = max(1, W.shape[0]) * _PANEL + 65 * 64
    # One buffer for every panel: a single K x 64 copy of reflectors alive.
    buffer = np.empty(n_refl * min(_PANEL, n_refl))
    for j0 in starts:
        j1 = min(j0 + _PANEL, n_refl)
        rows = n - j0 - 1
        panel = buffer[: rows * (j1 - j0)].reshape((rows, j1 - j0), order="F")
        np.copyto(panel, reduced[j0 + 1:, j0:j1])
        target = W[:, j0 + 1:]
        out, _, info = lapack.dormqr(
            "R", trans, panel, tau[j0:j1], target, lwork=lwork, overwrite_c=1,
        )
        if info != 0:  # pragma: no cover - argument errors only
            raise RuntimeError(f"LAPACK dormqr failed with info={info}.")
        if not np.shares_memory(out, target):  # pragma: no cover
            target[...] = out
    return W


class TridiagonalEigenvectors:
    """The eigenvectors ``U = Q V`` of a Gram matrix, kept as factors.

    Returned by :func:`tridiagonal_eigh`. Holds the Householder reflectors of
    the tridiagonal reduction (in the overwritten Gram matrix) and the
    eigenvectors ``V`` of the tridiagonal matrix, and multiplies by ``U`` or
    ``U^T`` in ``O(K^2)`` per column without forming ``U`` (``O(K^3)``).
    Columns follow the descending eigenvalues ``d``.

    Attributes
    ----------
    n_samples : int
        ``K``, the order of the matrix.
    nbytes : int
        Memory held: the reduced matrix (the caller's array), ``V`` and the
        reflector scalars.
    """

    def __init__(self, reduced, tau, V):
        self._reduced = reduced
        self._tau = tau
        self._V = V  # ascending order, as dstemr returns it
        self.n_samples = reduced.shape[0]

    @property
    def shape(self):
        """``(K, K)``, the shape of ``U``."""
        return (self.n_samples, self.n_samples)

    def __matmul__(self, G):
        """``U @ G`` for ``G`` of ``K`` rows: :meth:`apply`, as a drop-in for ``U``."""
        G = np.asarray(G)
        if G.ndim == 0 or G.shape[0] != self.n_samples:
            raise ValueError(
                f"U @ G needs G with {self.n_samples} rows; got shape {G.shape}."
            )
        return self.apply(G)

    @property
    def nbytes(self):
        return self._reduced.nbytes + self._V.nbytes + self._tau.nbytes

    def _block(self, B, rows, name):
        B = np.asarray(B, dtype=np.float64)
        one_d = B.ndim == 1
        if one_d:
            B = B[:, None]
        if B.ndim != 2 or B.shape[0] != rows:
            raise ValueError(
                f"{name} must have {rows} rows (shape ({rows},) or ({rows}, q)); "
                f"got shape {B.shape}."
            )
        return B, one_d

    def rotate(self, Y):
        """``U^T Y``: the rotated targets ``z`` of eq. (21), ``V^T (Q^T Y)``.

        Parameters
        ----------
        Y : ndarray of shape (K,) or (K, q)

        Returns
        -------
        Z : ndarray of the shape of ``Y``
            Row ``k`` pairs with the ``k``-th largest eigenvalue.
        """
        Y, one_d = self._block(Y, self.n_samples, "Y")
        C = np.array(Y, dtype=np.float64, order="C")  # C^T is Fortran (q, K)
        _panel_apply(self._reduced, self._tau, C.T, transpose=False)  # Q^T Y
        # V^T is C-ordered: a contiguous product; reverse the small result.
        Z = (self._V.T @ C)[::-1].copy()
        return Z[:, 0] if one_d else Z

    def apply(self, G):
        """``U[:, :k] G``: combine the leading ``k`` eigenvectors, ``Q (V G)``.

        With ``G = diag(g) Z`` this is ``U diag(g) U^T Y``; the round-``t``
        dual coefficients of the closed form are ``g = B_t / (K d)`` (0 where
        ``d = 0``), with ``B_t`` of eq. (46).

        Parameters
        ----------
        G : ndarray of shape (k,) or (k, q), k <= K
            Coefficients on the eigenvectors of the ``k`` largest eigenvalues,
            in descending order.

        Returns
        -------
        ndarray of shape (K,) or (K, q)
        """
        G = np.asarray(G, dtype=np.float64)
        k = G.shape[0] if G.ndim >= 1 else -1
        if not 0 <= k <= self.n_samples:
            raise ValueError(
                f"G must have at most {self.n_samples} rows (one per "
                f"eigenvector); got shape {G.shape}."
            )
        G, one_d = self._block(G, k, "G")
        n = self.n_samples
        # Descending column j is ascending column n-1-j: reverse the small
        # operand, keep the contiguous block of V.
        C = np.empty((n, G.shape[1]), order="C")
        np.matmul(self._V[:, n - k:], G[::-1], out=C)
        _panel_apply(self._reduced, self._tau, C.T, transpose=True)  # Q (V G)
        return C[:, 0] if one_d else C

    def to_array(self, *, block=256):
        """Form ``U`` explicitly (``O(K^3)``, one more ``K x K`` array).

        For a fit that must store the eigenvectors, :func:`eigh_inplace` is
        faster: this exists for checks and occasional use.
        """
        n = self.n_samples
        U = np.empty((n, n), order="F")
        for start in range(0, n, block):
            stop = min(start + block, n)
            # Descending columns start:stop are ascending n-stop:n-start.
            C = np.array(self._V[:, n - stop:n - start][:, ::-1], order="C")
            _panel_apply(self._reduced, self._tau, C.T, transpose=True)
            U[:, start:stop] = C
        return U


def tridiagonal_eigh(gram, Y=None, *, kernel_name="kernel", check_finite=True):
    """Eigenvalues and rotated targets of a Gram matrix without forming ``U``.

    Reduces ``G = Q T Q^T`` in place (LAPACK ``dsytrd``), solves the
    tridiagonal eigenproblem ``T = V diag(d) V^T`` by MRRR (``dstemr``,
    falling back to divide and conquer ``dstevd``, or ``dstev`` with an older
    scipy, if it reports a failure)
    and returns ``z = U^T Y = V^T Q^T Y`` for the targets, with an object that
    applies ``U = Q V`` to further blocks.

    Parameters
    ----------
    gram : ndarray of shape (K, K)
        Symmetric matrix ``G`` of eq. (16). Overwritten by the reduction and
        kept (referenced) by the returned operator when it is a writeable C- or
        Fortran-contiguous float64 array; any other array is copied once.
    Y : ndarray of shape (K,) or (K, q), default=None
        Targets to rotate; ``None`` returns ``Z=None``.
    kernel_name : str, default="kernel"
        Name used in the error raised for an indefinite matrix.
    check_finite : bool, default=True
        Raise a ``ValueError`` for NaN or infinite entries of ``gram``.

    Returns
    -------
    d : ndarray of shape (K,)
        Eigenvalues in descending order, null space exactly 0 (as
        ``_solvers.eigh_gram``).
    Z : ndarray of the shape of ``Y``, or None
        ``U^T Y`` with row ``k`` for ``d[k]``.
    U : TridiagonalEigenvectors
        ``U.apply(G)`` is ``U[:, :k] @ G``, ``U.rotate(Y)`` is ``U.T @ Y``.

    Raises
    ------
    ValueError
        If ``gram`` is not square or not finite, ``Y`` has the wrong number of
        rows, or ``gram`` has a negative eigenvalue below ``-1e-8 * max|d|``.
    """
    a = _fortran_view(gram, "gram")
    n = a.shape[0]
    if Y is not None:
        Y = np.asarray(Y, dtype=np.float64)
        if Y.ndim not in (1, 2) or Y.shape[0] != n:
            raise ValueError(
                f"Y must have one row per row of gram ({n}); got shape {Y.shape}."
            )
        if not np.isfinite(Y).all():
            raise ValueError("Y contains NaN or infinity.")
    if check_finite and n:
        _check_finite(a, "gram")
    if n == 0:
        op = TridiagonalEigenvectors(a, np.zeros(0), np.zeros((0, 0), order="F"))
        return np.zeros(0), (None if Y is None else Y.copy()), op
    lwork, info = lapack.dsytrd_lwork(n, lower=1)
    lwork = max(int(lwork), n)
    reduced, diag, offdiag, tau, info = lapack.dsytrd(
        a, lower=1, lwork=lwork, overwrite_a=1
    )
    if info != 0:  # pragma: no cover - argument errors only
        raise RuntimeError(f"LAPACK dsytrd failed with info={info}.")
    try:
        w, V = linalg.eigh_tridiagonal(diag, offdiag, lapack_driver="stemr",
                                       check_finite=False)
    except linalg.LinAlgError:  # MRRR reports a failure (rare)
        w, V = linalg.eigh_tridiagonal(diag, offdiag,
                                       lapack_driver=_FALLBACK_DRIVER,
                                       check_finite=False)
    del diag, offdiag
    V = np.asfortranarray(V)
    d = clean_spectrum(w[::-1].copy(), n, kernel_name=kernel_name)
    op = TridiagonalEigenvectors(reduced, tau, V)
    Z = None if Y is None else op.rotate(Y)
    return d, Z, op
