"""Selection of epsilon and the number of rounds from one eigendecomposition."""

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    _fit_context,
    is_classifier,
)
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils._param_validation import Interval
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._classifier import SelfDistilledKernelRidgeClassifier, _encode_labels
from ._kernel_ridge import SelfDistilledKernelRidge, _BaseSelfDistilledKernel
from ._spectral import distill_path, min_reachable_mse

__all__ = ["SelfDistilledKernelRidgeCV", "SelfDistilledKernelRidgeClassifierCV"]

_N_DEFAULT_EPSILONS = 8
_DEFAULT_EPSILON_RANGE = (1e-3, 0.5)

_NOTES = r"""
    **Leave-one-out criterion (cv=None).** For a fixed epsilon, round
    :math:`t` maps the training targets to its training predictions through
    the linear smoother

    .. math::

        S_t = U \operatorname{diag}(B_t) U^\top, \qquad
        B_t = \prod_{i=0}^{t} D (c_i I + D)^{-1},

    with :math:`G = U D U^\top` the eigendecomposition of the normalised Gram
    matrix (eq. (16)) and :math:`c_i` the multipliers of eq. (21). With the
    multipliers held fixed, the leave-one-out residuals of a linear smoother
    are

    .. math::

        r_i = \frac{y_i - (S_t y)_i}{1 - (S_t)_{ii}},

    and ``loo_errors_`` holds their mean square. At round 0,
    :math:`S_0 = K (n c_0 I + K)^{-1}` is kernel ridge regression with the
    penalty :math:`n c_0` (``K`` the raw Gram matrix): the formula is the
    exact leave-one-out error of ``KernelRidge(alpha=n * c_0)``, i.e. of the
    round-0 model with the regularisation :math:`n c_0` held fixed instead of
    re-solving eq. (21) for ``epsilon`` on the n - 1 remaining points. For
    later rounds :math:`S_t` is a product of such smoothers whose targets
    themselves depend on the held-out point, and the formula is a
    generalised cross-validation-like approximation of leave-one-out. Against
    exact leave-one-out (every round and multiplier refitted on n - 1
    points) on four regression problems of 60 points
    (``benchmarks/bench_loo_accuracy.py``), the median relative difference
    was 2 to 5 % (at most 14 %), the rank correlation of the grid points 0.98
    to 1.00, and the selected point the same on all four. Pass ``cv`` for K-fold
    cross-validation, which refits every fold exactly as
    :class:`~sklearn.model_selection.GridSearchCV` would (one
    eigendecomposition per fold serves every grid point).

    With ``normalize_y=True`` the mean and scale of ``y`` are computed once on
    all training points, as a further approximation of leave-one-out.

    **Cost.** One eigendecomposition of the n x n Gram matrix
    (:math:`O(n^3)`), then for every epsilon the multipliers of every round
    (:math:`O(n)` per root-finding evaluation) and the diagonals of all
    :math:`S_t` (:math:`O(n^2)` per round and output). The selected model is
    then refitted on all training points from that same eigendecomposition
    (with a low-rank solver, from the same spectrum and landmarks), so the
    whole search costs one eigendecomposition; K-fold computes one per fold
    and one on all points for the refit.

    **Low-rank solvers.** With ``eigen_solver="randomized"`` or
    ``"nystroem"`` only the ``m = n_components`` leading directions are
    kept and :math:`S_t = F \operatorname{diag}(B_t) F^\top`, with
    :math:`F` (n x m) the orthonormal basis of the kept directions (the
    leading eigenvectors, or for Nystroem the whitened landmark features
    times the eigenvectors of their m x m Gram matrix); the directions not
    kept count as eigenvalue 0, as in the fit, so the multipliers are those
    of the fitted low-rank model. :math:`S_t y = F (B_t z_0)` and
    :math:`\operatorname{diag}(S_t) = (F \circ F) B_t` of every grid point
    come from one pass over chunks of rows of :math:`F`
    (:math:`O(n m)` per grid point and output, after the solver's own cost);
    with Nystroem :math:`F` is computed chunk by chunk from the kernel
    between the points and the landmarks and never held for all points.
    With ``scoring=None`` the squared errors are summed chunk by chunk;
    another ``scoring`` needs the held-out predictions of every grid point
    (n x n_epsilons x (max_rounds + 1) floats per output). With ``cv``,
    every fold runs the same solver on its training part and predicts its
    held-out part from the landmarks, the numbers of
    :class:`~sklearn.model_selection.GridSearchCV` on
    :class:`SelfDistilledKernelRidge` with the same solver and an int
    ``random_state``.

    **Searching on a cluster.** The grid here is searched in one process. To
    search other parameters (``kernel``, ``gamma``) or to use another
    estimator with :class:`~sklearn.model_selection.GridSearchCV`, the search
    runs on a Dask cluster through joblib's ``"dask"`` backend
    (``with joblib.parallel_backend("dask"): search.fit(X, y)`` after
    creating a ``dask.distributed.Client``), and on Ray through
    ``ray.util.joblib.register_ray()`` and ``joblib.parallel_backend("ray")``.
"""


class _FixedResponse(BaseEstimator):
    """Answer a scorer with responses computed beforehand (input ignored)."""

    def __init__(self, *, predictions=None, scores=None, probabilities=None,
                 classes=None, estimator_type="regressor"):
        self.predictions = predictions
        self.scores = scores
        self.probabilities = probabilities
        self.classes = classes
        self.estimator_type = estimator_type

    @property
    def classes_(self):
        return self.classes

    def predict(self, X):
        return self.predictions

    @available_if(lambda self: self.scores is not None)
    def decision_function(self, X):
        return self.scores

    @available_if(lambda self: self.probabilities is not None)
    def predict_proba(self, X):
        return self.probabilities

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = self.estimator_type
        return tags


