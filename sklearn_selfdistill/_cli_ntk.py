"""``nets --basis-kernel ntk``: wide networks next to their neural tangent kernel.

The multilayer perceptron in the NTK parameterization, trained with plain
(full-batch by default) gradient descent on the l2 loss with linear outputs on
the one-hot labels, is self-distilled for each ``--widths`` entry; next to it,
:class:`~sklearn_selfdistill.SelfDistilledKernelRidge` with ``kernel="ntk"``
and the same depth and scales. The networks' :math:`B_t` are measured in the
eigenbasis of the NTK on the training set, where the kernel estimator's are
defined, and both are compared with kernel gradient descent: the
infinite-width prediction ``B_t = g^(t + 1)``, ``g = 1 - (1 - 2 lr d)^E`` for
``E`` full-batch steps (Sec. 5 of Mobahi et al., 2020; Jacot et al., 2018).
"""

import argparse
import os

import numpy as np

from ._cli_args import pyplot, save_figure

#: Largest training set of the kernel estimator's dense eigendecomposition.
MAX_TRAIN = 5000
#: Weight scale of the command's nets. The network's output at initialisation
#: has variance nngp_kernel(x, x) (0.6 on digits with sqrt(2), one layer),
#: more than one-hot targets (mean square 0.1): its residue swamps the
#: coefficients B_t. With 0.5 it is 0.003 (the filter, lr * K, is unchanged).
DEFAULT_WEIGHT_STD = 0.5
#: Leading eigen-directions over which the B_t are compared.
N_LEADING = 40


def widths_list(text):
    """argparse type: comma-separated positive hidden-layer widths."""
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) < 1 or len(values) > 5:
        raise argparse.ArgumentTypeError(
            "must be 1 to 5 comma-separated integers >= 1 (hidden-layer widths, "
            f"e.g. 64,512,4096); got {text!r}"
        )
    return values


def kernel_params(args):
    return {"depth": args.depth, "weight_std": args.weight_std,
            "bias_std": args.bias_std}


def kernel_gd_coefficients(d, lr, epochs, n_rounds):
    """``g^(t + 1)`` for rounds 0..n_rounds, ``g = 1 - (1 - 2 lr d)^epochs``."""
    g = 1.0 - (1.0 - 2.0 * lr * np.asarray(d)) ** epochs
    return np.stack([g ** (t + 1) for t in range(n_rounds + 1)])


def _median_gap(coef, reference):
    """Median over the leading directions (and outputs) of |B_t - reference|."""
    lead = coef[:, :N_LEADING]
    ref = reference[:, :N_LEADING]
    if lead.ndim == 3:
        ref = ref[:, :, None]
    gap = np.abs(lead - ref).reshape(lead.shape[0], -1)
    return np.median(gap, axis=1)


def run_ntk_bridge(args, X_tr, X_te, y_orig, y_te, noise):
    import torch

    from ._kernel_ridge import SelfDistilledKernelRidge
    from ._wrapper import SelfDistillationWrapper
    from .kernels import ntk_kernel
    from .nets import DistillNetRegressor

    n = len(y_orig)
    X_tr = X_tr.reshape(n, -1)
    X_te = X_te.reshape(len(X_te), -1)
    n_classes = int(max(y_orig.max(), y_te.max())) + 1
    Y = np.eye(n_classes, dtype=np.float32)[y_orig]
    params = kernel_params(args)
    d = np.linalg.eigvalsh(ntk_kernel(X_tr, **params) / n)[::-1]
    lr = args.lr if args.lr is not None else 0.75 / d[0]
    batch = args.batch_size or n
    gd = kernel_gd_coefficients(d, lr, args.epochs, args.rounds)
    print(f"Wide {args.depth}-hidden-layer ReLU nets in the NTK parameterization "
          f"(weight_std {args.weight_std:g}, bias_std {args.bias_std:g}) on "
          f"{args.dataset}, next to SelfDistilledKernelRidge(kernel='ntk'): "
          f"{n} training and {len(y_te)} test images, l2 loss on one-hot labels "
          f"with linear outputs, SGD lr {lr:.4g} (largest eigenvalue of K/n "
          f"{d[0]:.4g}), batch {batch}, {args.epochs} epochs per round; "
          f"{noise:.0%} of the training labels replaced at random.")
    if 2 * lr * d[0] >= 2:
        print(f"warning: lr {lr:.4g} >= 1 / {d[0]:.4g}, where gradient descent "
              "on the linearised network diverges.")

    def accuracies(model):
        return ([float(np.mean(f.argmax(1) == y_orig))
                 for f in model.staged_predict(X_tr)],
                [float(np.mean(f.argmax(1) == y_te))
                 for f in model.staged_predict(X_te)])

    records, gaps, last = [], {}, {}
    for r in range(args.repeats):
        print(f"repeat {r + 1}/{args.repeats}")
        mse0 = None
        for width in args.widths:
            net = DistillNetRegressor(
                module__hidden_units=(width,) * args.depth,
                module__parameterization="ntk",
                module__weight_std=args.weight_std, module__bias_std=args.bias_std,
                optimizer=torch.optim.SGD, lr=lr, max_epochs=args.epochs,
                batch_size=batch, device=args.device,
            )
            model = SelfDistillationWrapper(
                net, n_rounds=args.rounds, random_state=args.seed + r,
                basis_kernel="ntk", basis_kernel_params=params,
                verbose=2 if args.verbose else 1,
            ).fit(X_tr, Y)
            train, test = accuracies(model)
            F0 = next(iter(model.staged_predict(X_tr)))
            mse0 = float(np.mean((F0 - Y) ** 2))  # the widest net's, at the end
            records += [(r, width, t, train[t], test[t]) for t in range(len(train))]
            gaps.setdefault(width, []).append(
                _median_gap(model.basis_coefficients_, gd))
            last[width] = model
        kernel = SelfDistilledKernelRidge(kernel="ntk", kernel_params=params,
                                          epsilon=mse0, n_rounds=args.rounds)
        kernel.fit(X_tr, Y)
        train, test = accuracies(kernel)
        records += [(r, 0, t, train[t], test[t]) for t in range(len(train))]
        gaps.setdefault(0, []).append(_median_gap(kernel.basis_coefficients_, gd))
        last[0] = kernel
    rec = np.array(records, dtype=float)
    os.makedirs(args.out, exist_ok=True)
    stem = f"nets_ntk_{args.dataset}_depth{args.depth}"
    csv_path = os.path.join(args.out, stem + ".csv")
    np.savetxt(csv_path, rec, delimiter=",", fmt=["%d", "%d", "%d", "%.6f", "%.6f"],
               header="repeat,width,round,train_accuracy_original_labels,"
                      "test_accuracy", comments="")
    names = {w: f"width {w}" for w in args.widths}
    names[0] = "NTK ridge"
    n_stages = args.rounds + 1
    print(f"epsilon of the kernel ridge: {mse0:.4g} (the widest net's round-0 "
          "training mean squared error per output)")
    print("accuracy per round, train (original labels) / test, mean over "
          f"{args.repeats} run(s); then median |B_t - kernel gradient descent| "
          f"over the leading {N_LEADING} NTK directions")
    curves = {}
    for key in [*args.widths, 0]:
        rows = rec[rec[:, 1] == key]
        train = rows[:, 3].reshape(args.repeats, n_stages).mean(0)
        test = rows[:, 4].reshape(args.repeats, n_stages).mean(0)
        gap = np.mean(gaps[key], axis=0)
        curves[key] = train, test
        print(f"{names[key]:>12}: "
              + "  ".join(f"{a:.3f}/{b:.3f}" for a, b in zip(train, test))
              + "   B_t gap: " + " ".join(f"{g:.3f}" for g in gap))
    print(f"CSV written: {csv_path}")
    plt = pyplot()
    if plt is None:
        return 0
    _figure(plt, args, names, curves, last, gd, d,
            os.path.join(args.out, stem + ".png"))
    return 0


