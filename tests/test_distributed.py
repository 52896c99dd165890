"""Data-parallel self-distillation under torchrun: 2 CPU processes over gloo."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

pytest.importorskip("torch")
pytest.importorskip("skorch")
pytest.importorskip("accelerate")

WORKER = Path(__file__).with_name("_distributed_worker.py")
ROOT = WORKER.parent.parent


def test_torchrun_two_processes_agree(tmp_path):
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p]
    )
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        "--nproc_per_node", "2", str(WORKER), str(tmp_path),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                         env=env, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    r0 = np.load(tmp_path / "rank0.npz")
    r1 = np.load(tmp_path / "rank1.npz")
    assert int(r0["world"]) == int(r1["world"]) == 2
    # Data-parallel: each rank trains on half of the 8 batches of an epoch.
    assert int(r0["batches_first_epoch"]) == int(r1["batches_first_epoch"]) == 4
    # Same weights and predictions on both ranks after 3 rounds.
    assert_array_equal(r0["params"], r1["params"])
    assert_array_equal(r0["proba"], r1["proba"])
    # The epsilon rule saw the same (gathered) full-pass loss on both ranks.
    assert_array_equal(r0["epochs"], r1["epochs"])
    assert_array_equal(r0["losses"], r1["losses"])
    assert len(r0["epochs"]) == 3
