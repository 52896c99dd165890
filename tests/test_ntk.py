"""The neural tangent kernel and NNGP kernel of fully connected ReLU networks."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import integrate, sparse, stats
from sklearn.base import clone
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import WhiteKernel
from sklearn.kernel_ridge import KernelRidge

from sklearn_selfdistill import SelfDistilledKernelRidge
from sklearn_selfdistill.kernels import (
    NNGP,
    NTK,
    _arccos_kernel_torch,
    _pairwise,
    nngp_kernel,
    ntk_kernel,
)

torch = pytest.importorskip("torch")

# The rows of the reference values, computed with neural-tangents 0.6.5 for
# stax.serial(Dense(W_std, b_std), [Relu(), Dense(W_std, b_std)] * depth).
X_REF = np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, -2.0, 1.0]])


def _data(n=30, d=4, seed=0):
    return np.random.RandomState(seed).standard_normal((n, d))


@pytest.mark.parametrize(
    "kernel, params, i, j, expected",
    [
        (nngp_kernel, {}, 0, 1, 0.451698378511),
        (ntk_kernel, {}, 0, 1, 0.733631484391),
        (ntk_kernel, {}, 1, 2, -0.193706526379),
        (ntk_kernel, {}, 2, 2, 6.66666666667),
        (nngp_kernel, {"depth": 3, "weight_std": 1.5, "bias_std": 0.5}, 1, 2,
         2.33878783597),
        (ntk_kernel, {"depth": 3, "weight_std": 1.5, "bias_std": 0.5}, 0, 1,
         4.79809394092),
        (ntk_kernel, {"depth": 3, "weight_std": 1.5, "bias_std": 0.5}, 2, 2,
         24.54296875),
    ],
)
def test_neural_tangents_reference_values(kernel, params, i, j, expected):
    K = kernel(X_REF, **params)
    # The references carry 12 significant digits.
    assert_allclose(K[i, j], expected, rtol=0, atol=1e-10)
    assert_allclose(kernel(X_REF[[i]], X_REF[[j]], **params)[0, 0], expected,
                    rtol=0, atol=1e-10)


def test_closed_forms_by_hand():
    # Depth 1, W_std^2 = 2, no bias: q = Sigma_0(x, x) = 2 |x|^2 / 3, Sigma_1 = q
    # on the diagonal and Theta_1 = 2 q. Orthogonal rows have theta = pi/2:
    # Sigma_1 = 2 sqrt(q q') / (2 pi), Theta_1 = Sigma_1 + Sigma_0 (= 0) / 2.
    q = 2 * (X_REF**2).sum(1) / 3
    assert_allclose(np.diag(nngp_kernel(X_REF)), q, rtol=1e-14)
    assert_allclose(np.diag(ntk_kernel(X_REF)), 2 * q, rtol=1e-14)
    assert_allclose(nngp_kernel(X_REF)[0, 2], math.sqrt(q[0] * q[2]) / math.pi,
                    rtol=1e-14)
    assert_allclose(ntk_kernel(X_REF)[0, 2], math.sqrt(q[0] * q[2]) / math.pi,
                    rtol=1e-14)


@pytest.mark.parametrize("bias_std", [0.0, 0.7])
@pytest.mark.parametrize("func", [ntk_kernel, nngp_kernel])
def test_depth_zero_is_the_affine_kernel(func, bias_std):
    X, Y = _data(7, 5, 0), _data(4, 5, 1)
    expected = 1.3**2 * X @ Y.T / 5 + bias_std**2
    assert_allclose(func(X, Y, depth=0, weight_std=1.3, bias_std=bias_std),
                    expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("depth", [1, 2, 4])
@pytest.mark.parametrize("bias_std", [0.0, 0.5])
@pytest.mark.parametrize("func", [ntk_kernel, nngp_kernel])
def test_psd_symmetric_and_consistent(func, depth, bias_std):
    X = _data(60, 3)
    K = func(X, depth=depth, bias_std=bias_std)
    assert_array_equal(K, K.T)
    eig = np.linalg.eigvalsh(K)
    assert eig[0] >= -1e-12 * eig[-1]
    # The cross kernel agrees with the Gram matrix, the diag method exactly.
    assert_allclose(func(X, X[:10], depth=depth, bias_std=bias_std), K[:, :10],
                    rtol=1e-12)
    cls = NTK if func is ntk_kernel else NNGP
    assert_array_equal(cls(depth=depth, bias_std=bias_std).diag(X), np.diag(K))


def test_sparse_zero_rows_and_scaling():
    X = _data(12, 6)
    X[X < 0.3] = 0.0
    X[4] = 0.0
    K = ntk_kernel(X, depth=2)
    assert_allclose(ntk_kernel(sparse.csr_matrix(X), depth=2), K, rtol=1e-13)
    # A zero row has a zero kernel row without biases (the limit x -> 0), and
    # nothing is NaN with them.
    assert_array_equal(K[4], 0.0)
    # Homogeneous of degree 1 in each argument: a row shrinking to zero takes
    # its kernel row with it.
    tiny = X.copy()
    tiny[4] = 1e-9 * X[0]
    K_tiny = ntk_kernel(tiny, depth=2)
    assert_allclose(np.delete(K_tiny[4], 4), 1e-9 * np.delete(K[0], 4),
                    rtol=1e-12)
    assert_allclose(K_tiny[4, 4], 1e-18 * K[0, 0], rtol=1e-12)
    assert np.isfinite(ntk_kernel(X, depth=2, bias_std=0.1)).all()
    # Without biases the kernel is homogeneous: (W^2)^(depth + 1) and |x||x'|.
    assert_allclose(ntk_kernel(X, depth=2, weight_std=3.0),
                    (9.0 / 2.0) ** 3 * ntk_kernel(X, depth=2), rtol=1e-13)
    assert_allclose(ntk_kernel(2.0 * X, X, depth=3), 2.0 * ntk_kernel(X, depth=3),
                    rtol=1e-13)


def _rectified_product_expectation(q1, q2, c):
    """E[relu(u) relu(v)] and P(u > 0, v > 0) for (u, v) ~ N(0, [[q1, c], [c, q2]]),
    by one-dimensional quadrature over u of the rectified conditional mean."""
    s1 = math.sqrt(q1)
    slope = c / q1
    s = math.sqrt(max(q2 - c * c / q1, 0.0))

    def integrand(u, both_positive):
        m = slope * u
        if s == 0.0:
            return (m > 0) * (1.0 if both_positive else m)
        if both_positive:
            return stats.norm.cdf(m / s)
        return m * stats.norm.cdf(m / s) + s * stats.norm.pdf(m / s)

    density = stats.norm(scale=s1).pdf
    e_relu = integrate.quad(lambda u: u * integrand(u, False) * density(u), 0,
                            np.inf, epsabs=1e-14, epsrel=1e-13)[0]
    p_pos = integrate.quad(lambda u: integrand(u, True) * density(u), 0, np.inf,
                           epsabs=1e-14, epsrel=1e-13)[0]
    return e_relu, p_pos


def _layer_by_expectations(X, depth, weight_std, bias_std, expectation):
    """Sigma and Theta of a pair through the recursion's Gaussian expectations."""
    w, beta = weight_std**2, bias_std**2
    S = w * X @ X.T / X.shape[1] + beta
    T = S.copy()
    for _ in range(depth):
        S_new, T_new = np.empty_like(S), np.empty_like(T)
        for i in range(2):
            for j in range(2):
                e, p = expectation(S[i, i], S[j, j], S[i, j])
                S_new[i, j] = w * e + beta
                T_new[i, j] = S_new[i, j] + T[i, j] * w * p
        S, T = S_new, T_new
    return S, T


