"""Command line of ``python -m sklearn_selfdistill``.

Subcommands are registered in ``SUBCOMMANDS``; ``illustrate`` (the default)
runs the paper's illustrative example (Sec. 4) on the paper's data.
"""

import argparse
import os
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from .datasets import load_paper_example
from .exceptions import SelfDistillationCollapseWarning

DEFAULT_OUT = "selfdistill_output"


def _add_illustrate(subparsers):
    p = subparsers.add_parser(
        "illustrate",
        help="Sec. 4 of the paper: the spline kernel on the paper's 11 points.",
        description=(
            "Self-distillation of the spline kernel of eq. (57) on the paper's "
            "data (Sec. 4): a table per round and, with matplotlib, the fits "
            "(Fig. 2) and the basis coefficients B_t (Fig. 3)."
        ),
    )
    p.add_argument("--epsilon", type=float, default=0.045,
                   help="training MSE tolerance (default 0.045; 0.04 is unreachable)")
    p.add_argument("--rounds", type=int, default=5,
                   help="self-distillation rounds after round 0 (default 5)")
    p.add_argument("--out", default=DEFAULT_OUT,
                   help=f"folder for the figures (default ./{DEFAULT_OUT})")
    p.set_defaults(func=run_illustrate)


def run_illustrate(args):
    from ._kernel_ridge import SelfDistilledKernelRidge

    X, y = load_paper_example()
    model = SelfDistilledKernelRidge(
        kernel="green_spline", epsilon=args.epsilon, n_rounds=args.rounds,
        on_collapse="ignore",
    )
    print("Self-distillation on the paper's illustrative example (Sec. 4)")
    print("x = 0, 0.1, ..., 1; y = sin(2 pi x) + noise; spline kernel of eq. (57)")
    floor_model = SelfDistilledKernelRidge(kernel="green_spline", epsilon=1.0,
                                           n_rounds=0, on_collapse="ignore")
    floor = floor_model.fit(X, y).min_reachable_mse_
    print(
        f"The kernel vanishes at x = 0 and x = 1, so no fit reaches a training MSE "
        f"below {floor:.5f}: the paper's epsilon = 0.04 is infeasible on its own "
        f"data. Running at epsilon = {args.epsilon:g}."
    )
    try:
        model.fit(X, y)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    x_grid = np.linspace(0.0, 1.0, 501).reshape(-1, 1)
    truth = np.sin(2 * np.pi * x_grid[:, 0])
    header = (f"{'round':>5}  {'c_t':>11}  {'train MSE':>10}  {'test MSE':>9}  "
              f"{'B_t > 1%':>8}  collapsed")
    print(header)
    print("-" * len(header))
    fits = list(model.staged_predict(x_grid))
    for t, pred in enumerate(fits):
        B = model.basis_coefficients_[t]
        n_big = int(np.sum(B > 0.01 * B.max())) if B.max() > 0 else 0
        test_mse = float(np.mean((pred - truth) ** 2))
        print(f"{t:>5}  {model.c_[t]:>11.4e}  {model.train_mse_[t]:>10.5f}  "
              f"{test_mse:>9.5f}  {n_big:>8}  {'yes' if model.collapsed_[t] else 'no'}")
    n_live = int((~model.collapsed_).sum())
    best = int(np.argmin([np.mean((f - truth) ** 2) for f in fits]))
    print(f"{n_live} non-collapsed rounds; the test MSE against sin(2 pi x) is "
          f"lowest at round {best}.")
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed: no figures (pip install "
              "'sklearn-selfdistill[plot]').")
        return 0
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(args.out, exist_ok=True)
    live = [t for t in range(len(fits)) if not model.collapsed_[t]]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(x_grid[:, 0], truth, "k--", lw=1, label="sin(2$\\pi$x)")
    ax.plot(X[:, 0], y, "ko", label="training points")
    for t in live:
        ax.plot(x_grid[:, 0], fits[t], label=f"round {t}")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.set_title(f"Self-distillation rounds, $\\epsilon$ = {args.epsilon:g} (Fig. 2)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fits_path = os.path.join(args.out, "illustrate_fits.png")
    fig.savefig(fits_path, dpi=120)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(live), figsize=(3 * len(live), 3), sharey=True,
                             squeeze=False)
    for ax, t in zip(axes[0], live):
        ax.bar(np.arange(1, X.shape[0] + 1), model.basis_coefficients_[t])
        ax.set_title(f"round {t}")
        ax.set_xlabel("eigen-index k (descending $d_k$)")
    axes[0, 0].set_ylabel("diagonal of $B_t$")
    fig.suptitle("Basis coefficients B_t per round (Fig. 3)")
    fig.tight_layout()
    bars_path = os.path.join(args.out, "illustrate_basis_coefficients.png")
    fig.savefig(bars_path, dpi=120)
    plt.close(fig)
    print(f"figures written: {fits_path}, {bars_path}")
    return 0


