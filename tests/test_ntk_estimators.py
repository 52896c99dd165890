"""The ntk and nngp kernels in the estimators, the torch backend and the
wrapper's basis: each equals the same computation on ``ntk_kernel``'s matrix."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.kernel_ridge import KernelRidge

from sklearn_selfdistill import (
    SelfDistillationWrapper,
    SelfDistilledKernelRidge,
    SelfDistilledKernelRidgeClassifier,
)
from sklearn_selfdistill._empirical_basis import gram_eigenbasis
from sklearn_selfdistill.kernels import NTK, nngp_kernel, ntk_kernel

torch = pytest.importorskip("torch")

PARAMS = {"depth": 2, "weight_std": 1.3, "bias_std": 0.2}
FUNCS = {"ntk": ntk_kernel, "nngp": nngp_kernel}


def _data(n=60, n_test=15, d=4, seed=0):
    rng = np.random.RandomState(seed)
    X, Xt = rng.standard_normal((n, d)), rng.standard_normal((n_test, d))
    return X, Xt, 3.0 * (np.sin(X[:, 0]) + X[:, 1])


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
@pytest.mark.parametrize(
    "solver",
    [{}, {"eigen_solver": "randomized", "n_components": 30, "random_state": 0},
     {"device": "cpu"},
     {"device": "cpu", "eigen_solver": "randomized", "n_components": 30,
      "random_state": 0}],
    ids=["dense", "randomized", "torch-dense", "torch-randomized"],
)
def test_named_kernel_equals_precomputed(kind, solver):
    X, Xt, y = _data()
    K, Kt = FUNCS[kind](X, **PARAMS), FUNCS[kind](Xt, X, **PARAMS)
    kw = dict(epsilon=1.0, n_rounds=2, **solver)
    named = SelfDistilledKernelRidge(kernel=kind, kernel_params=PARAMS, **kw)
    pre = SelfDistilledKernelRidge(kernel="precomputed", **kw)
    pred = named.fit(X, y).predict(Xt)
    assert_allclose(pred, pre.fit(K, y).predict(Kt), rtol=0, atol=1e-10)
    assert_allclose(named.eigenvalues_, pre.eigenvalues_, rtol=1e-10,
                    atol=1e-12 * named.eigenvalues_[0])
    assert np.abs(pred).max() > 0.5  # not a collapsed (zero) fit


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
@pytest.mark.parametrize("device", [None, "cpu"])
def test_nystroem_equals_precomputed_nystroem_gram(kind, device):
    # Nystroem is exact self-distillation on K_nm K_mm^+ K_mn, the landmarks
    # being X_fit_; prediction uses K_tm K_mm^+ K_mn.
    X, Xt, y = _data()
    func = FUNCS[kind]
    model = SelfDistilledKernelRidge(
        kernel=kind, kernel_params=PARAMS, epsilon=1.0, n_rounds=2,
        eigen_solver="nystroem", n_components=30, random_state=0, device=device,
    ).fit(X, y)
    L = model.X_fit_
    assert L.shape == (30, 4)
    P = np.linalg.pinv(func(L, **PARAMS), hermitian=True)
    Knm = func(X, L, **PARAMS)
    G, Gt = Knm @ P @ Knm.T, func(Xt, L, **PARAMS) @ P @ Knm.T
    pre = SelfDistilledKernelRidge(kernel="precomputed", epsilon=1.0,
                                   n_rounds=2).fit(G, y)
    assert_allclose(model.predict(Xt), pre.predict(Gt), rtol=0, atol=1e-10)


@pytest.mark.parametrize("device", [None, "cpu"])
def test_classifier_with_ntk_equals_precomputed(device):
    X, Xt, y = _data()
    labels = (y > 0).astype(int) + (y > 3)
    kw = dict(epsilon=0.2, n_rounds=1, device=device)
    named = SelfDistilledKernelRidgeClassifier(kernel="ntk", kernel_params=PARAMS,
                                               **kw).fit(X, labels)
    pre = SelfDistilledKernelRidgeClassifier(kernel="precomputed", **kw).fit(
        ntk_kernel(X, **PARAMS), labels)
    Kt = ntk_kernel(Xt, X, **PARAMS)
    assert_allclose(named.decision_function(Xt), pre.decision_function(Kt),
                    rtol=0, atol=1e-10)


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
def test_torch_ops_kernel_equals_numpy(kind):
    from sklearn_selfdistill._torch_backend import TorchOps

    X, Xt, _ = _data(n=25, n_test=7)
    ops = TorchOps("cpu", kernel=kind, gamma=None, degree=3, coef0=1,
                   kernel_params=PARAMS)
    gram, cross = ops.kernel(X), ops.kernel(Xt, X)
    assert isinstance(gram, torch.Tensor) and gram.dtype == torch.float64
    func = FUNCS[kind]
    assert_allclose(gram.numpy(), func(X, **PARAMS), rtol=1e-12, atol=1e-13)
    assert_allclose(cross.numpy(), func(Xt, X, **PARAMS), rtol=1e-12, atol=1e-13)
    default = TorchOps("cpu", kernel=kind, gamma=None, degree=3, coef0=1,
                       kernel_params=None)
    assert_allclose(default.kernel(X).numpy(), func(X), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("device", [None, "cpu"])
@pytest.mark.parametrize(
    "params, match",
    [({"depth": -1}, "depth must be a non-negative integer"),
     ({"weight_std": 0.0}, "weight_std must be a positive"),
     ({"gamma": 0.1}, "unknown key")],
)
def test_bad_kernel_params_raise_and_leave_unfitted(device, params, match):
    X, _, y = _data(n=10)
    model = SelfDistilledKernelRidge(kernel="ntk", kernel_params=params,
                                     device=device)
    with pytest.raises(ValueError, match=match):
        model.fit(X, y)
    assert not hasattr(model, "dual_coef_")


def test_wrapper_basis_is_the_ntk_eigenbasis():
    # Kernel ridge with the NTK, measured in the NTK's own eigenbasis:
    # B_t = (d / (d + alpha / n))^(t + 1) exactly (eq. (46) with c = alpha / n).
    X, _, y = _data(n=30)
    n, alpha, n_rounds = 30, 0.5, 2
    model = SelfDistillationWrapper(
        KernelRidge(alpha=alpha, kernel=NTK(**PARAMS)), n_rounds=n_rounds,
        basis_kernel="ntk", basis_kernel_params=PARAMS,
    ).fit(X, y)
    d_ref = np.linalg.eigvalsh(ntk_kernel(X, **PARAMS) / n)[::-1]
    d = model.basis_eigenvalues_
    assert_allclose(d, d_ref, rtol=1e-10, atol=1e-13 * d_ref[0])
    keep = d > 1e-6 * d[0]
    assert keep.sum() >= 10
    for t in range(n_rounds + 1):
        assert_allclose(model.basis_coefficients_[t, keep],
                        (d[keep] / (d[keep] + alpha / n)) ** (t + 1),
                        rtol=1e-5, atol=1e-8)


def test_wrapper_basis_nngp_default_params_and_bad_params():
    X, _, y = _data(n=20)
    model = SelfDistillationWrapper(KernelRidge(alpha=1.0), n_rounds=1,
                                    basis_kernel="nngp").fit(X, y)
    assert_allclose(model.basis_eigenvalues_,
                    np.linalg.eigvalsh(nngp_kernel(X) / 20)[::-1], rtol=1e-10,
                    atol=1e-13 * model.basis_eigenvalues_[0])
    bad = SelfDistillationWrapper(KernelRidge(), basis_kernel="ntk",
                                  basis_kernel_params={"gamma": 0.5})
    with pytest.raises(ValueError, match="gamma.*basis_kernel='ntk'"):
        bad.fit(X, y)
    bad.set_params(basis_kernel_params={"depth": 1.5})
    with pytest.raises(ValueError, match="depth must be a non-negative integer"):
        bad.fit(X, y)
    assert not hasattr(bad, "estimators_")


def test_gram_eigenbasis_accepts_ntk_and_names_bad_keys():
    X, _, _ = _data(n=25)
    d, U = gram_eigenbasis(X, kernel="ntk", kernel_params=PARAMS,
                           n_components=25)
    G = ntk_kernel(X, **PARAMS) / 25
    assert_allclose(d, np.linalg.eigvalsh(G)[::-1], rtol=1e-10,
                    atol=1e-13 * d[0])
    assert_allclose(G @ U, U * d, atol=1e-10 * d[0])
    with pytest.raises(ValueError, match="'dept' \\(did you mean 'depth'"):
        gram_eigenbasis(X, kernel="ntk", kernel_params={"dept": 2})
    with pytest.raises(ValueError, match="bias_std must be a non-negative"):
        gram_eigenbasis(X, kernel="nngp", kernel_params={"bias_std": -1.0})


def test_cv_search_with_ntk_equals_precomputed():
    from sklearn_selfdistill import SelfDistilledKernelRidgeCV

    X, Xt, y = _data(n=50)
    kw = dict(max_rounds=3, epsilons=[0.3, 0.6, 1.0])
    named = SelfDistilledKernelRidgeCV(kernel="ntk", kernel_params=PARAMS, **kw)
    pre = SelfDistilledKernelRidgeCV(kernel="precomputed", **kw)
    named.fit(X, y)
    pre.fit(ntk_kernel(X, **PARAMS), y)
    assert (named.best_epsilon_, named.best_n_rounds_) == (
        pre.best_epsilon_, pre.best_n_rounds_)
    assert_allclose(named.loo_errors_, pre.loo_errors_, rtol=1e-10)
    assert_allclose(named.predict(Xt), pre.predict(ntk_kernel(Xt, X, **PARAMS)),
                    rtol=0, atol=1e-10)