def _check_epsilons(epsilons, reference_mse):
    """The grid of epsilons: user values, or 8 geometric values of the scale."""
    if epsilons is None:
        low, high = _DEFAULT_EPSILON_RANGE
        return np.geomspace(low, high, _N_DEFAULT_EPSILONS) * reference_mse
    grid = np.asarray(epsilons, dtype=np.float64)
    if grid.ndim != 1 or grid.shape[0] == 0:
        raise ValueError(
            "epsilons must be a non-empty 1-D array of positive floats (one "
            f"scalar tolerance per grid point); got shape {grid.shape}."
        )
    if not np.all(np.isfinite(grid)) or np.any(grid <= 0):
        raise ValueError(
            f"epsilons must be finite and > 0; got {grid.tolist()}."
        )
    return grid


def _grid_coefficients(d, Z0, epsilons, max_rounds, ground_truth_weight,
                       residual=None, n_samples=None):
    """B_t of every epsilon, round and output, and which grid points are valid.

    Returns ``B`` of shape (n_eps, max_rounds + 1, len(d), Q), ``valid`` of
    shape (n_eps, max_rounds + 1) (feasible and not collapsed for every output)
    and ``infeasible`` of shape (n_eps,). With a low-rank spectrum,
    ``residual`` is the energy of each target column outside the kept span and
    ``n_samples`` the number of points: those directions count as one extra
    zero eigenvalue (unfittable), exactly as in the fit.
    """
    n_kept = d.shape[0]
    if residual is not None:
        d = np.append(d, 0.0)
        Z0 = np.vstack([Z0, np.sqrt(residual)[None, :]])
    n = d.shape[0] if n_samples is None else n_samples
    n_outputs = Z0.shape[1]
    n_eps = epsilons.shape[0]
    B = np.zeros((n_eps, max_rounds + 1, d.shape[0], n_outputs))
    valid = np.ones((n_eps, max_rounds + 1), dtype=bool)
    infeasible = np.zeros(n_eps, dtype=bool)
    floors = [
        min_reachable_mse(d, Z0[:, q], n_samples=n) for q in range(n_outputs)
    ]
    energies = [float(Z0[:, q] @ Z0[:, q]) / n for q in range(n_outputs)]
    for e, eps in enumerate(epsilons):
        for q in range(n_outputs):
            if floors[q] >= eps and energies[q] > eps:
                infeasible[e] = True
            else:
                try:
                    _, B[e, :, :, q], collapsed = distill_path(
                        d, Z0[:, q], eps, max_rounds,
                        ground_truth_weight=ground_truth_weight, n_samples=n,
                    )
                except ValueError:
                    # Within round-off above the floor: infeasible as well.
                    infeasible[e] = True
            if infeasible[e]:
                valid[e] = False
                B[e] = 0.0
                break
            valid[e] &= ~collapsed
    return B[:, :, :n_kept], valid, infeasible


#: Rows of one chunk of the low-rank leave-one-out pass times the larger of
#: n_components and the number of (epsilon, round, output) columns stay below
#: this many floats (32 MiB per array).
_LOO_CHUNK_FLOATS = 2**22


def _unkept(spectrum, n):
    """Energy outside the kept span when the fit treats it as unfittable."""
    low_rank = spectrum.d.shape[0] < n or np.any(spectrum.residual > 0)
    return spectrum.residual if low_rank else None


def _row_basis(spectrum, X):
    """Rows of the orthonormal basis F (n x m) of the kept directions.

    ``F = kernel(X, X_fit) @ dual_map * dual_scale / d``: the training
    predictions of the eigenbasis, the same map the fitted model predicts
    with. With eigenvectors at hand (dense, randomized) it is their rows;
    with Nystroem it is computed chunk by chunk and never held for all rows.
    """
    ops = spectrum.ops
    if spectrum.U is not None:
        U = ops.to_numpy(spectrum.U)
        return lambda start, stop: U[start:stop]
    d = spectrum.d
    scale = np.divide(spectrum.dual_scale, d, out=np.zeros_like(d), where=d > 0)
    F_map = spectrum.dual_map * ops.asarray(scale)[None, :]
    X_fit = spectrum.X_fit
    return lambda start, stop: ops.to_numpy(
        ops.kernel(X[start:stop], X_fit) @ F_map
    )


def _apply(M, BZ):
    """``M @ BZ[t]`` for every t as one matrix product; BZ has shape (T, n, Q)."""
    T, n, Q = BZ.shape
    out = M @ BZ.transpose(1, 0, 2).reshape(n, T * Q)
    return out.reshape(M.shape[0], T, Q).transpose(1, 0, 2)


