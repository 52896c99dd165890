"""Speed and scale of SelfDistilledKernelRidge: ratios measured side by side.

Sections (all in one run, medians of several repeats; see benchmarks/README.md):

* ``drivers``: time and peak memory above the resident Gram matrix of
  ``numpy.linalg.eigh`` and scipy's ``evd``/``evr`` drivers with overwrite
  (one child process each, so that peak memory is per driver);
* ``memory``: peak memory of a whole dense ``fit`` above its input, in units
  of one n x n float64 matrix;
* ``rounds``: ``fit(n_rounds=20)`` / ``fit(n_rounds=0)`` (target <= 1.1) and
  ``fit(n_rounds=20)`` / the eigendecomposition of the same Gram matrix by
  ``numpy.linalg.eigh`` (target <= 1.15) and by the driver the fit uses;
* ``naive``: against a linear solve per root-finding evaluation, as other
  implementations do (target >= 10x at n = 2000, 10 rounds);
* ``r2``: test R^2 of ``eigen_solver="nystroem"`` (1000, 2000 and 4000
  components) against the dense solver at n = 8000 (target: within 0.01 with
  1000);
* ``scale``: ``eigen_solver="nystroem"``, 1000 components, 10 rounds: fit
  time, peak memory and prediction time for growing n, up to the largest n
  fitted in at most 60 s; and the clear infeasibility error when epsilon is
  below the part of y outside the kept span;
* ``float32``: speed of a float32 ``syevr`` against float64 and the accuracy
  of the multipliers computed from its spectrum (why float64 is kept);
* ``floor``: a dense ``fit`` (tridiagonal path, no eigenvectors) against
  ``eigh`` with vectors and ``eigvalsh`` of the same Gram matrix, at
  n = 2000, 4000, 6000, interleaved (target fit / eigvalsh <= 1.6);
* ``peak``: peak memory (tracemalloc, Gram matrix included) of a dense fit
  and of the dense leave-one-out search at n = 3000 (target <= 2.1 n^2
  doubles above X);
* ``lowrank_cv``: ``SelfDistilledKernelRidgeCV(eigen_solver="nystroem",
  n_components=1000)`` at its default grid against
  ``make_pipeline(Nystroem(n_components=1000), RidgeCV(alphas=logspace(-6, 2,
  9)))`` at n = 100k and 300k: time, peak memory (tracemalloc) and test R^2
  (target: within 0.005 of the pipeline's).

Run: ``python benchmarks/bench_kernel.py`` (about 15 minutes on two cores),
``--quick`` for a small smoke run, ``--only rounds,naive`` for some sections;
``BENCH_R2_EPSILON`` sets the epsilon of the ``r2`` section (default 0.15).
"""

import argparse
import functools
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
from scipy import linalg
from scipy.optimize import brentq
from sklearn.metrics import r2_score
from sklearn.metrics.pairwise import rbf_kernel

from sklearn_selfdistill import SelfDistilledKernelRidge

GAMMA = 0.5
NOISE = 0.3


