"""Fixed fits whose numbers the package must keep reproducing.

``python tests/_baseline.py`` writes ``tests/data/baseline_v1.npz`` from the
current code; ``tests/test_baseline.py`` refits every case and compares. A
change that alters results on purpose (a new default grid, a new solver, a
new column) regenerates the file in the same commit and says why.
"""

import json
import warnings
from pathlib import Path

import numpy as np

PATH = Path(__file__).with_name("data") / "baseline_v1.npz"

#: The key of the numerical stack that wrote the file (:func:`stack`).
STACK_KEY = "_stack"

_FITTED = (
    "c_", "basis_coefficients_", "collapsed_", "train_mse_", "min_reachable_mse_",
    "guaranteed_rounds_", "eigenvalues_", "dual_coef_", "condition_number_",
)
_SEARCH = ("loo_errors_", "epsilons_", "best_epsilon_", "best_n_rounds_",
           "best_score_")


def _data():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(60, 2))
    y = np.sin(2 * np.pi * X[:, 0]) + 0.5 * X[:, 1] + 0.2 * rng.randn(60)
    Y2 = np.column_stack([y, np.cos(3 * X[:, 1]) + 0.1 * rng.randn(60) + 2.0])
    X_test = rng.uniform(size=(15, 2))
    labels = np.digitize(X[:, 0] + 0.3 * X[:, 1], [0.45, 0.85])
    return X, y, Y2, X_test, labels


def cases():
    """``name -> (estimator, X, y, X_test)`` of every baseline fit."""
    from sklearn_selfdistill import (
        SelfDistilledKernelRidge as KR,
        SelfDistilledKernelRidgeClassifier as KC,
        SelfDistilledKernelRidgeClassifierCV as KCCV,
        SelfDistilledKernelRidgeCV as KRCV,
    )

    X, y, Y2, X_test, labels = _data()
    gram = np.exp(-3.0 * ((X[:, None] - X[None]) ** 2).sum(-1))
    gram_test = np.exp(-3.0 * ((X_test[:, None] - X[None]) ** 2).sum(-1))
    low = dict(n_components=25, random_state=0)
    grid = [0.01, 0.03, 0.1, 0.3]
    return {
        "kr_dense": (KR(epsilon=0.05, n_rounds=3, gamma=3.0), X, y, X_test),
        "kr_multi_normalize": (
            KR(epsilon=[0.05, 0.1], n_rounds=2, gamma=3.0, normalize_y=True),
            X, Y2, X_test,
        ),
        "kr_randomized": (
            KR(epsilon=0.08, n_rounds=2, gamma=3.0, eigen_solver="randomized",
               **low), X, y, X_test,
        ),
        "kr_nystroem": (
            KR(epsilon=0.08, n_rounds=2, gamma=3.0, eigen_solver="nystroem",
               **low), X, y, X_test,
        ),
        "kr_torch_cpu": (
            KR(epsilon=0.05, n_rounds=3, gamma=3.0, device="cpu"), X, y, X_test,
        ),
        "kr_torch_cpu_nystroem": (
            KR(epsilon=0.08, n_rounds=2, gamma=3.0, device="cpu",
               eigen_solver="nystroem", **low), X, y, X_test,
        ),
        "kr_ground_truth": (
            KR(epsilon=0.05, n_rounds=4, gamma=3.0, ground_truth_weight=0.3),
            X, y, X_test,
        ),
        "kr_collapse": (
            KR(epsilon=0.3, n_rounds=6, gamma=3.0, on_collapse="ignore"),
            X, y, X_test,
        ),
        "kr_precomputed": (
            KR(epsilon=0.05, n_rounds=2, kernel="precomputed"), gram, y, gram_test,
        ),
        "kc_multiclass": (KC(epsilon=0.2, n_rounds=2, gamma=3.0), X, labels, X_test),
        "kc_binary": (
            KC(epsilon=0.2, n_rounds=2, gamma=3.0), X, labels > 0, X_test,
        ),
        "kc_nystroem": (
            KC(epsilon=0.3, n_rounds=1, gamma=3.0, eigen_solver="nystroem", **low),
            X, labels, X_test,
        ),
        "krcv_loo": (KRCV(epsilons=grid, max_rounds=4, gamma=3.0), X, y, X_test),
        "krcv_default_grid": (KRCV(max_rounds=3, gamma=3.0), X, y, X_test),
        "krcv_loo_r2_multi": (
            KRCV(epsilons=grid, max_rounds=3, gamma=3.0, scoring="r2",
                 normalize_y=True), X, Y2, X_test,
        ),
        "krcv_kfold": (
            KRCV(epsilons=grid, max_rounds=3, gamma=3.0, cv=3), X, y, X_test,
        ),
        "krcv_kfold_ground_truth": (
            KRCV(epsilons=grid, max_rounds=3, gamma=3.0, cv=3,
                 ground_truth_weight=0.2, normalize_y=True), X, Y2, X_test,
        ),
        "krcv_loo_nystroem": (
            KRCV(epsilons=grid, max_rounds=3, gamma=3.0, eigen_solver="nystroem",
                 **low), X, y, X_test,
        ),
        "krcv_loo_randomized_r2": (
            KRCV(epsilons=grid, max_rounds=3, gamma=3.0, scoring="r2",
                 eigen_solver="randomized", **low), X, y, X_test,
        ),
        "krcv_kfold_nystroem": (
            KRCV(epsilons=grid, max_rounds=3, gamma=3.0, cv=3,
                 eigen_solver="nystroem", **low), X, y, X_test,
        ),
        "krcv_torch_cpu": (
            KRCV(epsilons=grid, max_rounds=3, gamma=3.0, device="cpu"), X, y, X_test,
        ),
        "kccv_loo": (KCCV(epsilons=[0.1, 0.2, 0.4], max_rounds=3, gamma=3.0),
                     X, labels, X_test),
        "kccv_accuracy_kfold": (
            KCCV(epsilons=[0.1, 0.2, 0.4], max_rounds=3, gamma=3.0, cv=3,
                 scoring="accuracy"), X, labels, X_test,
        ),
        "kccv_nystroem_binary": (
            KCCV(epsilons=[0.2, 0.4], max_rounds=2, gamma=3.0,
                 eigen_solver="nystroem", **low), X, labels > 0, X_test,
        ),
    }


