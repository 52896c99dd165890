"""
=============================================
Sample weights: duplicated rows, rare classes
=============================================

``fit(X, y, sample_weight=w)`` of the kernel estimators solves the weighted
problem of each round: the weighted training mean squared error
:math:`\\sum_i w_i (f(x_i) - y_i)^2 / \\sum_i w_i` equals epsilon (see the
user guide, "Sample weights"). Two uses:

* **Duplicated rows.** An integer weight acts as that many copies of a row, so
  a data set with many repeated rows can be fitted on its distinct rows with
  their counts as weights: the same model from a smaller eigendecomposition.
* **Imbalanced classes.** Weights that balance the classes make the rare class
  count as much as the common one in every round's training error and in the
  search's held-out error.
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from sklearn_selfdistill import (
    DistillationFitDisplay,
    DistillationSearchDisplay,
    SelfDistilledKernelRidge,
    SelfDistilledKernelRidgeClassifierCV,
)

# %%
# Duplicated rows
# ---------------
# 80 distinct inputs; those on the left were recorded up to 12 times each.
rng = np.random.RandomState(0)
x = np.sort(rng.uniform(0, 1, 80))
y = np.sin(2 * np.pi * x) + 0.3 * rng.randn(80)
counts = np.where(x < 0.5, rng.randint(4, 13, 80), 1)
X_rep = np.repeat(x, counts)[:, None]
y_rep = np.repeat(y, counts)
print(f"{x.size} distinct rows, {X_rep.shape[0]} rows with the copies")

params = dict(epsilon=0.1, n_rounds=1, gamma=50.0)
start = time.perf_counter()
repeated = SelfDistilledKernelRidge(**params).fit(X_rep, y_rep)
t_rep = time.perf_counter() - start
start = time.perf_counter()
weighted = SelfDistilledKernelRidge(**params).fit(x[:, None], y, sample_weight=counts)
t_w = time.perf_counter() - start
unweighted = SelfDistilledKernelRidge(**params).fit(x[:, None], y)
grid = np.linspace(0, 1, 200)[:, None]
gap = np.max(np.abs(repeated.predict(grid) - weighted.predict(grid)))
print(f"largest difference, copies vs weights: {gap:.1e}")
print(f"multipliers c_t, copies:  {np.round(repeated.c_, 6)}")
print(f"multipliers c_t, weights: {np.round(weighted.c_, 6)}")
print(f"fit time: {t_rep * 1e3:.1f} ms with copies, {t_w * 1e3:.1f} ms with weights")

# %%
# The weighted fit is the fit on the copies; ignoring the counts fits another
# model, which follows the sparse right half as closely as the dense left one.
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
DistillationFitDisplay.from_estimator(
    weighted, x[:, None], y, target=lambda t: np.sin(2 * np.pi * t),
    ax=axes[0], name="counts as weights",
)
axes[0].set_title("sample_weight = counts")
DistillationFitDisplay.from_estimator(
    unweighted, x[:, None], y, target=lambda t: np.sin(2 * np.pi * t),
    ax=axes[1], name="distinct rows",
)
axes[1].set_title("distinct rows, unweighted")
fig.tight_layout()

# %%
# Rare classes
# ------------
# One class in ten. The search selects epsilon and the rounds by the
# balanced accuracy of the held-out folds; with balancing weights every
# round's training error counts the rare class as much as the common one.
X, labels = make_classification(
    n_samples=400, n_features=6, n_informative=4, weights=[0.9, 0.1],
    class_sep=0.8, random_state=0,
)
X_train, X_test, y_train, y_test = train_test_split(
    X, labels, stratify=labels, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
balanced = compute_sample_weight("balanced", y_train)

searches = {}
for name, weights in [("unweighted", None), ("balanced weights", balanced)]:
    search = SelfDistilledKernelRidgeClassifierCV(
        max_rounds=4, cv=5, scoring="balanced_accuracy", gamma=0.1
    ).fit(X_train, y_train, sample_weight=weights)
    searches[name] = search
    score = balanced_accuracy_score(y_test, search.predict(X_test))
    print(f"{name:>16}: selected {search.best_params_}, "
          f"test balanced accuracy {score:.3f}")

# %%
# Both searches on one axes: the held-out balanced accuracy over epsilon, one
# curve per number of rounds, the selection starred.
fig, ax = plt.subplots(figsize=(7, 4.5))
for (name, search), style in zip(searches.items(), ["-", "--"]):
    DistillationSearchDisplay.from_estimator(
        search, ax=ax, name=name, show_std=False,
        linestyle=style,
    )
ax.set_title("Held-out balanced accuracy, without and with weights")
fig.tight_layout()
plt.show()