@pytest.mark.parametrize("pair", [(0, 1), (1, 2), (0, 2)])
def test_recursion_equals_gaussian_expectations_by_quadrature(pair):
    X = X_REF[list(pair)]
    params = {"depth": 3, "weight_std": 1.5, "bias_std": 0.5}
    S, T = _layer_by_expectations(X, expectation=_rectified_product_expectation,
                                  **params)
    assert_allclose(nngp_kernel(X, **params), S, rtol=1e-10)
    assert_allclose(ntk_kernel(X, **params), T, rtol=1e-10)


def test_recursion_equals_monte_carlo_average():
    # Each layer's pre-activations (u, v) sampled as Gaussians with the previous
    # layer's exact covariance; 400000 samples give a standard error of about
    # 0.0016 of the kernel's scale, and the tolerance is 5 standard errors,
    # estimated from the same samples.
    rng = np.random.default_rng(0)
    n_samples = 400_000
    X = _data(3, 4, seed=3)
    w, beta = 1.7**2, 0.4**2
    for layer in range(1, 4):
        S_prev = nngp_kernel(X, depth=layer - 1, weight_std=1.7, bias_std=0.4)
        T_prev = ntk_kernel(X, depth=layer - 1, weight_std=1.7, bias_std=0.4)
        S = nngp_kernel(X, depth=layer, weight_std=1.7, bias_std=0.4)
        T = ntk_kernel(X, depth=layer, weight_std=1.7, bias_std=0.4)
        h = rng.multivariate_normal(np.zeros(3), S_prev, size=n_samples)
        for i in range(3):
            for j in range(3):
                relu = w * np.maximum(h[:, i], 0) * np.maximum(h[:, j], 0)
                step = w * ((h[:, i] > 0) & (h[:, j] > 0))
                theta_mc = relu + beta + T_prev[i, j] * step
                for values, exact in ((relu + beta, S[i, j]), (theta_mc, T[i, j])):
                    se = values.std() / math.sqrt(n_samples)
                    assert abs(values.mean() - exact) < 5 * se
                    assert se < 0.01 * np.abs(T).max()