def _add_sparsity(subparsers):
    p = subparsers.add_parser(
        "sparsity",
        help="Prop. 6: measured sparsity of B_t across epsilons and rounds.",
        description=(
            "Sparsification of the basis coefficients B_t (eq. (46)) on a "
            "well-conditioned problem built on purpose (G = V diag(d) V^T with "
            "condition number --kappa), for tolerances epsilon from near "
            "interpolation to near collapse. Reports what is measured: the "
            "paper's statement of Prop. 6 ('the bound is increasing in epsilon', "
            "'choose epsilon as small as possible') is inconsistent with its own "
            "proof."
        ),
    )
    p.add_argument("--n-samples", type=int, default=50,
                   help="training points K (default 50)")
    p.add_argument("--kappa", type=float, default=10.0,
                   help="condition number d_max / d_min of G (default 10)")
    p.add_argument("--fractions", type=float, nargs="+",
                   default=[1e-4, 1e-3, 1e-2, 0.05, 0.1, 0.2, 0.5],
                   help="epsilon as fractions of mean(y^2) (default 1e-4 ... 0.5)")
    p.add_argument("--max-rounds", type=int, default=2000,
                   help="rounds to follow before giving up on collapse (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default=DEFAULT_OUT,
                   help=f"folder for the figure (default ./{DEFAULT_OUT})")
    p.set_defaults(func=run_sparsity)


def sparsity_table(n_samples=50, kappa=10.0, fractions=(1e-4, 1e-2, 0.5),
                   max_rounds=2000, seed=0):
    """Measured sparsity of B_t per epsilon on a problem of condition ``kappa``.

    Returns a list of dicts (one per fraction) and the per-round ratios
    ``B_t[d_max] / B_t[d_min]`` of every non-collapsed round.
    """
    from ._kernel_ridge import SelfDistilledKernelRidge
    from .theory import guaranteed_rounds

    rng = np.random.RandomState(seed)
    d = np.geomspace(1.0, 1.0 / kappa, n_samples)
    V, _ = np.linalg.qr(rng.randn(n_samples, n_samples))
    gram = (V * d) @ V.T * n_samples  # raw Gram; the estimator divides by K
    y = rng.randn(n_samples)
    mean_sq = float(np.mean(y**2))
    rows, curves = [], []
    for frac in fractions:
        eps = frac * mean_sq
        t_low = guaranteed_rounds(d, y, eps)
        model = SelfDistilledKernelRidge(
            kernel="precomputed", epsilon=eps, n_rounds=max_rounds,
            on_collapse="ignore",
        ).fit(gram, y)
        B = model.basis_coefficients_
        live = int((~model.collapsed_).sum())
        ratio = B[:live, 0] / B[:live, -1]
        t_g = min(int(np.floor(t_low)), live - 1)
        rows.append({
            "fraction": frac,
            "epsilon": eps,
            "guaranteed_rounds": t_low,
            "rounds_before_collapse": live if live <= max_rounds else None,
            "ratio_at_guaranteed": float(ratio[t_g]),
            "ratio_round_0": float(ratio[0]),
            "ratio_round_1": float(ratio[1]) if live > 1 else float("nan"),
            "ratio_last_live": float(ratio[-1]),
        })
        curves.append(ratio)
    return rows, curves


