"""Eigenbasis of the full training Gram matrix and the empirical B_t."""

import numpy as np
import pytest
from scipy import sparse
from sklearn.gaussian_process.kernels import RBF
from sklearn.kernel_ridge import KernelRidge
from sklearn.metrics.pairwise import laplacian_kernel, rbf_kernel

from sklearn_selfdistill import _empirical_basis
from sklearn_selfdistill._empirical_basis import (
    DEFAULT_DENSE_MAX_SAMPLES,
    check_basis_kernel,
    empirical_basis_coefficients,
    gram_eigenbasis,
)
from sklearn_selfdistill.kernels import green_spline_kernel


def _cube(n, seed=0, n_features=3):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1.0, 1.0, (n, n_features))
    y = np.sin(np.pi * X[:, 0]) + X[:, 1] * X[:, 2] + 0.3 * rng.randn(n)
    return X, y


def _projector_gaps(d_ref, U_ref, U, *, min_gap):
    """Largest |P - P_ref| over the leading directions isolated by min_gap."""
    worst = 0.0
    k = U.shape[1]
    for j in range(k):
        left = np.inf if j == 0 else d_ref[j - 1] - d_ref[j]
        right = d_ref[j] - d_ref[j + 1]
        if min(left, right) < min_gap:
            continue
        P_ref = np.outer(U_ref[:, j], U_ref[:, j])
        P = np.outer(U[:, j], U[:, j])
        worst = max(worst, np.abs(P - P_ref).max())
    return worst


def _explicit_eigh(K):
    n = K.shape[0]
    w, V = np.linalg.eigh(K / n)
    return w[::-1], V[:, ::-1]


# ------------------------------------------------------------------ dense path


@pytest.mark.parametrize(
    "kernel, params, gram",
    [
        ("rbf", {"gamma": 2.0}, lambda X: rbf_kernel(X, gamma=2.0)),
        ("rbf", None, lambda X: rbf_kernel(X, gamma=1.0 / X.shape[1])),
        ("laplacian", {"gamma": 0.7}, lambda X: laplacian_kernel(X, gamma=0.7)),
        ("poly", {"degree": 2, "gamma": 0.5, "coef0": 2.0},
         lambda X: (0.5 * X @ X.T + 2.0) ** 2),
        (RBF(length_scale=0.5), None, lambda X: rbf_kernel(X, gamma=2.0)),
        (lambda a, b, scale=1.0: np.exp(-scale * np.sum((a - b) ** 2)),
         {"scale": 2.0}, lambda X: rbf_kernel(X, gamma=2.0)),
    ],
)
def test_dense_path_equals_eigh_of_explicit_gram(kernel, params, gram):
    X, _ = _cube(120, seed=1)
    d, U = gram_eigenbasis(X, kernel=kernel, kernel_params=params)
    d_ref, U_ref = _explicit_eigh(gram(X))
    assert d.shape == (120,) and U.shape == (120, 120)
    assert np.all(np.diff(d) <= 0)
    # the numerical null space is exactly 0 (MATH.md section 1), else equal
    null = d == 0
    assert np.all(np.abs(d_ref[null]) <= 120 * np.finfo(float).eps * d_ref[0])
    np.testing.assert_allclose(d[~null], d_ref[~null], rtol=0, atol=1e-12)
    np.testing.assert_allclose(U.T @ U, np.eye(120), atol=1e-12)
    # invariant subspaces: the projectors onto the leading m directions agree
    # for every m with an eigenvalue gap, individual ones where isolated.
    for m in range(1, 119):
        if d_ref[m - 1] - d_ref[m] > 1e-6:
            P = U[:, :m] @ U[:, :m].T
            P_ref = U_ref[:, :m] @ U_ref[:, :m].T
            assert np.abs(P - P_ref).max() < 1e-9, m
    assert _projector_gaps(d_ref, U_ref, U[:, :40], min_gap=1e-4) < 1e-10