def make_data(n, seed=0, n_features=8):
    """A smooth function of 8 features plus Gaussian noise of variance 0.09."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1.0, 1.0, (n, n_features))
    y = (np.sin(np.pi * X[:, 0]) + X[:, 1] * X[:, 2] + 0.5 * np.cos(2 * X[:, 3])
         + NOISE * rng.randn(n))
    return X, y


def timed(fn, repeats):
    times = []
    out = None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, statistics.median(times), times


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def model(**params):
    base = dict(epsilon=0.15, gamma=GAMMA, on_collapse="ignore")
    base.update(params)
    return SelfDistilledKernelRidge(**base)


# --------------------------------------------------------------------------
# children: one measurement per process, for peak memory
# --------------------------------------------------------------------------

def child(task, n, **kw):
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(dict(task=task, n=n, **kw))],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_child(spec):
    task, n = spec["task"], spec["n"]
    if task == "driver":
        X, _ = make_data(n)
        G = rbf_kernel(X, gamma=GAMMA)
        G /= n
        base = peak_rss_bytes()
        start = time.perf_counter()
        if spec["driver"] == "numpy":
            np.linalg.eigh(G)
        else:
            linalg.eigh(G, overwrite_a=True, check_finite=False,
                        driver=spec["driver"])
        seconds = time.perf_counter() - start
        extra = (peak_rss_bytes() - base) / (8.0 * n * n)
        print(json.dumps(dict(seconds=seconds, extra_n2=extra)))
    elif task == "fit_memory":
        X, y = make_data(n)
        base = peak_rss_bytes()
        start = time.perf_counter()
        model(n_rounds=10).fit(X, y)
        seconds = time.perf_counter() - start
        print(json.dumps(dict(seconds=seconds,
                              extra_n2=(peak_rss_bytes() - base) / (8.0 * n * n))))
    elif task in ("peak_fit", "peak_loo"):
        import tracemalloc

        from sklearn_selfdistill import SelfDistilledKernelRidgeCV

        X, y = make_data(n)
        est = (model(n_rounds=10) if task == "peak_fit"
               else SelfDistilledKernelRidgeCV(gamma=GAMMA))
        tracemalloc.start()
        start = time.perf_counter()
        est.fit(X, y)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        print(json.dumps(dict(seconds=seconds, extra_n2=peak / (8.0 * n * n))))
    elif task in ("lowrank_cv", "lowrank_pipeline"):
        import tracemalloc

        from sklearn.kernel_approximation import Nystroem
        from sklearn.linear_model import RidgeCV
        from sklearn.pipeline import make_pipeline

        from sklearn_selfdistill import SelfDistilledKernelRidgeCV

        X, y = make_data(n, seed=1)
        X_test, y_test = make_data(10_000, seed=2)
        if task == "lowrank_cv":
            est = SelfDistilledKernelRidgeCV(
                gamma=GAMMA, eigen_solver="nystroem", n_components=1000,
                random_state=0,
            )
        else:
            est = make_pipeline(
                Nystroem(gamma=GAMMA, n_components=1000, random_state=0),
                RidgeCV(alphas=np.logspace(-6, 2, 9)),
            )
        tracemalloc.start()
        start = time.perf_counter()
        est.fit(X, y)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(json.dumps(dict(seconds=seconds, peak_mb=peak / 2**20,
                              r2=r2_score(y_test, est.predict(X_test)))))
    elif task == "nystroem":
        X, y = make_data(n, seed=1)
        X_test, _ = make_data(10_000, seed=2)
        base = peak_rss_bytes()
        est = model(n_rounds=10, eigen_solver="nystroem", n_components=1000,
                    random_state=0, epsilon=spec.get("epsilon", 0.15))
        start = time.perf_counter()
        try:
            est.fit(X, y)
        except ValueError as exc:
            print(json.dumps(dict(error=str(exc))))
            return
        seconds = time.perf_counter() - start
        peak = peak_rss_bytes() - base
        start = time.perf_counter()
        est.predict(X_test)
        predict = time.perf_counter() - start
        print(json.dumps(dict(seconds=seconds, peak_mb=peak / 2**20,
                              data_mb=(X.nbytes + y.nbytes) / 2**20,
                              predict_10k=predict,
                              min_reachable=float(est.min_reachable_mse_))))


# --------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------

def section_drivers(quick):
    n = 800 if quick else 3000
    print(f"\n## Eigensolver drivers at n = {n} (one process each)")
    print("driver        seconds   peak above the Gram matrix (n^2 doubles)")
    for driver in ("numpy", "evd", "evr"):
        r = child("driver", n, driver=driver)
        print(f"{driver:12s} {r['seconds']:8.2f}   {r['extra_n2']:.2f}")


def section_memory(quick):
    n = 800 if quick else 3000
    r = child("fit_memory", n)
    print(f"\n## Dense fit memory at n = {n}, 10 rounds")
    print(f"peak above the input: {r['extra_n2']:.2f} n^2 doubles "
          f"(the Gram matrix and its eigenvectors are 2); fit {r['seconds']:.2f} s")


def section_rounds(quick):
    n = 500 if quick else 2000
    repeats = 3 if quick else 5
    X, y = make_data(n)
    print(f"\n## Rounds are free (n = {n}, median of {repeats})")
    G = rbf_kernel(X, gamma=GAMMA)
    G /= n

    def numpy_eigh():
        return np.linalg.eigh(G)

    def evr_eigh():
        return linalg.eigh(G.copy(), overwrite_a=True, check_finite=False,
                           driver="evr")

    t20, t0, te, tr = [], [], [], []
    for _ in range(repeats):  # interleaved, so that load changes hit all four
        t20.append(timed(lambda: model(n_rounds=20).fit(X, y), 1)[1])
        t0.append(timed(lambda: model(n_rounds=0).fit(X, y), 1)[1])
        te.append(timed(numpy_eigh, 1)[1])
        tr.append(timed(evr_eigh, 1)[1])
    m20, m0, me, mr = (statistics.median(t) for t in (t20, t0, te, tr))
    print(f"fit(n_rounds=20) {m20:.3f} s, fit(n_rounds=0) {m0:.3f} s, "
          f"numpy.linalg.eigh {me:.3f} s, scipy evr (copy + overwrite) {mr:.3f} s")
    print(f"fit(n_rounds=20) / fit(n_rounds=0)      = {m20 / m0:.3f}  (target <= 1.1)")
    print(f"fit(n_rounds=20) / numpy.linalg.eigh    = {m20 / me:.3f}  (target <= 1.15)")
    print(f"fit(n_rounds=20) / scipy evr of the Gram = {m20 / mr:.3f}")
    # The rounds' own work, timed alone (robust to load): root-finding of
    # eq. (21) for every round and the dual coefficients of every round.
    from sklearn_selfdistill._distill import distill_path
    from sklearn_selfdistill._numpy_backend import NumpyOps
    from sklearn_selfdistill._solvers import dense_spectrum

    spec = dense_spectrum(NumpyOps(lambda A, B=None: rbf_kernel(A, B, gamma=GAMMA)),
                          X, y[:, None])
    d, z = spec.d, spec.Z0[:, 0]
    inv_d = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)

    def rounds_work(t):
        _, B, _ = distill_path(d, z, 0.15, t)
        spec.dual_coef(B[:, :, None] * (inv_d * z)[None, :, None])

    _, w20, _ = timed(lambda: rounds_work(20), repeats)
    _, w0, _ = timed(lambda: rounds_work(0), repeats)
    print(f"rounds' own work: {w20 * 1e3:.1f} ms for 20 rounds, {w0 * 1e3:.1f} ms "
          f"for 0; (fit(0) + the difference) / fit(0) = {(m0 + w20 - w0) / m0:.4f}")


def naive_fit(X, y, epsilon, n_rounds, gamma):
    """Self-distillation with a Cholesky solve per root-finding evaluation.

    Each evaluation of the training MSE at a multiplier c solves
    (c I + G) a = y_t; Brent's method in log c finds the root of eq. (21)
    in the same bracket as the package, round after round.
    """
    n = X.shape[0]
    G = rbf_kernel(X, gamma=gamma) / n
    target = y.copy()
    n_solves = 0
    eye = np.eye(n)
    for _ in range(n_rounds + 1):
        if np.mean(target**2) <= epsilon:
            target = np.zeros_like(target)  # collapse: zero from here on
            break

        def mse(log_c, target=target):
            nonlocal n_solves
            n_solves += 1
            c = math.exp(log_c)
            a = linalg.cho_solve(linalg.cho_factor(c * eye + G), target)
            return float(np.mean((c * a) ** 2)) - epsilon  # y - G a = c a

        log_c = brentq(mse, math.log(1e-12), math.log(1e4), xtol=1e-12)
        c = math.exp(log_c)
        a = linalg.cho_solve(linalg.cho_factor(c * eye + G), target)
        target = G @ a
    return target, n_solves


def section_naive(quick):
    n = 400 if quick else 2000
    n_rounds = 10
    X, y = make_data(n)
    print(f"\n## Against a linear solve per evaluation (n = {n}, {n_rounds} rounds)")
    fast, t_fast, _ = timed(
        lambda: model(n_rounds=n_rounds, epsilon=0.01).fit(X, y), 3
    )
    (pred, n_solves), t_naive, _ = timed(
        lambda: naive_fit(X, y, 0.01, n_rounds, GAMMA), 1
    )
    print(f"epsilon 0.01: {int((~fast.collapsed_).sum())} of {n_rounds + 1} "
          "rounds before collapse")
    fast_pred = fast.predict(X)
    print(f"package {t_fast:.2f} s (median of 3), naive {t_naive:.2f} s "
          f"({n_solves} Cholesky solves); max |difference| of training "
          f"predictions {np.abs(fast_pred - pred).max():.1e}")
    print(f"naive / package = {t_naive / t_fast:.1f}x  (target >= 10x)")


def section_r2(quick):
    n = 2000 if quick else 8000
    components = (250, 500, 1000) if quick else (1000, 2000, 4000)
    epsilon = float(os.environ.get("BENCH_R2_EPSILON", 0.15))
    X, y = make_data(n + 4000, seed=3)
    X, X_test, y, y_test = X[:n], X[n:], y[:n], y[n:]
    print(f"\n## Test R^2, Nystroem against dense, n = {n}, epsilon {epsilon}")
    start = time.perf_counter()
    dense = model(n_rounds=3, epsilon=epsilon).fit(X, y)
    t_dense = time.perf_counter() - start
    r2d = [r2_score(y_test, p) for p in dense.staged_predict(X_test)]
    print(f"dense: fit {t_dense:.1f} s, R^2 by round "
          + ", ".join(f"{r:.4f}" for r in r2d))
    print("components  fit (s)  smallest reachable MSE  R^2 difference by round "
          "(Nystroem - dense)")
    for m in components:
        start = time.perf_counter()
        nys = model(n_rounds=3, eigen_solver="nystroem", n_components=m,
                    random_state=0, epsilon=epsilon).fit(X, y)
        t_nys = time.perf_counter() - start
        r2n = [r2_score(y_test, p) for p in nys.staged_predict(X_test)]
        diffs = ", ".join(f"{b - a:+.4f}" for a, b in zip(r2d, r2n))
        print(f"{m:10d}  {t_nys:7.1f}  {nys.min_reachable_mse_:22.4f}  {diffs}")
    print("(target: within 0.01 with 1000 components)")


def section_scale(quick):
    sizes = [20_000, 50_000] if quick else [
        100_000, 250_000, 500_000, 1_000_000, 1_500_000, 2_000_000,
    ]
    print("\n## Nystroem scale: 1000 components, 10 rounds, epsilon 0.15 "
          "(noise variance 0.09)")
    print("       n   fit (s)   peak above X, y (MB)   X, y (MB)   "
          "predict 10k (s)   smallest reachable MSE")
    largest = None
    for n in sizes:
        r = child("nystroem", n)
        if "error" in r:
            print(f"{n:8d}  error: {r['error']}")
            break
        print(f"{n:8d}  {r['seconds']:8.1f}   {r['peak_mb']:20.0f}   "
              f"{r['data_mb']:9.0f}   {r['predict_10k']:15.3f}   "
              f"{r['min_reachable']:.4f}")
        if r["seconds"] <= 60:
            largest = n
        else:
            break
    print(f"largest n fitted in <= 60 s: {largest}")
    n_err = 20_000 if quick else 100_000
    r = child("nystroem", n_err, epsilon=0.05)
    print(f"\nepsilon = 0.05 at n = {n_err} (below the part of y outside the "
          "1000 kept directions):")
    print("  " + r.get("error", "NO ERROR RAISED"))


def section_float32(quick):
    """What a float32 eigendecomposition would give the root-finding.

    The Gram matrix in float32 and float64 (``rbf_kernel`` on float32 and
    float64 X), ``syevr`` on each, the float32 spectrum cleaned with the float32
    analogue of the null-space threshold (``n * finfo(float32).eps * d_max``)
    and the rotated targets formed in float64; then the multipliers of 4
    rounds at several epsilons from both spectra.
    """
    from sklearn_selfdistill._distill import distill_path
    from sklearn_selfdistill._solvers import clean_spectrum

    n = 500 if quick else 2000
    repeats = 3
    X, y = make_data(n)
    G64 = rbf_kernel(X, gamma=GAMMA) / n
    G32 = rbf_kernel(X.astype(np.float32), gamma=GAMMA) / np.float32(n)
    t64, t32 = [], []
    for _ in range(repeats):
        out64, t, _ = timed(lambda: linalg.eigh(G64.copy(), overwrite_a=True,
                                                 check_finite=False, driver="evr"), 1)
        t64.append(t)
        out32, t, _ = timed(lambda: linalg.eigh(G32.copy(), overwrite_a=True,
                                                 check_finite=False, driver="evr"), 1)
        t32.append(t)
    d64, U64 = out64[0][::-1].copy(), out64[1][:, ::-1]
    d32 = out32[0][::-1].astype(np.float64)
    U32 = out32[1][:, ::-1].astype(np.float64)
    backward = np.linalg.norm(G64 - (U32 * d32) @ U32.T, 2) / d64[0]
    orthogonality = np.linalg.norm(U32.T @ U32 - np.eye(n), 2)
    d64 = clean_spectrum(d64, n)
    d32[d32 <= n * np.finfo(np.float32).eps * d32[0]] = 0.0
    print(f"\n## float32 eigendecomposition (n = {n}, RBF gamma {GAMMA}, "
          f"condition number {d64[0] / d64[d64 > 0][-1]:.2g})")
    print(f"syevr float64 {statistics.median(t64):.3f} s, float32 "
          f"{statistics.median(t32):.3f} s (median of {repeats}): float32 "
          f"{statistics.median(t64) / statistics.median(t32):.2f}x faster")
    print(f"float32: backward error {backward:.2g} of d_max, eigenvectors "
          f"orthogonal to {orthogonality:.2g}, {int(np.sum(d32 == 0))} of {n} "
          "eigenvalues at or below its null-space threshold")
    z64, z32 = U64.T @ y, U32.T @ y
    mean_sq = float(np.mean(y * y))
    print("epsilon / mean(y^2)   largest relative error of c_t (4 rounds)")
    for fraction in (0.3, 0.1, 0.05, 0.02, 0.01):
        epsilon = fraction * mean_sq
        c64, _, _ = distill_path(d64, z64, epsilon, 3)
        try:
            c32, _, _ = distill_path(d32, z32, epsilon, 3)
        except ValueError:
            print(f"{fraction:8.2f}              float32: judged infeasible")
            continue
        live = np.isfinite(c64) & np.isfinite(c32)
        worst = float(np.max(np.abs(c32[live] / c64[live] - 1.0)))
        print(f"{fraction:8.2f}              {worst:.2g}")


def cpu_timed(fn):
    """CPU seconds of ``fn()``: robust to waiting for a core on a shared machine
    (meaningful with one BLAS thread, ``--threads 1``)."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def section_floor(quick):
    sizes = (500, 1000) if quick else (2000, 4000, 6000)
    print("\n## The dense fit at its floor (CPU seconds, medians, interleaved)")
    print("n      fit (s)  eigh (s)  eigvalsh (s)  fit/eigh  fit/eigvalsh  "
          "eigh/eigvalsh  load")
    for n in sizes:
        repeats = 1 if quick else (2 if n > 4000 else 3)
        X, y = make_data(n)
        G = rbf_kernel(X, gamma=GAMMA)
        G /= n
        times = {"fit": [], "eigh": [], "eigvalsh": []}
        for _ in range(repeats):
            times["fit"].append(cpu_timed(lambda: model(n_rounds=10).fit(X, y)))
            # The same Gram matrix, Fortran-ordered and overwritten: neither
            # reference pays for a copy (each copy is freed with its call).
            times["eigh"].append(cpu_timed(functools.partial(
                linalg.eigh, np.asfortranarray(G), overwrite_a=True,
                check_finite=False, driver="evr")))
            times["eigvalsh"].append(cpu_timed(functools.partial(
                linalg.eigh, np.asfortranarray(G), eigvals_only=True,
                overwrite_a=True, check_finite=False, driver="evr")))
        f, e, v = (statistics.median(times[k]) for k in ("fit", "eigh", "eigvalsh"))
        print(f"{n:<6d} {f:8.2f} {e:9.2f} {v:13.2f} {f / e:9.2f} {f / v:13.2f} "
              f"{e / v:14.2f}  {os.getloadavg()[0]:.1f}")


