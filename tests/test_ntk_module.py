"""MLPModule in the NTK parameterization: the network of ``ntk_kernel``."""

import math

import numpy as np
import pytest

from sklearn_selfdistill.kernels import nngp_kernel, ntk_kernel

torch = pytest.importorskip("torch")
from sklearn_selfdistill.nets import MLPModule, NTKLinear, make_mlp  # noqa: E402


def _module(n_features, width, depth, seed, **params):
    torch.manual_seed(seed)
    return MLPModule(n_features, 1, hidden_units=(width,) * depth,
                     parameterization="ntk", **params).double()


def test_forward_is_the_ntk_parameterized_network():
    # The forward pass written out: h = W_std / sqrt(fan_in) W z + b_std b.
    X = torch.randn(5, 3, dtype=torch.float64)
    module = _module(3, 7, 2, seed=0, weight_std=1.7, bias_std=0.3)
    linears = [m for m in module.layers if isinstance(m, NTKLinear)]
    assert len(linears) == 3 and [m.in_features for m in linears] == [3, 7, 7]
    z = X
    for i, layer in enumerate(linears):
        h = 1.7 / math.sqrt(layer.in_features) * z @ layer.weight.T \
            + 0.3 * layer.bias
        z = torch.relu(h) if i < 2 else h
    assert torch.allclose(module(X), z, rtol=1e-14, atol=1e-14)
    # Parameters are N(0, 1), not scaled at initialisation.
    big = MLPModule(50, 1, hidden_units=(400,), parameterization="ntk")
    w = big.layers[0].weight.detach().numpy().ravel()
    assert abs(w.std() - 1.0) < 0.02 and abs(w.mean()) < 0.02
    assert abs(big.layers[0].bias.detach().std().item() - 1.0) < 0.2
    assert "weight_std=1.41421" in repr(big)


def test_standard_is_the_default_and_make_mlp_passes_options():
    module = MLPModule(3, 2, hidden_units=(4,))
    assert module.parameterization == "standard"
    assert all(type(m) is not NTKLinear for m in module.layers)
    ntk = make_mlp(3, 2, hidden_units=(4, 5), parameterization="ntk",
                   weight_std=1.1, bias_std=0.2)
    linears = [m for m in ntk.layers if isinstance(m, NTKLinear)]
    assert [(m.weight_std, m.bias_std) for m in linears] == [(1.1, 0.2)] * 3


@pytest.mark.parametrize(
    "kwargs, match",
    [({"parameterization": "NTK"}, "parameterization must be 'standard'"),
     ({"parameterization": "ntk", "weight_std": 0.0}, "weight_std must be a positive"),
     ({"parameterization": "ntk", "bias_std": -0.1}, "bias_std must be a non-negative"),
     ({"parameterization": "ntk", "weight_std": float("nan")}, "weight_std")],
)
def test_bad_parameterization_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLPModule(3, 1, **kwargs)


def _empirical_ntk(module, X):
    from torch.func import functional_call, jacrev

    params = {k: v.detach() for k, v in module.named_parameters()}
    jac = jacrev(lambda p: functional_call(module, p, (X,))[:, 0])(params)
    flat = torch.cat([j.reshape(len(X), -1) for j in jac.values()], dim=1)
    return (flat @ flat.T).numpy()


@pytest.mark.slow
@pytest.mark.parametrize("depth, bias_std", [(1, 0.0), (2, 0.4)])
def test_empirical_ntk_of_the_module_approaches_ntk_kernel(depth, bias_std):
    # Per initialisation the empirical NTK deviates from the limit by
    # O(1 / sqrt(width)): the root-mean-square relative (Frobenius) error over
    # 16 seeds shrinks by about sqrt(1024 / 16) = 8 from width 16 to 1024
    # (measured 7.0 for depth 1, 6.7 for depth 2; asserted > 5), and the
    # average over the seeds is within 0.03 of ntk_kernel at width 1024
    # (measured 0.015 and 0.017).
    rng = np.random.RandomState(1)
    X = rng.standard_normal((6, 3))
    params = {"weight_std": 1.3, "bias_std": bias_std}
    limit = ntk_kernel(X, depth=depth, **params)
    norm = np.linalg.norm(limit)
    Xt = torch.as_tensor(X)
    rms, mean = {}, {}
    for width in (16, 1024):
        kernels = np.array([
            _empirical_ntk(_module(3, width, depth, seed, **params), Xt)
            for seed in range(16)
        ])
        rms[width] = np.sqrt(np.mean(
            [np.linalg.norm(K - limit) ** 2 for K in kernels])) / norm
        mean[width] = np.linalg.norm(kernels.mean(0) - limit) / norm
    assert rms[1024] < rms[16] / 5
    assert mean[1024] < 0.03
    # The limit is that of the NTK, not of the NNGP (the readout's kernel).
    gp = nngp_kernel(X, depth=depth, **params)
    assert np.linalg.norm(kernels.mean(0) - gp) / norm > 0.2
