"""Kernels: the spline Green's function of eq. (57) and the kernel dispatch."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.integrate import quad
from sklearn.gaussian_process.kernels import RBF, WhiteKernel
from sklearn.metrics.pairwise import pairwise_kernels

from sklearn_selfdistill.kernels import _pairwise, green_spline_kernel


def g(x, s):
    return green_spline_kernel([[x]], [[s]])[0, 0]


@pytest.mark.parametrize(
    "f, f4",
    [
        (lambda x: np.sin(np.pi * x), lambda x: np.pi**4 * np.sin(np.pi * x)),
        (lambda x: x**4 - 2 * x**3 + x, lambda x: 24.0 + 0 * x),
    ],
)
def test_green_function_reproduces_fourth_derivative(f, f4):
    # f(0) = f(1) = f''(0) = f''(1) = 0 (eq. 55): then
    # f(s) = integral_0^1 g(x, s) f''''(x) dx for the Green's function of R.
    for s in (0.1, 0.37, 0.5, 0.9):
        value, _ = quad(lambda x: g(x, s) * f4(x), 0, 1, points=[s],
                        epsabs=1e-14, epsrel=1e-13)
        assert_allclose(value, f(s), rtol=1e-12)


def test_green_spline_properties():
    rng = np.random.RandomState(0)
    x = rng.uniform(size=(40, 1))
    K = green_spline_kernel(x)
    assert_array_equal(K, K.T)
    assert np.linalg.eigvalsh(K).min() > -1e-14 * np.abs(K).max()
    ends = green_spline_kernel(np.array([[0.0], [1.0]]), x)
    assert_allclose(ends, 0.0, atol=1e-16)
    # Cross kernel agrees with the Gram matrix up to round-off.
    assert_allclose(green_spline_kernel(x, x), K, rtol=1e-12, atol=1e-16)
    # By hand: g(x, s) for x <= s is -x (1 - s)(x^2 - 2 s + s^2) / 6.
    assert_allclose(g(0.25, 0.5), -0.25 * 0.5 * (0.0625 - 1.0 + 0.25) / 6, rtol=1e-14)
    assert_allclose(g(0.5, 0.5), 1 / 48, rtol=1e-14)


def test_green_spline_is_piecewise_cubic_with_unit_jump():
    # Third derivative in x jumps by exactly 1 at x = s (the delta of eq. 56).
    s = 0.4
    left = np.linspace(0.0, 0.35, 6)
    right = np.linspace(0.45, 1.0, 6)
    coef_left = np.polyfit(left, [g(x, s) for x in left], 3)
    coef_right = np.polyfit(right, [g(x, s) for x in right], 3)
    assert_allclose(6 * (coef_right[0] - coef_left[0]), 1.0, rtol=1e-9)
    # Second derivative vanishes at both ends (natural boundary conditions).
    assert_allclose(np.polyval(np.polyder(coef_left, 2), 0.0), 0.0, atol=1e-9)
    assert_allclose(np.polyval(np.polyder(coef_right, 2), 1.0), 0.0, atol=1e-9)


def test_green_spline_errors():
    with pytest.raises(ValueError, match="one feature in .* X has 2 features"):
        green_spline_kernel(np.zeros((3, 2)))
    match = r"defined on \[0, 1\]; X has values in \[-0\.1, 0\.5\]"
    with pytest.raises(ValueError, match=match):
        green_spline_kernel(np.array([[-0.1], [0.5]]))
    with pytest.raises(ValueError, match=r"Y has values in \[0\.5, 1\.5\]"):
        green_spline_kernel(np.array([[0.1]]), np.array([[0.5], [1.5]]))
    with pytest.raises(ValueError, match="NaN"):
        green_spline_kernel(np.array([[np.nan]]))


@pytest.mark.parametrize("name", ["rbf", "laplacian", "poly", "linear", "sigmoid",
                                  "cosine", "chi2"])
def test_pairwise_named_kernels(name):
    rng = np.random.RandomState(1)
    X, Y = rng.uniform(size=(6, 3)), rng.uniform(size=(4, 3))
    expected = pairwise_kernels(X, Y, metric=name, filter_params=True,
                                gamma=0.3, degree=2, coef0=0.5)
    got = _pairwise(X, Y, kernel=name, gamma=0.3, degree=2, coef0=0.5)
    assert_allclose(got, expected, rtol=1e-15)
    # kernel_params override the named arguments.
    over = _pairwise(X, Y, kernel="rbf", gamma=0.3, kernel_params={"gamma": 2.0})
    assert_allclose(over, pairwise_kernels(X, Y, metric="rbf", gamma=2.0), rtol=1e-15)


def test_pairwise_other_kernels():
    rng = np.random.RandomState(2)
    X, Y = rng.uniform(size=(5, 1)), rng.uniform(size=(3, 1))
    k = RBF(0.5) + WhiteKernel(0.2)
    assert_allclose(_pairwise(X, kernel=k), k(X), rtol=1e-15)
    assert_allclose(_pairwise(X, Y, kernel=k), k(X, Y), rtol=1e-15)
    assert_allclose(_pairwise(X, Y, kernel="green_spline"), green_spline_kernel(X, Y))

    def dot_plus(a, b, shift=0.0):
        return float(a @ b) + shift

    got = _pairwise(X, Y, kernel=dot_plus, kernel_params={"shift": 1.5})
    assert_allclose(got, X @ Y.T + 1.5, rtol=1e-15)
    gram = rng.uniform(size=(5, 5))
    assert_array_equal(_pairwise(gram, kernel="precomputed"), gram)