def test_dense_path_flattens_images_and_accepts_sparse_and_green_spline():
    rng = np.random.RandomState(0)
    images = rng.rand(60, 2, 3, 3)
    flat = images.reshape(60, -1)
    d_img, U_img = gram_eigenbasis(images, kernel="rbf", kernel_params={"gamma": 0.3})
    d_flat, U_flat = gram_eigenbasis(flat, kernel="rbf", kernel_params={"gamma": 0.3})
    np.testing.assert_array_equal(d_img, d_flat)
    np.testing.assert_array_equal(U_img, U_flat)

    X_sparse = sparse.random(60, 30, density=0.2, random_state=0, format="csr")
    d_sp, _ = gram_eigenbasis(X_sparse, kernel="linear")
    d_ref, _ = _explicit_eigh(X_sparse.toarray() @ X_sparse.toarray().T)
    np.testing.assert_allclose(d_sp[d_sp > 0], d_ref[d_sp > 0], atol=1e-12)

    x = np.linspace(0.0, 1.0, 11)[:, None]
    d_g, _ = gram_eigenbasis(x, kernel="green_spline")
    d_ref, _ = _explicit_eigh(green_spline_kernel(x))
    # g vanishes at x = 0 and x = 1: two exact zeros
    assert np.count_nonzero(d_g == 0) == 2
    np.testing.assert_allclose(d_g[:9], d_ref[:9], atol=1e-14)


def test_dense_path_rejects_an_indefinite_kernel():
    X, _ = _cube(80)
    with pytest.raises(ValueError, match="not positive semi-definite"):
        gram_eigenbasis(X, kernel="sigmoid", kernel_params={"gamma": 1.0,
                                                            "coef0": 1.0})


# ---------------------------------------------------------------- Lanczos path


@pytest.mark.parametrize(
    "kernel, params",
    [("rbf", {"gamma": 2.0}), ("laplacian", {"gamma": 1.0}),
     (RBF(length_scale=0.7), None)],
)
def test_lanczos_path_equals_dense_top_k(kernel, params):
    X, _ = _cube(300, seed=2)
    d_ref, U_ref = gram_eigenbasis(X, kernel=kernel, kernel_params=params)
    d, U = gram_eigenbasis(X, kernel=kernel, kernel_params=params,
                           n_components=25, dense_max_samples=0, random_state=0)
    assert d.shape == (25,) and U.shape == (300, 25)
    np.testing.assert_allclose(d, d_ref[:25], rtol=0, atol=1e-10)
    np.testing.assert_allclose(U.T @ U, np.eye(25), atol=1e-10)
    d_full = np.append(d_ref, 0.0)
    assert _projector_gaps(d_full, U_ref, U[:, :24], min_gap=1e-5) < 1e-8
    # same sign convention as the dense path: isolated vectors are equal
    for j in range(24):
        left = np.inf if j == 0 else d_ref[j - 1] - d_ref[j]
        gap = min(d_ref[j] - d_ref[j + 1], left)
        if gap > 1e-4:
            np.testing.assert_allclose(U[:, j], U_ref[:, j], atol=1e-8)


def test_lanczos_path_is_reproducible_and_handles_rank_deficiency():
    X, _ = _cube(250, seed=3)
    a = gram_eigenbasis(X, kernel="rbf", kernel_params={"gamma": 2.0},
                        n_components=10, dense_max_samples=0, random_state=7)
    b = gram_eigenbasis(X, kernel="rbf", kernel_params={"gamma": 2.0},
                        n_components=10, dense_max_samples=0, random_state=7)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    # a linear kernel on 3 features has rank 3: 3 eigenvalues, then exact zeros
    d, U = gram_eigenbasis(X, kernel="linear", n_components=8,
                           dense_max_samples=0, random_state=0)
    d_ref, _ = _explicit_eigh(X @ X.T)
    np.testing.assert_allclose(d[:3], d_ref[:3], atol=1e-13)
    np.testing.assert_array_equal(d[3:], 0.0)
    np.testing.assert_allclose(U.T @ U, np.eye(8), atol=1e-12)
    # a sparse X takes the same path, block by block
    X_sparse = sparse.random(250, 40, density=0.1, random_state=1, format="csr")
    d_sp, _ = gram_eigenbasis(X_sparse, kernel="rbf", kernel_params={"gamma": 0.5},
                              n_components=6, dense_max_samples=0, random_state=0)
    d_ref, _ = _explicit_eigh(rbf_kernel(X_sparse.toarray(), gamma=0.5))
    np.testing.assert_allclose(d_sp, d_ref[:6], rtol=0, atol=1e-12)


