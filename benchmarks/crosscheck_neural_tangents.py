"""One-off cross-check of ntk_kernel and nngp_kernel against neural-tangents.

neural-tangents is not a dependency: it installs in a separate environment,

    python -m venv /tmp/ntvenv
    /tmp/ntvenv/bin/pip install jax==0.4.30 jaxlib==0.4.30 tf2jax==0.3.6 \\
        neural-tangents==0.6.5

and this script, run with the package's environment, calls that interpreter
(``--nt-python``) to evaluate ``stax.serial(Dense(W_std, b_std), [Relu(),
Dense(W_std, b_std)] * depth)`` in float64 on the same data, then prints the
largest relative difference for each setting (see benchmarks/README.md).
"""

import argparse
import itertools
import os
import subprocess
import sys
import tempfile

import numpy as np

SETTINGS = [
    {"depth": depth, "weight_std": w, "bias_std": b}
    for depth, w, b in itertools.product((0, 1, 2, 5), (1.0, 2**0.5, 1.5),
                                         (0.0, 0.5))
]

CHILD = r"""
import sys
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
from neural_tangents import stax

data = np.load(sys.argv[1])
X, Y = data["X"], data["Y"]
out = {}
for k, (depth, w, b) in enumerate(data["settings"]):
    layers = [stax.Dense(1, W_std=w, b_std=b)]
    for _ in range(int(depth)):
        layers += [stax.Relu(), stax.Dense(1, W_std=w, b_std=b)]
    kernel_fn = stax.serial(*layers)[2]
    for name, (A, B) in {"gram": (X, None), "cross": (X, Y)}.items():
        k_out = kernel_fn(A, B, ("nngp", "ntk"))
        out[f"nngp_{name}_{k}"] = np.asarray(k_out.nngp)
        out[f"ntk_{name}_{k}"] = np.asarray(k_out.ntk)
np.savez(sys.argv[2], **out)
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nt-python", default="/tmp/ntvenv/bin/python")
    args = parser.parse_args()

    from sklearn_selfdistill.kernels import nngp_kernel, ntk_kernel

    rng = np.random.RandomState(0)
    X = rng.standard_normal((40, 7))
    X[3] = X[11]  # a duplicated row
    X[5] = -X[6]  # an antiparallel pair
    X[8] = 0.0  # a zero row
    Y = rng.standard_normal((15, 7))
    settings = np.array([[s["depth"], s["weight_std"], s["bias_std"]]
                         for s in SETTINGS])
    with tempfile.TemporaryDirectory() as tmp:
        data, result, child = (os.path.join(tmp, name) for name in
                               ("data.npz", "result.npz", "child.py"))
        np.savez(data, X=X, Y=Y, settings=settings)
        with open(child, "w") as f:
            f.write(CHILD)
        subprocess.run([args.nt_python, child, data, result], check=True,
                       stderr=subprocess.DEVNULL)
        ref = dict(np.load(result))
    worst = 0.0
    print("| depth | W_std | b_std | NNGP Gram | NNGP cross | NTK Gram | NTK cross |")
    print("|---|---|---|---|---|---|---|")
    for k, s in enumerate(SETTINGS):
        errors = []
        for name, func in (("nngp", nngp_kernel), ("ntk", ntk_kernel)):
            for part, (A, B) in (("gram", (X, None)), ("cross", (X, Y))):
                expected = ref[f"{name}_{part}_{k}"]
                got = func(A, B, **s)
                errors.append(np.abs(got - expected).max() / np.abs(expected).max())
        worst = max(worst, *errors)
        print(f"| {s['depth']} | {s['weight_std']:.4g} | {s['bias_std']:.3g} | "
              + " | ".join(f"{e:.1e}" for e in errors) + " |")
    print(f"\nlargest relative difference (to the largest entry): {worst:.1e}")
    return 0 if worst < 1e-10 else 1


if __name__ == "__main__":
    sys.exit(main())
