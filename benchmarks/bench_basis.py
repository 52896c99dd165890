"""Cost of the eigenbasis behind the empirical basis coefficients, against n.

The wrapper's ``basis_coefficients_`` are measured in the leading eigenvectors
of the full training Gram matrix (``sklearn_selfdistill._empirical_basis``).
This script measures, on points uniform in [-1, 1]^3 with the RBF kernel of
gamma = 2 (the problem of the basis-coefficient target):

* the Lanczos path (``gram_eigenbasis(..., dense_max_samples=0)``, 50
  components by default): seconds, peak memory (resident set size above the
  process's peak before the call; one fresh process per measurement) and the
  number of products with the Gram matrix, for each n of ``--sizes``;
* the dense path (every direction, LAPACK ``syevr``) at the sizes of
  ``--dense-sizes``, with the ratios Lanczos / dense of time and memory in the
  same run, and the agreement of the two (largest eigenvalue difference over
  the 50 leading ones, largest sine of the angle between matching leading eigenvectors
  isolated by a relative gap of 1e-6).

Both run with one BLAS thread. Run: ``python benchmarks/bench_basis.py``
(about 15 minutes on one idle core), ``--quick`` for a smoke run, ``--json
FILE`` to keep the numbers. CPU seconds are reported beside wall seconds: they
vary less with the machine's load. Results are in ``benchmarks/README.md``.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
from threadpoolctl import threadpool_limits

from sklearn_selfdistill import _empirical_basis
from sklearn_selfdistill._empirical_basis import gram_eigenbasis

GAMMA = 2.0


def make_data(n, seed=0):
    return np.random.RandomState(seed).uniform(-1.0, 1.0, (n, 3))


class _CountProducts:
    """Count the vectors the Lanczos operator is applied to."""

    def __init__(self):
        self.count = 0
        self._original = _empirical_basis._ChunkedGram.matmat

    def __enter__(self):
        counter = self
        original = self._original

        def matmat(gram, V):
            counter.count += 1 if np.ndim(V) == 1 else np.shape(V)[1]
            return original(gram, V)

        _empirical_basis._ChunkedGram.matmat = matmat
        return self

    def __exit__(self, *exc):
        _empirical_basis._ChunkedGram.matmat = self._original


def child(solver, n, k, out):
    """One solver in this process: time, peak RSS above the start, products."""
    X = make_data(n)
    kwargs = ({"n_components": k, "dense_max_samples": 0} if solver == "lanczos"
              else {"dense_max_samples": n})
    with threadpool_limits(limits=1, user_api="blas"):
        # warm up imports and scikit-learn's checks on a tiny problem
        gram_eigenbasis(X[:20], kernel="rbf", kernel_params={"gamma": GAMMA})
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with _CountProducts() as counter:
            start, cpu = time.perf_counter(), time.process_time()
            d, U = gram_eigenbasis(X, kernel="rbf", kernel_params={"gamma": GAMMA},
                                   random_state=0, **kwargs)
            seconds = time.perf_counter() - start
            cpu = time.process_time() - cpu
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    np.savez(out + ".npz", d=d, U=U[:, :k])
    with open(out + ".json", "w") as fh:
        json.dump({"seconds": seconds, "cpu_seconds": cpu,
                   "peak_mib": (after - before) / 1024,
                   "products": counter.count}, fh)


def measure(solver, n, k, tmp):
    """Run :func:`child` in a fresh process, so that peak memory is its own."""
    out = os.path.join(tmp, f"{solver}-{n}")
    subprocess.run(
        [sys.executable, __file__, "--child", solver, str(n), str(k), out],
        check=True,
    )
    with open(out + ".json") as fh:
        result = json.load(fh)
    with np.load(out + ".npz") as data:
        return result, data["d"], data["U"]


def agreement(d_l, U_l, d_d, U_d):
    k = d_l.shape[0]
    eig = float(np.abs(d_l - d_d[:k]).max())
    worst = 0.0
    for j in range(k - 1):
        gap = min(d_d[j] - d_d[j + 1], np.inf if j == 0 else d_d[j - 1] - d_d[j])
        if gap < 1e-6 * d_d[0]:
            continue
        # ||u - v|| (signs aligned) equals the sine of their angle to first
        # order, without the cancellation of sqrt(1 - (u . v)^2)
        a, b = U_l[:, j], U_d[:, j]
        diff = np.linalg.norm(a - np.sign(a @ b) * b)
        worst = max(worst, float(diff))
    return eig, worst


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,5000,10000,20000")
    parser.add_argument("--dense-sizes", default="2000,5000")
    parser.add_argument("--n-components", type=int, default=50)
    parser.add_argument("--quick", action="store_true",
                        help="sizes 500,1000 with 20 components")
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        solver, n, k, out = args.child
        child(solver, int(n), int(k), out)
        return
    if args.quick:
        args.sizes, args.dense_sizes, args.n_components = "500,1000", "500,1000", 20
    sizes = [int(s) for s in args.sizes.split(",") if s]
    dense_sizes = {int(s) for s in args.dense_sizes.split(",") if s}
    k = args.n_components
    print(f"{platform.processor() or platform.machine()}, one BLAS thread, "
          f"load average {os.getloadavg()[0]:.2f}, {k} components")
    rows = []
    header = (f"{'n':>6} {'lanczos s':>9} {'cpu s':>8} {'MiB':>7} {'products':>8} "
              f"{'dense s':>8} {'cpu s':>8} {'MiB':>7} {'time ratio':>10} "
              f"{'cpu ratio':>9} {'mem ratio':>9} {'eig diff':>8} {'sin angle':>9}")
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            lanczos, d_l, U_l = measure("lanczos", n, k, tmp)
            t_l, m_l = lanczos["seconds"], lanczos["peak_mib"]
            row = {"n": n, "lanczos_seconds": t_l,
                   "lanczos_cpu_seconds": lanczos["cpu_seconds"],
                   "lanczos_peak_mib": m_l, "products": lanczos["products"],
                   "n_components": k, "gram_mib": n * n * 8 / 2**20}
            line = (f"{n:>6} {t_l:>9.2f} {lanczos['cpu_seconds']:>8.2f} "
                    f"{m_l:>7.1f} {row['products']:>8}")
            if n in dense_sizes:
                dense, d_d, U_d = measure("dense", n, k, tmp)
                t_d, m_d = dense["seconds"], dense["peak_mib"]
                eig, proj = agreement(d_l, U_l, d_d, U_d)
                row.update(dense_seconds=t_d, dense_cpu_seconds=dense["cpu_seconds"],
                           dense_peak_mib=m_d, time_ratio=t_l / t_d,
                           cpu_ratio=lanczos["cpu_seconds"] / dense["cpu_seconds"],
                           memory_ratio=m_l / m_d, eigenvalue_diff=eig,
                           projector_diff=proj)
                line += (f" {t_d:>8.2f} {dense['cpu_seconds']:>8.2f} {m_d:>7.1f} "
                         f"{row['time_ratio']:>10.3f} {row['cpu_ratio']:>9.3f} "
                         f"{row['memory_ratio']:>9.3f} {eig:>8.1e} {proj:>9.1e}")
            rows.append(row)
            print(line, flush=True)
    for a, b in zip(rows, rows[1:]):
        growth = b["lanczos_cpu_seconds"] / a["lanczos_cpu_seconds"]
        print(f"Lanczos CPU time x{growth:.2f} from n={a['n']} to n={b['n']} "
              f"(n^2 would be x{(b['n'] / a['n']) ** 2:.2f})")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