def test_path_choice():
    X, _ = _cube(40)
    params = {"gamma": 2.0}
    # n <= dense_max_samples, n_components=None, n_components >= n - 1: all
    assert gram_eigenbasis(X, kernel="rbf", kernel_params=params)[1].shape == (40, 40)
    assert gram_eigenbasis(X, kernel="rbf", kernel_params=params, n_components=None,
                           dense_max_samples=0)[1].shape == (40, 40)
    assert gram_eigenbasis(X, kernel="rbf", kernel_params=params, n_components=39,
                           dense_max_samples=0)[1].shape == (40, 40)
    assert gram_eigenbasis(X, kernel="rbf", kernel_params=params, n_components=38,
                           dense_max_samples=0)[1].shape == (40, 38)
    assert DEFAULT_DENSE_MAX_SAMPLES >= 500


def test_lanczos_path_never_forms_the_gram_matrix(monkeypatch):
    blocks = []
    original = _empirical_basis._pairwise

    def watched(A, B=None, **kwargs):
        K = original(A, B, **kwargs)
        blocks.append(K.shape)
        return K

    monkeypatch.setattr(_empirical_basis, "_pairwise", watched)
    X, _ = _cube(600, seed=4)
    d, _ = gram_eigenbasis(X, kernel="rbf", kernel_params={"gamma": 2.0},
                           n_components=5, dense_max_samples=0, chunk_rows=50,
                           random_state=0)
    lanczos_blocks = [b for b in blocks if b != (2, 2)]  # (2, 2): the check
    assert max(r for r, _ in lanczos_blocks) == 50
    assert max(r * c for r, c in lanczos_blocks) == 50 * 600
    # only the upper block triangle is computed: 12 tiles per product
    products = len(lanczos_blocks) // 12
    assert len(lanczos_blocks) == 12 * products
    assert sum(r * c for r, c in lanczos_blocks) == products * sum(
        50 * (600 - s) for s in range(0, 600, 50)
    )
    # the default block respects the memory cap
    blocks.clear()
    monkeypatch.setattr(_empirical_basis, "_CHUNK_FLOATS", 6000)
    d_small, _ = gram_eigenbasis(X, kernel="rbf", kernel_params={"gamma": 2.0},
                                 n_components=5, dense_max_samples=0,
                                 random_state=0)
    assert max(r * c for r, c in blocks if (r, c) != (2, 2)) <= 6000
    np.testing.assert_allclose(d_small, d, atol=1e-14)
    # the dense path, for contrast, asks for the whole matrix once
    blocks.clear()
    gram_eigenbasis(X, kernel="rbf", kernel_params={"gamma": 2.0})
    assert (600, 600) in blocks


# ----------------------------------------------- the kernel ridge chain target


def _ridge_chain_check(n, n_rounds, **basis_kwargs):
    """B_t of KernelRidge(alpha=100) distilled n_rounds times, vs closed form."""
    X, y = _cube(n, seed=5)
    alpha = 100.0
    d, U = gram_eigenbasis(X, kernel="rbf", kernel_params={"gamma": 2.0},
                           random_state=0, **basis_kwargs)
    preds, target = [], y
    for _ in range(n_rounds + 1):
        model = KernelRidge(alpha=alpha, kernel="rbf", gamma=2.0).fit(X, target)
        target = model.predict(X)
        preds.append(target)
    B = empirical_basis_coefficients(U, y, preds)
    assert B.shape == (n_rounds + 1, U.shape[1], 1)
    B = B[..., 0]
    # f_t = (K (K + alpha I)^-1)^(t+1) y: B_t[k] = (lam / (lam + alpha))^(t+1)
    lam = d * n
    exact = np.stack([(lam / (lam + alpha)) ** (t + 1) for t in range(n_rounds + 1)])
    small = np.abs(U.T @ y) < 1e-3 * np.linalg.norm(y)
    exact[:, small] = 0.0
    assert np.all(B[:, small] == 0.0)
    # the issue's target on the 20 leading directions, and much better in fact
    assert np.abs(B[:, :20] - exact[:, :20]).max() <= 0.01
    assert np.abs(B - exact).max() < 1e-10
    assert B.min() >= 0.0 and B.max() <= 1.0
    assert np.all(np.diff(B, axis=0) <= 1e-12)  # shrinks with t
    return B


