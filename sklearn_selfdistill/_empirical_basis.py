"""Empirical basis coefficients: B_t of any trained model on its training set.

For kernel ridge, the round-t fit in the eigenbasis of the normalised Gram
matrix ``G = kernel(X, X) / K`` (eq. (16) and (19) of Mobahi et al., 2020;
``U`` holds the eigenvectors as columns, the paper's ``V = U.T``) is diagonal:
the training predictions are ``f_t = U diag(B_t) U.T y_0`` with ``B_t`` the
product of the shrink factors ``A_i`` (eq. (45)-(46)). For any other model,
the same numbers are measured direction by direction,

    B_t[k] = (u_k . f_t) / (u_k . y_0),

which is exactly eq. (46) for kernel ridge with that kernel, and the
"coefficients of the basis functions" of Sec. 3.3 for a network.

Two things make the measurement right on large training sets:

* the directions ``u_k`` are eigenvectors of the FULL training Gram matrix,
  not of a subsample (a subsample's eigenvectors are not orthogonal to the
  other directions of ``f_t``, and the ratios then leave [0, 1]);
* they are accurate to round-off. A ratio divides two projections, so an
  error ``e`` in ``u_k`` moves it by about ``(e . f_t - B_t[k] e . y) /
  (u_k . y)``: approximate (e.g. Nystroem-extended) eigenvectors give errors of
  order one in the leading directions.

:func:`gram_eigenbasis` therefore uses the dense eigendecomposition (all
directions) when ``K`` is small, and otherwise the Lanczos method (ARPACK's
``eigsh``, run to machine precision) on an operator whose products compute the
kernel in blocks of rows, so that the ``K x K`` matrix never exists. Costs,
with ``k`` directions: dense, ``O(K^3)`` time and ``O(K^2)`` memory; Lanczos,
about ``2k + 1`` products with ``G``, each ``K^2 / 2`` kernel evaluations
(only the upper block triangle is computed, the lower one by symmetry), so
``O(k K^2)`` time and ``O(K (chunk_rows + 2k))`` memory. ``benchmarks/
bench_basis.py`` measures both.
"""

import difflib
import numbers

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import LinearOperator, eigsh
from sklearn.utils import check_array, check_random_state

from . import _ntk
from ._numpy_backend import NumpyOps
from ._solvers import _CHUNK_FLOATS, clean_spectrum, eigh_gram
from .kernels import _check_unit_interval, _kernel_name, _pairwise

__all__ = [
    "check_basis_kernel",
    "gram_eigenbasis",
    "empirical_basis_coefficients",
    "DEFAULT_DENSE_MAX_SAMPLES",
]

#: Up to this many training points the dense eigendecomposition gives every
#: direction; above it the Lanczos solver gives the leading ones.
#: ``benchmarks/bench_basis.py`` measures where the two cost the same.
DEFAULT_DENSE_MAX_SAMPLES = 2000

_NO_PARAMS = ("additive_chi2", "cosine", "linear", "green_spline")


def _flat_inputs(X):
    """``X`` as a 2-D float64 array (or CSR matrix), images flattened."""
    if sparse.issparse(X):
        return check_array(X, accept_sparse="csr", dtype=np.float64, input_name="X")
    X = np.asarray(X)
    if X.ndim > 2:
        X = X.reshape(X.shape[0], -1)
    return check_array(X, dtype=np.float64, input_name="X")


