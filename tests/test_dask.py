"""GridSearchCV on a local Dask cluster through joblib's "dask" backend."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_selfdistill import SelfDistilledKernelRidge

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")


@pytest.fixture(scope="module")
def search_and_data():
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(60, 3))
    y = np.sin(X[:, 0]) + 0.2 * rng.randn(60)
    pipe = make_pipeline(StandardScaler(),
                         SelfDistilledKernelRidge(gamma=0.5, on_collapse="ignore"))
    search = GridSearchCV(
        pipe,
        {"selfdistilledkernelridge__epsilon": [0.05, 0.1],
         "selfdistilledkernelridge__n_rounds": [0, 1, 2]},
        cv=KFold(3, shuffle=True, random_state=0),
        scoring="neg_mean_squared_error",
        n_jobs=-1,
    )
    sequential = GridSearchCV(**{**search.get_params(deep=False), "n_jobs": 1})
    sequential.fit(X, y)
    return search, sequential, X, y


def _run_on_cluster(search, X, y, processes, tmp_path):
    # Bound to the loopback interface; tcp also for the threads variant, whose
    # default in-process transport takes no host.
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=processes,
        host="127.0.0.1", protocol="tcp://", dashboard_address="127.0.0.1:0",
        local_directory=str(tmp_path),
    )
    try:
        with distributed.Client(cluster) as client:
            with distributed.get_task_stream(client) as stream:
                with joblib.parallel_backend("dask"):
                    search.fit(X, y)
            workers = client.scheduler_info()["workers"]
    finally:
        cluster.close()
    # The fits ran on the cluster's workers (6 candidates x 3 folds, batched).
    assert len(stream.data) > 0
    assert {task["worker"] for task in stream.data} <= set(workers)
    return workers


def _assert_same(search, sequential):
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               sequential.cv_results_["mean_test_score"],
                               rtol=1e-12)
    assert search.best_params_ == sequential.best_params_


def test_grid_search_on_dask_threads(search_and_data, tmp_path):
    search, sequential, X, y = search_and_data
    workers = _run_on_cluster(search, X, y, processes=False, tmp_path=tmp_path)
    assert len(workers) == 2
    assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
    _assert_same(search, sequential)


def test_grid_search_on_dask_processes(search_and_data, tmp_path):
    # Worker processes import the package afresh and receive pickled
    # estimators: the results must not change.
    search, sequential, X, y = search_and_data
    workers = _run_on_cluster(search, X, y, processes=True, tmp_path=tmp_path)
    assert len(workers) == 2
    assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
    _assert_same(search, sequential)
