"""What the tests on dask arrays share: data layouts, tolerances, a cluster.

Import it after ``pytest.importorskip("dask.array")``; the cluster is the
``dask_client`` fixture of ``conftest.py``.
"""

import pickle

import numpy as np
import pytest

N = 240

#: Row chunkings: one block (the numpy pass's own blocks at this size), equal
#: blocks, and ragged ones.
CHUNKINGS = {
    "single": (N,),
    "equal": (60, 60, 60, 60),
    "ragged": (1, 100, 37, 2, 100),
}


def dask_array(a, chunking):
    """``a`` as a dask array in the row blocks of ``CHUNKINGS[chunking]``."""
    import dask.array as da

    return da.from_array(a, chunks=(CHUNKINGS[chunking],) + a.shape[1:])


def tol(chunking):
    """1e-10 with the numpy pass's own blocks, 1e-9 otherwise."""
    return 1e-10 if chunking == "single" else 1e-9


def assert_close(a, b, rtol):
    """Equal non-finite entries; finite ones within ``rtol`` of a's largest."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b))
    finite = np.isfinite(a)
    scale = np.max(np.abs(a[finite]), initial=1.0)
    np.testing.assert_allclose(b[finite], a[finite], rtol=0, atol=rtol * scale)


def assert_same_search(ref, model, rtol):
    """A search on dask arrays selected and scored as the numpy one."""
    assert model.cv_results_.keys() == ref.cv_results_.keys()
    for key in ref.cv_results_:
        if key.endswith("_score"):
            assert_close(ref.cv_results_[key], model.cv_results_[key], rtol)
    np.testing.assert_array_equal(model.cv_results_["rank_test_score"],
                                  ref.cv_results_["rank_test_score"])
    assert_close(ref.epsilons_, model.epsilons_, rtol)
    assert_close(ref.loo_errors_, model.loo_errors_, rtol)
    assert model.best_index_ == ref.best_index_
    assert model.best_epsilon_ == pytest.approx(ref.best_epsilon_, rel=1e-12)
    assert model.best_n_rounds_ == ref.best_n_rounds_
    assert_close(ref.c_, model.c_, rtol)
    assert_close(ref.dual_coef_, model.dual_coef_, rtol)
    assert b"dask" not in pickle.dumps(model)
