"""Spectra of the normalised Gram matrix: exact, randomized and Nystroem.

Every solver returns the same thing, a :class:`Spectrum`: the leading
eigenvalues ``d`` of ``G = kernel(X, X) / K`` (eq. (16) of Mobahi et al.,
2020), the rotated targets ``z_0 = V y_0`` in those directions, the energy of
``y_0`` outside the kept span (those directions count as eigenvalue 0, i.e.
unfittable), and a linear map from the eigenbasis to dual coefficients on
``X_fit``:

    dual_t = dual_map @ ((B_t / d) * z_0)

* ``"dense"``: the exact eigendecomposition (LAPACK ``syevr`` with overwrite:
  about one extra ``K x K`` matrix besides the eigenvectors), optionally only
  its leading ``n_components`` pairs; ``dual_map = U / K``.
* ``"randomized"``: the leading eigenpairs of the exact Gram matrix from a
  randomized range finder with subspace iteration (Halko, Martinsson and
  Tropp, 2011, Alg. 4.4 and 5.3); it still forms the ``K x K`` matrix.
* ``"nystroem"``: ``m`` landmarks ``L`` drawn without replacement, the
  features ``Phi = kernel(X, L) R`` with ``R = kernel(L, L)^{-1/2}``
  (pseudo-inverse), and the eigendecomposition ``W S W^T`` of the ``m x m``
  matrix ``Phi^T Phi / K``, streamed over chunks of rows (a ``syrk`` update
  per chunk) so that memory does not grow with ``K``. The eigenvectors of
  ``Phi Phi^T / K`` are ``Phi W S^{-1/2} / sqrt(K)`` with eigenvalues ``S``;
  they are never formed.
  The model is exact self-distillation with the kernel
  ``phi(x) . phi(x')``, and its dual coefficients live on the landmarks:
  ``dual_map = R W S^{1/2} / sqrt(K)``.

The numerical work goes through a small set of array operations (``ops``) so
that the same code runs on numpy or, through :mod:`._torch_backend`, on a
torch device.
"""

import math

import numpy as np
from scipy import linalg
from scipy.linalg import blas

from ._spectral import clean_spectrum

#: Rows of one chunk times n_components kept at most this many floats (64 MiB).
_CHUNK_FLOATS = 2**23



class NumpyOps:
    """Array operations of the spectral solvers on numpy and LAPACK."""

    def __init__(self, kernel):
        self._kernel = kernel

    def kernel(self, A, B=None):
        return self._kernel(A, B)

    def asarray(self, a):
        return np.asarray(a, dtype=np.float64)

    def to_numpy(self, a):
        return np.asarray(a)

    def shares_memory(self, a, b):
        return np.shares_memory(a, b)

    def eigh(self, M, *, top=None):
        """Descending eigenvalues (numpy) and eigenvectors, overwriting ``M``.

        ``syevr`` (MRRR) with overwrite: measured fastest of ``evd``/``evr``/
        ``numpy.linalg.eigh`` here and the least memory, about one extra
        ``K x K`` array (the eigenvectors) where ``numpy.linalg.eigh`` takes
        four. ``top`` computes only the leading ``top`` pairs.
        """
        n = M.shape[0]
        subset = None if top is None or top >= n else (n - top, n - 1)
        d, U = linalg.eigh(
            M, overwrite_a=True, check_finite=False, driver="evr",
            subset_by_index=subset,
        )
        return d[::-1].copy(), U[:, ::-1]

    def qr(self, M):
        return linalg.qr(M, mode="economic", overwrite_a=True, check_finite=False)[0]

    def add_gram(self, M, A):
        """``M + A^T A`` in the upper triangle of the Fortran-ordered ``M``."""
        if not M.flags.f_contiguous:
            M = np.asfortranarray(M)
        # A.T is Fortran-ordered for a C-ordered A: no copy.
        return blas.dsyrk(1.0, A.T, beta=1.0, c=M, trans=0, lower=0,
                          overwrite_c=1)

    def symmetrize_upper(self, M):
        upper = np.triu(M)
        return upper + np.triu(M, 1).T

    def standard_normal(self, rng, shape):
        return rng.standard_normal(shape)

    def zeros(self, shape):
        return np.zeros(shape)

    def sqrt(self, a):
        return np.sqrt(a)


class Spectrum:
    """Result of a spectral solver (see the module docstring)."""

    def __init__(self, *, d, Z0, residual, dual_map, X_fit, U=None, ops=None,
                 dual_scale=1.0):
        self.dual_scale = dual_scale
        self.d = d
        self.Z0 = Z0
        self.residual = residual
        self.dual_map = dual_map
        self.X_fit = X_fit
        self.U = U
        self.ops = ops

    def dual_coef(self, scaled):
        """``dual_map @ scaled[t]`` for every round, as numpy (T, n_fit, Q)."""
        ops = self.ops
        T, m, Q = scaled.shape
        # One matrix product for every round and output.
        flat = np.ascontiguousarray(scaled.transpose(1, 0, 2)).reshape(m, T * Q)
        out = ops.to_numpy(self.dual_map @ ops.asarray(flat * self.dual_scale))
        return np.ascontiguousarray(out.reshape(-1, T, Q).transpose(1, 0, 2))


def _energy_outside(Y, Z0, n_kept, n_samples):
    """Energy of each column of Y outside an orthonormal span of ``n_kept``."""
    if n_kept >= n_samples:
        return np.zeros(Y.shape[1])
    total = np.einsum("iq,iq->q", Y, Y)
    kept = np.einsum("iq,iq->q", Z0, Z0)
    return np.maximum(total - kept, 0.0)