def _init_relu_net(sizes, generator):
    return {
        key: torch.randn(*shape, generator=generator, dtype=torch.float64)
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]))
        for key, shape in ((f"W{i}", (fan_out, fan_in)), (f"b{i}", (fan_out,)))
    }


def _relu_net(params, x, depth, weight_std, bias_std):
    """The network of the kernels in the NTK parameterization, on one input.

    Returns the scalar output and the last hidden layer's activations.
    """
    z = x
    for i in range(depth + 1):
        W, b = params[f"W{i}"], params[f"b{i}"]
        h = weight_std / math.sqrt(W.shape[1]) * (W @ z) + bias_std * b
        if i == depth:
            return h[0], z
        z = torch.relu(h)


def _empirical_kernels(X, width, depth, weight_std, bias_std, n_seeds):
    """Per initialisation, the empirical NTK (inner products of the parameter
    Jacobians) and the readout's NNGP (W^2 z.z' / width + b^2)."""
    from torch.func import jacrev, vmap

    x = torch.as_tensor(X)
    sizes = [X.shape[1]] + [width] * depth + [1]

    def output(params, xi):
        return _relu_net(params, xi, depth, weight_std, bias_std)[0]

    ntk, nngp = [], []
    for seed in range(n_seeds):
        params = _init_relu_net(sizes, torch.Generator().manual_seed(seed))
        jac = vmap(jacrev(output), in_dims=(None, 0))(params, x)
        flat = torch.cat([j.reshape(len(X), -1) for j in jac.values()], dim=1)
        ntk.append((flat @ flat.T).numpy())
        z = torch.stack([_relu_net(params, xi, depth, weight_std, bias_std)[1]
                         for xi in x])
        nngp.append((weight_std**2 * z @ z.T / width + bias_std**2).numpy())
    return np.array(ntk), np.array(nngp)


