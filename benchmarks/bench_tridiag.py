"""The dense exact path at its floor: eigenvector-free spectra against eigh.

For a C-ordered RBF Gram matrix G (as every fit builds it), in one process,
repeats interleaved, medians (see benchmarks/README.md):

* ``eigh evr (C input)``: ``scipy.linalg.eigh(G, overwrite_a=True,
  driver="evr")``, the package's dense solver before this module (a hidden
  Fortran-ordered copy of G);
* ``eigh_inplace``: the same driver on the transpose, in place, eigenvectors
  returned contiguous in descending order;
* ``eigvalsh``: eigenvalues only, in place (``dsytrd`` + ``dsterf``): the
  floor of any exact method;
* ``tridiagonal d, z``: ``tridiagonal_eigh(G, y)``, eigenvalues and
  ``z = U^T y`` for one target column, and ``U g``: applying ``U`` to the
  ``(n, 11)`` block of a fit's dual coefficients (11 rounds).

Peak memory is traced (``tracemalloc``, which sees every numpy and LAPACK
workspace array scipy allocates) above the Gram matrix, in n^2 doubles. The
stages of the eigenvector-free path are timed once at n = 4000; the
last section times products with reversed eigenvector views,
``U[:, ::-1] @ B`` and ``U[:, ::-1].T @ y``, against contiguous ``U``.

Run: ``python benchmarks/bench_tridiag.py`` (9 minutes at load 2 on two cores),
``--sizes 500,1000 --repeats 1`` for a smoke run, ``--threads 0`` for all
BLAS threads (default one: steadier on a shared machine).
"""

import argparse
import os
import statistics
import time
import tracemalloc

import numpy as np
from scipy import linalg

from sklearn_selfdistill._tridiag import eigh_inplace, tridiagonal_eigh

GAMMA = 0.5
N_ROUNDS_COLUMNS = 11