def dense_spectrum(ops, X, Y, *, n_components=None, kernel_name="kernel"):
    """Exact eigendecomposition (all pairs, or the leading ``n_components``)."""
    n = X.shape[0]
    gram = ops.kernel(X)
    if ops.shares_memory(gram, X):
        # kernel="precomputed" hands back X itself: never modify the caller's
        # matrix (neither here nor in the eigensolver below).
        gram = gram / n  # G of eq. (16)
    else:
        gram /= n  # G of eq. (16), in place
    if n == 0:
        d, U = np.zeros(0), ops.zeros((0, 0))
    else:
        d, U = ops.eigh(gram, top=n_components)
    del gram
    d = clean_spectrum(d, n, kernel_name=kernel_name)
    Z0 = ops.to_numpy(U.T @ ops.asarray(Y))
    return Spectrum(
        d=d, Z0=Z0, residual=_energy_outside(Y, Z0, d.shape[0], n),
        dual_map=U, dual_scale=1.0 / n, X_fit=X, U=U, ops=ops,
    )


def randomized_spectrum(ops, X, Y, *, n_components, random_state,
                        kernel_name="kernel", n_oversamples=10, n_iter=4):
    """Leading eigenpairs of the exact Gram matrix by a randomized range finder.

    A Gaussian test matrix with ``n_components + n_oversamples`` columns,
    ``n_iter`` steps of orthonormalised subspace iteration, then the exact
    eigendecomposition of the projected matrix ``Q^T G Q``. When the test
    matrix has as many columns as there are points the range is the whole
    space and the exact leading pairs are returned.
    """
    n = X.shape[0]
    width = min(n, n_components + n_oversamples)
    if width >= n:
        return dense_spectrum(
            ops, X, Y, n_components=n_components, kernel_name=kernel_name
        )
    gram = ops.kernel(X)
    if ops.shares_memory(gram, X):
        gram = gram / n
    else:
        gram /= n
    Q = ops.qr(gram @ ops.asarray(ops.standard_normal(random_state, (n, width))))
    for _ in range(n_iter):
        Q = ops.qr(gram @ Q)
    T = Q.T @ (gram @ Q)
    del gram
    T = (T + T.T) / 2.0
    d, W = ops.eigh(T)
    d = d[:n_components].copy()
    U = Q @ W[:, :n_components]
    d = clean_spectrum(d, n, kernel_name=kernel_name)
    Z0 = ops.to_numpy(U.T @ ops.asarray(Y))
    return Spectrum(
        d=d, Z0=Z0, residual=_energy_outside(Y, Z0, d.shape[0], n),
        dual_map=U, dual_scale=1.0 / n, X_fit=X, U=U, ops=ops,
    )


def nystroem_spectrum(ops, X, Y, *, n_components, random_state,
                      kernel_name="kernel", chunk_size=None):
    """Nystroem landmarks, streamed into an ``n_components`` square Gram matrix.

    Memory is ``O(n_components^2 + chunk_size * n_components)`` beyond ``X``
    and ``Y``: no ``K x K`` nor ``K x n_components`` array is formed.
    """
    n = X.shape[0]
    m = n_components
    if m >= n:
        index = np.arange(n)
    else:
        index = np.sort(random_state.choice(n, size=m, replace=False))
    landmarks = X[index]
    # R = kernel(L, L)^{-1/2} on the range of kernel(L, L).
    lam, Q = ops.eigh(ops.kernel(landmarks))
    lam = clean_spectrum(lam, m, kernel_name=kernel_name)
    r = int(np.count_nonzero(lam > 0))
    R = Q[:, :r] / ops.asarray(np.sqrt(lam[:r]))[None, :]
    del Q
    # Stream C = Phi^T Phi and Phi^T Y over chunks of rows, with the features
    # Phi = kernel(X, L) R whitened chunk by chunk: accumulating
    # kernel(X, L)^T kernel(X, L) first would be three times cheaper but
    # squares the condition number of kernel(L, L) (measured: 1e-6 instead of
    # 1e-13 agreement with the dense solver when all points are landmarks).
    if chunk_size is None:
        chunk_size = max(64, _CHUNK_FLOATS // max(m, 1))
    C = ops.zeros((r, r))
    P = ops.zeros((r, Y.shape[1]))
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        Phi = ops.kernel(X[start:stop], landmarks) @ R
        C = ops.add_gram(C, Phi)
        P += Phi.T @ ops.asarray(Y[start:stop])
        del Phi
    C = ops.symmetrize_upper(C)
    C /= n
    s, W = ops.eigh(C)
    s = clean_spectrum(s, n, kernel_name=kernel_name)
    positive = s > 0
    # z_0 = S^{-1/2} W^T Phi^T y / sqrt(K): y in the orthonormal eigenvectors
    # Phi W S^{-1/2} / sqrt(K) of Phi Phi^T / K.
    WtP = ops.to_numpy(W.T @ P)
    Z0 = np.zeros((m, Y.shape[1]))
    inv_sqrt = np.zeros(r)
    inv_sqrt[positive] = 1.0 / np.sqrt(s[positive] * n)
    Z0[:r] = WtP * inv_sqrt[:, None]
    d = np.zeros(m)
    d[:r] = s
    dual_map = ops.zeros((m, m))
    dual_map[:, :r] = (R @ W) * ops.asarray(np.sqrt(s) / math.sqrt(n))[None, :]
    n_span = int(np.count_nonzero(positive))
    return Spectrum(
        d=d, Z0=Z0, residual=_energy_outside(Y, Z0, n_span, n),
        dual_map=dual_map, X_fit=landmarks, U=None, ops=ops,
    )