def run_sparsity(args):
    print("Sparsity of B_t near interpolation (Prop. 6), measured")
    print(f"K = {args.n_samples} points, G = V diag(d) V^T with d geometric from 1 "
          f"to 1/{args.kappa:g} (kappa = {args.kappa:g}), y ~ N(0, 1)")
    print("ratio = B_t[d_max] / B_t[d_min]: 1 = no sparsification, larger = sparser")
    with threadpool_limits(limits=1, user_api="blas"):
        rows, curves = sparsity_table(args.n_samples, args.kappa, args.fractions,
                                      args.max_rounds, args.seed)
    header = (f"{'eps/mean(y^2)':>13}  {'t_low (Prop.4)':>14}  {'live rounds':>11}  "
              f"{'ratio@t_low':>11}  {'ratio@t=1':>9}  {'ratio@last live':>15}")
    print(header)
    print("-" * len(header))
    for r in rows:
        live = (str(r["rounds_before_collapse"]) if r["rounds_before_collapse"]
                else f">{args.max_rounds}")
        print(f"{r['fraction']:>13g}  {r['guaranteed_rounds']:>14.3f}  {live:>11}  "
              f"{r['ratio_at_guaranteed']:>11.3g}  {r['ratio_round_1']:>9.3g}  "
              f"{r['ratio_last_live']:>15.3g}")
    first, last = rows[0], rows[-1]
    trend = ("grows" if last["ratio_at_guaranteed"] > first["ratio_at_guaranteed"]
             else "shrinks")
    print(f"Measured: the sparsity reached after the guaranteed rounds {trend} with "
          f"epsilon ({first['ratio_at_guaranteed']:.3g} at {first['fraction']:g}, "
          f"{last['ratio_at_guaranteed']:.3g} at {last['fraction']:g}); each round "
          "sparsifies more at large epsilon, while small epsilon allows many more "
          "rounds before collapse.")
    plt = _pyplot()
    if plt is None:
        return 0
    os.makedirs(args.out, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    for r, ratio in zip(rows, curves):
        ax.plot(np.arange(len(ratio)), ratio, marker="." if len(ratio) < 40 else None,
                label=f"$\\epsilon$ = {r['fraction']:g} mean($y^2$)")
    ax.set_xscale("symlog", linthresh=1)
    ax.set_yscale("log")
    ax.set_xlabel("self-distillation round t (until collapse)")
    ax.set_ylabel("$B_t[d_{max}]\\, /\\, B_t[d_{min}]$")
    ax.set_title(f"Sparsification per round, $\\kappa$ = {args.kappa:g} (Prop. 5, 6)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(args.out, "sparsity.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"figure written: {path}")
    return 0


_ARCHS = ("mlp", "resnet18", "resnet34", "resnet50", "vgg11", "vgg16")


def _add_nets(subparsers):
    p = subparsers.add_parser(
        "nets",
        help="Sec. 5: self-distillation of neural networks (Fig. 4 and 5).",
        description=(
            "Sec. 5 protocol: train a network, then a fresh network of the same "
            "architecture from random initialisation on the previous one's "
            "predictions over the training set, for --rounds rounds. Per round: "
            "training accuracy against the ORIGINAL labels and test accuracy, "
            "mean and spread over --repeats runs; a CSV and a figure are written "
            "to --out. The paper's setting is --dataset cifar10 --arch resnet50 "
            "(or vgg16, cifar100) --device cuda; CIFAR is downloaded by "
            "torchvision into --data-dir, which needs internet. --dataset "
            "digits (the default) works offline and runs on a CPU in seconds."
        ),
    )
    p.add_argument("--dataset", choices=("digits", "cifar10", "cifar100"),
                   default="digits", help="data set (default digits)")
    p.add_argument("--arch", choices=_ARCHS, default="mlp",
                   help="network (default mlp: one hidden layer of 128 units)")
    p.add_argument("--loss", choices=("l2", "cross_entropy"), default="l2",
                   help="l2 on the softmax output (Fig. 4) or cross_entropy "
                        "(Fig. 5) (default l2)")
    p.add_argument("--rounds", type=int, default=3,
                   help="self-distillation rounds after round 0 (default 3)")
    p.add_argument("--epochs", type=int, default=60,
                   help="training epochs per round (default 60)")
    p.add_argument("--repeats", type=int, default=2,
                   help="independent runs, for the mean and spread (default 2)")
    p.add_argument("--lr", type=float, default=None,
                   help="Adam learning rate (default 0.03 for the mlp with l2, "
                        "0.01 for the mlp with cross_entropy, 0.001 for CNNs)")
    p.add_argument("--batch-size", type=int, default=128,
                   help="mini-batch size (default 128)")
    p.add_argument("--train-size", type=int, default=None,
                   help="training images (default 500 for digits, all for CIFAR)")
    p.add_argument("--label-noise", type=float, default=None,
                   help="fraction of training labels replaced at random (default "
                        "0.3 for digits, where clean labels are fitted too easily "
                        "for the regularisation to show, and 0 for CIFAR)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="torch device (default cpu)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: small nets are fastest on "
                        "one thread; raise it for CNNs on CIFAR)")
    p.add_argument("--data-dir", default="data",
                   help="where torchvision stores CIFAR (default ./data)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default=DEFAULT_OUT,
                   help=f"folder for the CSV and the figure (default ./{DEFAULT_OUT})")
    p.set_defaults(func=run_nets)


def _load_images(args):
    """Train and test arrays (float32) and labels, or an error message."""
    if args.dataset == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X = (X / 16.0).astype(np.float32)
        if args.arch != "mlp":  # 8x8 -> 32x32 single-channel images
            X = np.kron(X.reshape(-1, 1, 8, 8), np.ones((1, 1, 4, 4), np.float32))
        train_size = args.train_size or 500
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, train_size=train_size, stratify=y, random_state=args.seed
        )
        return X_tr, X_te, y_tr, y_te, None
    try:
        import torchvision
    except ImportError:
        return None, None, None, None, (
            "torchvision is not installed (pip install 'sklearn-selfdistill[torch]')."
        )
    cls = torchvision.datasets.CIFAR10 if args.dataset == "cifar10" else (
        torchvision.datasets.CIFAR100)
    try:
        train = cls(root=args.data_dir, train=True, download=True)
        test = cls(root=args.data_dir, train=False, download=True)
    except Exception as exc:  # no network, blocked host, disk full, ...
        name = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}[args.dataset]
        return None, None, None, None, (
            f"could not download {name} into {args.data_dir!r}: "
            f"{type(exc).__name__}: {exc}. This machine seems to have no network. "
            "Use --dataset digits, which works offline, or place torchvision's "
            f"copy of {name} in --data-dir."
        )
    mean = np.array([0.49, 0.48, 0.45], np.float32).reshape(1, 3, 1, 1)
    std = np.array([0.25, 0.24, 0.26], np.float32).reshape(1, 3, 1, 1)

    def convert(ds):
        X = ds.data.astype(np.float32).transpose(0, 3, 1, 2) / 255.0
        return (X - mean) / std, np.asarray(ds.targets)

    X_tr, y_tr = convert(train)
    X_te, y_te = convert(test)
    if args.train_size:
        X_tr, y_tr = X_tr[: args.train_size], y_tr[: args.train_size]
    return X_tr, X_te, y_tr, y_te, None