@pytest.mark.slow
@pytest.mark.parametrize(
    "depth, bias_std, widths, n_seeds, min_ratio, tolerance",
    [(1, 0.0, (64, 4096), 32, 5.0, 0.015), (2, 0.3, (64, 1024), 16, 2.5, 0.03)],
)
def test_empirical_ntk_of_wide_relu_nets_approaches_the_kernel(
    depth, bias_std, widths, n_seeds, min_ratio, tolerance
):
    # The empirical kernels of one initialisation deviate from the limit by
    # O(1 / sqrt(width)): their root-mean-square relative (Frobenius) error
    # over the seeds shrinks by sqrt(4096 / 64) = 8 for depth 1 (measured 7.2)
    # and sqrt(1024 / 64) = 4 for depth 2 (measured 3.6). The average over the
    # seeds is within the stated tolerance at the larger width (depth 1:
    # measured 0.0074 for the NTK; its mean is the limit exactly; depth 2 adds
    # an O(1 / width) bias: measured 0.013) and clearly closer than at width 64.
    X = _data(6, 3, seed=5)
    params = {"depth": depth, "weight_std": math.sqrt(2.0), "bias_std": bias_std}
    limits = ntk_kernel(X, **params), nngp_kernel(X, **params)
    rms, mean = {}, {}
    for width in widths:
        for name, kernels, limit in zip(
            ("ntk", "nngp"), _empirical_kernels(X, width, n_seeds=n_seeds, **params),
            limits,
        ):
            norm = np.linalg.norm(limit)
            rms[name, width] = np.sqrt(np.mean(
                [np.linalg.norm(K - limit) ** 2 for K in kernels])) / norm
            mean[name, width] = np.linalg.norm(kernels.mean(0) - limit) / norm
    small, large = widths
    for name in ("ntk", "nngp"):
        assert rms[name, large] < rms[name, small] / min_ratio
        assert mean[name, large] < tolerance
        assert mean[name, large] < mean[name, small] / 2


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
@pytest.mark.parametrize("bias_std", [0.0, 0.4])
def test_torch_recursion_equals_numpy(kind, bias_std):
    X, Y = _data(25, 4, 0), _data(9, 4, 1)
    params = {"depth": 3, "weight_std": 1.2, "bias_std": bias_std}
    func = ntk_kernel if kind == "ntk" else nngp_kernel
    gram = _arccos_kernel_torch(torch.as_tensor(X), kernel=kind,
                                kernel_params=params)
    cross = _arccos_kernel_torch(torch.as_tensor(X, dtype=torch.float32),
                                 torch.as_tensor(Y), kernel=kind,
                                 kernel_params=params)
    assert gram.dtype == torch.float64 and cross.dtype == torch.float64
    assert torch.equal(gram, gram.T)
    assert_allclose(gram.numpy(), func(X, **params), rtol=1e-12, atol=1e-13)
    X32 = X.astype(np.float32).astype(np.float64)
    assert_allclose(cross.numpy(), func(X32, Y, **params), rtol=1e-12, atol=1e-13)
    if torch.cuda.is_available():  # pragma: no cover - no GPU in CI
        on_gpu = _arccos_kernel_torch(torch.as_tensor(X, device="cuda"),
                                      kernel=kind, kernel_params=params)
        assert_allclose(on_gpu.cpu().numpy(), func(X, **params), rtol=1e-12)