class _BaseSelfDistilledKernelCV(_BaseSelfDistilledKernel):
    """Grid selection shared by the regressor and the classifier."""

    _parameter_constraints: dict = {
        **{
            key: value
            for key, value in _BaseSelfDistilledKernel._parameter_constraints.items()
            if key not in ("epsilon", "n_rounds", "on_collapse")
        },
        "epsilons": ["array-like", None],
        "max_rounds": [Interval(Integral, 0, None, closed="left")],
        "cv": ["cv_object"],
        "scoring": [str, callable, None],
    }

    # -- subclass hooks ---------------------------------------------------
    # _encode(y) -> (Y2d, reference_mse); _decode_predictions(P2d) -> output
    # in the units a scorer expects; _make_final(epsilon, n_rounds).

    def _kernel_kwargs(self):
        return {
            key: getattr(self, key)
            for key in ("kernel", "gamma", "degree", "coef0", "kernel_params")
        }

    def _score_rounds(self, P, y_true, scorer):
        """Scorer values of a (T, m, Q) block of held-out predictions."""
        dummy_X = np.zeros((P.shape[1], 1))
        return np.array(
            [scorer(self._response(P[t]), dummy_X, y_true) for t in range(P.shape[0])],
            dtype=np.float64,
        )

    def _select(self, X, y):
        try:
            return self._select_and_refit(X, y)
        finally:
            # Never keep the search's eigenvectors on the fitted estimator.
            self.__dict__.pop("_search_spectrum", None)

    def _select_and_refit(self, X, y):
        if self.kernel == "precomputed" and X.shape[0] != X.shape[1]:
            raise ValueError(
                "With kernel='precomputed', X must be the square Gram matrix of "
                f"the training points; got shape {X.shape}."
            )
        Y, reference = self._encode(y, fit=True)
        epsilons = _check_epsilons(self.epsilons, reference)
        scorer = None if self.scoring is None else check_scoring(
            self._template(), scoring=self.scoring
        )
        n_rounds = self.max_rounds + 1
        if self.cv is None:
            scores, errors, valid, infeasible = self._loo_scores(
                X, Y, y, epsilons, scorer
            )
            split_scores = None
        else:
            scores, errors, valid, infeasible, split_scores = self._kfold_scores(
                X, y, epsilons, scorer
            )
        worst = -np.inf
        scores = np.where(valid, scores, worst)
        errors = np.where(valid, errors, np.inf)
        if not valid.any():
            raise ValueError(
                "Every grid point was infeasible (epsilon below the smallest "
                "training mean squared error the kernel reaches) or collapsed "
                f"(epsilon at or above the targets' mean square); epsilons="
                f"{epsilons.tolist()}. Pass larger epsilons within that range "
                "or another kernel."
            )
        if not valid.all():
            bad_eps = epsilons[infeasible]
            n_infeasible = int(infeasible.sum()) * n_rounds
            n_collapsed = int((~valid).sum()) - n_infeasible
            reasons = []
            if n_infeasible:
                reasons.append(
                    f"{n_infeasible} infeasible (epsilon in "
                    f"{np.round(bad_eps, 6).tolist()} is below the smallest "
                    "training mean squared error the kernel reaches)"
                )
            if n_collapsed:
                reasons.append(
                    f"{n_collapsed} collapsed to the zero function (the targets' "
                    "mean square fell to epsilon or below)"
                )
            warnings.warn(
                f"{int((~valid).sum())} of {valid.size} grid points (epsilon, "
                "n_rounds) got the worst score: " + " and ".join(reasons) + ".",
                UserWarning,
                stacklevel=4,
            )
        flat = scores.ravel()
        self.epsilons_ = epsilons
        self.loo_errors_ = errors
        order = np.argsort(-flat, kind="stable")
        rank = np.empty(flat.shape[0], dtype=np.int32)
        # Ties share the smallest rank, as in GridSearchCV.
        sorted_scores = flat[order]
        ranks_sorted = np.empty_like(rank)
        ranks_sorted[0] = 1
        for i in range(1, flat.shape[0]):
            ranks_sorted[i] = (
                ranks_sorted[i - 1] if sorted_scores[i] == sorted_scores[i - 1]
                else i + 1
            )
        rank[order] = ranks_sorted
        eps_col = np.repeat(epsilons, n_rounds)
        rounds_col = np.tile(np.arange(n_rounds), epsilons.shape[0])
        results = {
            "param_epsilon": eps_col,
            "param_n_rounds": rounds_col,
            "params": [
                {"epsilon": float(e), "n_rounds": int(t)}
                for e, t in zip(eps_col, rounds_col)
            ],
        }
        if split_scores is not None:
            for k, s in enumerate(split_scores):
                results[f"split{k}_test_score"] = np.where(valid, s, worst).ravel()
            stacked = np.where(valid, np.stack(split_scores), 0.0)
            results["std_test_score"] = np.where(
                valid, stacked.std(axis=0), np.inf
            ).ravel()
        results["mean_test_score"] = flat
        results["rank_test_score"] = rank
        self.cv_results_ = results

        # Refit the best grid point. With cv, a point feasible on every
        # training fold can be infeasible on all points (more points, a larger
        # numerical null space): then the next best point is refitted.
        skipped = []
        for best in np.argsort(-flat, kind="stable"):
            if not np.isfinite(flat[best]):
                raise ValueError(
                    "No grid point could be refitted on all training points: "
                    f"the epsilons {skipped} are below the smallest training "
                    "mean squared error the kernel reaches there. Pass larger "
                    "epsilons."
                )
            e_best, t_best = np.unravel_index(best, scores.shape)
            final = self._make_final(float(epsilons[e_best]), int(t_best))
            # Used by the first refit only, when the targets are the search's.
            search_spectrum = self.__dict__.pop("_search_spectrum", None)
            if search_spectrum is not None:
                final._reusable_spectrum = search_spectrum
            try:
                final.fit(X, y)
            except ValueError as error:
                if "below the smallest training mean squared" not in str(error):
                    raise
                skipped.append(float(epsilons[e_best]))
                continue
            break
        if skipped:
            warnings.warn(
                f"The best grid points with epsilon in {skipped} could not be "
                "refitted on all training points (epsilon below the smallest "
                "training mean squared error the kernel reaches there); the "
                "best refittable point was used.",
                UserWarning,
                stacklevel=4,
            )
        self.best_epsilon_ = float(epsilons[e_best])
        self.best_n_rounds_ = int(t_best)
        self.best_score_ = float(flat[best])
        self.best_estimator_ = final
        for name in (
            "dual_coef_", "X_fit_", "eigenvalues_", "c_", "basis_coefficients_",
            "collapsed_", "train_mse_", "min_reachable_mse_", "guaranteed_rounds_",
            "condition_number_",
        ):
            setattr(self, name, getattr(final, name))
        if self.store_eigenvectors:
            self.eigenvectors_ = final.eigenvectors_
        return self

    def _loo_scores(self, X, Y, y, epsilons, scorer):
        if self.eigen_solver != "dense":
            return self._low_rank_loo_scores(X, Y, y, epsilons, scorer)
        spectrum = self._spectrum(X, Y)
        # The refit on all points reuses this eigendecomposition.
        self._search_spectrum = (spectrum, X, Y)
        d, Z0 = spectrum.d, spectrum.Z0
        U = spectrum.ops.to_numpy(spectrum.U)
        U2 = U * U
        B, valid, infeasible = _grid_coefficients(
            d, Z0, epsilons, self.max_rounds, self.ground_truth_weight
        )
        n_rounds = self.max_rounds + 1
        scores = np.empty((epsilons.shape[0], n_rounds))
        errors = np.empty_like(scores)
        for e in range(epsilons.shape[0]):
            if infeasible[e]:
                scores[e] = -np.inf
                errors[e] = np.inf
                continue
            fitted = _apply(U, B[e] * Z0[None])
            leverage = _apply(U2, B[e])
            residual = (Y[None] - fitted) / (1.0 - leverage)
            scores[e], errors[e] = self._score_block(Y[None] - residual, Y, y, scorer)
        return scores, errors, valid, infeasible

    def _low_rank_loo_scores(self, X, Y, y, epsilons, scorer):
        """The leave-one-out criterion from a low-rank spectrum, chunked by rows.

        ``S_t = F diag(B_t) F^T`` with ``F`` the orthonormal basis of the kept
        directions: ``S_t y = F (B_t z_0)`` and ``diag(S_t) = (F * F) B_t``
        for every grid point come from one pass over chunks of rows of ``F``.
        """
        n, n_outputs = Y.shape
        spectrum = self._spectrum(X, Y)
        self._search_spectrum = (spectrum, X, Y)
        d, Z0 = spectrum.d, spectrum.Z0
        m = d.shape[0]
        B, valid, infeasible = _grid_coefficients(
            d, Z0, epsilons, self.max_rounds, self.ground_truth_weight,
            residual=_unkept(spectrum, n), n_samples=n,
        )
        n_eps, n_rounds = valid.shape
        # Columns ordered (epsilon, round, output).
        B_cols = B.transpose(2, 0, 1, 3).reshape(m, -1)
        BZ_cols = (B * Z0[None, None]).transpose(2, 0, 1, 3).reshape(m, -1)
        rows = _row_basis(spectrum, X)
        chunk = max(1, _LOO_CHUNK_FLOATS // max(m, B_cols.shape[1]))
        predictions = (
            None if scorer is None else np.empty((n_eps, n_rounds, n, n_outputs))
        )
        squared = np.zeros((n_eps, n_rounds))
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            F = rows(start, stop)
            shape = (stop - start, n_eps, n_rounds, n_outputs)
            fitted = (F @ BZ_cols).reshape(shape).transpose(1, 2, 0, 3)
            leverage = ((F * F) @ B_cols).reshape(shape).transpose(1, 2, 0, 3)
            Y_chunk = Y[start:stop]
            held_out = Y_chunk - (Y_chunk - fitted) / (1.0 - leverage)
            if predictions is not None:
                predictions[:, :, start:stop] = held_out
                continue
            for e in np.flatnonzero(~infeasible):
                mse = self._score_block(held_out[e], Y_chunk, None, None)[1]
                squared[e] += mse * (stop - start)
        scores = np.full((n_eps, n_rounds), -np.inf)
        errors = np.full((n_eps, n_rounds), np.inf)
        for e in np.flatnonzero(~infeasible):
            if predictions is None:
                errors[e] = squared[e] / n
                scores[e] = -errors[e]
            else:
                scores[e], errors[e] = self._score_block(
                    predictions[e], Y, y, scorer
                )
        return scores, errors, valid, infeasible

    def _kfold_scores(self, X, y, epsilons, scorer):
        cv = check_cv(self.cv, y, classifier=is_classifier(self))
        n_rounds = self.max_rounds + 1
        n_eps = epsilons.shape[0]
        split_scores, split_errors = [], []
        valid = np.ones((n_eps, n_rounds), dtype=bool)
        infeasible = np.zeros(n_eps, dtype=bool)
        for train, test in cv.split(X, y):
            if self.kernel == "precomputed":
                X_train, X_test = X[np.ix_(train, train)], X[np.ix_(test, train)]
            else:
                X_train, X_test = X[train], X[test]
            Y_train, _ = self._encode(y[train], fit=True)
            Y_test, _ = self._encode(y[test], fit=False)
            n = X_train.shape[0]
            if self.eigen_solver == "dense":
                spectrum = self._spectrum(X_train, Y_train)
                d, Z0 = spectrum.d, spectrum.Z0
                KU = self._get_kernel(X_test, X_train) @ spectrum.ops.to_numpy(
                    spectrum.U
                )
                residual, spectrum = None, None
            else:
                # The fit's own solver on the training part; predictions go
                # through its dual coefficients on X_fit (the landmarks with
                # Nystroem), exactly as the fitted model predicts.
                spectrum = self._spectrum(X_train, Y_train)
                d, Z0 = spectrum.d, spectrum.Z0
                K_test = self._get_kernel(X_test, spectrum.X_fit)
                residual = _unkept(spectrum, n)
            inv_d = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
            B, fold_valid, fold_infeasible = _grid_coefficients(
                d, Z0, epsilons, self.max_rounds, self.ground_truth_weight,
                residual=residual, n_samples=n,
            )
            valid &= fold_valid
            infeasible |= fold_infeasible
            scores = np.full((n_eps, n_rounds), -np.inf)
            errors = np.full((n_eps, n_rounds), np.inf)
            for e in range(n_eps):
                if fold_infeasible[e]:
                    continue
                scaled = B[e] * (inv_d[None, :, None] * Z0[None])
                if spectrum is None:
                    pred = _apply(KU, scaled / n)
                else:
                    pred = _apply(K_test, spectrum.dual_coef(scaled))
                scores[e], errors[e] = self._score_block(pred, Y_test, y[test], scorer)
            split_scores.append(scores)
            split_errors.append(errors)
        # Fold statistics must not depend on the last fold's normalisation.
        self._encode(y, fit=True)
        return (
            np.mean(split_scores, axis=0), np.mean(split_errors, axis=0),
            valid, infeasible, split_scores,
        )


class SelfDistilledKernelRidgeCV(RegressorMixin, _BaseSelfDistilledKernelCV):
    r"""Self-distilled kernel ridge regression with epsilon and rounds selected.

    Like :class:`~sklearn.linear_model.RidgeCV`, it scores a grid of
    tolerances ``epsilons`` (eq. (1) of [1]_) and every number of rounds from
    0 to ``max_rounds`` from ONE eigendecomposition of the training Gram
    matrix, by the leave-one-out error of the equivalent linear smoother
    (exact at round 0 with the regularisation held fixed, see Notes), or by
    K-fold cross-validation with ``cv``. The best grid point is refitted as a
    :class:`SelfDistilledKernelRidge` on all training points, whose fitted
    attributes and predictions this estimator exposes.

    Parameters
    ----------
    epsilons : array-like of shape (n_epsilons,), default=None
        Training mean squared error tolerances to try. ``None`` means 8
        values geometrically spaced between 1e-3 and 0.5 times the mean
        square of ``y`` (averaged over outputs), or of the standardised ``y``
        with ``normalize_y=True`` (then the values are fractions of
        ``var(y)``, as :class:`SelfDistilledKernelRidge`'s ``epsilon``).
    max_rounds : int, default=10
        Largest number of self-distillation rounds tried; every number from
        0 to ``max_rounds`` is scored.
    kernel : str, callable or Kernel, default="rbf"
        Kernel, as in :class:`SelfDistilledKernelRidge`.
    gamma : float, default=None
        Gamma of the RBF, laplacian, polynomial, exponential chi2 and sigmoid
        kernels; ``None`` means ``1 / n_features``.
    degree : float, default=3
        Degree of the polynomial kernel.
    coef0 : float, default=1
        Zero coefficient of the polynomial and sigmoid kernels.
    kernel_params : dict, default=None
        Additional parameters of a kernel given as a callable or a name.
    normalize_y : bool, default=False
        Standardise ``y`` before fitting, as in
        :class:`SelfDistilledKernelRidge`.
    ground_truth_weight : float in [0, 1), default=0.0
        Weight of the labels in each round's targets ([2]_).
    store_eigenvectors : bool, default=False
        Keep the refitted model's eigenvectors in ``eigenvectors_``.
    cv : int, cross-validation generator or iterable, default=None
        ``None``: the leave-one-out criterion of Notes from one
        eigendecomposition. An integer or a splitter: K-fold cross-validation
        (one eigendecomposition per fold, every grid point from it), the same
        numbers as :class:`~sklearn.model_selection.GridSearchCV` on
        :class:`SelfDistilledKernelRidge` with these folds.
    scoring : str or callable, default=None
        ``None`` selects the smallest mean squared error. Otherwise a scorer
        name or ``scorer(estimator, X, y)`` (greater is better), applied to the
        leave-one-out predictions of all training points (``cv=None``) or to
        each fold's held-out predictions.
    eigen_solver : {"dense", "randomized", "nystroem"}, default="dense"
        Spectral solver of the search, of every fold and of the refitted
        model, as in :class:`SelfDistilledKernelRidge`. With a low-rank
        solver the grid is scored from the ``n_components`` kept directions,
        the others counting as unfittable (eigenvalue 0), exactly as in the
        fitted model: an epsilon below the part of ``y`` outside them is an
        infeasible grid point. With ``"nystroem"`` the leave-one-out
        criterion streams the rows in chunks, so memory does not grow with
        n_samples beyond the data and the held-out predictions a ``scoring``
        needs (see Notes).
    n_components : int, default=None
        Number of leading eigenpairs kept by the low-rank solvers (required
        by them, at most the number of points of every training fold);
        ignored by ``"dense"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the low-rank solvers (the test matrix of ``"randomized"``, the
        landmarks of ``"nystroem"``) in the search, every fold and the refit;
        an int draws the same landmarks on the same points, as
        :class:`SelfDistilledKernelRidge` with that ``random_state`` would.
    device : str, default=None
        ``None`` computes with numpy; a torch device (``"cuda"``, ``"cpu"``)
        computes every eigendecomposition of the search and the refit there
        in float64 (see :class:`SelfDistilledKernelRidge`).

    Attributes
    ----------
    best_epsilon_ : float
        Selected tolerance.
    best_n_rounds_ : int
        Selected number of rounds.
    best_score_ : float
        Score of the selected grid point (minus its mean squared error when
        ``scoring=None``).
    epsilons_ : ndarray of shape (n_epsilons,)
        The grid of tolerances that was searched.
    loo_errors_ : ndarray of shape (n_epsilons, max_rounds + 1)
        Mean squared held-out error of every grid point in the units of
        ``y``: leave-one-out (``cv=None``) or averaged over folds; ``inf`` for
        infeasible or collapsed points.
    cv_results_ : dict of ndarray
        One entry per grid point, epsilon-major: ``param_epsilon``,
        ``param_n_rounds``, ``params``, ``mean_test_score`` (``-inf`` for
        infeasible or collapsed points), ``rank_test_score``, and with ``cv``
        ``split{k}_test_score`` and ``std_test_score``.
    best_estimator_ : SelfDistilledKernelRidge
        The selected model refitted on all training points.
    dual_coef_, X_fit_, eigenvalues_, c_, basis_coefficients_, collapsed_, \
train_mse_, min_reachable_mse_, guaranteed_rounds_, condition_number_ : ndarray
        Those of ``best_estimator_`` (see :class:`SelfDistilledKernelRidge`).
    eigenvectors_ : ndarray of shape (n_samples, n_eigen)
        Only with ``store_eigenvectors=True`` (n_eigen is n_samples, or
        n_components with ``eigen_solver="randomized"``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    SelfDistilledKernelRidge : The estimator whose parameters are selected.
    SelfDistilledKernelRidgeClassifierCV : The same for classification.
    sklearn.linear_model.RidgeCV : The same idea for linear ridge's alpha.

    Notes
    -----
    NOTES_PLACEHOLDER
    An infeasible or collapsed grid point gets the worst score (``-inf``) and
    the fit warns once; if every point is, fit raises a ValueError.

    References
    ----------
    .. [1] H. Mobahi, M. Farajtabar and P. L. Bartlett, "Self-Distillation
       Amplifies Regularization in Hilbert Space", NeurIPS 2020.
       :arxiv:`2002.05715`
    .. [2] K. Borup and L. N. Andersen, "Even your Teacher Needs Guidance:
       Ground-Truth Targets Dampen Regularization Imposed by
       Self-Distillation", NeurIPS 2021. :arxiv:`2102.13088`

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_selfdistill import SelfDistilledKernelRidgeCV
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(size=(80, 1))
    >>> y = np.sin(2 * np.pi * X[:, 0]) + 0.3 * rng.randn(80)
    >>> model = SelfDistilledKernelRidgeCV(gamma=10.0, max_rounds=5).fit(X, y)
    >>> model.loo_errors_.shape
    (8, 6)
    >>> model.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {
        **_BaseSelfDistilledKernelCV._parameter_constraints,
        "normalize_y": ["boolean"],
    }

    def __init__(
        self,
        *,
        epsilons=None,
        max_rounds=10,
        kernel="rbf",
        gamma=None,
        degree=3,
        coef0=1,
        kernel_params=None,
        normalize_y=False,
        ground_truth_weight=0.0,
        store_eigenvectors=False,
        cv=None,
        scoring=None,
        eigen_solver="dense",
        n_components=None,
        random_state=None,
        device=None,
    ):
        self.epsilons = epsilons
        self.max_rounds = max_rounds
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.kernel_params = kernel_params
        self.normalize_y = normalize_y
        self.ground_truth_weight = ground_truth_weight
        self.store_eigenvectors = store_eigenvectors
        self.cv = cv
        self.scoring = scoring
        self.eigen_solver = eigen_solver
        self.n_components = n_components
        self.random_state = random_state
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.kernel == "precomputed"
        tags.target_tags.multi_output = True
        return tags

    def _template(self):
        return SelfDistilledKernelRidge()

    def _make_final(self, epsilon, n_rounds):
        return SelfDistilledKernelRidge(
            epsilon=epsilon, n_rounds=n_rounds, normalize_y=self.normalize_y,
            ground_truth_weight=self.ground_truth_weight,
            store_eigenvectors=self.store_eigenvectors, device=self.device,
            eigen_solver=self.eigen_solver, n_components=self.n_components,
            random_state=self.random_state, **self._kernel_kwargs(),
        )

    def _encode(self, y, fit):
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if fit:
            if self.normalize_y:
                self._y_mean = Y.mean(axis=0)
                std = Y.std(axis=0)
                self._y_std = np.where(std > 0, std, 1.0)
            else:
                self._y_mean = np.zeros(Y.shape[1])
                self._y_std = np.ones(Y.shape[1])
        Yn = (Y - self._y_mean) / self._y_std
        return Yn, float(np.mean(Yn * Yn)) if fit else None

    def _score_block(self, P, Y_true, y_true, scorer):
        # Errors in the units of y: weight each output by its variance.
        R = (P - Y_true[None]) * self._y_std
        mse = np.einsum("tiq,tiq->t", R, R) / (R.shape[1] * R.shape[2])
        if scorer is None:
            return -mse, mse
        return self._score_rounds(P, y_true, scorer), mse

    def _response(self, P):
        pred = P * self._y_std + self._y_mean
        if self._single_output:
            pred = pred[:, 0]
        return _FixedResponse(predictions=pred, estimator_type="regressor")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Select epsilon and the number of rounds, then refit on all of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, or the Gram matrix with ``kernel="precomputed"``.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = validate_data(
            self, X, y, dtype=np.float64, multi_output=True, y_numeric=True
        )
        y = np.asarray(y, dtype=np.float64)
        self._single_output = y.ndim == 1
        return self._select(X, y)

    def predict(self, X):
        """Predict with the selected, refitted model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples (or kernel values with ``kernel="precomputed"``).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        check_is_fitted(self, "best_estimator_")
        X = self._validate_X(X, reset=False)
        return self.best_estimator_.predict(X)

    def staged_predict(self, X):
        """Predict with every round of the refitted model, 0 to ``best_n_rounds_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples (or kernel values with ``kernel="precomputed"``).

        Yields
        ------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        check_is_fitted(self, "best_estimator_")
        X = self._validate_X(X, reset=False)
        yield from self.best_estimator_.staged_predict(X)


class SelfDistilledKernelRidgeClassifierCV(ClassifierMixin, _BaseSelfDistilledKernelCV):
    r"""Self-distilled kernel ridge classifier with epsilon and rounds selected.

    Like :class:`~sklearn.linear_model.RidgeClassifierCV`: the one-vs-all
    -1/+1 coded targets of :class:`SelfDistilledKernelRidgeClassifier` are
    fitted for a grid of tolerances ``epsilons`` and every number of rounds
    from 0 to ``max_rounds`` from ONE eigendecomposition, scored by the
    leave-one-out error of the equivalent linear smoother (see Notes) or by
    K-fold cross-validation with ``cv``, and the best grid point is refitted
    on all training points.

    Parameters
    ----------
    epsilons : array-like of shape (n_epsilons,), default=None
        Tolerances on the coded targets to try. ``None`` means 8 values
        geometrically spaced between 1e-3 and 0.5 (the coded targets have
        mean square 1).
    max_rounds : int, default=10
        Largest number of self-distillation rounds tried.
    kernel : str, callable or Kernel, default="rbf"
        Kernel, as in :class:`SelfDistilledKernelRidgeClassifier`.
    gamma : float, default=None
        Gamma of the RBF, laplacian, polynomial, exponential chi2 and sigmoid
        kernels; ``None`` means ``1 / n_features``.
    degree : float, default=3
        Degree of the polynomial kernel.
    coef0 : float, default=1
        Zero coefficient of the polynomial and sigmoid kernels.
    kernel_params : dict, default=None
        Additional parameters of a kernel given as a callable or a name.
    ground_truth_weight : float in [0, 1), default=0.0
        Weight of the labels in each round's targets ([2]_).
    store_eigenvectors : bool, default=False
        Keep the refitted model's eigenvectors in ``eigenvectors_``.
    cv : int, cross-validation generator or iterable, default=None
        ``None``: the leave-one-out criterion of Notes. An integer or a
        splitter: (stratified) K-fold cross-validation, one
        eigendecomposition per fold.
    scoring : str or callable, default=None
        ``None`` selects the smallest mean squared error on the coded targets
        (as :class:`~sklearn.linear_model.RidgeClassifierCV`); e.g.
        ``"accuracy"`` scores the held-out (leave-one-out) predicted labels.
    eigen_solver : {"dense", "randomized", "nystroem"}, default="dense"
        Spectral solver of the search, of every fold and of the refitted
        model, as in :class:`SelfDistilledKernelRidge`. With a low-rank
        solver the grid is scored from the ``n_components`` kept directions,
        the others counting as unfittable (eigenvalue 0), exactly as in the
        fitted model: an epsilon below the part of ``y`` outside them is an
        infeasible grid point. With ``"nystroem"`` the leave-one-out
        criterion streams the rows in chunks, so memory does not grow with
        n_samples beyond the data and the held-out predictions a ``scoring``
        needs (see Notes).
    n_components : int, default=None
        Number of leading eigenpairs kept by the low-rank solvers (required
        by them, at most the number of points of every training fold);
        ignored by ``"dense"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the low-rank solvers (the test matrix of ``"randomized"``, the
        landmarks of ``"nystroem"``) in the search, every fold and the refit;
        an int draws the same landmarks on the same points, as
        :class:`SelfDistilledKernelRidge` with that ``random_state`` would.
    device : str, default=None
        ``None`` computes with numpy; a torch device (``"cuda"``, ``"cpu"``)
        computes every eigendecomposition of the search and the refit there
        in float64 (see :class:`SelfDistilledKernelRidge`).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    best_epsilon_ : float
        Selected tolerance.
    best_n_rounds_ : int
        Selected number of rounds.
    best_score_ : float
        Score of the selected grid point.
    epsilons_ : ndarray of shape (n_epsilons,)
        The grid of tolerances that was searched.
    loo_errors_ : ndarray of shape (n_epsilons, max_rounds + 1)
        Mean squared held-out error on the coded targets (mean over outputs)
        of every grid point; ``inf`` for infeasible or collapsed points.
    cv_results_ : dict of ndarray
        One entry per grid point, epsilon-major: ``param_epsilon``,
        ``param_n_rounds``, ``params``, ``mean_test_score``,
        ``rank_test_score``, and with ``cv`` ``split{k}_test_score`` and
        ``std_test_score``.
    best_estimator_ : SelfDistilledKernelRidgeClassifier
        The selected model refitted on all training points.
    dual_coef_, X_fit_, eigenvalues_, c_, basis_coefficients_, collapsed_, \
train_mse_, min_reachable_mse_, guaranteed_rounds_, condition_number_ : ndarray
        Those of ``best_estimator_``.
    eigenvectors_ : ndarray of shape (n_samples, n_eigen)
        Only with ``store_eigenvectors=True`` (n_eigen is n_samples, or
        n_components with ``eigen_solver="randomized"``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    SelfDistilledKernelRidgeClassifier : The estimator whose parameters are
        selected.
    SelfDistilledKernelRidgeCV : The same for regression.

    Notes
    -----
    NOTES_PLACEHOLDER
    For classification the smoother acts on every coded column with that
    column's own multipliers, and ``loo_errors_`` averages the columns.

    References
    ----------
    .. [1] H. Mobahi, M. Farajtabar and P. L. Bartlett, "Self-Distillation
       Amplifies Regularization in Hilbert Space", NeurIPS 2020.
       :arxiv:`2002.05715`
    .. [2] K. Borup and L. N. Andersen, "Even your Teacher Needs Guidance:
       Ground-Truth Targets Dampen Regularization Imposed by
       Self-Distillation", NeurIPS 2021. :arxiv:`2102.13088`

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_selfdistill import SelfDistilledKernelRidgeClassifierCV
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SelfDistilledKernelRidgeClassifierCV(
    ...     epsilons=[0.1, 0.2, 0.4], max_rounds=3, scoring="accuracy"
    ... ).fit(X, y)
    >>> clf.loo_errors_.shape
    (3, 4)
    >>> bool(clf.score(X, y) > 0.9)
    True
    """

    def __init__(
        self,
        *,
        epsilons=None,
        max_rounds=10,
        kernel="rbf",
        gamma=None,
        degree=3,
        coef0=1,
        kernel_params=None,
        ground_truth_weight=0.0,
        store_eigenvectors=False,
        cv=None,
        scoring=None,
        eigen_solver="dense",
        n_components=None,
        random_state=None,
        device=None,
    ):
        self.epsilons = epsilons
        self.max_rounds = max_rounds
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.kernel_params = kernel_params
        self.ground_truth_weight = ground_truth_weight
        self.store_eigenvectors = store_eigenvectors
        self.cv = cv
        self.scoring = scoring
        self.eigen_solver = eigen_solver
        self.n_components = n_components
        self.random_state = random_state
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.kernel == "precomputed"
        return tags

    def _template(self):
        return SelfDistilledKernelRidgeClassifier()

    def _make_final(self, epsilon, n_rounds):
        return SelfDistilledKernelRidgeClassifier(
            epsilon=epsilon, n_rounds=n_rounds,
            ground_truth_weight=self.ground_truth_weight,
            store_eigenvectors=self.store_eigenvectors, device=self.device,
            eigen_solver=self.eigen_solver, n_components=self.n_components,
            random_state=self.random_state, **self._kernel_kwargs(),
        )

    def _encode(self, y, fit):
        # Code every fold with the classes of the whole training set, so that
        # each output column means the same class in every fold.
        Y = np.column_stack([np.where(y == c, 1.0, -1.0) for c in self.classes_])
        if self.classes_.shape[0] == 2:
            Y = Y[:, 1:]
        return Y, 1.0

    def _score_block(self, P, Y_true, y_true, scorer):
        R = P - Y_true[None]
        mse = np.einsum("tiq,tiq->t", R, R) / (R.shape[1] * R.shape[2])
        if scorer is None:
            return -mse, mse
        return self._score_rounds(P, y_true, scorer), mse

    def _response(self, P):
        scores = P[:, 0] if P.shape[1] == 1 else P
        if scores.ndim == 1:
            labels = self.classes_[(scores > 0).astype(int)]
        else:
            labels = self.classes_[np.argmax(scores, axis=1)]
        return _FixedResponse(
            predictions=labels, scores=scores, classes=self.classes_,
            estimator_type="classifier",
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Select epsilon and the number of rounds, then refit on all of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, or the Gram matrix with ``kernel="precomputed"``.
        y : array-like of shape (n_samples,)
            Class labels (numbers or strings), at least two classes.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        classes, _ = _encode_labels(y)
        if classes.shape[0] < 2:
            raise ValueError(
                "SelfDistilledKernelRidgeClassifierCV needs samples of at least 2 "
                f"classes in y; got one class only, {classes[0]!r}."
            )
        self.classes_ = classes
        return self._select(X, y)

    def decision_function(self, X):
        """Scores of the selected, refitted model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples (or kernel values with ``kernel="precomputed"``).

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        check_is_fitted(self, "best_estimator_")
        X = self._validate_X(X, reset=False)
        return self.best_estimator_.decision_function(X)

    def predict(self, X):
        """Predict class labels with the selected, refitted model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples (or kernel values with ``kernel="precomputed"``).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "best_estimator_")
        X = self._validate_X(X, reset=False)
        return self.best_estimator_.predict(X)

    def staged_decision_function(self, X):
        """Scores of every round of the refitted model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples (or kernel values with ``kernel="precomputed"``).

        Yields
        ------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        check_is_fitted(self, "best_estimator_")
        X = self._validate_X(X, reset=False)
        yield from self.best_estimator_.staged_decision_function(X)

    def staged_predict(self, X):
        """Predict class labels with every round of the refitted model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples (or kernel values with ``kernel="precomputed"``).

        Yields
        ------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "best_estimator_")
        X = self._validate_X(X, reset=False)
        yield from self.best_estimator_.staged_predict(X)


# The derivation is shared by both classes' Notes.
for _cls in (SelfDistilledKernelRidgeCV, SelfDistilledKernelRidgeClassifierCV):
    _cls.__doc__ = _cls.__doc__.replace("    NOTES_PLACEHOLDER\n", _NOTES.lstrip("\n"))
del _cls
