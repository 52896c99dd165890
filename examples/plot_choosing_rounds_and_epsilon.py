"""
=====================================================
Choosing the number of rounds and epsilon together
=====================================================

Self-distillation has two knobs: the training-error tolerance epsilon of
eq. (1) and the number of rounds. They act in the same direction (each round
and each increase of epsilon regularises more), so they must be chosen
together. This example chooses them on a noisy regression problem in two
ways:

* :class:`~sklearn.model_selection.GridSearchCV` around
  :class:`~sklearn_selfdistill.SelfDistilledKernelRidge`: 5-fold
  cross-validation, one fit (one eigendecomposition) per grid point and fold;
* :class:`~sklearn_selfdistill.SelfDistilledKernelRidgeCV`: the leave-one-out
  error of the equivalent linear smoother, every grid point from ONE
  eigendecomposition (exact leave-one-out at round 0 with the regularisation
  held fixed, a GCV-like approximation for later rounds), and its ``cv=5``
  fallback, which reproduces GridSearchCV's numbers from one
  eigendecomposition per fold.
"""

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_friedman1
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_selfdistill import (
    DistillationSearchDisplay,
    SelfDistilledKernelRidge,
    SelfDistilledKernelRidgeCV,
)

# Collapsed rounds of the single fits below are expected here (a search
# records its collapsed grid points in cv_results_["status"] without warning).
warnings.filterwarnings("ignore", message=".*collapsed to the zero function")

X, y = make_friedman1(n_samples=700, noise=3.0, random_state=1)
X = (X - X.mean(axis=0)) / X.std(axis=0)
X_train, y_train, X_test, y_test = X[:300], y[:300], X[300:], y[300:]
epsilons = np.geomspace(0.003, 0.3, 6)
rounds = np.arange(8)
params = dict(gamma=0.1, normalize_y=True)

# %%
# The three searches over the same 6 x 8 grid
# -------------------------------------------
folds = KFold(n_splits=5, shuffle=True, random_state=0)
start = time.perf_counter()
grid = GridSearchCV(
    SelfDistilledKernelRidge(on_collapse="ignore", **params),
    {"epsilon": epsilons, "n_rounds": rounds},
    cv=folds, scoring="neg_mean_squared_error",
).fit(X_train, y_train)
t_grid = time.perf_counter() - start

start = time.perf_counter()
loo = SelfDistilledKernelRidgeCV(epsilons=epsilons, max_rounds=7, **params)
loo.fit(X_train, y_train)
t_loo = time.perf_counter() - start

start = time.perf_counter()
kfold = SelfDistilledKernelRidgeCV(epsilons=epsilons, max_rounds=7, cv=folds, **params)
kfold.fit(X_train, y_train)
t_kfold = time.perf_counter() - start

print("search                          seconds  epsilon  rounds  test MSE")
for name, seconds, eps, n_rounds, model in [
    ("GridSearchCV, 5 folds", t_grid, grid.best_params_["epsilon"],
     grid.best_params_["n_rounds"], grid),
    ("SelfDistilledKernelRidgeCV, LOO", t_loo, loo.best_epsilon_,
     loo.best_n_rounds_, loo),
    ("SelfDistilledKernelRidgeCV, cv=5", t_kfold, kfold.best_epsilon_,
     kfold.best_n_rounds_, kfold),
]:
    mse = mean_squared_error(y_test, model.predict(X_test))
    print(f"{name:<32}{seconds:7.2f}  {eps:7.4f}  {n_rounds:6d}  {mse:8.3f}")

# %%
# The K-fold fallback computes GridSearchCV's numbers, grid point by grid
# point (GridSearchCV scores collapsed points too; the CV class gives them
# the worst score):
valid = np.isfinite(kfold.cv_results_["mean_test_score"])
gap = np.max(np.abs(kfold.cv_results_["mean_test_score"][valid]
                    - grid.cv_results_["mean_test_score"][valid]))
print(f"largest difference from GridSearchCV's mean_test_score: {gap:.2e}")

# %%
# The searches drawn
# ------------------
# :class:`~sklearn_selfdistill.DistillationSearchDisplay` draws the held-out
# score of every grid point over epsilon (a fraction of var(y)), one curve per
# number of rounds, and marks the selection with a star. Gaps are collapsed
# grid points. Small epsilons need rounds, larger ones are best with none:
# along the valley the two knobs trade off. On the right, GridSearchCV's own
# ``cv_results_`` (black crosses for 0 and 3 rounds, drawn by the same
# Display) lie on the curves of the K-fold fallback.
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True,
                         layout="constrained")
DistillationSearchDisplay.from_estimator(loo, ax=axes[0], name="")
axes[0].set_title("leave-one-out (one eigendecomposition)")
DistillationSearchDisplay.from_estimator(kfold, ax=axes[1], name="", show_std=False)
DistillationSearchDisplay.from_estimator(
    grid, ax=axes[1], name="GridSearchCV", rounds=[0, 3], color="black",
    linestyle="none", marker="x", markersize=7, show_std=False,
)
axes[1].set_title("5-fold: the CV class and GridSearchCV")
axes[1].set_ylabel("")
axes[1].legend(fontsize="small", ncols=2)
# The heavily over-regularised points (large epsilon, many rounds) are far
# below; show the best 90 % of the leave-one-out scores.
scores = loo.cv_results_["mean_test_score"]
axes[0].set_ylim(np.percentile(scores[np.isfinite(scores)], 10), None)

# %%
# Leave-one-out is exact for round 0 with the multiplier held fixed and
# approximate for later rounds (their targets depend on the held-out point);
# it runs in the time of about two fits, where GridSearchCV needs
# 5 x 48 + 1 fits. Use ``cv=`` when the exact K-fold numbers matter; it still
# needs only one eigendecomposition per fold.
plt.show()
