"""The dense solver without eigenvectors: the tridiagonal path, in place.

Fits with ``store_eigenvectors=False`` never form ``U`` (``_tridiag``); they
must give the numbers of the eigenvector path (``store_eigenvectors=True``,
``dsyevr``) to 1e-10 relative, and neither path may copy the Gram matrix.
"""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.metrics.pairwise import rbf_kernel

from sklearn_selfdistill import (
    SelfDistilledKernelRidge,
    SelfDistilledKernelRidgeClassifier,
)
from sklearn_selfdistill._numpy_backend import NumpyOps
from sklearn_selfdistill._solvers import compute_spectrum, dense_spectrum
from sklearn_selfdistill._tridiag import TridiagonalEigenvectors
from sklearn_selfdistill.kernels import _pairwise


def _data(n=80, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(size=(n, 2))
    y = np.sin(2 * np.pi * X[:, 0]) + 0.5 * X[:, 1] + 0.2 * rng.randn(n)
    return X, y


def _close(a, b, rtol=1e-10, scale=None):
    """Equal to ``rtol`` of the largest entry (or of ``scale``); non-finite
    entries identical."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    finite = np.isfinite(b)
    np.testing.assert_array_equal(np.isfinite(a), finite)
    np.testing.assert_array_equal(a[~finite], b[~finite])
    if scale is None:
        scale = np.abs(b[finite]).max() if finite.any() else 1.0
    np.testing.assert_allclose(a[finite], b[finite], rtol=rtol, atol=rtol * scale)


def _both(make, X, y):
    fast = make(store_eigenvectors=False).fit(X, y)
    full = make(store_eigenvectors=True).fit(X, y)
    return fast, full


def _assert_same_fit(fast, full, X_test):
    for name in ("c_", "basis_coefficients_", "dual_coef_", "train_mse_",
                 "eigenvalues_"):
        _close(getattr(fast, name), getattr(full, name))
    np.testing.assert_array_equal(fast.collapsed_, full.collapsed_)
    # A prediction sums kernel values (at most 1 here) times dual coefficients:
    # its round-off is relative to sum |dual coefficients|, not to its value.
    scale = np.abs(full.dual_coef_).sum(axis=0).max()
    pred = "decision_function" if hasattr(fast, "classes_") else "predict"
    _close(getattr(fast, pred)(X_test), getattr(full, pred)(X_test), scale=scale)
    for a, b in zip(fast.staged_predict(X_test), full.staged_predict(X_test)):
        if a.dtype.kind == "f":
            _close(a, b, scale=scale)
        else:
            np.testing.assert_array_equal(a, b)
    assert not hasattr(fast, "eigenvectors_")


@pytest.mark.parametrize("kernel, gamma", [("rbf", 3.0), ("laplacian", 2.0)])
def test_regressor_matches_eigenvector_path(kernel, gamma):
    X, y = _data()
    fast, full = _both(
        lambda **kw: SelfDistilledKernelRidge(
            epsilon=0.05, n_rounds=4, kernel=kernel, gamma=gamma, **kw
        ), X, y,
    )
    _assert_same_fit(fast, full, _data(20, seed=1)[0])


def test_multi_output_and_normalize_y_match():
    # (With epsilon close to the floor, round 0 nearly interpolates and its
    # dual coefficients depend on the round-off of the smallest eigenvalues,
    # which differs between any two eigensolvers: not compared.)
    X, y = _data()
    Y = np.column_stack([y, np.cos(3 * X[:, 1]) + 2.0])
    fast, full = _both(
        lambda **kw: SelfDistilledKernelRidge(
            epsilon=[0.1, 0.1], n_rounds=3, gamma=3.0, normalize_y=True, **kw
        ), X, Y,
    )
    _assert_same_fit(fast, full, _data(20, seed=1)[0])


def test_singular_gram_matches():
    # Linear kernel on 3 features: rank 3 of 60, a 57-dimensional null space.
    rng = np.random.RandomState(2)
    X = rng.randn(60, 3)
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.randn(60)
    fast, full = _both(
        lambda **kw: SelfDistilledKernelRidge(
            epsilon=0.2, n_rounds=3, kernel="linear", **kw
        ), X, y,
    )
    assert np.count_nonzero(fast.eigenvalues_ == 0.0) == 57
    _assert_same_fit(fast, full, rng.randn(10, 3))


def test_collapse_matches():
    X, y = _data()
    with pytest.warns(UserWarning):
        fast, full = _both(
            lambda **kw: SelfDistilledKernelRidge(
                epsilon=0.5 * np.mean(y * y), n_rounds=6, gamma=3.0, **kw
            ), X, y,
        )
    assert fast.collapsed_.any()
    _assert_same_fit(fast, full, _data(20, seed=1)[0])


def test_classifier_matches():
    X, y = _data(90)
    labels = np.digitize(X[:, 0] + 0.3 * X[:, 1], [0.45, 0.85])
    fast, full = _both(
        lambda **kw: SelfDistilledKernelRidgeClassifier(
            epsilon=0.3, n_rounds=3, gamma=3.0, **kw
        ), X, labels,
    )
    _assert_same_fit(fast, full, _data(20, seed=1)[0])
    np.testing.assert_array_equal(fast.predict(X), full.predict(X))


def test_precomputed_gram_is_not_modified():
    X, y = _data()
    gram = rbf_kernel(X, gamma=3.0)
    original = gram.copy()
    fast = SelfDistilledKernelRidge(
        epsilon=0.05, n_rounds=2, kernel="precomputed"
    ).fit(gram, y)
    np.testing.assert_array_equal(gram, original)
    ref = SelfDistilledKernelRidge(epsilon=0.05, n_rounds=2, gamma=3.0).fit(X, y)
    _close(fast.dual_coef_, ref.dual_coef_)


def test_spectrum_without_eigenvectors_maps_like_u():
    X, y = _data(50)
    Y = np.column_stack([y, y ** 2])
    ops = NumpyOps(lambda A, B=None: _pairwise(A, B, kernel="rbf", gamma=3.0))
    fast = dense_spectrum(ops, X, Y, eigenvectors=False)
    full = dense_spectrum(ops, X, Y, eigenvectors=True)
    assert isinstance(fast.dual_map, TridiagonalEigenvectors)
    assert fast.U is None and fast.eigenvectors() is None
    assert full.U.flags.f_contiguous  # no reversed view in later products
    _close(fast.d, full.d, rtol=1e-12)
    # Eigenvectors (and z_k) are unique up to sign only for well-separated
    # eigenvalues: compare the leading 8, whose relative gaps exceed 1e-3.
    k = 8
    assert np.all(-np.diff(full.d[: k + 1]) > 1e-3 * full.d[0])
    _close(np.abs(fast.Z0[:k]), np.abs(full.Z0[:k]))
    signs = np.sign(np.sum(fast.Z0[:k] * full.Z0[:k], axis=1))
    K = _pairwise(_data(7, seed=3)[0], X, kernel="rbf", gamma=3.0)
    G = np.random.RandomState(0).randn(k, 2)
    _close(fast.prediction_basis(K)[:, :k] @ G,
           full.prediction_basis(K)[:, :k] @ (signs[:, None] * G))
    _close(fast.basis_rows(X)(5, 12)[:, :k] * signs, full.basis_rows(X)(5, 12)[:, :k])


def test_search_needs_basis_so_forms_u():
    X, y = _data(40)
    spectrum = compute_spectrum(X, y[:, None], gamma=3.0, need_basis=True)
    assert spectrum.U is not None
    assert compute_spectrum(X, y[:, None], gamma=3.0).U is None


_PEAK_SCRIPT = textwrap.dedent("""
    import json, sys, tracemalloc
    import numpy as np
    from sklearn_selfdistill import SelfDistilledKernelRidge, SelfDistilledKernelRidgeCV
    n, which = int(sys.argv[1]), sys.argv[2]
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(n, 3))
    y = np.sin(4 * X[:, 0]) + 0.1 * rng.randn(n)
    if which == "fit":
        model = SelfDistilledKernelRidge(epsilon=0.02, n_rounds=2, gamma=2.0)
    else:
        model = SelfDistilledKernelRidgeCV(gamma=2.0, max_rounds=2,
                                           epsilons=[0.02, 0.05])
    tracemalloc.start()
    model.fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    print(json.dumps(peak / (8.0 * n * n)))