def check_basis_kernel(kernel, kernel_params=None, X=None, *,
                       kernel_name="basis_kernel",
                       params_name="basis_kernel_params"):
    """Check a basis kernel and its parameters before any model is trained.

    Names are checked against what the kernel takes (scikit-learn's pairwise
    kernels silently drop unknown parameters, so a typo such as
    ``{"gama": 1}`` would otherwise give the default ``gamma``), and the
    kernel is evaluated on the first two rows of ``X``: a callable that fails
    or returns a non-finite, non-symmetric or negative-diagonal matrix is
    caught in O(1) kernel evaluations instead of after every round has
    trained.

    Parameters
    ----------
    kernel : str, callable or sklearn.gaussian_process.kernels.Kernel
        A name of :data:`sklearn.metrics.pairwise.PAIRWISE_KERNEL_FUNCTIONS`
        (except ``"precomputed"``), ``"green_spline"`` (eq. (57)), a callable
        on two 1-D samples, or a scikit-learn ``Kernel`` object.
    kernel_params : dict, default=None
        Keyword arguments of the kernel: ``gamma``, ``degree``, ``coef0`` as
        the named kernel takes them, anything for a callable, nothing for a
        ``Kernel`` object (set its parameters on the object).
    X : array-like of shape (n_samples, ...), default=None
        Training inputs (flattened to 2-D); ``None`` checks names only.
    kernel_name, params_name : str
        The parameter names used in the error messages.

    Returns
    -------
    params : dict
        A copy of ``kernel_params`` (empty when ``None``).

    Raises
    ------
    TypeError
        For a kernel or parameters of the wrong type, or a callable that
        cannot be called with these parameters.
    ValueError
        For an unknown kernel name, a parameter the kernel does not take, an
        invalid value, or a kernel whose values on two training points are
        not those of a positive semi-definite kernel.
    """
    from sklearn.gaussian_process.kernels import Kernel
    from sklearn.metrics.pairwise import KERNEL_PARAMS, PAIRWISE_KERNEL_FUNCTIONS

    if kernel_params is not None and not isinstance(kernel_params, dict):
        raise TypeError(
            f"{params_name} must be a dict or None, got "
            f"{type(kernel_params).__name__}."
        )
    params = dict(kernel_params or {})
    if isinstance(kernel, Kernel):
        if params:
            raise ValueError(
                f"{params_name}={kernel_params!r} cannot be used with the Kernel "
                f"object {kernel_name}={kernel!r}: set its parameters on the "
                "object itself (e.g. RBF(length_scale=0.5)) and leave "
                f"{params_name}=None."
            )
    elif isinstance(kernel, str):
        names = set(PAIRWISE_KERNEL_FUNCTIONS) - {"precomputed"} | {"green_spline"}
        names |= set(_ntk._KERNELS)
        if kernel not in names:
            extra = (
                " The basis is computed from the training inputs, so a "
                "precomputed matrix cannot be used; pass the kernel itself."
                if kernel == "precomputed" else ""
            )
            raise ValueError(
                f"{kernel_name}={kernel!r} is not a known kernel; use one of "
                f"{sorted(names)}, a callable or a scikit-learn Kernel object."
                + extra
            )
        allowed = () if kernel in _NO_PARAMS else tuple(sorted(
            _ntk._PARAMS if kernel in _ntk._KERNELS else KERNEL_PARAMS[kernel]))
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            hints = []
            for key in unknown:
                close = difflib.get_close_matches(
                    str(key), allowed or ("gamma", "degree", "coef0"), n=1
                )
                if close:
                    hints.append(f"{key!r} (did you mean {close[0]!r}?)")
                else:
                    hints.append(repr(key))
            takes = (
                f"takes only {', '.join(allowed)}" if allowed
                else "takes no parameters"
            )
            raise ValueError(
                f"{params_name} has {', '.join(hints)}, which "
                f"{kernel_name}={kernel!r} does not take: it {takes}. Fix or "
                f"remove the key in {params_name}."
            )
        if kernel in _ntk._KERNELS:
            # depth, weight_std and bias_std, each error naming its key.
            _ntk.check_params(kernel, params)
        for key, value in params.items():
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise TypeError(
                    f"{params_name}[{key!r}] must be a real number, got "
                    f"{value!r}."
                )
            if not np.isfinite(value):
                raise ValueError(
                    f"{params_name}[{key!r}] must be finite, got {value!r}."
                )
        if "gamma" in params and not params["gamma"] > 0:
            raise ValueError(
                f"{params_name}['gamma'] must be > 0 for {kernel_name}={kernel!r}, "
                f"got {params['gamma']!r}."
            )
        if "degree" in params and not (
            params["degree"] >= 1 and float(params["degree"]).is_integer()
        ):
            raise ValueError(
                f"{params_name}['degree'] must be an integer >= 1 for a "
                f"polynomial kernel, got {params['degree']!r}."
            )
    elif not callable(kernel):
        raise TypeError(
            f"{kernel_name} must be a kernel name, a callable or a scikit-learn "
            f"Kernel object, got {type(kernel).__name__}."
        )
    if X is None:
        return params
    X = _flat_inputs(X)
    if isinstance(kernel, str) and kernel == "green_spline":
        try:
            _check_unit_interval(X, "X")
        except ValueError as exc:
            raise ValueError(f"{kernel_name}='green_spline': {exc}") from exc
    rows = X[: min(2, X.shape[0])]
    label = _kernel_name(kernel)
    try:
        # Y passed explicitly: every pair is evaluated (scikit-learn mirrors
        # the upper triangle when Y is None), so asymmetry shows.
        K = _pairwise(rows, rows.copy(), kernel=kernel,
                      kernel_params=params or None)
    except TypeError as exc:
        raise TypeError(
            f"{kernel_name}={label!r} failed on two training points with "
            f"{params_name}={kernel_params!r}: {exc}. A callable kernel is "
            "called as kernel(x, y, **params) on two 1-D samples; make "
            f"{params_name} match its keyword arguments."
        ) from exc
    except Exception as exc:
        raise ValueError(
            f"{kernel_name}={label!r} failed on two training points with "
            f"{params_name}={kernel_params!r}: {type(exc).__name__}: {exc}. "
            f"Fix the kernel or {params_name} before fitting."
        ) from exc
    m = rows.shape[0]
    if K.shape != (m, m) or not np.all(np.isfinite(K)):
        raise ValueError(
            f"{kernel_name}={label!r} must return finite numbers, one per pair "
            f"of samples; on two training points it gave {K!r}."
        )
    scale = float(np.abs(K).max()) if K.size else 0.0
    if np.any(np.diag(K) < -1e-12 * scale) or not np.allclose(
        K, K.T, rtol=1e-10, atol=1e-12 * scale
    ):
        raise ValueError(
            f"{kernel_name}={label!r} is not a positive semi-definite kernel: on "
            f"two training points it gave {K!r} (k(x, y) must equal k(y, x) "
            "and k(x, x) must be >= 0). Use a symmetric positive semi-definite "
            "kernel such as 'rbf'."
        )
    return params


