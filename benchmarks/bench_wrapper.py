"""Overhead of SelfDistillationWrapper over plain skorch fits, on the CPU.

Measured side by side in one process, repeats interleaved, medians:

* one round: ``SelfDistillationWrapper(net, n_rounds=0, basis_kernel=None)``
  around a plain skorch ``NeuralNetClassifier`` (``CrossEntropyLoss``,
  ``train_split=None``) against ``net.fit`` by skorch alone, same epochs
  (target: <= 5% more);
* per round: ``n_rounds=3`` (four trainings plus four training-set
  prediction passes) divided by four, against one ``net.fit``;
* the online teacher: round 1 with ``teacher_targets="online"`` against
  ``"fixed"``, per epoch (one extra forward pass per batch);
* the cost of the default basis coefficients (``basis_kernel="rbf"``, at most
  500 points): ``n_rounds=3`` with and without them;
* two seeded fits (``random_state=0``, ``n_rounds=1``) one after the other,
  in joblib's threading backend (``n_jobs=2``: seeded rounds train one at a
  time, reproducibly) and in its process backend (loky, ``n_jobs=2``), with
  the largest difference of their predictions from the sequential ones.

Run: ``python benchmarks/bench_wrapper.py`` (about three minutes on two cores).
"""

import argparse
import os
import statistics
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import make_classification
from skorch import NeuralNetClassifier
from torch import nn

from sklearn_selfdistill import SelfDistillationWrapper
from sklearn_selfdistill.nets import MLPModule


def make_net(epochs):
    return NeuralNetClassifier(
        MLPModule, module__n_features=20, module__n_outputs=4,
        module__hidden_units=(64,), criterion=nn.CrossEntropyLoss,
        max_epochs=epochs, batch_size=128, lr=0.05, train_split=None,
        verbose=0,  # the wrapper silences the epoch log at verbose=0 too
    )


def seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    X, y = make_classification(n_samples=args.n, n_features=20, n_informative=10,
                               n_classes=4, random_state=0)
    X = X.astype(np.float32)

    def plain():
        torch.manual_seed(0)
        make_net(args.epochs).fit(X, y)

    def wrapped(n_rounds, basis=False, targets="fixed"):
        return SelfDistillationWrapper(
            make_net(args.epochs), n_rounds=n_rounds, random_state=0,
            basis_kernel="rbf" if basis else None, teacher_targets=targets,
        ).fit(X, y)

    plain()  # warm-up
    times = {k: [] for k in ("plain", "wrap0", "wrap3", "wrap3_basis", "fixed",
                             "online")}
    for _ in range(args.repeats):
        times["plain"].append(seconds(plain))
        times["wrap0"].append(seconds(lambda: wrapped(0)))
        times["wrap3"].append(seconds(lambda: wrapped(3)))
        times["wrap3_basis"].append(seconds(lambda: wrapped(3, basis=True)))
        for targets in ("fixed", "online"):
            record = wrapped(1, targets=targets).history_[1]
            times[targets].append(record["fit_seconds"] / record["epochs"])
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"# bench_wrapper: {args.n} samples x 20 features, 4 classes, skorch "
          f"NeuralNetClassifier, MLP (64,), {args.epochs} epochs, torch 1 thread, "
          f"median of {args.repeats}, load average {os.getloadavg()[0]:.1f}")
    print(f"skorch alone, net.fit                   {med['plain']:.3f} s")
    print(f"wrapper, 1 round (n_rounds=0)           {med['wrap0']:.3f} s  "
          f"overhead {100 * (med['wrap0'] / med['plain'] - 1):+.1f}%  (target <= 5%)")
    per_round = med["wrap3"] / 4
    print(f"wrapper, n_rounds=3, per round          {per_round:.3f} s  "
          f"overhead {100 * (per_round / med['plain'] - 1):+.1f}% "
          "(includes the teacher's predictions)")
    print(f"round 1 per epoch, fixed targets        {med['fixed'] * 1e3:.1f} ms")
    print(f"round 1 per epoch, online teacher       {med['online'] * 1e3:.1f} ms  "
          f"({med['online'] / med['fixed']:.2f}x fixed)")
    extra = med["wrap3_basis"] - med["wrap3"]
    print(f"default basis coefficients (rbf, <=500) {extra:+.3f} s over 4 rounds "
          f"({100 * extra / med['wrap3']:+.1f}% of the fit)")
    seeded_fits_in_parallel(X, y, args.epochs)


def seeded_fits_in_parallel(X, y, epochs):
    from joblib import Parallel, delayed

    def fit():
        return SelfDistillationWrapper(
            make_net(epochs), n_rounds=1, random_state=0, basis_kernel=None,
        ).fit(X, y)

    start = time.perf_counter()
    reference = [fit(), fit()]
    rows = [("sequential", time.perf_counter() - start, 0.0)]
    ref = reference[0].predict_proba(X)
    for backend in ("threading", "loky"):
        start = time.perf_counter()
        fits = Parallel(n_jobs=2, backend=backend)(delayed(fit)() for _ in range(2))
        took = time.perf_counter() - start
        diff = max(np.abs(f.predict_proba(X) - ref).max() for f in fits)
        rows.append((backend, took, diff))
    for name, took, diff in rows:
        print(f"two seeded fits, {name:<10}             {took:.3f} s  "
              f"max |proba - sequential| {diff:.1e}")


if __name__ == "__main__":
    main()
