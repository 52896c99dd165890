"""The spectral solvers: exact, randomized and Nystroem, chosen in one place.

Every solver returns the same thing, a :class:`Spectrum`: the leading
eigenvalues ``d`` of ``G = kernel(X, X) / K`` (eq. (16) of Mobahi et al.,
2020), the rotated targets ``z_0 = V y_0`` in those directions, the energy of
``y_0`` outside the kept span (those directions count as eigenvalue 0, i.e.
unfittable), and a linear map from the eigenbasis to dual coefficients on
``X_fit``:

    dual_t = dual_map @ ((B_t / d) * z_0)

With sample weights ``w`` (all positive: zero-weight rows are dropped before
a solver sees them) every solver works on ``D^1/2 kernel(X, X) D^1/2`` with
``D = diag(w) / sum(w)``, written ``diag(s) G diag(s)`` with the row scales
``s = sqrt(K w / sum(w))`` (all ones for equal weights), and on the scaled
targets ``s * y``: the weighted problem is then the unweighted one in these
coordinates (MATH.md and the user guide), and the dual map gains ``diag(s)``.

* ``"dense"``: the exact spectrum, in place on the Gram matrix (no copy of
  it). Without eigenvectors (a fit with ``store_eigenvectors=False``) the
  tridiagonal reduction gives ``d`` and ``z_0`` and ``dual_map`` applies
  ``U`` through its Householder reflectors (:mod:`._tridiag`), skipping the
  ``O(K^3)`` back-transformation; with them (``store_eigenvectors=True``,
  ``n_components``, the leave-one-out search) LAPACK ``syevr`` forms ``U``,
  contiguous. ``dual_map = U``, ``dual_scale = 1 / K``; about ``2 K^2``
  doubles at peak either way (the Gram matrix and ``U`` or ``V``).
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
torch device. :func:`compute_spectrum` is the one place that picks the solver
and the device from an estimator's parameters; a new solver is a function
``solver(ops, X, Y, *, n_components, random_state, kernel_name)`` returning a
:class:`Spectrum`, registered in ``SOLVERS``.
"""

import math

import numpy as np
from sklearn.utils import check_random_state

from ._checks import check_dense_memory, checked_kernel
from ._dask import is_dask_array
from ._dask_solver import dask_spectrum
from ._landmarks import landmark_index
from ._numpy_backend import NumpyOps
from ._targets import row_scales
from ._tridiag import (  # noqa: F401 (PSD_TOLERANCE, null_space_threshold re-exported)
    PSD_TOLERANCE,
    TridiagonalEigenvectors,
    clean_spectrum,
    eigh_descending,
    null_space_threshold,
)
from .kernels import _kernel_name, _pairwise

__all__ = [
    "PSD_TOLERANCE",
    "SOLVERS",
    "Spectrum",
    "clean_spectrum",
    "compute_spectrum",
    "eigh_gram",
    "null_space_threshold",
]

#: Rows of one chunk times n_components kept at most this many floats (64 MiB).
_CHUNK_FLOATS = 2**23


def eigh_gram(gram, *, kernel_name="kernel", overwrite=False, eigenvectors=True):
    """Eigendecomposition of a normalised Gram matrix, descending.

    Parameters
    ----------
    gram : ndarray of shape (K, K)
        Symmetric matrix ``G`` of eq. (16) (already divided by ``K``).
    kernel_name : str, default="kernel"
        Name used in the error raised for an indefinite matrix.
    overwrite : bool, default=False
        Let LAPACK overwrite ``gram`` (saves one K x K copy), C- or
        Fortran-ordered alike.
    eigenvectors : bool, default=True
        Whether to compute the eigenvectors.

    Returns
    -------
    d : ndarray of shape (K,)
        Eigenvalues in descending order, with the numerical null space
        (:func:`null_space_threshold`) set to exactly 0.
    U : ndarray of shape (K, K) or None
        Matching orthonormal eigenvectors as columns (contiguous).

    Raises
    ------
    ValueError
        If ``gram`` has a negative eigenvalue below ``-1e-8 * max|d|``: the
        kernel is not positive semi-definite and the theory does not apply.
    """
    n = gram.shape[0]
    if n == 0:
        return np.zeros(0), (np.zeros((0, 0)) if eigenvectors else None)
    if not overwrite:
        gram = np.array(gram, dtype=np.float64, order="F")
    d, U = eigh_descending(gram, eigenvectors=eigenvectors)
    return clean_spectrum(d, n, kernel_name=kernel_name), U