def _figure(plt, args, names, curves, models, gd, d, path):
    from ._plot import DistillationCurveDisplay
    from ._plot_basis import BasisCoefficientsDisplay

    keys = [*args.widths, 0]
    fig, axes = plt.subplots(2, len(keys), figsize=(3.4 * len(keys), 6.4),
                             layout="constrained", squeeze=False)
    try:
        for i, key in enumerate(keys):
            train, test = curves[key]
            DistillationCurveDisplay(
                rounds=np.arange(len(train)), train_scores=train, test_scores=test,
                score_name="accuracy",
            ).plot(ax=axes[0, i], name="")
            axes[0, i].set_title(names[key])
            ax = axes[1, i]
            BasisCoefficientsDisplay.from_estimator(
                models[key], output=0, kind="lines", max_directions=N_LEADING,
                ax=ax, name="")
            BasisCoefficientsDisplay(
                basis_coefficients=gd, rounds=np.arange(gd.shape[0]), eigenvalues=d,
                estimator_name="kernel GD",
            ).plot(ax=ax, kind="lines", max_directions=N_LEADING, color="k",
                   marker="", linewidth=1)
            ax.set_ylim(-0.5, 1.5)
            ax.set_title(f"{names[key]}: B_t, class 0")
            ax.set_xlabel("eigen-index k")
            if i:
                axes[0, i].set_ylabel("")
                ax.set_ylabel("")
                for a in (axes[0, i], ax):
                    if a.get_legend() is not None:
                        a.get_legend().remove()
        axes[1, 0].legend(fontsize=6, ncol=2)
    except BaseException:
        plt.close(fig)
        raise
    fig.suptitle(f"{args.dataset}: self-distilled NTK-parameterized nets and the "
                 f"NTK ridge (depth {args.depth})")
    save_figure(fig, path)
    print(f"figure written: {path}")


def check_ntk_args(args, usage_error, n_train):
    """The flag combinations of ``--basis-kernel ntk``, before any work."""
    ntk_only = [flag for flag, value in (
        ("--widths", args.widths), ("--depth", args.depth),
        ("--weight-std", args.weight_std), ("--bias-std", args.bias_std))
        if value is not None]
    if args.basis_kernel != "ntk":
        if ntk_only:
            raise usage_error(ntk_only[0], "is used only with --basis-kernel ntk")
        return
    if args.arch != "mlp":
        raise usage_error("--basis-kernel", "ntk is the kernel of the fully "
                          f"connected ReLU net: use --arch mlp, not {args.arch}")
    if args.loss != "l2":
        raise usage_error("--loss", "--basis-kernel ntk trains on the l2 loss "
                          "with linear outputs (the NTK regime): use --loss l2")
    if n_train > MAX_TRAIN:
        raise usage_error("--train-size", f"must be <= {MAX_TRAIN} with "
                          "--basis-kernel ntk (the kernel estimator's "
                          f"eigendecomposition costs n^3); got {n_train}")
    if args.widths is None:
        args.widths = [64, 512, 4096]
    if args.depth is None:
        args.depth = 1
    if args.weight_std is None:
        args.weight_std = DEFAULT_WEIGHT_STD
    if args.bias_std is None:
        args.bias_std = 0.0
