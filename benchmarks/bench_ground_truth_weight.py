"""Test error of searching the ground-truth weight, and what the search costs.

On each problem, for several random train/test splits, three models with the
same RBF kernel (gamma = 1 / n_features on standardised inputs):

* ``SelfDistilledKernelRidgeCV(normalize_y=True)``, default grid of 8
  epsilons x rounds 0..10, the paper's self-distillation (weight 0);
* the same with ``ground_truth_weights=WEIGHTS`` (Borup and Andersen, 2021):
  epsilon x weight x rounds from the same eigendecomposition and the same
  leave-one-out criterion;
* ``KernelRidge`` with standardised targets (``TransformedTargetRegressor``)
  whose ``alpha`` is chosen by ``GridSearchCV`` (12 values, 5 folds).

Problems: diabetes; Friedman #1, #2 and #3 at three noise levels each
(300 training, 1000 test points); digits as a noisy regression (one-hot
targets, 20 % of the training labels replaced by random classes, test MSE
against the clean one-hot test targets). The table gives the mean test MSE
over the splits, the ratio of the weighted search's MSE to the two others
(below 1: the weight grid helps), the weight chosen most often, and the fit
time of the weighted search over the unweighted one, measured in the same
run (each weight is one more epsilon x rounds grid on the same spectrum).

Run: ``python benchmarks/bench_ground_truth_weight.py`` (about 4 minutes on
one BLAS thread).
"""

import time
import warnings
from collections import Counter

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import (
    load_diabetes,
    load_digits,
    make_friedman1,
    make_friedman2,
    make_friedman3,
)
from sklearn.kernel_ridge import KernelRidge
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_selfdistill import SelfDistilledKernelRidgeCV

WEIGHTS = [0.0, 0.1, 0.25, 0.5, 0.75]
ALPHAS = np.logspace(-4, 1.5, 12)
MAX_ROUNDS = 10


def _friedman(make, noise):
    def load(seed):
        X, y = make(n_samples=1300, noise=noise, random_state=seed)
        return train_test_split(X, y, train_size=300, random_state=seed)
    return load


def _diabetes(seed):
    X, y = load_diabetes(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, random_state=seed)


def _noisy_digits(seed, flip=0.2):
    X, labels = load_digits(return_X_y=True)
    X_train, X_test, l_train, l_test = train_test_split(
        X, labels, test_size=0.4, random_state=seed, stratify=labels
    )
    rng = np.random.RandomState(seed)
    noisy = l_train.copy()
    flipped = rng.rand(noisy.size) < flip
    noisy[flipped] = rng.randint(10, size=int(flipped.sum()))
    eye = np.eye(10)
    return X_train, X_test, eye[noisy], eye[l_test]


PROBLEMS = [
    ("diabetes", _diabetes, 10),
    *[
        (f"friedman{k} noise={s}", _friedman(make, s), 8)
        for k, make, levels in (
            (1, make_friedman1, (0.5, 1, 3)),
            (2, make_friedman2, (30, 125, 250)),
            (3, make_friedman3, (0.05, 0.1, 0.3)),
        )
        for s in levels
    ],
    ("digits one-hot, 20% flipped", _noisy_digits, 3),
]


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run_split(load, seed):
    X_train, X_test, y_train, y_test = load(seed)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    gamma = 1.0 / X_train.shape[1]
    common = dict(gamma=gamma, normalize_y=True, max_rounds=MAX_ROUNDS)
    plain = SelfDistilledKernelRidgeCV(**common)
    weighted = SelfDistilledKernelRidgeCV(ground_truth_weights=WEIGHTS, **common)
    krr = GridSearchCV(
        TransformedTargetRegressor(
            KernelRidge(kernel="rbf", gamma=gamma), transformer=StandardScaler()
        ),
        {"regressor__alpha": ALPHAS}, cv=5, scoring="neg_mean_squared_error",
    )
    with warnings.catch_warnings():
        # Collapsed grid points at the largest epsilons warn; they score -inf.
        warnings.filterwarnings("ignore", message=".*grid points", category=UserWarning)
        _, t_plain = timed(lambda: plain.fit(X_train, y_train))
        _, t_weighted = timed(lambda: weighted.fit(X_train, y_train))
    _, t_krr = timed(lambda: krr.fit(X_train, y_train))

    def mse(model):
        return float(np.mean((model.predict(X_test) - y_test) ** 2))

    return {
        "n_train": X_train.shape[0],
        "mse_plain": mse(plain), "mse_weighted": mse(weighted), "mse_krr": mse(krr),
        "weight": weighted.best_ground_truth_weight_,
        "t_plain": t_plain, "t_weighted": t_weighted, "t_krr": t_krr,
    }


def main():
    rows = []
    print(f"weights {WEIGHTS}; 8 epsilons x rounds 0..{MAX_ROUNDS}; "
          f"KernelRidge alphas {ALPHAS.size} x 5 folds\n")
    header = (
        "| problem | n_train | splits | KRR (GridSearchCV) | SD-CV w=0 | "
        "SD-CV weight grid | grid / w=0 | grid / KRR | weight chosen | "
        "time grid / w=0 |"
    )
    print(header)
    print("|" + "---|" * header.count(" | ") + "---|")
    for name, load, n_splits in PROBLEMS:
        runs = [run_split(load, seed) for seed in range(n_splits)]
        mean = {
            k: float(np.mean([r[k] for r in runs])) for k in runs[0] if k != "weight"
        }
        chosen = Counter(r["weight"] for r in runs).most_common()
        rows.append((name, mean))
        print(
            f"| {name} | {int(mean['n_train'])} | {n_splits} | "
            f"{mean['mse_krr']:.4g} | {mean['mse_plain']:.4g} | "
            f"{mean['mse_weighted']:.4g} | "
            f"{mean['mse_weighted'] / mean['mse_plain']:.3f} | "
            f"{mean['mse_weighted'] / mean['mse_krr']:.3f} | "
            + ", ".join(f"{w:g} ({c})" for w, c in chosen)
            + f" | {mean['t_weighted'] / mean['t_plain']:.2f} "
            f"({mean['t_plain']:.2f} s -> {mean['t_weighted']:.2f} s) |",
            flush=True,
        )
    ratio_plain = np.array([m["mse_weighted"] / m["mse_plain"] for _, m in rows])
    ratio_krr = np.array([m["mse_weighted"] / m["mse_krr"] for _, m in rows])
    ratio_time = np.array([m["t_weighted"] / m["t_plain"] for _, m in rows])
    print(
        f"\ngeometric mean of MSE ratios: weight grid / w=0 "
        f"{np.exp(np.mean(np.log(ratio_plain))):.3f}, weight grid / KRR "
        f"{np.exp(np.mean(np.log(ratio_krr))):.3f}; weight grid better than w=0 "
        f"on {int(np.sum(ratio_plain < 1))} of {len(rows)} problems, than KRR on "
        f"{int(np.sum(ratio_krr < 1))}; search time ratio "
        f"{ratio_time.min():.2f} to {ratio_time.max():.2f} "
        f"({len(WEIGHTS)} weights: "
        f"{(ratio_time.min() - 1) / (len(WEIGHTS) - 1):.2f} to "
        f"{(ratio_time.max() - 1) / (len(WEIGHTS) - 1):.2f} of the w=0 search "
        "per extra weight)"
    )


if __name__ == "__main__":
    with threadpool_limits(limits=1):
        main()