class Spectrum:
    """What a solver knows of the Gram matrix and the targets (module docstring).

    Attributes
    ----------
    d : ndarray of shape (m,)
        Kept eigenvalues of ``G = kernel(X, X) / K``, descending, the numerical
        null space exactly 0.
    Z0 : ndarray of shape (m, Q)
        Rotated targets ``z_0 = V y_0`` in the kept directions.
    residual : ndarray of shape (Q,)
        Energy of each target column outside the kept span (0 for the exact
        solver): the unfittable remainder of a low-rank spectrum.
    energy : ndarray of shape (Q,)
        ``||y_0||^2`` of each target column.
    n_samples : int
        ``K``, the number of training points.
    dual_map, dual_scale : array, float
        ``dual_t = dual_map @ (dual_scale * (B_t / d) z_0)`` on ``X_fit``.
    X_fit : ndarray
        The points the dual coefficients live on (training points or
        landmarks).
    U : array or None
        The kept eigenvectors as columns (randomized solver, dense solver
        when asked for them); ``None`` with Nystroem and with the dense
        solver's tridiagonal path, whose ``dual_map`` is a
        :class:`._tridiag.TridiagonalEigenvectors`.
    ops : NumpyOps or TorchOps
        The array operations the arrays above belong to.
    solver : str
        Name of the solver that computed it.
    row_scale : ndarray of shape (K,) or None
        ``s = sqrt(K w / sum(w))`` of weighted training points (``None`` for
        equal weights): ``d``, ``Z0`` and the basis rows are those of
        ``diag(s) G diag(s)`` and ``s * y``.
    """

    def __init__(self, *, d, Z0, residual, energy, n_samples, dual_map, X_fit,
                 U=None, ops=None, dual_scale=1.0, solver="dense", row_scale=None):
        self.d = d
        self.Z0 = Z0
        self.residual = residual
        self.energy = energy
        self.n_samples = n_samples
        self.dual_map = dual_map
        self.dual_scale = dual_scale
        self.X_fit = X_fit
        self.U = U
        self.ops = ops
        self.solver = solver
        self.row_scale = row_scale

    @property
    def low_rank(self):
        """Whether directions outside the kept span carry unfittable energy.

        Fewer kept pairs than points, or (Nystroem on all points with a
        singular landmark Gram matrix) energy outside the span of all pairs.
        """
        return self.d.shape[0] < self.n_samples or bool(np.any(self.residual > 0))

    def augmented(self):
        """``(d, Z)`` with the unfittable remainder as one zero eigenvalue.

        The directions outside the kept span count as eigenvalue 0: one extra
        zero eigenvalue carries their energy, ``sqrt(residual)`` per output.
        An exact spectrum is returned as it is.
        """
        if not self.low_rank:
            return self.d, self.Z0
        return (
            np.append(self.d, 0.0),
            np.vstack([self.Z0, np.sqrt(self.residual)[None, :]]),
        )

    @property
    def condition_number(self):
        """``d_max / d_min``; ``inf`` with a null space or a low-rank spectrum."""
        d = self.d
        positive = d > 0
        if positive.all() and self.n_samples and not self.low_rank:
            return float(d[0] / d[positive][-1])
        return np.inf

    def dual_coef(self, scaled):
        """``dual_map @ scaled[t]`` for every round, as numpy (T, n_fit, Q)."""
        ops = self.ops
        T, m, Q = scaled.shape
        # One matrix product for every round and output.
        flat = np.ascontiguousarray(scaled.transpose(1, 0, 2)).reshape(m, T * Q)
        out = ops.to_numpy(self.dual_map @ ops.asarray(flat * self.dual_scale))
        return np.ascontiguousarray(out.reshape(-1, T, Q).transpose(1, 0, 2))

    def eigenvectors(self):
        """The kept eigenvectors as a numpy array, or None (Nystroem)."""
        return None if self.U is None else self.ops.to_numpy(self.U)

    def basis_rows(self, X):
        """``rows(start, stop)``: rows of the orthonormal basis F of the kept span.

        ``F = kernel(X, X_fit) @ dual_map * dual_scale / d``: the training
        predictions of the eigenbasis, the same map the fitted model predicts
        with. With eigenvectors at hand (dense, randomized) it is their rows;
        with Nystroem it is computed chunk by chunk and never held for all
        rows (times the row scales of weighted points). ``X`` must be the
        training points of this spectrum.
        """
        ops = self.ops
        if self.U is not None:
            U = self.eigenvectors()
            return lambda start, stop: U[start:stop]
        if isinstance(self.dual_map, TridiagonalEigenvectors):
            # Rows of U without forming it: U^T E = U[start:stop]^T for the
            # identity columns E (O(K^2) per row; searches ask for U instead).
            op, n = self.dual_map, self.n_samples

            def rows(start, stop):
                E = np.zeros((n, stop - start))
                E[np.arange(start, stop), np.arange(stop - start)] = 1.0
                return op.rotate(E).T

            return rows
        d = self.d
        scale = np.divide(self.dual_scale, d, out=np.zeros_like(d), where=d > 0)
        F_map = self.dual_map * ops.asarray(scale)[None, :]
        X_fit = self.X_fit
        row_scale = self.row_scale
        if row_scale is None:
            return lambda start, stop: ops.to_numpy(
                ops.kernel(X[start:stop], X_fit) @ F_map
            )
        return lambda start, stop: ops.to_numpy(
            ops.kernel(X[start:stop], X_fit) @ F_map
        ) * row_scale[start:stop, None]

    def prediction_basis(self, K):
        """``K @ dual_map`` as numpy, for ``K = kernel(X_new, X_fit)``.

        Predictions of round ``t`` are this times ``dual_scale * (B_t / d) z_0``.
        """
        ops = self.ops
        if isinstance(self.dual_map, TridiagonalEigenvectors):
            # K U = (U^T K^T)^T, U applied through its factors.
            return self.dual_map.rotate(np.asarray(K).T).T
        return ops.to_numpy(ops.asarray(K) @ self.dual_map)


