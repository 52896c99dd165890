"""The results of the CV search: ``cv_results_``, the status of every point.

:func:`search_results` lays the scores of the grid out as
:class:`~sklearn.model_selection.GridSearchCV` does (one row per grid point,
the parameter names sorted, the last varying fastest), with the status that
says why a point has the worst score; :func:`selection_on_edge` tells whether
the selected point lies on an edge of the grid.
"""

import numpy as np
from scipy.stats import rankdata

__all__ = [
    "check_any_valid",
    "grid_status",
    "search_results",
    "selection_on_edge",
]


def check_any_valid(epsilons, valid):
    """Raise if no grid point is valid; the others are recorded, not warned.

    Collapse at large epsilon after many rounds is what the theory predicts
    (Sec. 2.1 of Mobahi et al., 2020): such points get the worst score and a
    status in ``cv_results_``, as GridSearchCV records failed fits.
    """
    if not valid.any():
        raise ValueError(
            "Every grid point was infeasible (epsilon below the smallest "
            "training mean squared error the kernel reaches) or collapsed "
            f"(epsilon at or above the targets' mean square); epsilons="
            f"{epsilons.tolist()}. Pass larger epsilons within that range "
            "or another kernel."
        )


def grid_status(valid, infeasible):
    """``"ok"``, ``"collapsed"`` or ``"infeasible"`` of every grid point."""
    status = np.where(valid, "ok", "collapsed").astype(object)
    status[infeasible] = "infeasible"
    return status


def selection_on_edge(best, shape):
    """Whether the point ``best`` of a (n_eps, n_rounds) grid is on its edge.

    An edge is the smallest or largest epsilon (with more than one) or the
    largest number of rounds (with more than one): a wider grid might select
    another point.
    """
    n_eps, n_rounds = shape
    return bool(
        (n_eps > 1 and best[0] in (0, n_eps - 1))
        or (n_rounds > 1 and best[1] == n_rounds - 1)
    )


def search_results(epsilons, scores, valid, split_scores, status=None,
                   weights=None):
    """``cv_results_`` of the grid, epsilon-major, as GridSearchCV lays it out.

    ``scores`` has shape (n_eps, n_rounds), or (n_eps, n_weights, n_rounds)
    when ``weights`` (the searched ground-truth weights) is given: the rows
    are then ordered (epsilon, ground_truth_weight, n_rounds), the order of
    GridSearchCV's sorted parameter names. ``scores`` already holds ``-inf``
    at invalid points. Ties share the smallest rank, as in GridSearchCV.
    ``status`` (the shape of ``scores``) says why a point has the worst
    score (:func:`grid_status`).
    """
    n_rounds = scores.shape[-1]
    n_weights = 1 if weights is None else weights.shape[0]
    flat = scores.ravel()
    eps_col = np.repeat(epsilons, n_weights * n_rounds)
    rounds_col = np.tile(np.arange(n_rounds), epsilons.shape[0] * n_weights)
    results = {"param_epsilon": eps_col}
    if weights is None:
        params = [
            {"epsilon": float(e), "n_rounds": int(t)}
            for e, t in zip(eps_col, rounds_col)
        ]
    else:
        weight_col = np.tile(np.repeat(weights, n_rounds), epsilons.shape[0])
        results["param_ground_truth_weight"] = weight_col
        params = [
            {"epsilon": float(e), "ground_truth_weight": float(w), "n_rounds": int(t)}
            for e, w, t in zip(eps_col, weight_col, rounds_col)
        ]
    results["param_n_rounds"] = rounds_col
    results["params"] = params
    if split_scores is not None:
        for k, s in enumerate(split_scores):
            results[f"split{k}_test_score"] = np.where(valid, s, -np.inf).ravel()
        stacked = np.where(valid, np.stack(split_scores), 0.0)
        results["std_test_score"] = np.where(
            valid, stacked.std(axis=0), np.inf
        ).ravel()
    results["mean_test_score"] = flat
    if status is not None:
        results["status"] = np.asarray(status, dtype=object).ravel()
    # A scorer's NaN ranks last, as in GridSearchCV.
    ranked = np.where(np.isnan(flat), -np.inf, flat)
    results["rank_test_score"] = rankdata(-ranked, method="min").astype(np.int32)
    return results
