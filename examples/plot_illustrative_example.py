"""
=========================================================
The paper's illustrative example (Fig. 2 and Fig. 3)
=========================================================

Sec. 4 of Mobahi, Farajtabar and Bartlett (2020): eleven noisy samples of
:math:`\\sin(2\\pi x)` on :math:`[0, 1]`, fitted with the spline kernel of
eq. (57) (the Green's function of :math:`\\int f''(x)^2 dx`) under a training
mean squared error tolerance :math:`\\epsilon`, then self-distilled round after
round. We use the paper's own eleven targets.

The figures reproduce the paper's Fig. 2 (the fit of every round) and Fig. 3
(the diagonal of :math:`B_t`, the coefficients of the solution in the
eigenbasis of the Gram matrix, which shrink round after round, the small
eigenvalues' fastest).
"""

# %%
# Data and feasibility of epsilon
# -------------------------------
# The spline kernel vanishes at :math:`x = 0` and :math:`x = 1`, so every fit
# passes through 0 there and the two end points lie in the null space of the
# Gram matrix. They alone leave a training MSE that no function of the space can
# remove: the paper's :math:`\epsilon = 0.04` is unreachable on its own data.
import matplotlib.pyplot as plt
import numpy as np

from sklearn_selfdistill import BasisCoefficientsDisplay, SelfDistilledKernelRidge
from sklearn_selfdistill.datasets import load_paper_example
from sklearn_selfdistill.figures import (
    plot_basis_coefficients_per_round,
    plot_fits_per_round,
)

X, y = load_paper_example()
probe = SelfDistilledKernelRidge(
    kernel="green_spline", epsilon=1.0, n_rounds=0, on_collapse="ignore"
)
print(f"smallest reachable training MSE: {probe.fit(X, y).min_reachable_mse_:.5f}")
try:
    SelfDistilledKernelRidge(kernel="green_spline", epsilon=0.04).fit(X, y)
except ValueError as exc:
    print(f"epsilon = 0.04 fails:\n{exc}")

# %%
# Self-distillation at epsilon = 0.045
# ------------------------------------
# With :math:`\epsilon = 0.045` there are four non-collapsed rounds (t = 0..3)
# and the fifth collapses to zero, as the paper reports.
epsilon = 0.045
model = SelfDistilledKernelRidge(
    kernel="green_spline", epsilon=epsilon, n_rounds=4, on_collapse="ignore"
).fit(X, y)

x_grid = np.linspace(0, 1, 501).reshape(-1, 1)
truth = np.sin(2 * np.pi * x_grid[:, 0])
fits = list(model.staged_predict(x_grid))
print("round   c_t          train MSE  MSE vs sin(2 pi x)  collapsed")
for t, fit in enumerate(fits):
    print(f"{t:>5}   {model.c_[t]:<11.4g}  {model.train_mse_[t]:.5f}    "
          f"{np.mean((fit - truth) ** 2):.5f}             {model.collapsed_[t]}")

# %%
# Fig. 2: the fit of every round
# ------------------------------
# Round 0 fits the noise; the following rounds are smoother and smoother, and
# the fit flattens towards zero before it collapses.
# :func:`~sklearn_selfdistill.figures.plot_fits_per_round` draws every round
# that has not collapsed over the training points and the noiseless function
# with a :class:`~sklearn_selfdistill.DistillationFitDisplay`: the figure that
# ``selfdistill illustrate`` writes.
disp = plot_fits_per_round(model, X, y, target=lambda x: np.sin(2 * np.pi * x))

# %%
# Fig. 3: the basis coefficients shrink and sparsify
# --------------------------------------------------
# One panel per round, bars over the eigen-index (largest eigenvalue first),
# each a :class:`~sklearn_selfdistill.BasisCoefficientsDisplay`.
# The last two eigenvalues are the null space (the end points): their
# coefficient is 0 in every round.
displays = plot_basis_coefficients_per_round(model)

# %%
# The same data on a log scale show that the small-eigenvalue coefficients fall
# fastest: the ratio of the first to the ninth coefficient grows every round
# (Prop. 5).
disp = BasisCoefficientsDisplay.from_estimator(
    model, kind="lines", log_scale=True, name=""
)
B = model.basis_coefficients_
for t in np.flatnonzero(~model.collapsed_):
    print(f"round {t}: B_t[1] / B_t[9] = {B[t, 0] / B[t, 8]:.3g}")
plt.show()