def _make_net(args, lr):
    from .nets import CIFARVGG, CIFARResNet, DistillNetClassifier, MLPModule

    if args.arch == "mlp":
        module, params = MLPModule, {"module__hidden_units": (128,)}
    elif args.arch.startswith("resnet"):
        module, params = CIFARResNet, {"module__depth": int(args.arch[6:])}
    else:
        module, params = CIFARVGG, {"module__depth": int(args.arch[3:])}
    return DistillNetClassifier(
        module=module, loss=args.loss, lr=lr, max_epochs=args.epochs,
        batch_size=args.batch_size, device=args.device, **params,
    )


def run_nets(args):
    try:
        import torch

        from ._wrapper import SelfDistillationWrapper
    except ImportError:
        print("error: nets needs torch and skorch "
              "(pip install 'sklearn-selfdistill[torch]').")
        return 2
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda, but torch sees no CUDA device; use --device cpu.")
        return 2
    if args.device == "cpu":
        torch.set_num_threads(args.threads)
    X_tr, X_te, y_tr, y_te, error = _load_images(args)
    if error:
        print(f"error: {error}")
        return 2
    noise = args.label_noise
    if noise is None:
        noise = 0.3 if args.dataset == "digits" else 0.0
    rng = np.random.RandomState(args.seed)
    y_orig = y_tr.copy()
    if noise > 0:
        flip = rng.rand(len(y_orig)) < noise
        y_orig[flip] = rng.randint(0, y_tr.max() + 1, flip.sum())
    lr = args.lr
    if lr is None:
        lr = (0.03 if args.loss == "l2" else 0.01) if args.arch == "mlp" else 0.001
    print(f"Self-distillation of {args.arch} on {args.dataset} (Sec. 5): "
          f"{len(y_tr)} training and {len(y_te)} test images, {args.loss} loss, "
          f"{args.epochs} epochs per round, Adam lr {lr:g}, {args.device}; "
          f"{noise:.0%} of the training labels replaced at random.")
    records = []
    for r in range(args.repeats):
        print(f"repeat {r + 1}/{args.repeats}")
        model = SelfDistillationWrapper(
            _make_net(args, lr), n_rounds=args.rounds, basis_kernel=None,
            random_state=args.seed + r, verbose=1,
        ).fit(X_tr, y_orig)
        for t, pred in enumerate(model.staged_predict(X_te)):
            h = model.history_[t]
            records.append((r, t, h["train_score"], float(np.mean(pred == y_te)),
                            h["train_loss"], h["fit_seconds"]))
    rec = np.array(records, dtype=float)
    os.makedirs(args.out, exist_ok=True)
    stem = f"nets_{args.dataset}_{args.arch}_{args.loss}"
    csv_path = os.path.join(args.out, stem + ".csv")
    np.savetxt(csv_path, rec, delimiter=",", fmt=["%d", "%d", "%.6f", "%.6f",
                                                  "%.6g", "%.3f"],
               header="repeat,round,train_accuracy_original_labels,test_accuracy,"
                      "train_loss_round_targets,fit_seconds", comments="")
    n_stages = args.rounds + 1
    train = rec[:, 2].reshape(args.repeats, n_stages)
    test = rec[:, 3].reshape(args.repeats, n_stages)
    header = (f"{'round':>5}  {'train acc (original labels)':>27}  "
              f"{'test acc':>15}")
    print(header)
    print("-" * len(header))
    for t in range(n_stages):
        print(f"{t:>5}  {train[:, t].mean():>19.4f} +- {train[:, t].std():.4f}  "
              f"{test[:, t].mean():>7.4f} +- {test[:, t].std():.4f}")
    best = int(np.argmax(test.mean(axis=0)))
    print(f"training accuracy {train.mean(0)[0]:.4f} -> {train.mean(0)[-1]:.4f} "
          f"over the rounds; test accuracy is highest at round {best} "
          f"({test.mean(0)[best]:.4f}, round 0: {test.mean(0)[0]:.4f}).")
    print(f"CSV written: {csv_path}")
    plt = _pyplot()
    if plt is None:
        return 0
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    rounds = np.arange(n_stages)
    train_label = "training data, original labels" + (" (noisy)" if noise else "")
    for values, label, marker in ((train, train_label, "o"),
                                  (test, "test data", "s")):
        ax.errorbar(rounds, values.mean(0), yerr=values.std(0), marker=marker,
                    capsize=3, label=label)
    ax.set_xticks(rounds)
    ax.set_xlabel("self-distillation round t")
    ax.set_ylabel(f"accuracy (mean \u00b1 std, {args.repeats} runs)")
    fig_no = 4 if args.loss == "l2" else 5
    ax.set_title(f"{args.arch} on {args.dataset}, {args.loss} loss "
                 f"(as the paper's Fig. {fig_no})")
    ax.legend()
    fig.tight_layout()
    fig_path = os.path.join(args.out, stem + ".png")
    fig.savefig(fig_path, dpi=120)
    plt.close(fig)
    print(f"figure written: {fig_path}")
    return 0