def test_ridge_chain_coefficients_match_the_closed_form():
    _ridge_chain_check(1200, 3, n_components=50, dense_max_samples=0)


@pytest.mark.slow
def test_ridge_chain_coefficients_match_the_closed_form_at_5000_points():
    # the default settings: Lanczos with 50 directions at this size
    assert DEFAULT_DENSE_MAX_SAMPLES < 5000
    B = _ridge_chain_check(5000, 3)
    assert B.shape == (4, 50)


# ------------------------------------------------------------ the coefficients


def test_coefficients_recover_known_shrinkage_and_zero_weak_directions():
    rng = np.random.RandomState(0)
    n, k, q = 40, 6, 2
    U, _ = np.linalg.qr(rng.randn(n, n))
    z = rng.uniform(1.0, 2.0, (n, q))
    z[3, 0] = 0.9e-3 * np.linalg.norm(z[:, 0])  # below rtol * ||y||: zeroed
    z[4, 1] = 1.1e-3 * np.linalg.norm(z[:, 1])  # above it: kept
    Y = U @ z
    b = [rng.uniform(0.0, 1.0, (n, q)) for _ in range(3)]
    preds = [U @ (bt * z) for bt in b]
    B = empirical_basis_coefficients(U[:, :k], Y, preds)
    assert B.shape == (3, k, q)
    expected = np.stack(b)[:, :k]
    small = np.abs(z[:k]) < 1e-3 * np.linalg.norm(Y, axis=0)
    assert small[3, 0] and not small[4, 1] and small.sum() == 1
    expected[:, small] = 0.0
    np.testing.assert_allclose(B, expected, rtol=1e-11, atol=1e-12)
    assert np.all(B[:, 3, 0] == 0.0)
    # one output as a 1-D y gives a trailing axis of 1
    B1 = empirical_basis_coefficients(U[:, :k], Y[:, 1], [p[:, 1] for p in preds])
    np.testing.assert_allclose(B1[..., 0], B[..., 1], rtol=1e-14, atol=0)
    # rtol=0 keeps every direction
    B0 = empirical_basis_coefficients(U[:, :k], Y, preds, rtol=0.0)
    np.testing.assert_allclose(B0, np.stack(b)[:, :k], rtol=1e-9)


def test_coefficients_errors():
    U = np.linalg.qr(np.random.RandomState(0).randn(10, 3))[0]
    y = np.arange(10.0)
    with pytest.raises(ValueError, match="round 1 contain NaN"):
        empirical_basis_coefficients(U, y, [y, np.full(10, np.nan)])
    with pytest.raises(ValueError, match="predictions of round 0 have shape"):
        empirical_basis_coefficients(U, y, [y[:9]])
    with pytest.raises(ValueError, match=r"Y must have shape \(10,\)"):
        empirical_basis_coefficients(U, y[:9], [y])
    with pytest.raises(ValueError, match="Y contains NaN"):
        empirical_basis_coefficients(U, np.full(10, np.nan), [y])
    with pytest.raises(ValueError, match=r"rtol must be a number in \[0, 1\)"):
        empirical_basis_coefficients(U, y, [y], rtol=-1e-3)
    assert empirical_basis_coefficients(U, y, []).shape == (0, 3, 1)


# ----------------------------------------------------------------- validation


def _raises(exc, *words):
    return pytest.raises(exc, match=".*".join(words))