def _energy(Y):
    """``||y||^2`` of each column."""
    return np.array([np.dot(Y[:, q], Y[:, q]) for q in range(Y.shape[1])])


def _energy_outside(Y, Z0, n_kept, n_samples):
    """Energy of each column of Y outside an orthonormal span of ``n_kept``."""
    if n_kept >= n_samples:
        return np.zeros(Y.shape[1])
    total = np.einsum("iq,iq->q", Y, Y)
    kept = np.einsum("iq,iq->q", Z0, Z0)
    return np.maximum(total - kept, 0.0)


def _normalised_gram(ops, X, row_scale):
    """``diag(s) kernel(X, X) diag(s) / K``, in place unless it is ``X`` itself."""
    n = X.shape[0]
    gram = ops.kernel(X)
    if ops.shares_memory(gram, X):
        # kernel="precomputed" hands back X itself: never modify the caller's
        # matrix (neither here nor in the eigensolver below).
        gram = gram / n  # G of eq. (16)
    else:
        gram /= n  # G of eq. (16), in place
    if row_scale is not None:
        s = ops.asarray(row_scale)
        gram *= s[:, None]
        gram *= s[None, :]
    return gram


def _scaled_targets(Y, row_scale):
    return Y if row_scale is None else Y * row_scale[:, None]


def _dual_map(ops, U, row_scale):
    return U if row_scale is None else U * ops.asarray(row_scale)[:, None]