def _add_compare(subparsers):
    p = subparsers.add_parser(
        "compare",
        help="Sec. 3.4 / Fig. 6: self-distillation vs early stopping by CV.",
        description=(
            "Self-distillation against early stopping at equal training loss, "
            "by cross-validation on a data set bundled with scikit-learn "
            "(sklearn_selfdistill.model_selection.compare_with_early_stopping). "
            "Per round t: the training loss against the original labels, the "
            "held-out score of the round-t self-distilled model, and that of a "
            "single fit stopped early at the same training loss (for the kernel "
            "model: round 0 with epsilon set to that loss). A CSV and a figure "
            "are written to --out."
        ),
    )
    p.add_argument("--dataset", choices=("diabetes", "digits"), default="diabetes",
                   help="diabetes (regression, R^2) or digits (classification, "
                        "accuracy, on a subset with label noise) (default diabetes)")
    p.add_argument("--epsilon", type=float, default=None,
                   help="training MSE tolerance (default 0.05 of var(y) for "
                        "diabetes, 0.03 for the -1/+1 coded digits)")
    p.add_argument("--gamma", type=float, default=None,
                   help="RBF kernel gamma (default 0.05 for the standardised "
                        "diabetes features, 0.02 for digits)")
    p.add_argument("--rounds", type=int, default=4,
                   help="self-distillation rounds after round 0 (default 4)")
    p.add_argument("--cv", type=int, default=5, help="folds (default 5)")
    p.add_argument("--n-samples", type=int, default=500,
                   help="digits only: images used (default 500)")
    p.add_argument("--label-noise", type=float, default=0.3,
                   help="digits only: fraction of labels replaced at random "
                        "(default 0.3)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default=DEFAULT_OUT,
                   help=f"folder for the CSV and the figure (default ./{DEFAULT_OUT})")
    p.set_defaults(func=run_compare)