def test_check_basis_kernel_names_the_parameter_and_the_fix():
    X = np.random.RandomState(0).rand(20, 3)
    with _raises(ValueError, "basis_kernel_params has 'gama'",
                 "did you mean 'gamma'", "takes only gamma"):
        check_basis_kernel("rbf", {"gama": 1}, X)
    with _raises(ValueError, "'degree'", "basis_kernel='rbf' does not take"):
        check_basis_kernel("rbf", {"degree": 2})
    with _raises(ValueError, "basis_kernel='linear' does not take",
                 "takes no parameters"):
        check_basis_kernel("linear", {"gamma": 1.0})
    with _raises(ValueError, "basis_kernel_params", "Kernel object",
                 "length_scale"):
        check_basis_kernel(RBF(), {"gamma": 1.0})
    with _raises(ValueError, "basis_kernel='precomputed' is not a known",
                 "pass the kernel itself"):
        check_basis_kernel("precomputed")
    with _raises(ValueError, "basis_kernel='rfb' is not a known kernel"):
        check_basis_kernel("rfb")
    with _raises(TypeError, "basis_kernel must be a kernel name"):
        check_basis_kernel(3)
    with _raises(TypeError, "basis_kernel_params must be a dict"):
        check_basis_kernel("rbf", [("gamma", 1.0)])
    with _raises(TypeError, r"basis_kernel_params\['gamma'\] must be a real"):
        check_basis_kernel("rbf", {"gamma": "1"})
    with _raises(ValueError, r"basis_kernel_params\['gamma'\] must be > 0"):
        check_basis_kernel("rbf", {"gamma": -1.0})
    with _raises(ValueError, r"\['degree'\] must be an integer >= 1"):
        check_basis_kernel("poly", {"degree": 2.5})
    with _raises(ValueError, "basis_kernel='green_spline'", "MinMaxScaler"):
        check_basis_kernel("green_spline", None, np.array([[0.5], [1.5]]))
    params = {"gamma": 2.0}
    checked = check_basis_kernel("rbf", params, X)
    assert checked == params and checked is not params
    assert check_basis_kernel(RBF(), None, X) == {}


def test_check_basis_kernel_evaluates_callables_on_two_rows_only():
    X = np.random.RandomState(0).rand(500, 4)
    calls = []

    def counted(a, b, scale=1.0):
        calls.append(1)
        return float(np.exp(-scale * np.sum((a - b) ** 2)))

    assert check_basis_kernel(counted, {"scale": 2.0}, X) == {"scale": 2.0}
    assert 1 <= len(calls) <= 4

    with _raises(TypeError, "basis_kernel='counted' failed", "basis_kernel_params",
                 "keyword arguments"):
        check_basis_kernel(counted, {"scael": 2.0}, X)

    def broken(a, b):
        return 1.0 / 0.0

    with _raises(ValueError, "basis_kernel='broken' failed", "ZeroDivisionError"):
        check_basis_kernel(broken, None, X)
    with _raises(ValueError, "must return finite numbers"):
        check_basis_kernel(lambda a, b: np.nan, None, X)
    with _raises(ValueError, "not a positive semi-definite kernel"):
        check_basis_kernel(lambda a, b: float(a[0] - b[0]), None, X)
    with _raises(ValueError, "not a positive semi-definite kernel"):
        check_basis_kernel(lambda a, b: -1.0, None, X)
    # gram_eigenbasis checks first, naming its own parameters
    with _raises(ValueError, "kernel_params has 'gama'"):
        gram_eigenbasis(X, kernel="rbf", kernel_params={"gama": 1.0})


@pytest.mark.parametrize(
    "kwargs, words",
    [({"n_components": 0}, "n_components must be an integer >= 1 or None"),
     ({"dense_max_samples": -1}, "dense_max_samples must be an integer >= 0"),
     ({"chunk_rows": 0}, "chunk_rows must be an integer >= 1 or None")],
)
def test_gram_eigenbasis_parameter_errors(kwargs, words):
    X, _ = _cube(10)
    with pytest.raises(ValueError, match=words):
        gram_eigenbasis(X, kernel="rbf", **kwargs)


# ---------------------------------------------------------------- torch device


@pytest.mark.parametrize("kernel, params", [
    ("rbf", {"gamma": 2.0}),
    (lambda a, b: float(np.exp(-np.abs(a - b).sum())), None),
])
def test_torch_device_matches_numpy(kernel, params):
    pytest.importorskip("torch")
    X, _ = _cube(80, seed=6)
    for kwargs in ({}, {"n_components": 12, "dense_max_samples": 0}):
        d_np, U_np = gram_eigenbasis(X, kernel=kernel, kernel_params=params,
                                     random_state=0, **kwargs)
        d_t, U_t = gram_eigenbasis(X, kernel=kernel, kernel_params=params,
                                   random_state=0, device="cpu", **kwargs)
        assert isinstance(U_t, np.ndarray) and U_t.shape == U_np.shape
        np.testing.assert_allclose(d_t, d_np, rtol=0, atol=1e-12)
        k = min(U_np.shape[1], 12) - 1
        assert _projector_gaps(np.append(d_np, 0.0), U_np, U_t[:, :k],
                               min_gap=1e-5) < 1e-8
