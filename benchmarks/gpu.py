"""GPU benchmark: the kernel estimator and the network wrapper on one device.

Meant for one machine with an NVIDIA GPU, finishing within 5 minutes:

1. ``SelfDistilledKernelRidge(device="cuda")``, dense, 2 rounds, at
   n = 20,000 and 50,000 (the Gram matrix, its eigendecomposition and the
   dual coefficients on the GPU in float64), and ``eigen_solver="nystroem"``
   with 1000 components at n = 1,000,000;
2. images per second of ``SelfDistillationWrapper`` (``basis_kernel=None``)
   around a ResNet-18 ``DistillNetClassifier`` against a plain PyTorch
   training loop of the same model, batch size, optimizer, loss and epochs,
   in float32 and with bf16 autocast (target: the wrapper at >= 90% of the
   plain loop). Synthetic CIFAR-sized images (no download).

Each step checks a deadline (``--budget`` seconds, default 270) and is
skipped with a note when too little time is left. A smoke run on a CPU:
``python benchmarks/gpu.py --quick --device cpu``.

Run: ``python benchmarks/gpu.py [--device cuda] [--json out.json]``.
"""

import argparse
import json
import math
import os
import sys
import time
import warnings

import numpy as np

START = time.perf_counter()


def elapsed():
    return time.perf_counter() - START


def make_data(n, seed=0, n_features=8):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1.0, 1.0, (n, n_features))
    y = (np.sin(np.pi * X[:, 0]) + X[:, 1] * X[:, 2] + 0.5 * np.cos(2 * X[:, 3])
         + 0.3 * rng.randn(n))
    return X, y


def sync(torch, device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


# --------------------------------------------------------------------------
# 1. kernel estimator
# --------------------------------------------------------------------------

def bench_kernel(args, results, budget_left):
    import torch

    from sklearn_selfdistill import SelfDistilledKernelRidge

    def fit(n, **params):
        X, y = make_data(n)
        X_test, y_test = make_data(2000, seed=1)
        base = dict(epsilon=0.1, gamma=0.5, n_rounds=2, on_collapse="ignore",
                    device=args.device, random_state=0)
        base.update(params)
        est = SelfDistilledKernelRidge(**base)
        if torch.device(args.device).type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        est.fit(X, y)
        seconds = time.perf_counter() - start
        peak = (torch.cuda.max_memory_allocated() / 2**30
                if torch.device(args.device).type == "cuda" else float("nan"))
        start = time.perf_counter()
        pred = est.predict(X_test)
        predict = time.perf_counter() - start
        r2 = 1 - np.mean((pred - y_test) ** 2) / np.var(y_test)
        return dict(n=n, fit_s=seconds, predict_2k_s=predict, test_r2=float(r2),
                    device_peak_gib=peak, **{k: v for k, v in params.items()})

    fit(300)  # warm-up: CUDA context, cuSOLVER handles
    sizes = [500, 1000] if args.quick else args.sizes
    for n in sizes:
        # Dense cost grows as n^3: estimate from the previous size.
        previous = [r for r in results["kernel"] if r.get("eigen_solver") is None]
        if previous:
            last = previous[-1]
            guess = last["fit_s"] * (n / last["n"]) ** 3
            if guess > budget_left():
                results["notes"].append(
                    f"dense n={n} skipped: estimated {guess:.0f} s, "
                    f"{budget_left():.0f} s left"
                )
                continue
        r = fit(n)
        results["kernel"].append(r)
        print(f"dense      n={n:>9,d}  fit {r['fit_s']:7.2f} s  predict 2k "
              f"{r['predict_2k_s']:6.3f} s  test R^2 {r['test_r2']:.4f}  "
              f"device peak {r['device_peak_gib']:.1f} GiB", flush=True)
    n_nys = 5000 if args.quick else args.nystroem_n
    if budget_left() > 30:
        try:
            r = fit(n_nys, eigen_solver="nystroem",
                    epsilon=0.3 if args.quick else 0.15,
                    n_components=250 if args.quick else 1000)
        except ValueError as exc:  # epsilon below the reachable training MSE
            results["notes"].append(f"nystroem n={n_nys}: {exc}")
            return
        results["kernel"].append(r)
        print(f"nystroem   n={n_nys:>9,d}  fit {r['fit_s']:7.2f} s  predict 2k "
              f"{r['predict_2k_s']:6.3f} s  test R^2 {r['test_r2']:.4f}  "
              f"device peak {r['device_peak_gib']:.1f} GiB", flush=True)


# --------------------------------------------------------------------------
# 2. ResNet-18: wrapper against a plain loop
# --------------------------------------------------------------------------

def plain_loop(torch, X, y, n_classes, args, bf16):
    """The reference: a hand-written training loop of the same model."""
    from sklearn_selfdistill.nets import make_resnet

    device = torch.device(args.device)
    model = make_resnet(18, n_classes=n_classes).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    data = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch_size,
                                         shuffle=True)
    model.train()
    for _ in range(args.epochs):
        for xb, yb in loader:
            xb = xb.to(device, non_blocking=True)
            yb = yb.to(device, non_blocking=True)
            opt.zero_grad(set_to_none=True)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16,
                                enabled=bf16):
                logits = model(xb)
            # The l2 loss of Sec. 5: softmax against one-hot targets.
            prob = torch.softmax(logits.float(), dim=1)
            onehot = torch.nn.functional.one_hot(yb, n_classes).float()
            loss = ((prob - onehot) ** 2).sum(1).mean()
            loss.backward()
            opt.step()
    sync(torch, device)