def _compare_setup(args):
    """Data and the unfitted self-distilled kernel model of ``compare``."""
    if args.dataset == "diabetes":
        from sklearn.datasets import load_diabetes
        from sklearn.preprocessing import StandardScaler

        from ._kernel_ridge import SelfDistilledKernelRidge

        X, y = load_diabetes(return_X_y=True)
        X = StandardScaler().fit_transform(X)
        model = SelfDistilledKernelRidge(
            epsilon=0.05 if args.epsilon is None else args.epsilon,
            gamma=0.05 if args.gamma is None else args.gamma,
            normalize_y=True, n_rounds=args.rounds, on_collapse="ignore",
        )
        return X, y, model, "R^2", "training MSE (units of y^2)"
    from sklearn.datasets import load_digits

    from ._classifier import SelfDistilledKernelRidgeClassifier

    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(args.seed)
    idx = rng.permutation(len(y))[: args.n_samples]
    X, y = X[idx] / 16.0, y[idx].copy()
    flip = rng.rand(len(y)) < args.label_noise
    y[flip] = rng.randint(0, 10, flip.sum())
    model = SelfDistilledKernelRidgeClassifier(
        epsilon=0.03 if args.epsilon is None else args.epsilon,
        gamma=0.02 if args.gamma is None else args.gamma,
        n_rounds=args.rounds, on_collapse="ignore",
    )
    return X, y, model, "accuracy", "training MSE of the -1/+1 coded labels"


