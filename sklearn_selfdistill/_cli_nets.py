"""The ``nets`` subcommand of the command line: Sec. 5 of the paper."""

import os

import numpy as np

from ._cli_args import (
    DEFAULT_OUT,
    MAX_SEED,
    CommandError,
    UsageError,
    check_out,
    integer,
    pyplot,
    real,
    save_figure,
    seed,
)
from ._cli_ntk import check_ntk_args, run_ntk_bridge, widths_list

_ARCHS = ("mlp", "resnet18", "resnet34", "resnet50", "vgg11", "vgg16")
#: Images in the training sets; digits keeps at least 10 (one per class) for test.
_N_TRAIN = {"digits": 1797 - 10, "cifar10": 50000, "cifar100": 50000}


def add_nets(subparsers):
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
    p.add_argument("--rounds", type=integer(0, what="self-distillation rounds"),
                   default=3,
                   help="self-distillation rounds after round 0 (default 3)")
    p.add_argument("--epochs", type=integer(1, what="training epochs per round"),
                   default=60, help="training epochs per round (default 60)")
    p.add_argument("--repeats", type=integer(1, what="independent runs"), default=2,
                   help="independent runs, for the mean and spread (default 2)")
    p.add_argument("--lr", type=real(0, what="Adam's learning rate"), default=None,
                   help="Adam learning rate (default 0.03 for the mlp with l2, "
                        "0.01 for the mlp with cross_entropy, 0.001 for CNNs)")
    p.add_argument("--batch-size", type=integer(1, what="the mini-batch size"),
                   default=None, help="mini-batch size (default 128; the whole "
                                      "training set with --basis-kernel ntk)")
    p.add_argument("--train-size", type=integer(1, what="training images"),
                   default=None,
                   help="training images (default 500 of 1797 for digits, where "
                        "10 to 1787 keeps a stratified test set; all 50000 for "
                        "CIFAR)")
    p.add_argument("--label-noise",
                   type=real(0, 1, low_open=False,
                             what="the fraction of labels replaced at random"),
                   default=None,
                   help="fraction of training labels replaced at random, 0 to 1 "
                        "(default 0.3 for digits, where clean labels are fitted "
                        "too easily for the regularisation to show, and 0 for "
                        "CIFAR)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="torch device (default cpu)")
    p.add_argument("--threads", type=integer(1, what="torch CPU threads"), default=1,
                   help="torch CPU threads (default 1: small nets are fastest on "
                        "one thread; raise it for CNNs on CIFAR)")
    p.add_argument("--data-dir", default="data",
                   help="where torchvision stores CIFAR (default ./data)")
    p.add_argument("--seed", type=seed(), default=0, help="random seed (default 0)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print skorch's per-epoch log of every round's network "
                        "and a progress bar over its mini-batches (on stderr)")
    g = p.add_argument_group(
        "networks next to their neural tangent kernel (Sec. 5)",
        "With --basis-kernel ntk, the mlp is built in the NTK parameterization "
        "and trained with plain gradient descent (lr 0.75 / the largest "
        "eigenvalue of K/n unless --lr is given) on the l2 loss with linear "
        "outputs on the one-hot labels, for each of --widths; next to it, "
        "SelfDistilledKernelRidge(kernel='ntk') with the same depth and "
        "scales. Per round: accuracies of both, and the B_t of both in the "
        "NTK eigenbasis against kernel gradient descent.")
    g.add_argument("--basis-kernel", choices=("none", "ntk"), default="none",
                   help="ntk: compare the nets with their NTK (default none)")
    g.add_argument("--widths", type=widths_list, default=None,
                   help="hidden-layer widths, comma-separated (default "
                        "64,512,4096)")
    g.add_argument("--depth", type=integer(1, what="hidden ReLU layers"),
                   default=None, help="hidden ReLU layers (default 1)")
    g.add_argument("--weight-std", type=real(0, what="the weight scale"),
                   default=None,
                   help="weight scale of every layer (default 0.5: the net's "
                        "output at initialisation, of variance "
                        "nngp_kernel(x, x), stays small next to one-hot "
                        "targets)")
    g.add_argument("--bias-std", type=real(0, low_open=False, what="the bias scale"),
                   default=None, help="bias scale of every layer (default 0)")
    p.add_argument("--out", default=DEFAULT_OUT,
                   help=f"folder for the CSV and the figure (default ./{DEFAULT_OUT})")
    p.set_defaults(func=run_nets, check=check_nets)


def check_nets(args):
    check_out(args.out)
    if args.train_size is not None:
        low, high = (10, _N_TRAIN["digits"]) if args.dataset == "digits" else (
            1, _N_TRAIN[args.dataset])
        if not low <= args.train_size <= high:
            raise UsageError(
                "--train-size", f"must be from {low} to {high} for --dataset "
                f"{args.dataset}; got {args.train_size}"
            )
    n_train = args.train_size or (500 if args.dataset == "digits" else
                                  _N_TRAIN[args.dataset])
    check_ntk_args(args, UsageError, n_train)
    if args.seed + args.repeats - 1 > MAX_SEED:
        raise UsageError("--seed", f"the runs use the seeds --seed to --seed + "
                         f"--repeats - 1, which must stay <= {MAX_SEED}; choose "
                         f"--seed <= {MAX_SEED - args.repeats + 1}")
    if args.device == "cuda":
        try:
            import torch
        except ImportError:
            return  # reported by run_nets
        if not torch.cuda.is_available():
            raise UsageError("--device", "cuda, but torch sees no CUDA device; "
                             "use --device cpu")


def _load_images(args):
    """Train and test arrays (float32) and labels; CommandError without data."""
    if args.dataset == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X = (X / 16.0).astype(np.float32)
        if args.arch != "mlp":  # 8x8 -> 32x32 single-channel images
            X = np.kron(X.reshape(-1, 1, 8, 8), np.ones((1, 1, 4, 4), np.float32))
        train_size = args.train_size or 500
        return train_test_split(
            X, y, train_size=train_size, stratify=y, random_state=args.seed
        )
    try:
        import torchvision
    except ImportError:
        raise CommandError(
            "torchvision is not installed (pip install 'sklearn-selfdistill[torch]')."
        ) from None
    cls = torchvision.datasets.CIFAR10 if args.dataset == "cifar10" else (
        torchvision.datasets.CIFAR100)
    try:
        train = cls(root=args.data_dir, train=True, download=True)
        test = cls(root=args.data_dir, train=False, download=True)
    except Exception as exc:  # no network, blocked host, disk full, ...
        name = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}[args.dataset]
        raise CommandError(
            f"could not download {name} into {args.data_dir!r}: "
            f"{type(exc).__name__}: {exc}. This machine seems to have no network. "
            "Use --dataset digits, which works offline, or place torchvision's "
            f"copy of {name} in --data-dir."
        ) from None
    mean = np.array([0.49, 0.48, 0.45], np.float32).reshape(1, 3, 1, 1)
    std = np.array([0.25, 0.24, 0.26], np.float32).reshape(1, 3, 1, 1)

    def convert(ds):
        X = ds.data.astype(np.float32).transpose(0, 3, 1, 2) / 255.0
        return (X - mean) / std, np.asarray(ds.targets)

    X_tr, y_tr = convert(train)
    X_te, y_te = convert(test)
    if args.train_size:
        X_tr, y_tr = X_tr[: args.train_size], y_tr[: args.train_size]
    return X_tr, X_te, y_tr, y_te


