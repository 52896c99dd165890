"""How close the fast leave-one-out criterion is to exact leave-one-out.

``SelfDistilledKernelRidgeCV`` scores round t by the leave-one-out residuals of
the linear smoother S_t with the multipliers fitted on all points. Exact
leave-one-out refits every round (and re-solves every multiplier) on n - 1
points. This script computes both on four small regression problems for 6
epsilons x rounds 0..4 and prints the relative differences, the rank
correlation of the grid points, and the selected grid points.

Run: ``python benchmarks/bench_loo_accuracy.py`` (about a minute).
"""

import warnings

import numpy as np
from scipy.stats import spearmanr
from sklearn.datasets import load_diabetes, make_friedman1
from threadpoolctl import threadpool_limits

from sklearn_selfdistill import SelfDistilledKernelRidge, SelfDistilledKernelRidgeCV


def standardise(X):
    return (X - X.mean(axis=0)) / X.std(axis=0)


def problems():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(60, 1))
    yield "noisy sine", X, np.sin(2 * np.pi * X[:, 0]) + 0.3 * rng.randn(60), 10.0
    X, y = make_friedman1(n_samples=60, noise=1.0, random_state=0)
    yield "friedman1, noise 1", standardise(X), y, 0.1
    X, y = make_friedman1(n_samples=60, noise=3.0, random_state=2)
    yield "friedman1, noise 3", standardise(X), y, 0.1
    X, y = load_diabetes(return_X_y=True)
    yield "diabetes (60 points)", standardise(X)[:60], y[:60], 0.05


def exact_loo(X, y, epsilons, n_rounds, gamma):
    n = len(y)
    exact = np.full((len(epsilons), n_rounds + 1), np.inf)
    for e, eps in enumerate(epsilons):
        errors = np.zeros(n_rounds + 1)
        alive = np.ones(n_rounds + 1, dtype=bool)
        try:
            for i in range(n):
                keep = np.arange(n) != i
                model = SelfDistilledKernelRidge(
                    epsilon=eps, n_rounds=n_rounds, gamma=gamma, normalize_y=True,
                    on_collapse="ignore",
                ).fit(X[keep], y[keep])
                alive &= ~model.collapsed_
                for t, pred in enumerate(model.staged_predict(X[i : i + 1])):
                    errors[t] += (pred[0] - y[i]) ** 2 / n
        except ValueError:  # epsilon infeasible on some n - 1 points
            continue
        exact[e] = np.where(alive, errors, np.inf)
    return exact


def main():
    epsilons = np.geomspace(0.01, 0.5, 6)
    n_rounds = 4
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        for name, X, y, gamma in problems():
            fast = SelfDistilledKernelRidgeCV(
                epsilons=epsilons, max_rounds=n_rounds, gamma=gamma, normalize_y=True
            ).fit(X, y)
            exact = exact_loo(X, y, epsilons, n_rounds, gamma)
            both = np.isfinite(exact) & np.isfinite(fast.loo_errors_)
            rel = np.abs(fast.loo_errors_[both] / exact[both] - 1)
            rel0 = np.abs(fast.loo_errors_[both[:, 0], 0] / exact[both[:, 0], 0] - 1)
            rho = spearmanr(fast.loo_errors_[both], exact[both])[0]
            pick = lambda a: np.unravel_index(  # noqa: E731
                np.argmin(np.where(both, a, np.inf)), a.shape)
            print(
                f"{name:<22} grid points {both.sum():2d}  relative difference: "
                f"median {np.median(rel):.3f}, max {rel.max():.3f} "
                f"(round 0: max {rel0.max():.3f})  Spearman {rho:.3f}  "
                f"selected fast {tuple(map(int, pick(fast.loo_errors_)))} "
                f"exact {tuple(map(int, pick(exact)))}"
            )


if __name__ == "__main__":
    main()
