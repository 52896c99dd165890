"""The four kernel estimators and solvers shared by the ``test_errors_*`` modules."""

import numpy as np
from sklearn.exceptions import NotFittedError

from sklearn_selfdistill import (
    SelfDistilledKernelRidge,
    SelfDistilledKernelRidgeClassifier,
    SelfDistilledKernelRidgeClassifierCV,
    SelfDistilledKernelRidgeCV,
)

SOLVERS = [
    {"eigen_solver": "dense"},
    {"eigen_solver": "randomized", "n_components": 8, "random_state": 0},
    {"eigen_solver": "nystroem", "n_components": 8, "random_state": 0},
]


def make(name, **params):
    """A small, feasible configuration of each kernel estimator."""
    if name == "regressor":
        return SelfDistilledKernelRidge(epsilon=0.05, gamma=5.0, **params)
    if name == "classifier":
        return SelfDistilledKernelRidgeClassifier(epsilon=0.3, gamma=5.0, **params)
    if name == "regressor_cv":
        return SelfDistilledKernelRidgeCV(
            epsilons=[0.05, 0.1], max_rounds=1, gamma=5.0, **params
        )
    return SelfDistilledKernelRidgeClassifierCV(
        epsilons=[0.3, 0.5], max_rounds=1, gamma=5.0, **params
    )


ESTIMATORS = ["regressor", "classifier", "regressor_cv", "classifier_cv"]


def data(name, n=24, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(size=(n, 2))
    y = np.sin(4 * X[:, 0]) + 0.1 * rng.randn(n)
    if "classifier" in name:
        y = (y > np.median(y)).astype(int)
    return X, y


def assert_unfitted(estimator, X):
    """Nothing of a fit stays: no fitted attribute and ``NotFittedError``."""
    left = [
        key for key in vars(estimator)
        if key.endswith("_") and not key.startswith("__")
    ]
    assert left == []
    assert not hasattr(estimator, "_staged_dual_coef")
    try:
        estimator.predict(X)
    except NotFittedError:
        return
    raise AssertionError("predict did not raise NotFittedError")
