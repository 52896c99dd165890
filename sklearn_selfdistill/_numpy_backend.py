"""NumPy backend of the spectral solvers: the array operations on numpy and LAPACK.

:mod:`._torch_backend` implements the same operations on a torch device.
"""

import numpy as np
from scipy import linalg
from scipy.linalg import blas

__all__ = ["NumpyOps"]


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