def test_pairwise_names():
    X, Y = _data(10, 3, 0), _data(4, 3, 1)
    params = {"depth": 2, "weight_std": 1.1, "bias_std": 0.2}
    for name, func in (("ntk", ntk_kernel), ("nngp", nngp_kernel)):
        # gamma, degree and coef0 belong to other kernels and are ignored.
        K = _pairwise(X, Y, kernel=name, gamma=5.0, degree=2, coef0=3,
                      kernel_params=params)
        assert_array_equal(K, func(X, Y, **params))
        assert_array_equal(_pairwise(X, kernel=name), func(X))


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"depht": 2}, TypeError, r"kernel_params has unknown key\(s\) \['depht'\]"),
        ({"gamma": 1.0}, ValueError, "accept 'depth'.*'weight_std'.*'bias_std'"),
        ({"depth": -1}, ValueError, "depth must be a non-negative integer"),
        ({"depth": 1.5}, TypeError, "depth must be a non-negative integer"),
        ({"depth": True}, ValueError, "depth must be"),
        ({"weight_std": -1.0}, ValueError, "weight_std must be a positive"),
        ({"weight_std": 0.0}, ValueError, "weight_std must be a positive"),
        ({"weight_std": np.nan}, ValueError, "weight_std must be"),
        ({"bias_std": -0.1}, ValueError, "bias_std must be a non-negative"),
        ({"bias_std": "1"}, TypeError, "bias_std must be"),
    ],
)
def test_bad_kernel_params(params, error, match):
    X = _data(5, 2)
    with pytest.raises(error, match=match):
        _pairwise(X, kernel="ntk", kernel_params=params)
    with pytest.raises(error, match=match):
        _arccos_kernel_torch(torch.as_tensor(X), kernel="nngp",
                             kernel_params=params)
    if "depht" not in params and "gamma" not in params:
        with pytest.raises(error, match=match):
            NTK(**params)(X)
        with pytest.raises(error, match=match):
            nngp_kernel(X, **params)


def test_feature_mismatch_and_gradient_with_y():
    with pytest.raises(ValueError, match="X has 2 features but Y has 3"):
        ntk_kernel(_data(4, 2), _data(4, 3))
    with pytest.raises(ValueError, match="X has 2 features but Y has 3"):
        _arccos_kernel_torch(torch.as_tensor(_data(4, 2)),
                             torch.as_tensor(_data(4, 3)))
    with pytest.raises(ValueError, match="Gradient can only be evaluated when Y"):
        NTK()(_data(4, 2), _data(3, 2), eval_gradient=True)


def test_kernel_objects_params_clone_and_theta():
    k = NTK(depth=3, weight_std=1.5, bias_std=0.2)
    assert repr(k) == "NTK(depth=3, weight_std=1.5, bias_std=0.2)"
    assert k.get_params() == {
        "depth": 3, "weight_std": 1.5, "bias_std": 0.2,
        "weight_std_bounds": (1e-5, 1e5), "bias_std_bounds": (1e-5, 1e5),
    }
    c = clone(k)
    assert c == k and c is not k
    assert not k.is_stationary() and k.requires_vector_input
    # theta is the logarithm of the free hyperparameters, in name order.
    assert_allclose(k.theta, np.log([0.2, 1.5]))
    assert k.clone_with_theta(np.log([0.3, 2.0])).get_params()["weight_std"] == 2.0
    # Without biases only weight_std is free (log 0 cannot be optimised).
    assert_allclose(NNGP().theta, [np.log(math.sqrt(2.0))])
    assert NNGP(weight_std_bounds="fixed").n_dims == 0
    assert NNGP(depth=2).set_params(bias_std=0.1).n_dims == 2
    X = _data(8, 3)
    assert_array_equal(k(X), ntk_kernel(X, depth=3, weight_std=1.5,
                                        bias_std=0.2))
    assert_array_equal(NNGP(depth=2)(X, X[:3]), nngp_kernel(X, X[:3], depth=2))


@pytest.mark.parametrize("cls", [NTK, NNGP])
@pytest.mark.parametrize("depth, bias_std", [(0, 0.3), (1, 0.0), (3, 0.3)])
def test_gradient_against_finite_differences(cls, depth, bias_std):
    X = _data(15, 3)
    kernel = cls(depth=depth, weight_std=1.3, bias_std=bias_std)
    K, grad = kernel(X, eval_gradient=True)
    assert_array_equal(K, kernel(X))
    assert grad.shape == (15, 15, kernel.n_dims)
    h = 1e-5
    for i in range(kernel.n_dims):
        step = np.zeros(kernel.n_dims)
        step[i] = h
        fd = (kernel.clone_with_theta(kernel.theta + step)(X)
              - kernel.clone_with_theta(kernel.theta - step)(X)) / (2 * h)
        assert_allclose(grad[..., i], fd, rtol=1e-7, atol=1e-8 * np.abs(fd).max())
    if bias_std == 0.0:
        # Homogeneous of degree depth + 1 in W_std^2.
        assert_allclose(grad[..., 0], 2 * (depth + 1) * K, rtol=1e-13)