def _make_net(args, lr, n_train):
    from .nets import CIFARVGG, CIFARResNet, DistillNetClassifier, MLPModule

    if args.arch == "mlp":
        module, params = MLPModule, {"module__hidden_units": (128,)}
    elif args.arch.startswith("resnet"):
        module, params = CIFARResNet, {"module__depth": int(args.arch[6:])}
    else:
        module, params = CIFARVGG, {"module__depth": int(args.arch[3:])}
    if args.verbose:
        from skorch.callbacks import ProgressBar

        batches = -(-n_train // args.batch_size)
        params["callbacks"] = [("progress_bar", ProgressBar(batches_per_epoch=batches))]
    return DistillNetClassifier(
        module=module, loss=args.loss, lr=lr, max_epochs=args.epochs,
        batch_size=args.batch_size, device=args.device, **params,
    )


def run_nets(args):
    try:
        import torch

        from ._wrapper import SelfDistillationWrapper
    except ImportError:
        raise CommandError("nets needs torch and skorch (pip install "
                           "'sklearn-selfdistill[torch]').") from None
    if args.device == "cpu":
        torch.set_num_threads(args.threads)
    X_tr, X_te, y_tr, y_te = _load_images(args)
    noise = args.label_noise
    if noise is None:
        noise = 0.3 if args.dataset == "digits" else 0.0
    rng = np.random.RandomState(args.seed)
    y_orig = y_tr.copy()
    if noise > 0:
        flip = rng.rand(len(y_orig)) < noise
        y_orig[flip] = rng.randint(0, y_tr.max() + 1, flip.sum())
    if args.basis_kernel == "ntk":
        return run_ntk_bridge(args, X_tr, X_te, y_orig, y_te, noise)
    if args.batch_size is None:
        args.batch_size = 128
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
            _make_net(args, lr, len(y_tr)), n_rounds=args.rounds, basis_kernel=None,
            random_state=args.seed + r, verbose=2 if args.verbose else 1,
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
    plt = pyplot()
    if plt is None:
        return 0
    from ._plot import DistillationCurveDisplay

    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    try:
        DistillationCurveDisplay(
            rounds=np.arange(n_stages),
            train_scores=train.mean(axis=0),
            train_scores_std=train.std(axis=0) if args.repeats > 1 else None,
            test_scores=test.mean(axis=0),
            test_scores_std=test.std(axis=0) if args.repeats > 1 else None,
            score_name=(f"accuracy (mean \u00b1 std, {args.repeats} runs)"
                        if args.repeats > 1 else "accuracy"),
        ).plot(ax=ax, name="")
    except BaseException:
        plt.close(fig)
        raise
    fig_no = 4 if args.loss == "l2" else 5
    noisy = f", {noise:.0%} noisy labels" if noise else ""
    ax.set_title(f"{args.arch} on {args.dataset}{noisy}, {args.loss} loss "
                 f"(as the paper's Fig. {fig_no})")
    fig_path = os.path.join(args.out, stem + ".png")
    save_figure(fig, fig_path)
    print(f"figure written: {fig_path}")
    return 0