class _ChunkedGram:
    """Products with ``G = kernel(X, X) / K``, the kernel computed in row blocks.

    Block ``i`` (rows ``s:e``) computes the tile ``kernel(X[s:e], X[s:])`` of
    the upper block triangle only and uses it twice: ``out[s:e] += T v[s:]``
    and ``out[e:] += T[:, e-s:].T v[s:e]``. Half the kernel evaluations of a
    full row pass, and the operator is exactly symmetric (the diagonal tile is
    symmetrised), which the Lanczos recurrence assumes. At most one tile of
    ``chunk_rows x K`` exists at a time.
    """

    def __init__(self, X, ops, chunk_rows):
        self.X = X
        self.ops = ops
        self.n = X.shape[0]
        self.chunk_rows = chunk_rows
        self.n_products = 0

    def matmat(self, V):
        ops, X, n, c = self.ops, self.X, self.n, self.chunk_rows
        V = np.asarray(V, dtype=np.float64)
        one = V.ndim == 1
        V = ops.asarray(V.reshape(n, -1))
        out = ops.zeros((n, V.shape[1]))
        for s in range(0, n, c):
            e = min(s + c, n)
            T = ops.kernel(X[s:e], X[s:])
            D = T[:, : e - s]
            D = (D + D.T) / 2.0
            out[s:e] += D @ V[s:e]
            if e < n:
                out[s:e] += T[:, e - s:] @ V[e:]
                out[e:] += T[:, e - s:].T @ V[s:e]
            del T, D
        out /= n
        self.n_products += V.shape[1]
        out = ops.to_numpy(out)
        return out[:, 0] if one else out