def make_gram(n, seed=0):
    """RBF Gram matrix / n of 8 uniform features, C-ordered, and a target."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1.0, 1.0, (n, 8))
    y = np.sin(np.pi * X[:, 0]) + X[:, 1] * X[:, 2] + 0.3 * rng.randn(n)
    sq = np.einsum("ij,ij->i", X, X)
    G = X @ X.T
    G *= 2.0
    G -= sq[:, None]
    G -= sq[None, :]
    G *= GAMMA
    np.exp(G, out=G)
    G /= n
    return G, y


def measure(fn):
    """(wall seconds, CPU seconds, peak traced bytes, result) of ``fn()``.

    CPU time (``time.process_time``, all threads of this process) is the
    steadier figure on a shared machine: it leaves out the time the process
    waits for a core, which wall time counts.
    """
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    cpu = time.process_time()
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] - base
    return seconds, cpu, peak, out


def methods(G, y, B):
    """The timed calls on G (consumed); each returns what it computed."""
    def evr_c():
        return linalg.eigh(G, overwrite_a=True, check_finite=False, driver="evr")

    def inplace():
        return eigh_inplace(G)

    def values():
        return linalg.eigh(G.T, eigvals_only=True, overwrite_a=True,
                           check_finite=False, driver="evr")

    def tri():
        return tridiagonal_eigh(G, y)

    return {"eigh evr (C input)": evr_c, "eigh_inplace": inplace,
            "eigvalsh": values, "tridiagonal d, z": tri}


def bench_size(n, repeats):
    G0, y = make_gram(n)
    B = np.random.RandomState(1).randn(n, N_ROUNDS_COLUMNS)
    names = list(methods(G0, y, B))
    apply_name = f"U g ({N_ROUNDS_COLUMNS} columns)"
    wall = {name: [] for name in names + [apply_name]}
    cpu = {name: [] for name in wall}
    peaks = {name: 0.0 for name in wall}
    d_ref = None

    def record(name, result):
        seconds, cpu_seconds, peak, out = result
        wall[name].append(seconds)
        cpu[name].append(cpu_seconds)
        peaks[name] = max(peaks[name], peak / (8.0 * n * n))
        return out

    for _ in range(repeats):
        for name in names:
            G = G0.copy()
            out = record(name, measure(methods(G, y, B)[name]))
            if name == "eigvalsh":
                d_ref = out[::-1]
            if name == "tridiagonal d, z":
                d, z, op = out
                err = float(np.max(np.abs(d - d_ref)) / d_ref[0])
                record(apply_name, measure(lambda: op.apply(B)))
            del G, out
    wall = {name: statistics.median(t) for name, t in wall.items()}
    cpu = {name: statistics.median(t) for name, t in cpu.items()}
    return wall, cpu, peaks, err


def bench_stages(n):
    """Seconds of each stage of ``tridiagonal_eigh`` at one size, once."""
    from scipy.linalg import lapack
    G, y = make_gram(n)
    lwork = int(lapack.dsytrd_lwork(n, lower=1)[0])
    rows = []
    _, seconds, _, out = measure(lambda: lapack.dsytrd(
        G.T, lower=1, lwork=lwork, overwrite_a=1))
    rows.append(("dsytrd (reduction, in place)", seconds))
    _, diag, off, _, _ = out
    rows.append(("dsterf (tridiagonal eigenvalues only)", measure(
        lambda: linalg.eigh_tridiagonal(diag, off, eigvals_only=True,
                                        lapack_driver="sterf"))[1]))
    rows.append(("dstemr (tridiagonal eigenvalues and V)", measure(
        lambda: linalg.eigh_tridiagonal(diag, off, lapack_driver="stemr"))[1]))
    del out, G
    G, y = make_gram(n)
    _, _, op = tridiagonal_eigh(G, y)
    rows.append(("z = V^T (Q^T y), one column", measure(lambda: op.rotate(y))[1]))
    B = np.random.RandomState(1).randn(n, N_ROUNDS_COLUMNS)
    rows.append(("U g = Q (V g), 11 columns", measure(lambda: op.apply(B))[1]))
    return rows


def bench_reversed(n):
    G, y = make_gram(n)
    d, U = eigh_inplace(G)
    del G
    U_asc = np.asfortranarray(U[:, ::-1])  # the layout eigh returns
    B = np.random.RandomState(2).randn(n, N_ROUNDS_COLUMNS)

    def best(fn, k=5):
        return min(measure(fn)[1] for _ in range(k))

    rows = [
        ("U[:, ::-1] @ B (reversed view)", best(lambda: U_asc[:, ::-1] @ B)),
        ("U @ B (contiguous, descending)", best(lambda: U @ B)),
        ("U_asc @ B[::-1] (reverse the small operand)",
         best(lambda: U_asc @ B[::-1])),
        ("U[:, ::-1].T @ y (reversed view)", best(lambda: U_asc[:, ::-1].T @ y)),
        ("U.T @ y (contiguous, descending)", best(lambda: U.T @ y)),
        ("(U_asc.T @ y)[::-1] (reverse the result)",
         best(lambda: (U_asc.T @ y)[::-1])),
    ]
    from sklearn_selfdistill._tridiag import _reverse_columns
    rows.append(("reversing U's columns in place (once per fit)",
                 best(lambda: _reverse_columns(U_asc), k=1)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,4000,6000")
    parser.add_argument("--repeats", default="3,2,2",
                        help="repeats per size (one number for all)")
    parser.add_argument("--reversed-n", type=int, default=4000)
    parser.add_argument("--stages-n", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads (threadpoolctl), 0 for all; default 1")
    args = parser.parse_args()
    if args.threads:
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads)
    sizes = [int(s) for s in args.sizes.split(",")]
    repeats = [int(r) for r in args.repeats.split(",")]
    repeats = (repeats * len(sizes))[: len(sizes)] if len(repeats) == 1 else repeats
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs, "
          f"BLAS threads {args.threads or 'all'}, "
          f"load average {os.getloadavg()[0]:.1f}")
    small, _ = make_gram(200)
    eigh_inplace(small.copy())  # BLAS threads and buffers up front
    tridiagonal_eigh(small.copy(), np.ones(200))
    tracemalloc.start()
    for n, reps in zip(sizes, repeats):
        wall, cpu, peaks, err = bench_size(n, reps)
        floor, evr = cpu["eigvalsh"], cpu["eigh evr (C input)"]
        print(f"\nn = {n}, {reps} repeats, medians; load average "
              f"{os.getloadavg()[0]:.1f}; max |d - d_eigvalsh| / d_max = {err:.1e}")
        print(f"{'method':24s} {'wall s':>8s} {'CPU s':>8s} {'/ eigvalsh':>10s} "
              f"{'/ evr':>6s} {'peak (n^2)':>10s}   (ratios of CPU time)")
        for name in cpu:
            print(f"{name:24s} {wall[name]:8.3f} {cpu[name]:8.3f} "
                  f"{cpu[name] / floor:10.2f} {cpu[name] / evr:6.2f} "
                  f"{peaks[name]:10.3f}")
        both = cpu["tridiagonal d, z"] + cpu[f"U g ({N_ROUNDS_COLUMNS} columns)"]
        print(f"{'d, z and U g':24s} {'':8s} {both:8.3f} {both / floor:10.2f} "
              f"{both / evr:6.2f}")
    tracemalloc.stop()
    if args.stages_n:
        print(f"\nstages of tridiagonal_eigh, n = {args.stages_n}, one run, CPU s, "
              f"load average {os.getloadavg()[0]:.1f}")
        for name, seconds in bench_stages(args.stages_n):
            print(f"{name:48s} {seconds:8.3f} s")
    if args.reversed_n:
        print(f"\nproducts with the eigenvectors, n = {args.reversed_n}, "
              f"B of {N_ROUNDS_COLUMNS} columns, CPU s, best of 5")
        for name, seconds in bench_reversed(args.reversed_n):
            print(f"{name:48s} {seconds:8.4f} s")


if __name__ == "__main__":
    main()