def section_peak(quick):
    n = 800 if quick else 3000
    print(f"\n## Peak memory at n = {n} (tracemalloc, Gram matrix included)")
    for task, name in (("peak_fit", "dense fit, 10 rounds"),
                       ("peak_loo", "dense leave-one-out search, default grid")):
        r = child(task, n)
        print(f"{name}: {r['extra_n2']:.2f} n^2 doubles above X "
              f"(target <= 2.1), {r['seconds']:.2f} s")


def section_lowrank_cv(quick):
    sizes = (20_000,) if quick else (100_000, 300_000)
    print("\n## Nystroem search (1000 components, default grid) against "
          "Nystroem + RidgeCV (9 alphas)")
    print("n        package (s)  pipeline (s)  time ratio  package MB  "
          "pipeline MB  package R^2  pipeline R^2  load")
    for n in sizes:
        a = child("lowrank_cv", n)
        b = child("lowrank_pipeline", n)
        print(f"{n:<8d} {a['seconds']:11.1f} {b['seconds']:13.1f} "
              f"{b['seconds'] / a['seconds']:11.2f} {a['peak_mb']:11.0f} "
              f"{b['peak_mb']:12.0f} {a['r2']:12.4f} {b['r2']:13.4f}  "
              f"{os.getloadavg()[0]:.1f}")


SECTIONS = {
    "drivers": section_drivers,
    "memory": section_memory,
    "rounds": section_rounds,
    "naive": section_naive,
    "r2": section_r2,
    "scale": section_scale,
    "float32": section_float32,
    "floor": section_floor,
    "peak": section_peak,
    "lowrank_cv": section_lowrank_cv,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: a smoke run of every section")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help="comma-separated sections: " + ", ".join(SECTIONS))
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (threadpoolctl); default: all")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)  # for children
    if args.child:
        run_child(json.loads(args.child))
        return
    warnings.simplefilter("ignore")
    cpu = "unknown CPU"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    print(f"# bench_kernel: {cpu}, {os.cpu_count()} cores, numpy {np.__version__}, "
          f"BLAS threads {args.threads or 'all'}, "
          f"load average {os.getloadavg()[0]:.1f}")
    for name in args.only.split(","):
        SECTIONS[name.strip()](args.quick)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
