"""Worker of tests/test_distributed.py, run by torchrun on 2 CPU processes (gloo).

Usage: python -m torch.distributed.run --standalone --nproc_per_node 2
       tests/_distributed_worker.py OUT_DIR
Each rank writes OUT_DIR/rank<r>.npz with its final weights and predictions.
"""

import os
import sys


def main(out_dir):
    import numpy as np
    import torch
    from accelerate import Accelerator
    from skorch.hf import AccelerateMixin

    from sklearn_selfdistill import SelfDistillationWrapper
    from sklearn_selfdistill.nets import DistillNetClassifier, MLPModule

    torch.set_num_threads(1)

    class AcceleratedDistillNet(AccelerateMixin, DistillNetClassifier):
        """DistillNetClassifier trained data-parallel by accelerate."""

    # cpu=True: without it each CPU process trains alone.
    accelerator = Accelerator(cpu=True)
    rng = np.random.RandomState(0)
    X = rng.randn(64, 5).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    net = AcceleratedDistillNet(
        MLPModule, accelerator=accelerator, device=None, max_epochs=30,
        batch_size=8, lr=0.01,
    )
    try:
        model = SelfDistillationWrapper(
            net, n_rounds=2, epsilon=0.2, random_state=0, basis_kernel=None,
        ).fit(X, y)
        _save(model, X, accelerator, out_dir)
        accelerator.wait_for_everyone()
    finally:
        # Tear the gloo group down before the interpreter exits: left to the
        # exit handlers, its threads can abort both ranks (SIGABRT) on a
        # loaded machine after the results are written.
        accelerator.end_training()


def _save(model, X, accelerator, out_dir):
    import numpy as np
    import torch

    params = torch.cat(
        [p.detach().reshape(-1) for p in model.estimator_.module_.parameters()]
    ).numpy()
    np.savez(
        f"{out_dir}/rank{accelerator.process_index}.npz",
        params=params,
        proba=model.predict_proba(X),
        world=accelerator.num_processes,
        epochs=[r["epochs"] for r in model.history_],
        losses=[r["train_loss"] for r in model.history_],
        batches_first_epoch=len(model.estimator_.history[0, "batches"]),
    )


if __name__ == "__main__":
    main(sys.argv[1])
    # The results are written and the process group is destroyed. Skip the
    # interpreter's teardown: there torch's C++ threads abort a CPU rank now
    # and then ("terminate called without an active exception", SIGABRT; 1
    # run in 20 on a loaded two-core machine even after end_training()).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
