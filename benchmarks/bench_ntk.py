"""The NTK and NNGP kernels: speed, memory and accuracy, measured side by side.

Sections (one run; see benchmarks/README.md):

* ``speed``: median wall time of ``ntk_kernel(X)`` (depth 1 and 3) and
  ``nngp_kernel(X)`` (depth 3) against ``sklearn.metrics.pairwise.rbf_kernel``
  on the same X, and against ``scipy.linalg.eigh`` of an n x n Gram matrix
  (what every dense fit pays after the kernel), one BLAS thread;
* ``blocks``: the default blocks of 2**18 entries against one block (the
  whole matrix at once): time and peak memory;
* ``memory``: peak memory allocated by ``ntk_kernel(X, depth=3)`` above its
  input, in units of one n x n float64 matrix (``tracemalloc``, which sees
  numpy's allocations);
* ``accuracy``: the largest relative difference between the cross kernel
  ``K(X, X)`` and the Gram matrix ``K(X)`` on data with duplicated rows (the
  situation of predicting at training points), and the error on nearly
  parallel rows against 60-digit arithmetic, for this implementation and for
  the textbook one that takes the angle as ``arccos`` of the cosine.

Run: ``python benchmarks/bench_ntk.py`` (a few minutes on two cores),
``--quick`` for n = 500 and 1000 only, ``--only blocks,accuracy`` for some
sections.
"""

import argparse
import math
import statistics
import sys
import time
import tracemalloc

import numpy as np
from scipy import linalg
from sklearn.metrics.pairwise import rbf_kernel
from threadpoolctl import threadpool_limits

from sklearn_selfdistill import _ntk
from sklearn_selfdistill.kernels import nngp_kernel, ntk_kernel