def dense_spectrum(ops, X, Y, *, n_components=None, kernel_name="kernel",
                   eigenvectors=True, row_scale=None):
    """Exact eigendecomposition (all pairs, or the leading ``n_components``).

    The Gram matrix is formed once and overwritten by the eigensolver (a copy
    only of a ``kernel="precomputed"`` input, never modified). With
    ``eigenvectors=False``, all pairs and equal weights, on numpy, ``U`` is
    never formed: the tridiagonal reduction gives ``d`` and ``z_0`` and the
    spectrum's ``dual_map`` applies ``U`` through the reflectors
    (:func:`._tridiag.tridiagonal_eigh`). Unequal sample weights form ``U``
    (the dual map is ``diag(s) U``). Peak memory about ``2 K^2`` doubles
    either way: the Gram matrix and ``U`` (or ``V``).
    """
    n = X.shape[0]
    gram = _normalised_gram(ops, X, row_scale)
    Y = _scaled_targets(Y, row_scale)
    tridiagonal = (
        not eigenvectors and n_components is None and n > 0
        and row_scale is None and hasattr(ops, "tridiagonal_eigh")
    )
    if tridiagonal:
        d, Z0, U = ops.tridiagonal_eigh(gram, Y, kernel_name=kernel_name)
        del gram
        dual_map, U_kept = U, None
    else:
        if n == 0:
            d, U = np.zeros(0), ops.zeros((0, 0))
        else:
            d, U = ops.eigh(gram, top=n_components)
        del gram
        d = clean_spectrum(d, n, kernel_name=kernel_name)
        Z0 = ops.to_numpy(U.T @ ops.asarray(Y))
        dual_map, U_kept = _dual_map(ops, U, row_scale), U
    return Spectrum(
        d=d, Z0=Z0, residual=_energy_outside(Y, Z0, d.shape[0], n),
        energy=_energy(Y), n_samples=n, dual_map=dual_map, dual_scale=1.0 / n,
        X_fit=X, U=U_kept, ops=ops, solver="dense", row_scale=row_scale,
    )


def randomized_spectrum(ops, X, Y, *, n_components, random_state,
                        kernel_name="kernel", n_oversamples=10, n_iter=4,
                        row_scale=None):
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
        spectrum = dense_spectrum(
            ops, X, Y, n_components=n_components, kernel_name=kernel_name,
            row_scale=row_scale,
        )
        spectrum.solver = "randomized"
        return spectrum
    gram = _normalised_gram(ops, X, row_scale)
    Y = _scaled_targets(Y, row_scale)
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
        energy=_energy(Y), n_samples=n, dual_map=_dual_map(ops, U, row_scale),
        dual_scale=1.0 / n, X_fit=X, U=U, ops=ops, solver="randomized",
        row_scale=row_scale,
    )


def nystroem_whitening(ops, landmarks, *, kernel_name="kernel"):
    """``R = kernel(L, L)^{-1/2}`` on the range of ``kernel(L, L)`` (m x r)."""
    lam, Q = ops.eigh(ops.kernel(landmarks))
    lam = clean_spectrum(lam, landmarks.shape[0], kernel_name=kernel_name)
    r = int(np.count_nonzero(lam > 0))
    return Q[:, :r] / ops.asarray(np.sqrt(lam[:r]))[None, :]