def test_kernel_ridge_and_package_estimator_use_the_matrix():
    X, Xt = _data(40, 3, 0), _data(10, 3, 1)
    y = np.sin(X[:, 0]) + X[:, 1]
    kernel = NTK(depth=2, bias_std=0.1)
    ours = KernelRidge(alpha=0.3, kernel=kernel).fit(X, y)
    explicit = KernelRidge(alpha=0.3, kernel="precomputed").fit(kernel(X), y)
    assert_allclose(ours.predict(Xt), explicit.predict(kernel(Xt, X)),
                    rtol=1e-12, atol=1e-12)
    K = ntk_kernel(X, depth=2, bias_std=0.1)
    dual = np.linalg.solve(K + 0.3 * np.eye(40), y)
    assert_allclose(ours.predict(Xt), kernel(Xt, X) @ dual, rtol=1e-10,
                    atol=1e-12)
    sd = SelfDistilledKernelRidge(epsilon=0.05, n_rounds=2, kernel=kernel)
    sd_pre = SelfDistilledKernelRidge(epsilon=0.05, n_rounds=2,
                                      kernel="precomputed")
    assert_allclose(sd.fit(X, y).predict(Xt),
                    sd_pre.fit(K, y).predict(kernel(Xt, X)), rtol=1e-10)


def test_gaussian_process_regressor():
    X, Xt = _data(30, 3, 0), _data(6, 3, 1)
    y = np.sin(2 * X[:, 0]) + 0.1 * np.random.RandomState(2).standard_normal(30)
    kernel = NTK(depth=2, bias_std=0.5)
    gpr = GaussianProcessRegressor(kernel=kernel, alpha=0.1, optimizer=None)
    mean, std = gpr.fit(X, y).predict(Xt, return_std=True)
    K, Ks, Kss = kernel(X), kernel(Xt, X), kernel(Xt)
    A = K + 0.1 * np.eye(30)
    assert_allclose(mean, Ks @ np.linalg.solve(A, y), rtol=1e-10)
    var = np.diag(Kss) - np.einsum("ij,ji->i", Ks, np.linalg.solve(A, Ks.T))
    assert_allclose(std, np.sqrt(var), rtol=1e-8)
    # The analytic gradient drives the marginal-likelihood optimizer: it is
    # the finite-difference gradient of the log marginal likelihood.
    noise = WhiteKernel(0.01, noise_level_bounds="fixed")
    gpr = GaussianProcessRegressor(kernel=kernel + noise, random_state=0).fit(X, y)
    theta = gpr.kernel_.theta
    lml, grad = gpr.log_marginal_likelihood(theta, eval_gradient=True)
    for i in range(len(theta)):
        step = np.zeros(len(theta))
        step[i] = 1e-6
        fd = (gpr.log_marginal_likelihood(theta + step)
              - gpr.log_marginal_likelihood(theta - step)) / 2e-6
        assert_allclose(grad[i], fd, rtol=1e-5, atol=1e-6)
    assert len(theta) == 2  # bias_std and weight_std; the noise is fixed
    assert lml > gpr.log_marginal_likelihood(kernel.theta) + 0.1
    assert isinstance(gpr.kernel_.k1, NTK) and gpr.kernel_.k1.depth == 2