def run_compare(args):
    from sklearn.model_selection import KFold, StratifiedKFold

    from .model_selection import compare_with_early_stopping

    X, y, model, score_name, loss_name = _compare_setup(args)
    splitter = (KFold if args.dataset == "diabetes" else StratifiedKFold)(
        n_splits=args.cv, shuffle=True, random_state=args.seed)
    print(f"Self-distillation vs early stopping (Sec. 3.4, Fig. 6) on {args.dataset}: "
          f"{X.shape[0]} samples, {args.cv}-fold CV, {type(model).__name__}"
          f"(epsilon={model.epsilon:g}, gamma={model.gamma:g}); held-out "
          f"{score_name}, mean +- std over folds")
    # One BLAS thread: these eigendecompositions are small, and a multithreaded
    # solver stalls badly on a busy machine (measured: 2.4 s instead of 0.06 s).
    with threadpool_limits(limits=1, user_api="blas"):
        table = compare_with_early_stopping(model, X, y, n_rounds=args.rounds,
                                            cv=splitter)
    header = (f"{'round':>5}  {'train loss (original labels)':>28}  "
              f"{'self-distilled':>17}  {'early stopped':>17}")
    print(header)
    print("-" * len(header))
    for i, t in enumerate(table["round"]):
        print(f"{t:>5}  {table['train_loss_mean'][i]:>17.4g} +- "
              f"{table['train_loss_std'][i]:<8.3g}  "
              f"{table['self_distilled_score_mean'][i]:>8.4f} +- "
              f"{table['self_distilled_score_std'][i]:.4f}  "
              f"{table['early_stopped_score_mean'][i]:>8.4f} +- "
              f"{table['early_stopped_score_std'][i]:.4f}")
    sd, es = table["self_distilled_score_mean"], table["early_stopped_score_mean"]
    print(f"best self-distilled: round {int(np.argmax(sd))} ({sd.max():.4f}); best "
          f"early-stopped: at the loss of round {int(np.argmax(es))} ({es.max():.4f})")
    os.makedirs(args.out, exist_ok=True)
    keys = list(table)
    csv_path = os.path.join(args.out, f"compare_{args.dataset}.csv")
    np.savetxt(csv_path, np.column_stack([table[k] for k in keys]), delimiter=",",
               header=",".join(keys), comments="", fmt="%.10g")
    print(f"CSV written: {csv_path}")
    plt = _pyplot()
    if plt is None:
        return 0
    from ._plot import DistillationCurveDisplay

    with threadpool_limits(limits=1, user_api="blas"):
        model.fit(X, y)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    DistillationCurveDisplay.from_estimator(model, X, y, early_stopping=table, ax=ax,
                                            name=args.dataset)
    ax.set_ylabel(score_name)
    fig.tight_layout()
    fig_path = os.path.join(args.out, f"compare_{args.dataset}.png")
    fig.savefig(fig_path, dpi=120)
    plt.close(fig)
    print(f"figure written: {fig_path}")
    return 0


def _pyplot():
    """matplotlib.pyplot with the Agg backend, or None (with a message)."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed: no figures (pip install "
              "'sklearn-selfdistill[plot]').")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


SUBCOMMANDS = {
    "illustrate": _add_illustrate,
    "sparsity": _add_sparsity,
    "compare": _add_compare,
    "nets": _add_nets,
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_selfdistill",
        description="Self-distillation amplifies regularization in Hilbert space: "
        "reproductions of the paper's experiments.",
    )
    subparsers = parser.add_subparsers(dest="command")
    for add in SUBCOMMANDS.values():
        add(subparsers)
    return parser


def main(argv=None):
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help")):
        argv = ["illustrate", *argv]  # the default subcommand
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SelfDistillationCollapseWarning)
        return args.func(args)