def median_time(func, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def textbook_ntk(X, Y, depth, weight_std, bias_std):
    """The recursion with theta = arccos(clip(cos)), as commonly written."""
    w, beta = weight_std**2, bias_std**2
    d = X.shape[1]
    S = w * X @ Y.T / d + beta
    qx = w * (X * X).sum(1) / d + beta
    qy = w * (Y * Y).sum(1) / d + beta
    T = S
    for _ in range(depth):
        P = np.sqrt(np.outer(qx, qy))
        cos = np.clip(S / P, -1.0, 1.0)
        theta = np.arccos(cos)
        S_new = w * P * (np.sin(theta) + (np.pi - theta) * cos) / (2 * np.pi) + beta
        T = S_new + T * w * (np.pi - theta) / (2 * np.pi)
        S, qx, qy = S_new, w * qx / 2 + beta, w * qy / 2 + beta
    return T


def mpmath_ntk(x, y, depth, weight_std, bias_std):
    import mpmath as mp

    with mp.workdps(60):
        w, beta = mp.mpf(weight_std) ** 2, mp.mpf(bias_std) ** 2
        x = [mp.mpf(float(v)) for v in x]
        y = [mp.mpf(float(v)) for v in y]

        def dot(a, b):
            return w * mp.fsum(p * q for p, q in zip(a, b)) / len(a) + beta

        s, qx, qy = dot(x, y), dot(x, x), dot(y, y)
        t = s
        for _ in range(depth):
            p = mp.sqrt(qx * qy)
            theta = mp.acos(max(min(s / p, 1), -1))
            s_new = w * p * (mp.sin(theta) + (mp.pi - theta) * mp.cos(theta)) / (
                2 * mp.pi) + beta
            t = s_new + t * w * (mp.pi - theta) / (2 * mp.pi)
            s, qx, qy = s_new, w * qx / 2 + beta, w * qy / 2 + beta
        return float(t)


def speed(sizes, d=64):
    rng = np.random.RandomState(0)
    print(f"\n## speed (d = {d}, one BLAS thread, median of 3)")
    print("| n | rbf_kernel | ntk depth 1 | ntk depth 3 | nngp depth 3 | eigh "
          "| ntk 1 / rbf | ntk 3 / rbf | ntk 3 / eigh |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        X = rng.standard_normal((n, d))
        t_rbf = median_time(lambda: rbf_kernel(X, gamma=1.0 / d))
        t_n1 = median_time(lambda: ntk_kernel(X))
        t_n3 = median_time(lambda: ntk_kernel(X, depth=3, bias_std=0.1))
        t_g3 = median_time(lambda: nngp_kernel(X, depth=3, bias_std=0.1))
        K = rbf_kernel(X, gamma=1.0 / d)
        t_eigh = median_time(lambda: linalg.eigh(K, driver="evr"), repeats=1)
        print(f"| {n} | {t_rbf:.3f} s | {t_n1:.3f} s | {t_n3:.3f} s | "
              f"{t_g3:.3f} s | {t_eigh:.3f} s | {t_n1 / t_rbf:.1f} | "
              f"{t_n3 / t_rbf:.1f} | {t_n3 / t_eigh:.2f} |")
        sys.stdout.flush()


def peak_memory(func):
    tracemalloc.start()
    func()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def blocks(sizes, d=64):
    rng = np.random.RandomState(0)
    print("\n## blocks (ntk depth 3, d = 64, median of 3; memory in n x n matrices)")
    print("| n | blocks of 2**18 | one block | ratio | memory, blocks | memory, one |")
    print("|---|---|---|---|---|---|")
    for n in sizes:
        X = rng.standard_normal((n, d))
        runs = {}
        for name, block in (("blocks", 2**18), ("one", n * n)):
            def run(block=block):
                return _ntk.kernel_matrix(X, kernel="ntk", depth=3,
                                          weight_std=math.sqrt(2.0),
                                          bias_std=0.1, xp=np, block=block)
            runs[name] = (median_time(run), peak_memory(run) / (8 * n * n))
        print(f"| {n} | {runs['blocks'][0]:.3f} s | {runs['one'][0]:.3f} s | "
              f"{runs['one'][0] / runs['blocks'][0]:.1f} | {runs['blocks'][1]:.1f} "
              f"| {runs['one'][1]:.1f} |")
        sys.stdout.flush()


def memory(n=2000, d=64):
    X = np.random.RandomState(0).standard_normal((n, d))
    print(f"\n## memory (n = {n})")
    for depth in (1, 3):
        tracemalloc.start()
        ntk_kernel(X, depth=depth, bias_std=0.1)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"ntk depth {depth}: peak {peak / (8 * n * n):.1f} n x n float64 "
              "matrices (the result included)")


def accuracy():
    print("\n## accuracy")
    rng = np.random.RandomState(1)
    X = rng.standard_normal((300, 10))
    X[150:] = X[:150]  # every row twice
    params = {"depth": 3, "weight_std": math.sqrt(2.0), "bias_std": 0.1}
    gram = ntk_kernel(X, **params)
    ours = np.abs(ntk_kernel(X, X, **params) - gram).max() / np.abs(gram).max()
    book = textbook_ntk(X, X, **params)
    book_err = np.abs(book - gram).max() / np.abs(gram).max()
    print(f"cross vs Gram, duplicated rows, depth 3: this package {ours:.2e}, "
          f"textbook arccos {book_err:.2e} (relative to the largest entry)")
    x, v = rng.standard_normal(10), rng.standard_normal(10)
    for eps in (1e-5, 1e-7, 1e-9):
        Y = np.array([x + eps * v])
        ref = mpmath_ntk(x, Y[0], **params)
        err = abs(ntk_kernel(x[None], Y, **params)[0, 0] - ref) / abs(ref)
        err_book = abs(textbook_ntk(x[None], Y, **params)[0, 0] - ref) / abs(ref)
        print(f"rows {eps:g} apart, depth 3, against 60 digits: this package "
              f"{err:.1e}, textbook arccos {err_book:.1e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="speed,blocks,memory,accuracy")
    args = parser.parse_args()
    only = args.only.split(",")
    sizes = (500, 1000) if args.quick else (1000, 2000, 4000)
    with threadpool_limits(limits=1, user_api="blas"):
        if "speed" in only:
            speed(sizes)
        if "blocks" in only:
            blocks(sizes[-2:])
        if "memory" in only:
            memory(1000 if args.quick else 2000)
        if "accuracy" in only:
            accuracy()


if __name__ == "__main__":
    main()