def _make_ops(kernel, params, device):
    kernel_params = params or None
    if device is None:
        # Looked up at call time, so that tests can watch the blocks requested.
        return NumpyOps(lambda A, B=None: _pairwise(
            A, B, kernel=kernel, kernel_params=kernel_params
        ))
    from ._torch_backend import TorchOps

    return TorchOps(device, kernel=kernel, gamma=None, degree=3, coef0=1,
                    kernel_params=kernel_params)


def _fix_signs(U):
    """Make the largest-magnitude entry of each column positive (reproducible)."""
    if U.size == 0:
        return U
    rows = np.argmax(np.abs(U), axis=0)
    signs = np.sign(U[rows, np.arange(U.shape[1])])
    signs[signs == 0] = 1.0
    return U * signs


def gram_eigenbasis(X, *, kernel, kernel_params=None, n_components=50,
                    dense_max_samples=DEFAULT_DENSE_MAX_SAMPLES, device=None,
                    random_state=None, chunk_rows=None):
    """Leading eigenpairs of the training Gram matrix ``G = kernel(X, X) / K``.

    ``G`` is the matrix of eq. (16) of Mobahi et al. (2020), diagonalised as
    ``G = V^T D V`` (eq. (19)); the eigenvectors are returned as the columns
    of ``U = V^T``, ordered by decreasing eigenvalue. These are the directions
    in which ``B_t`` of eq. (46) is measured
    (:func:`empirical_basis_coefficients`).

    * Dense path, when ``K <= dense_max_samples``, when ``n_components`` is
      ``None``, or when ``n_components >= K - 1``: the whole Gram matrix and
      its eigendecomposition (LAPACK ``syevr``), ALL ``K`` directions.
      ``O(K^3)`` time, ``O(K^2)`` memory.
    * Lanczos path otherwise: the ``n_components`` leading eigenpairs by
      ARPACK (``scipy.sparse.linalg.eigsh``, ``which="LA"``, ``tol=0``, i.e.
      to machine precision) on a :class:`~scipy.sparse.linalg.LinearOperator`
      whose products compute the kernel ``chunk_rows`` rows at a time: the
      ``K x K`` matrix is never formed. About ``2 n_components + 1`` products
      of ``K^2 / 2`` kernel evaluations each; memory ``O(K (chunk_rows +
      n_components))``.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (K, ...)
        Training inputs; images of shape (K, C, H, W) and any other shape are
        flattened to (K, C * H * W). Converted to float64.
    kernel : str, callable or sklearn.gaussian_process.kernels.Kernel
        Any kernel of :func:`check_basis_kernel`.
    kernel_params : dict, default=None
        Parameters of ``kernel`` (checked by :func:`check_basis_kernel`).
    n_components : int or None, default=50
        Number of leading directions of the Lanczos path. ``None`` asks for
        every direction (the dense path, whatever ``K``).
    dense_max_samples : int, default=DEFAULT_DENSE_MAX_SAMPLES
        Largest ``K`` for the dense path.
    device : str or torch.device, default=None
        ``None`` computes with numpy; a torch device (e.g. ``"cuda"``)
        computes the kernel blocks, the products and the dense
        eigendecomposition there in float64 (the kernels of
        :mod:`._torch_backend` natively, others through numpy and copied).
        ARPACK's recurrence runs on the host on vectors of length ``K``. A
        sparse ``X`` is densified on the device.
    random_state : int, RandomState instance or None, default=None
        Seeds the start vector of the Lanczos iteration (uniform in
        [-1, 1]), so that results are reproducible to the last digit.
    chunk_rows : int, default=None
        Rows of one kernel block of the Lanczos path; ``None`` takes
        ``max(K / 8, 256)`` rows, at most ``2**23`` floats (64 MiB) per
        block.

    Returns
    -------
    eigenvalues : ndarray of shape (n_kept,)
        Eigenvalues of ``G`` in decreasing order, the numerical null space set
        to exactly 0 (:func:`._solvers.null_space_threshold`). ``n_kept`` is
        ``K`` on the dense path and ``n_components`` on the Lanczos path.
    U : ndarray of shape (K, n_kept)
        Orthonormal eigenvectors as columns, each signed so that its
        largest-magnitude entry is positive.

    Raises
    ------
    ValueError
        For invalid parameters or kernels (:func:`check_basis_kernel`), or a
        Gram matrix that is not positive semi-definite.

    Notes
    -----
    scikit-learn evaluates a callable kernel one pair of samples at a time in
    Python: on the Lanczos path that is about ``2 n_components + 1`` times
    ``K^2 / 2`` calls. For large ``K`` use a kernel name or a ``Kernel``
    object, which are vectorised.

    Examples
    --------
    Around kernel ridge with the same kernel, the empirical coefficients are
    the closed form ``(lambda / (lambda + alpha))^(t + 1)`` with ``lambda =
    K d`` the eigenvalues of the unnormalised kernel matrix:

    >>> import numpy as np
    >>> from sklearn.kernel_ridge import KernelRidge
    >>> from sklearn_selfdistill._empirical_basis import (
    ...     empirical_basis_coefficients, gram_eigenbasis)
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, (300, 3))
    >>> y = np.sin(np.pi * X[:, 0]) + 0.1 * rng.randn(300)
    >>> d, U = gram_eigenbasis(X, kernel="rbf", kernel_params={"gamma": 2.0},
    ...                        n_components=10, dense_max_samples=0,
    ...                        random_state=0)
    >>> U.shape
    (300, 10)
    >>> f0 = KernelRidge(alpha=10.0, kernel="rbf", gamma=2.0).fit(X, y).predict(X)
    >>> f1 = KernelRidge(alpha=10.0, kernel="rbf", gamma=2.0).fit(X, f0).predict(X)
    >>> B = empirical_basis_coefficients(U, y, [f0, f1])[..., 0]
    >>> lam = 300 * d
    >>> exact = np.stack([lam / (lam + 10.0), (lam / (lam + 10.0)) ** 2])
    >>> exact[:, np.abs(U.T @ y) < 1e-3 * np.linalg.norm(y)] = 0.0
    >>> bool(np.allclose(B, exact, rtol=0, atol=1e-10))
    True
    """
    X = _flat_inputs(X)
    n = X.shape[0]
    params = check_basis_kernel(kernel, kernel_params, X, kernel_name="kernel",
                                params_name="kernel_params")
    if n_components is not None and (
        not isinstance(n_components, numbers.Integral) or n_components < 1
    ):
        raise ValueError(
            f"n_components must be an integer >= 1 or None, got {n_components!r}."
        )
    if not isinstance(dense_max_samples, numbers.Integral) or dense_max_samples < 0:
        raise ValueError(
            f"dense_max_samples must be an integer >= 0, got {dense_max_samples!r}."
        )
    if chunk_rows is not None and (
        not isinstance(chunk_rows, numbers.Integral) or chunk_rows < 1
    ):
        raise ValueError(
            f"chunk_rows must be an integer >= 1 or None, got {chunk_rows!r}."
        )
    name = _kernel_name(kernel)
    ops = _make_ops(kernel, params, device)
    if device is not None:
        from ._torch_backend import _TORCH_KERNELS

        if isinstance(kernel, str) and kernel in _TORCH_KERNELS:
            X = ops.asarray(X.toarray() if sparse.issparse(X) else X)
    dense = n_components is None or n <= dense_max_samples or n_components >= n - 1
    if dense:
        gram = ops.kernel(X)
        gram /= n
        if device is None:
            d, U = eigh_gram(gram, kernel_name=name, overwrite=True)
        else:
            d, U = ops.eigh(gram)
            d = clean_spectrum(d, n, kernel_name=name)
            U = ops.to_numpy(U)
        del gram
        return d, _fix_signs(np.ascontiguousarray(U))
    if chunk_rows is None:
        # About 8 blocks, so that the upper block triangle is close to half
        # of the kernel, of at least 256 rows (each block pays scikit-learn's
        # input checks), and at most 64 MiB per block.
        chunk_rows = max(1, min(_CHUNK_FLOATS // n, max(256, -(-n // 8))))
    gram = _ChunkedGram(X, ops, min(chunk_rows, n))
    operator = LinearOperator((n, n), matvec=gram.matmat, matmat=gram.matmat,
                              dtype=np.float64)
    v0 = check_random_state(random_state).uniform(-1.0, 1.0, n)
    d, U = eigsh(operator, k=n_components, which="LA", v0=v0, tol=0)
    d = d[::-1].copy()
    U = U[:, ::-1]
    d = clean_spectrum(d, n, kernel_name=name)
    return d, _fix_signs(np.ascontiguousarray(U))


def empirical_basis_coefficients(U, Y, round_predictions, *, rtol=1e-3):
    """Empirical ``B_t`` (eq. (46)) of each round's training predictions.

    For every round ``t``, direction ``k`` and output ``q``,

    .. math::

        B_t[k, q] = \\frac{u_k \\cdot f_t[:, q]}{u_k \\cdot y[:, q]},

    the component of the round's training predictions along the eigenvector
    ``u_k`` of the training Gram matrix relative to that of the labels. For
    kernel ridge with the basis kernel this is exactly the diagonal of
    ``B_t = prod_i A_i`` (eq. (45)-(46)), each entry in [0, 1].

    A direction in which the labels have (almost) no component carries no
    information about shrinkage, and its ratio is dominated by round-off:
    where ``|u_k . y[:, q]| < rtol * ||y[:, q]||`` the coefficient is set to
    exactly 0, in every round.

    Parameters
    ----------
    U : ndarray of shape (K, n_directions)
        Orthonormal eigenvectors (from :func:`gram_eigenbasis`).
    Y : array-like of shape (K,) or (K, n_outputs)
        Labels of round 0 (for classifiers, their coding as regression
        targets).
    round_predictions : sequence of array-like of shape (K,) or (K, n_outputs)
        Training predictions of rounds 0, 1, ..., in the coding of ``Y``.
    rtol : float, default=1e-3
        Relative threshold of the directions set to 0 (``0 <= rtol < 1``).

    Returns
    -------
    coefficients : ndarray of shape (n_rounds + 1, n_directions, n_outputs)

    Raises
    ------
    ValueError
        For inconsistent shapes, a negative ``rtol``, or non-finite labels or
        predictions (with the round that has them).
    """
    if not (isinstance(rtol, numbers.Real) and 0.0 <= rtol < 1.0):
        raise ValueError(f"rtol must be a number in [0, 1), got {rtol!r}.")
    U = np.asarray(U, dtype=np.float64)
    if U.ndim != 2:
        raise ValueError(f"U must be 2-D (K, n_directions), got shape {U.shape}.")
    n = U.shape[0]
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2 or Y.shape[0] != n:
        raise ValueError(
            f"Y must have shape ({n},) or ({n}, n_outputs) like the rows of U "
            f"(the training set), got {Y.shape}."
        )
    if not np.all(np.isfinite(Y)):
        raise ValueError("Y contains NaN or infinity.")
    den = U.T @ Y
    small = np.abs(den) < rtol * np.linalg.norm(Y, axis=0)[None, :]
    safe = np.where(small, 1.0, den)
    out = []
    for t, F in enumerate(round_predictions):
        F = np.asarray(F, dtype=np.float64)
        if F.size != Y.size:
            raise ValueError(
                f"The predictions of round {t} have shape {F.shape}; expected "
                f"{Y.shape} like Y."
            )
        F = F.reshape(Y.shape)
        if not np.all(np.isfinite(F)):
            raise ValueError(
                f"The training predictions of round {t} contain NaN or infinity; "
                "its basis coefficients are undefined (the model diverged)."
            )
        out.append(np.where(small, 0.0, (U.T @ F) / safe))
    if not out:
        return np.zeros((0, U.shape[1], Y.shape[1]))
    return np.stack(out)
