"""
===========================================================
Self-distillation rounds versus early stopping (Sec. 3.4)
===========================================================

For the kernel model, *early stopping* means a single fit with a larger
training-error tolerance :math:`\\epsilon` (Sec. 3.4 of the paper). Both it and
self-distillation raise the training error, so both regularise; the paper
argues they do not regularise the same way. A single fit weighs the
eigen-directions of the Gram matrix by :math:`d_k / (c_0 + d_k)`, which at best
keeps the decay of the eigenvalues, while :math:`t` rounds multiply
:math:`t + 1` such factors and sharpen it: self-distillation *sparsifies* the
solution, early stopping does not.

Here we self-distil a kernel ridge model on noisy samples of a smooth function,
then, for each round, fit a fresh model stopped early at exactly that round's
training error on the original labels, and compare the two on held-out data
and in the eigenbasis.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from sklearn_selfdistill import (
    BasisCoefficientsDisplay,
    DistillationCurveDisplay,
    DistillationFitDisplay,
    SelfDistilledKernelRidge,
)


def truth(x):
    return np.sin(2 * np.pi * x) + 0.5 * np.sin(6 * np.pi * x)


rng = np.random.RandomState(0)
X = np.sort(rng.uniform(size=(80, 1)), axis=0)
y = truth(X[:, 0]) + 0.5 * rng.randn(80)
X_test = np.linspace(0, 1, 400).reshape(-1, 1)
y_test = truth(X_test[:, 0])

# %%
# Self-distillation near interpolation
# ------------------------------------
# A Laplacian kernel (the Green's function of a first-order Sobolev norm in one
# dimension) keeps the Gram matrix well conditioned, so a small tolerance, a
# tenth of the noise variance, is reachable: round 0 nearly interpolates the
# noise, and each round raises the training error on the original labels.
sd = SelfDistilledKernelRidge(
    kernel="laplacian", gamma=5.0, epsilon=0.02, n_rounds=10, on_collapse="ignore"
).fit(X, y)
live = np.flatnonzero(~sd.collapsed_)
sd_test = np.array([np.mean((p - y_test) ** 2) for p in sd.staged_predict(X_test)])

# %%
# Early stopping at the same training errors
# ------------------------------------------
# Round 0 is the common reference; for round t the early-stopped model is a
# single fit whose tolerance is the self-distilled model's training MSE.
es_test, es_models = [], []
for t in live:
    es = SelfDistilledKernelRidge(
        kernel="laplacian", gamma=5.0, epsilon=sd.train_mse_[t], n_rounds=0
    ).fit(X, y)
    es_test.append(np.mean((es.predict(X_test) - y_test) ** 2))
    es_models.append(es)
es_test = np.array(es_test)
print("round  train MSE  test MSE (self-distilled)  test MSE (early stopped)")
for i, t in enumerate(live):
    print(f"{t:>5}  {sd.train_mse_[t]:9.4f}  {sd_test[t]:24.4f}  {es_test[i]:23.4f}")
best_sd, best_es = live[np.argmin(sd_test[live])], live[np.argmin(es_test)]
print(f"best self-distilled: round {best_sd}, test MSE {sd_test[best_sd]:.4f}; "
      f"best early-stopped: training MSE of round {best_es}, "
      f"test MSE {es_test[list(live).index(best_es)]:.4f}")

# %%
# On these data the two held-out curves are close: self-distillation's best
# round is slightly better than the best early-stopped fit, by a few percent.
# The paper's point is not that one always wins (it says this depends on the
# data) but that they are different regularisers, which shows in the
# eigenbasis.
#
# Same training error, different solutions
# ----------------------------------------
# Left: held-out error against the training error reached, for both paths.
# Right: the basis coefficients at the same training error (the round with the
# best held-out error): self-distillation keeps the first directions and cuts
# the rest off sharply; the early-stopped fit spreads its weight.
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
# Both paths as a table of DistillationCurveDisplay (one "fold", no spread).
paths = {
    "round": live,
    "train_loss_mean": sd.train_mse_[live],
    "self_distilled_score_mean": sd_test[live],
    "self_distilled_score_std": np.zeros(len(live)),
    "early_stopped_score_mean": es_test,
    "early_stopped_score_std": np.zeros(len(live)),
}
DistillationCurveDisplay.from_early_stopping(
    paths, score_name="test MSE against the noiseless function", ax=axes[0],
)
axes[0].set_xlabel("training MSE on the original labels")
axes[0].set_title("Equal training error, different test error")

t = best_sd
BasisCoefficientsDisplay.from_estimator(
    sd, rounds=[0], kind="lines", log_scale=True, max_directions=30,
    ax=axes[1], name="", color="gray", linestyle=":", marker="none",
)
BasisCoefficientsDisplay.from_estimator(
    sd, rounds=[t], kind="lines", log_scale=True, max_directions=30,
    ax=axes[1], name="self-distilled", color="C0",
)
BasisCoefficientsDisplay.from_estimator(
    es_models[list(live).index(t)], kind="lines", log_scale=True,
    max_directions=30, ax=axes[1], name="early stopped at the same training MSE",
    color="C1", marker="s", linestyle="--",
)
axes[1].set_title("Equal training MSE: self-distillation cuts the tail sharper")
axes[1].legend(fontsize=8)

# %%
# The fits themselves, at the training error of round ``best_sd``.
disp = DistillationFitDisplay.from_estimator(
    sd, X, y, rounds=[0, best_sd], target=truth, grid_resolution=400,
    name="self-distilled",
)
DistillationFitDisplay.from_estimator(
    es_models[list(live).index(best_sd)], X, ax=disp.ax_, grid_resolution=400,
    name="early stopped, same training MSE", color="C3",
)
disp.ax_.set_title("Fits at equal training error")
disp.ax_.legend(fontsize=8)
plt.show()