def collect(estimator, X, y, X_test):
    """The numbers of one fit, as a dict of float arrays."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X, y)
    out = {}
    for name in _FITTED + _SEARCH:
        if hasattr(estimator, name):
            out[name] = np.asarray(getattr(estimator, name), dtype=np.float64)
    if hasattr(estimator, "decision_function"):
        out["decision_function"] = estimator.decision_function(X_test)
        out["labels"] = np.searchsorted(estimator.classes_, estimator.predict(X_test))
        out["staged"] = np.stack(
            list(estimator.staged_decision_function(X_test))
        )
    else:
        out["predict"] = estimator.predict(X_test)
        out["staged"] = np.stack(list(estimator.staged_predict(X_test)))
    results = getattr(estimator, "cv_results_", None)
    if results is not None:
        for key, value in results.items():
            if key in ("params", "status"):  # not numbers
                continue
            out[f"cv_results_{key}"] = np.asarray(value, dtype=np.float64)
    return out


def stack():
    """The libraries the numbers depend on besides the package: versions of
    numpy, scipy, scikit-learn and torch, and numpy's and scipy's BLAS/LAPACK.

    The same stack reproduces the numbers to round-off; another LAPACK build
    moves ill-conditioned quantities further (``tests/test_baseline.py``).
    """
    import importlib.metadata

    from threadpoolctl import threadpool_info

    versions = {}
    for name in ("numpy", "scipy", "scikit-learn", "torch"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    import numpy  # noqa: F401  (loads its BLAS for threadpool_info)
    import scipy.linalg  # noqa: F401

    # numpy's and scipy's own builds (another library may load one more).
    versions["blas"] = sorted(
        f"{info['internal_api']} {info['version']}"
        for info in threadpool_info()
        if info["user_api"] == "blas"
        and any(f"/{name}" in info["filepath"] for name in ("numpy", "scipy"))
    )
    return versions


def main():
    arrays = {STACK_KEY: np.array(json.dumps(stack(), sort_keys=True))}
    for case, args in cases().items():
        for key, value in collect(*args).items():
            arrays[f"{case}/{key}"] = value
    PATH.parent.mkdir(exist_ok=True)
    np.savez_compressed(PATH, **arrays)
    print(f"wrote {len(arrays)} arrays to {PATH} ({PATH.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
