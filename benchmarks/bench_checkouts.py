"""The kernel estimators' fit times in this checkout against another one.

For a restructuring that must not change speed: the same fits run in this
checkout and in ``OTHER`` (a source tree of the package, e.g. from
``git archive <commit> | tar -x -C /tmp/other``), each fit in its own Python
process, the two checkouts alternated (and which one goes first), one BLAS
thread; the medians' ratio (this / other) is printed per case, with a check
that both give the same predictions.

Run: ``python benchmarks/bench_checkouts.py OTHER [--repeats 3] [--quick]``.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = textwrap.dedent(
    """
    import json, sys, time, warnings
    import numpy as np
    from threadpoolctl import threadpool_limits
    from sklearn.datasets import make_friedman1
    from sklearn.preprocessing import StandardScaler
    import sklearn_selfdistill as sd

    case, n = sys.argv[1], int(sys.argv[2])
    X, y = make_friedman1(n_samples=n + 200, noise=1.0, random_state=0)
    X = StandardScaler().fit_transform(X)
    X, X_test, y = X[:n], X[n:], y[:n]
    models = {
        "fit_dense_20_rounds": sd.SelfDistilledKernelRidge(
            epsilon=0.05, n_rounds=20, gamma=0.1, normalize_y=True,
            on_collapse="ignore"),
        "cv_loo_dense": sd.SelfDistilledKernelRidgeCV(gamma=0.1, normalize_y=True),
        "cv_kfold_dense": sd.SelfDistilledKernelRidgeCV(
            gamma=0.1, normalize_y=True, cv=5),
        "cv_loo_nystroem": sd.SelfDistilledKernelRidgeCV(
            gamma=0.1, normalize_y=True, eigen_solver="nystroem",
            n_components=500, random_state=0),
    }
    model = models[case]
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model.fit(X, y)
        elapsed = time.perf_counter() - start
    pred = model.predict(X_test)
    print(json.dumps({"time": elapsed, "pred": pred[:5].tolist()}))
    """
)


def run(root, case, n):
    env = {**os.environ, "PYTHONPATH": root, "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", CHILD, case, str(n)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", help="root of the other source tree")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--only", default=None,
                        help="comma-separated case names to run")
    args = parser.parse_args()
    small = args.quick
    cases = [
        ("fit_dense_20_rounds", 800 if small else 2000),
        ("cv_loo_dense", 500 if small else 1000),
        ("cv_kfold_dense", 500 if small else 1000),
        ("cv_loo_nystroem", 5000 if small else 20000),
    ]
    if args.only:
        cases = [c for c in cases if c[0] in args.only.split(",")]
    with open("/proc/loadavg") as f:
        print("load average at start:", f.read().split()[:3])
    for case, n in cases:
        times = {"this": [], "other": []}
        preds = {}
        order = [("this", HERE), ("other", args.other)]
        for _ in range(args.repeats):
            order.reverse()  # neither checkout always runs first
            for name, root in order:
                result = run(root, case, n)
                times[name].append(result["time"])
                preds[name] = result["pred"]
        this, other = (statistics.median(times[k]) for k in ("this", "other"))
        same = max(abs(a - b) for a, b in zip(preds["this"], preds["other"]))
        print(f"{case:22s} n={n:6d}  this {this:7.3f} s  other {other:7.3f} s  "
              f"ratio {this / other:5.3f}  max |pred diff| {same:.1e}")


if __name__ == "__main__":
    main()