def nystroem_spectrum(ops, X, Y, *, n_components, random_state,
                      kernel_name="kernel", chunk_size=None, row_scale=None):
    """Nystroem landmarks, streamed into an ``n_components`` square Gram matrix.

    Memory is ``O(n_components^2 + chunk_size * n_components)`` beyond ``X``
    and ``Y``: no ``K x K`` nor ``K x n_components`` array is formed.
    """
    n = X.shape[0]
    m = n_components
    Y = _scaled_targets(Y, row_scale)
    landmarks = X[landmark_index(n, m, random_state)]
    R = nystroem_whitening(ops, landmarks, kernel_name=kernel_name)
    r = R.shape[1]
    # Stream C = Phi^T Phi and Phi^T Y over chunks of rows, with the features
    # Phi = kernel(X, L) R whitened chunk by chunk: accumulating
    # kernel(X, L)^T kernel(X, L) first would be three times cheaper but
    # squares the condition number of kernel(L, L) (measured: 1e-6 instead of
    # 1e-13 agreement with the dense solver when all points are landmarks).
    # With all points as landmarks the multipliers agree with the dense
    # solver's to about 1e-14 at epsilon ten times the reachable floor, but
    # only to about 1e-3 at 1.05 times (measured on 80 points, RBF: 3.5e-4):
    # near the floor the root of eq. (21) amplifies the difference between
    # the two null spaces, each exact to round-off.
    if chunk_size is None:
        chunk_size = max(64, _CHUNK_FLOATS // max(m, 1))
    C = ops.zeros((r, r))
    P = ops.zeros((r, Y.shape[1]))
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        Phi = ops.kernel(X[start:stop], landmarks) @ R
        if row_scale is not None:
            # The weighted features diag(s) Phi; the dual map is unchanged.
            Phi = Phi * ops.asarray(row_scale[start:stop])[:, None]
        C = ops.add_gram(C, Phi)
        P += Phi.T @ ops.asarray(Y[start:stop])
        del Phi
    C = ops.symmetrize_upper(C)
    return nystroem_from_gram(
        ops, C, P, landmarks=landmarks, R=R, n_samples=n, energy=_energy(Y),
        total=np.einsum("iq,iq->q", Y, Y), kernel_name=kernel_name,
        row_scale=row_scale,
    )


def nystroem_from_gram(ops, C, P, *, landmarks, R, n_samples, energy, total,
                       kernel_name="kernel", row_scale=None):
    """The Nystroem spectrum from the summed ``C = Phi^T Phi`` and ``P = Phi^T Y``.

    The part of the solver after the pass over the rows, shared by the
    in-memory pass above and the block-wise one of :mod:`._dask`. ``energy``
    and ``total`` are ``||y||^2`` per output (``total`` enters the energy
    outside the kept span); ``row_scale`` that of the weighted rows.
    """
    n = n_samples
    m = landmarks.shape[0]
    r = R.shape[1]
    C /= n
    s, W = ops.eigh(C)
    s = clean_spectrum(s, n, kernel_name=kernel_name)
    positive = s > 0
    # z_0 = S^{-1/2} W^T Phi^T y / sqrt(K): y in the orthonormal eigenvectors
    # Phi W S^{-1/2} / sqrt(K) of Phi Phi^T / K.
    WtP = ops.to_numpy(W.T @ P)
    Z0 = np.zeros((m, P.shape[1]))
    inv_sqrt = np.zeros(r)
    inv_sqrt[positive] = 1.0 / np.sqrt(s[positive] * n)
    Z0[:r] = WtP * inv_sqrt[:, None]
    d = np.zeros(m)
    d[:r] = s
    dual_map = ops.zeros((m, m))
    dual_map[:, :r] = (R @ W) * ops.asarray(np.sqrt(s) / math.sqrt(n))[None, :]
    n_span = int(np.count_nonzero(positive))
    if n_span >= n:
        residual = np.zeros(P.shape[1])
    else:
        residual = np.maximum(total - np.einsum("iq,iq->q", Z0, Z0), 0.0)
    return Spectrum(
        d=d, Z0=Z0, residual=residual, energy=energy, n_samples=n,
        dual_map=dual_map, X_fit=landmarks, U=None, ops=ops, solver="nystroem",
        row_scale=row_scale,
    )


#: The solvers by the name of ``eigen_solver``.
SOLVERS = {
    "dense": dense_spectrum,
    "randomized": randomized_spectrum,
    "nystroem": nystroem_spectrum,
}


def _check_solver(n_samples, *, kernel, eigen_solver, n_components,
                  store_eigenvectors):
    if eigen_solver != "dense" and n_components is None:
        raise ValueError(
            f"eigen_solver={eigen_solver!r} needs n_components, the number of "
            "leading eigenpairs to keep (e.g. n_components=1000); the "
            "directions not kept count as unfittable. Use "
            "eigen_solver='dense' for the exact solution."
        )
    if eigen_solver != "dense" and n_components > n_samples:
        raise ValueError(
            f"n_components={n_components} exceeds the number of training "
            f"samples ({n_samples}); choose n_components <= {n_samples}."
        )
    if eigen_solver == "nystroem" and kernel == "precomputed":
        raise ValueError(
            "eigen_solver='nystroem' evaluates the kernel on landmarks and "
            "cannot be used with kernel='precomputed'; use 'dense' or "
            "'randomized'."
        )
    if eigen_solver == "nystroem" and store_eigenvectors:
        raise ValueError(
            "eigen_solver='nystroem' never forms the n_samples x n_components "
            "eigenvectors; set store_eigenvectors=False or use "
            "eigen_solver='randomized'."
        )


def compute_spectrum(X, Y, *, kernel="rbf", gamma=None, degree=3, coef0=1,
                     kernel_params=None, eigen_solver="dense", n_components=None,
                     random_state=None, device=None, store_eigenvectors=False,
                     sample_weight=None, need_basis=False):
    """The spectrum of ``kernel(X, X) / K`` and ``Y`` by the chosen solver.

    The one place where ``eigen_solver`` and ``device`` are turned into
    numerics; the keywords are the kernel estimators' parameters of the same
    names (:func:`solver_params` reads them off an estimator).

    Parameters
    ----------
    X : ndarray of shape (K, n_features)
        Training points, or the Gram matrix with ``kernel="precomputed"``.
    Y : ndarray of shape (K, Q)
        Targets, one column per output.
    sample_weight : ndarray of shape (K,), default=None
        Positive weights of the points (zero-weight rows already dropped);
        the spectrum is that of ``D^1/2 kernel(X, X) D^1/2`` with
        ``D = diag(w) / sum(w)`` (module docstring). ``None`` or equal
        weights: ``G = kernel(X, X) / K``.
    need_basis : bool, default=False
        Whether the caller needs the rows of the eigenbasis
        (:meth:`Spectrum.basis_rows`, the leave-one-out search): the dense
        solver then forms ``U``, as with ``store_eigenvectors=True``;
        otherwise it skips it (:func:`dense_spectrum`).

    Returns
    -------
    spectrum : Spectrum
    """
    if is_dask_array(X):
        return dask_spectrum(
            X, Y, kernel=kernel, gamma=gamma, degree=degree, coef0=coef0,
            kernel_params=kernel_params, eigen_solver=eigen_solver,
            n_components=n_components, random_state=random_state, device=device,
            store_eigenvectors=store_eigenvectors, sample_weight=sample_weight,
        )
    _check_solver(X.shape[0], kernel=kernel, eigen_solver=eigen_solver,
                  n_components=n_components, store_eigenvectors=store_eigenvectors)
    check_dense_memory(X.shape[0], eigen_solver=eigen_solver, device=device)
    kernel_kwargs = dict(kernel=kernel, gamma=gamma, degree=degree, coef0=coef0,
                         kernel_params=kernel_params)
    if device is None:
        ops = NumpyOps(lambda A, B=None: _pairwise(A, B, **kernel_kwargs))
    else:
        from ._torch_backend import TorchOps

        ops = TorchOps(device, **kernel_kwargs)
    name = _kernel_name(kernel)
    # Every solver gets only finite kernel matrices of the right shape.
    ops.kernel = checked_kernel(ops.kernel, name)
    scale = row_scales(sample_weight)
    if eigen_solver == "dense":
        return dense_spectrum(ops, X, Y, kernel_name=name, row_scale=scale,
                              eigenvectors=store_eigenvectors or need_basis)
    return SOLVERS[eigen_solver](
        ops, X, Y, n_components=n_components,
        random_state=check_random_state(random_state), kernel_name=name,
        row_scale=scale,
    )


_SOLVER_PARAMS = ("kernel", "gamma", "degree", "coef0", "kernel_params",
                  "eigen_solver", "n_components", "random_state", "device",
                  "store_eigenvectors")


def solver_params(estimator):
    """The keywords of :func:`compute_spectrum` from a kernel estimator."""
    return {key: getattr(estimator, key) for key in _SOLVER_PARAMS}