def wrapper_fit(X, y, args, bf16, n_rounds):
    from sklearn_selfdistill import SelfDistillationWrapper
    from sklearn_selfdistill.nets import CIFARResNet, DistillNetClassifier

    net = DistillNetClassifier(
        module=CIFARResNet, module__depth=18, max_epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, device=args.device,
        bf16_autocast=bf16, iterator_train__shuffle=True,
    )
    model = SelfDistillationWrapper(net, n_rounds=n_rounds, basis_kernel=None,
                                    random_state=0)
    model.fit(X, y)
    return model


def bench_wrapper(args, results, budget_left):
    import torch

    n_images = 64 if args.quick else args.images
    if args.quick:
        args.epochs, args.batch_size = 1, 32
    n_classes = 10
    rng = np.random.RandomState(0)
    X = rng.randn(n_images, 3, 32, 32).astype(np.float32)
    y = rng.randint(0, n_classes, n_images).astype(np.int64)
    # Warm-up (cuDNN autotuning, allocator) on a slice.
    plain_loop(torch, X[: args.batch_size * 2], y[: args.batch_size * 2],
               n_classes, args, bf16=False)
    for bf16 in ([False, True] if args.bf16 else [False]):
        if budget_left() < 20:
            results["notes"].append(f"wrapper bf16={bf16} skipped: out of time")
            continue
        start = time.perf_counter()
        plain_loop(torch, X, y, n_classes, args, bf16)
        t_plain = time.perf_counter() - start
        # One round (n_rounds=0) is the wrapper's training throughput; two
        # rounds add the teacher's predictions over the training set.
        start = time.perf_counter()
        wrapper_fit(X, y, args, bf16, n_rounds=0)
        t_wrap = time.perf_counter() - start
        start = time.perf_counter()
        wrapper_fit(X, y, args, bf16, n_rounds=1)
        t_wrap2 = time.perf_counter() - start
        images = n_images * args.epochs
        r = dict(
            bf16=bf16, images=n_images, epochs=args.epochs,
            batch_size=args.batch_size,
            plain_img_s=images / t_plain,
            wrapper_img_s=images / t_wrap,
            wrapper_2rounds_img_s=2 * images / t_wrap2,
        )
        r["ratio"] = r["wrapper_img_s"] / r["plain_img_s"]
        r["ratio_2rounds"] = r["wrapper_2rounds_img_s"] / r["plain_img_s"]
        results["wrapper"].append(r)
        print(f"ResNet-18 bf16={str(bf16):5s}  plain {r['plain_img_s']:8.0f} img/s  "
              f"wrapper {r['wrapper_img_s']:8.0f} img/s ({100 * r['ratio']:.1f}%)  "
              f"2 rounds incl. teacher {r['wrapper_2rounds_img_s']:8.0f} img/s "
              f"({100 * r['ratio_2rounds']:.1f}%)", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes: a smoke run (e.g. with --device cpu)")
    parser.add_argument("--sizes", default="20000,50000",
                        help="dense kernel sizes, comma-separated")
    parser.add_argument("--nystroem-n", type=int, default=1_000_000)
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--no-bf16", dest="bf16", action="store_false")
    parser.add_argument("--skip", default="", help="'kernel' and/or 'wrapper'")
    parser.add_argument("--budget", type=float, default=270.0,
                        help="seconds; later steps are skipped past it")
    parser.add_argument("--json", default=None, help="also write results here")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    warnings.simplefilter("ignore")

    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("No CUDA device: run with --device cpu (and --quick) instead.")
    if torch.device(args.device).type == "cpu":
        torch.set_num_threads(max(1, os.cpu_count() or 1))
    name = (torch.cuda.get_device_name(torch.device(args.device))
            if torch.device(args.device).type == "cuda" else "CPU")
    results = dict(device=args.device, device_name=name, torch=torch.__version__,
                   quick=args.quick, kernel=[], wrapper=[], notes=[])
    print(f"# gpu.py on {name} (torch {torch.__version__}), budget {args.budget:.0f} s",
          flush=True)

    def budget_left():
        return args.budget - elapsed()

    torch.backends.cudnn.benchmark = True
    if "kernel" not in args.skip:
        bench_kernel(args, results, budget_left)
    if "wrapper" not in args.skip:
        bench_wrapper(args, results, budget_left)
    for note in results["notes"]:
        print("note:", note)
    results["total_s"] = elapsed()
    print(f"total {results['total_s']:.1f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2, default=lambda o: None if (
                isinstance(o, float) and math.isnan(o)) else str(o))


if __name__ == "__main__":
    main()