def _recursion_mpmath(x, y, depth, weight_std, bias_std):
    """The recursion of the issue, pair by pair, in 60-digit arithmetic."""
    mp = pytest.importorskip("mpmath")
    with mp.workdps(60):
        w, beta = mp.mpf(weight_std) ** 2, mp.mpf(bias_std) ** 2
        d = len(x)
        x, y = [mp.mpf(float(v)) for v in x], [mp.mpf(float(v)) for v in y]

        def dot(a, b):
            return w * mp.fsum(p * q for p, q in zip(a, b)) / d + beta

        s, qx, qy = dot(x, y), dot(x, x), dot(y, y)
        t = s
        for _ in range(depth):
            p = mp.sqrt(qx * qy)
            theta = mp.acos(max(min(s / p, 1), -1)) if p else mp.pi / 2
            s_new = w * p * (mp.sin(theta) + (mp.pi - theta) * mp.cos(theta)) / (
                2 * mp.pi) + beta
            t = s_new + t * w * (mp.pi - theta) / (2 * mp.pi)
            s, qx, qy = s_new, w * qx / 2 + beta, w * qy / 2 + beta
        return float(s), float(t)


@pytest.mark.parametrize("bias_std", [0.0, 0.3])
def test_nearly_parallel_rows_to_round_off(bias_std):
    # The angle of nearly parallel rows is the square root of 1 - cos: from
    # the cosine it would be wrong by 1e-8. Against 60-digit arithmetic, the
    # kernel is right to round-off (relative to its scale: near antiparallel
    # rows the NNGP itself is O(pi - theta)^3) for duplicates, rows 1e-9
    # apart, rows scaled by 1 + 1e-9 and (nearly) antiparallel rows.
    rng = np.random.RandomState(4)
    x = rng.standard_normal(5)
    v = rng.standard_normal(5)
    X = np.array([x, x, x + 1e-9 * v, (1 + 1e-9) * x, -x, -x + 1e-9 * v,
                  x + 1e-5 * v, v])
    for depth in (1, 3):
        params = {"depth": depth, "weight_std": 1.2, "bias_std": bias_std}
        T = ntk_kernel(X[:1], X, **params)[0]
        S = nngp_kernel(X[:1], X, **params)[0]
        T_gram = ntk_kernel(X, **params)[0]
        T_torch = _arccos_kernel_torch(torch.as_tensor(X[:1]), torch.as_tensor(X),
                                       kernel_params=params).numpy()[0]
        ref = np.array([_recursion_mpmath(X[0], y, **params) for y in X])
        atol = 1e-15 * np.abs(ref).max()
        assert_allclose(S, ref[:, 0], rtol=1e-14, atol=atol)
        for values in (T, T_gram, T_torch):
            assert_allclose(values, ref[:, 1], rtol=1e-14, atol=atol)
        assert T[1] == T[0]


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
def test_blocks_give_the_same_matrix(kind):
    # Blocks of rows (here 37 entries, so one to a few rows each) give the
    # matrix of one block, exactly symmetric, for numpy, sparse and torch.
    from sklearn_selfdistill import _ntk

    X, Y = _data(23, 4, 0), _data(9, 4, 1)
    X[5] = X[17]
    params = {"kernel": kind, "depth": 2, "weight_std": 1.4, "bias_std": 0.2}
    for A, B, xp in ((X, None, np), (X, Y, np),
                     (sparse.csr_matrix(X), None, np),
                     (torch.as_tensor(X), None, torch),
                     (torch.as_tensor(X), torch.as_tensor(Y), torch)):
        whole = _ntk.kernel_matrix(A, B, xp=xp, block=10**6, **params)
        blocks = _ntk.kernel_matrix(A, B, xp=xp, block=37, **params)
        whole, blocks = np.asarray(whole), np.asarray(blocks)
        assert_allclose(blocks, whole, rtol=1e-14, atol=1e-15)
        if B is None:
            assert_array_equal(blocks, blocks.T)
            assert blocks[5, 17] == blocks[5, 5] == blocks[17, 17]