""")


def _peak(n, which):
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, str(n), which],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("which", ["fit", "loo"])
def test_peak_memory_of_dense_fit_and_search(which):
    # Traced from after X exists: the Gram matrix and U (or V), nothing else
    # of size n^2 (numpy reports its buffers to tracemalloc; LAPACK's
    # workspaces are allocated by numpy too when scipy requests them).
    assert _peak(3000, which) <= 2.1


@pytest.mark.parametrize("top", [None, 5])
def test_torch_eigh_reorders_into_the_input_memory(top):
    torch = pytest.importorskip("torch")
    from sklearn_selfdistill._torch_backend import TorchOps

    ops = TorchOps("cpu", kernel="rbf", gamma=3.0, degree=3, coef0=1,
                   kernel_params=None)
    X, _ = _data(40)
    G = rbf_kernel(X, gamma=3.0) / 40
    M = torch.tensor(G)
    pointer = M.data_ptr()
    d, U = ops.eigh(M, top=top)
    d_ref, U_ref = np.linalg.eigh(G)
    k = 40 if top is None else top
    assert np.all(np.diff(d) <= 0) and d.shape == (k,)
    _close(d, d_ref[::-1][:k], rtol=1e-12)
    if top is None:
        # The descending eigenvectors went back into M: no third n x n array.
        assert U.data_ptr() == pointer
    assert U.is_contiguous() and tuple(U.shape) == (40, k)
    U = U.numpy()
    _close(U.T @ U, np.eye(k), rtol=1e-12, scale=1.0)
    V = U_ref[:, ::-1][:, :k]
    _close((U * d) @ U.T, (V * d_ref[::-1][:k]) @ V.T, rtol=1e-12,
           scale=d_ref.max())
