"""The grid search of the CV estimators: epsilon x weight x rounds from few spectra.

Every grid point ``(epsilon, ground_truth_weight, n_rounds)`` of a spectrum
comes from :func:`~._distill.distill_path` on that one spectrum; the criteria
see the (weight, round) pairs as one axis of "stages" and the search reshapes
them. Two criteria score them:

* :func:`loo_scores`, the leave-one-out error of the linear smoother
  ``S_t = F diag(B_t) F^T`` (``F`` the orthonormal basis of the kept
  directions), one pass over chunks of rows of ``F`` for every solver;
* :func:`kfold_scores`, a spectrum per training fold and the held-out
  predictions of every grid point through the fold's dual map.

A new criterion is a function returning ``(scores, errors, valid,
infeasible, split_scores)`` like these two, called from
:meth:`_BaseSelfDistilledKernelCV._search`. The refit hands the search's
spectrum to the refitted estimator's ``_fit`` as an argument: the whole
leave-one-out search costs one spectrum.
"""

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._dask import is_dask_array, validate_data
from ._dask_solver import dask_folds, dask_held_out, dask_loo_scores
from ._distill import distill_path
from ._doc_link import DocLinkMixin
from ._grid import check_epsilons, check_reference_scale, default_epsilons
from ._gt_weights import (
    GROUND_TRUTH_WEIGHTS_CONSTRAINTS,
    resolve_ground_truth_weights,
)
from ._kernel_ridge import (
    FITTED_ATTRIBUTES,
    KERNEL_CONSTRAINTS,
    check_square_gram,
    fit_weights,
    kernel_kwargs,
)
from ._search_results import (
    check_any_valid,
    grid_status,
    search_results,
    selection_on_edge,
)
from ._solvers import compute_spectrum, solver_params
from ._targets import check_weighted_classes
from .exceptions import InfeasibleEpsilonError
from .kernels import _pairwise

__all__ = [
    "grid_coefficients",
    "kfold_scores",
    "loo_scores",
]

#: Rows of one chunk of the leave-one-out pass times the larger of
#: n_components and the number of (epsilon, round, output) columns stay below
#: this many floats (32 MiB per array).
_LOO_CHUNK_FLOATS = 2**22


def grid_coefficients(spectrum, epsilons, max_rounds, ground_truth_weights):
    """B_t of every epsilon, weight, round and output, and which points are valid.

    The stage axis runs over (weight, round) pairs, weight-major: stage
    ``k * (max_rounds + 1) + t`` is round ``t`` with weight
    ``ground_truth_weights[k]``. Returns ``B`` of shape (n_eps, n_stages, m,
    Q) on the kept eigenvalues, ``valid`` of shape (n_eps, n_stages)
    (feasible and not collapsed for every output) and ``infeasible`` of shape
    (n_eps,) (the floor does not depend on the weight). The unfittable
    remainder of a low-rank spectrum counts as one zero eigenvalue, exactly
    as in the fit.
    """
    d, Z = spectrum.augmented()
    n = spectrum.n_samples
    n_outputs = Z.shape[1]
    n_eps = epsilons.shape[0]
    weights = np.atleast_1d(ground_truth_weights)
    n_rounds = max_rounds + 1
    B = np.zeros((n_eps, weights.shape[0] * n_rounds, d.shape[0], n_outputs))
    valid = np.ones(B.shape[:2], dtype=bool)
    infeasible = np.zeros(n_eps, dtype=bool)
    for e, eps in enumerate(epsilons):
        for k, w in enumerate(weights):
            stages = slice(k * n_rounds, (k + 1) * n_rounds)
            for q in range(n_outputs):
                try:
                    _, B[e, stages, :, q], collapsed = distill_path(
                        d, Z[:, q], eps, max_rounds,
                        ground_truth_weight=float(w), n_samples=n,
                    )
                except InfeasibleEpsilonError:
                    infeasible[e] = True
                    break
                valid[e, stages] &= ~collapsed
            if infeasible[e]:
                valid[e] = False
                B[e] = 0.0
                break
    return B[:, :, : spectrum.d.shape[0]], valid, infeasible


def score_rounds(P, Y_true, y_true, coding, scorer, sample_weight=None):
    """Scores and mean squared errors of a (T, n, Q) block of coded predictions.

    ``scorer=None`` scores minus the mean squared error in the user's units,
    weighted by ``sample_weight``; a scorer gets the weights.
    """
    mse = coding.squared_error(P, Y_true, sample_weight)
    if scorer is None:
        return -mse, mse
    dummy_X = np.zeros((P.shape[1], 1))
    extra = {} if sample_weight is None else {"sample_weight": sample_weight}
    scores = np.array(
        [scorer(coding.response(P[t]), dummy_X, y_true, **extra)
         for t in range(P.shape[0])],
        dtype=np.float64,
    )
    return scores, mse


def loo_scores(spectrum, X, Y, y, coding, epsilons, max_rounds,
               ground_truth_weights, scorer, sample_weight=None, kernel=None):
    """The leave-one-out criterion of every grid point from one spectrum.

    ``S_t = F diag(B_t) F^T`` with ``F`` the orthonormal basis of the kept
    directions (:meth:`~._solvers.Spectrum.basis_rows`): ``S_t y = F (B_t
    z_0)`` and ``diag(S_t) = (F * F) B_t`` for every grid point come from one
    pass over chunks of rows of ``F``; the held-out residuals are
    ``(y - S_t y) / (1 - diag(S_t))``. With a ground-truth weight ``w`` the
    smoother keeps this form with ``B_t = A_t gamma_t`` (the weight only
    changes the multipliers and ``gamma_t``), so each weight adds one
    epsilon x rounds block of columns. The second axis of the results runs
    over the stages of :func:`grid_coefficients`.

    With sample weights the spectrum is that of ``diag(s) G diag(s)`` and
    ``s * y``: ``F (B_t z_0)`` is ``s * S_t y``, the leverage is unchanged
    (``diag(S_t)`` of a similarity transform), and the held-out squared
    residuals are averaged with the weights. ``kernel`` (the keywords of
    :func:`~.kernels._pairwise`) is what the workers evaluate for a dask X;
    in memory the spectrum's basis rows carry it.
    """
    if is_dask_array(X):
        return dask_loo_scores(spectrum, X, Y, y, coding, epsilons, max_rounds,
                               ground_truth_weights, scorer, sample_weight,
                               kernel=kernel)
    n, n_outputs = Y.shape
    Z0 = spectrum.Z0
    m = spectrum.d.shape[0]
    B, valid, infeasible = grid_coefficients(
        spectrum, coding.core_epsilon(epsilons), max_rounds, ground_truth_weights
    )
    n_eps, n_rounds = valid.shape
    # Columns ordered (epsilon, round, output).
    B_cols = B.transpose(2, 0, 1, 3).reshape(m, -1)
    BZ_cols = (B * Z0[None, None]).transpose(2, 0, 1, 3).reshape(m, -1)
    rows = spectrum.basis_rows(X)
    chunk = max(1, _LOO_CHUNK_FLOATS // max(m, B_cols.shape[1]))
    predictions = (
        None if scorer is None else np.empty((n_eps, n_rounds, n, n_outputs))
    )
    squared = np.zeros((n_eps, n_rounds))
    row_scale = spectrum.row_scale
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        F = rows(start, stop)
        shape = (stop - start, n_eps, n_rounds, n_outputs)
        fitted = (F @ BZ_cols).reshape(shape).transpose(1, 2, 0, 3)
        if row_scale is not None:
            fitted = fitted / row_scale[None, None, start:stop, None]
        leverage = ((F * F) @ B_cols).reshape(shape).transpose(1, 2, 0, 3)
        Y_chunk = Y[start:stop]
        held_out = Y_chunk - (Y_chunk - fitted) / (1.0 - leverage)
        if predictions is not None:
            predictions[:, :, start:stop] = held_out
            continue
        w_chunk = None if sample_weight is None else sample_weight[start:stop]
        mass = stop - start if w_chunk is None else w_chunk.sum()
        for e in np.flatnonzero(~infeasible):
            squared[e] += coding.squared_error(held_out[e], Y_chunk, w_chunk) * mass
    total = n if sample_weight is None else sample_weight.sum()
    scores = np.full((n_eps, n_rounds), -np.inf)
    errors = np.full((n_eps, n_rounds), np.inf)
    for e in np.flatnonzero(~infeasible):
        if predictions is None:
            errors[e] = squared[e] / total
            scores[e] = -errors[e]
        else:
            scores[e], errors[e] = score_rounds(
                predictions[e], Y, y, coding, scorer, sample_weight
            )
    return scores, errors, valid, infeasible, None


def _apply(M, BZ):
    """``M @ BZ[t]`` for every t as one matrix product; BZ has shape (T, n, Q)."""
    T, n, Q = BZ.shape
    out = M @ BZ.transpose(1, 0, 2).reshape(n, T * Q)
    return out.reshape(M.shape[0], T, Q).transpose(1, 0, 2)


def kfold_scores(X, y, *, cv, classifier, coding_of, solver, kernel,
                 epsilons, max_rounds, ground_truth_weights, scorer,
                 sample_weight=None):
    """K-fold scores of every grid point, one spectrum per training fold.

    Each fold runs the fit's own solver (``solver``: the keywords of
    :func:`~._solvers.compute_spectrum`) on its training part, coded by
    ``coding_of(y_train)``, and predicts its held-out part through the dual
    map on ``X_fit`` (the landmarks with Nystroem), exactly as the fitted
    model predicts. With ``sample_weight`` (over all rows, so that splits
    given as indices keep their meaning) each fold drops its zero-weight
    rows, fits its training part weighted and weights its held-out errors.
    The folds and the held-out scoring are those of the input's kind, chosen
    once: in memory here, block by block for a dask X
    (:func:`~._dask_solver.dask_folds`, :func:`~._dask_solver.dask_held_out`).
    """
    if is_dask_array(X):
        folds = dask_folds(X, y, cv, classifier, sample_weight)
        held_out = dask_held_out
    else:
        folds = _folds(X, y, cv, classifier, sample_weight,
                       precomputed=solver["kernel"] == "precomputed")
        held_out = _held_out
    # One stage per (weight, round) pair, as in grid_coefficients.
    n_rounds = np.atleast_1d(ground_truth_weights).shape[0] * (max_rounds + 1)
    n_eps = epsilons.shape[0]
    split_scores, split_errors = [], []
    valid = np.ones((n_eps, n_rounds), dtype=bool)
    infeasible = np.zeros(n_eps, dtype=bool)
    for (X_train, y_train, w_train), (X_test, y_test, w_test) in folds:
        coding = coding_of(y_train, w_train)
        Y_train, Y_test = coding.encode(y_train), coding.encode(y_test)
        spectrum = compute_spectrum(
            X_train, Y_train, sample_weight=w_train, **solver
        )
        B, fold_valid, fold_infeasible = grid_coefficients(
            spectrum, coding.core_epsilon(epsilons), max_rounds,
            ground_truth_weights,
        )
        valid &= fold_valid
        infeasible |= fold_infeasible
        d = spectrum.d
        inv_d = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
        # Coefficients of the dual map: predictions are basis @ scaled.
        scaled = B * (inv_d[None, None, :, None] * spectrum.Z0[None, None])
        scores, errors = held_out(
            spectrum, scaled * spectrum.dual_scale, X_test, Y_test, y_test,
            w_test, coding=coding, kernel=kernel, infeasible=fold_infeasible,
            scorer=scorer,
        )
        split_scores.append(scores)
        split_errors.append(errors)
    return (
        np.mean(split_scores, axis=0), np.mean(split_errors, axis=0),
        valid, infeasible, split_scores,
    )


_EMPTY_SPLIT = (
    "A cross-validation split has only zero sample_weight in its training or "
    "held-out part; give every split some positive weight or use other "
    "splits (cv)."
)


def _folds(X, y, cv, classifier, sample_weight, *, precomputed):
    """``((X, y, w) train, (X, y, w) test)`` of each split, zero weights dropped."""
    cv = check_cv(cv, y, classifier=classifier)
    for train, test in cv.split(X, y):
        w_train = w_test = None
        if sample_weight is not None:
            train = train[sample_weight[train] > 0]
            test = test[sample_weight[test] > 0]
            if train.size == 0 or test.size == 0:
                raise ValueError(_EMPTY_SPLIT)
            w_train, w_test = sample_weight[train], sample_weight[test]
        if precomputed:
            X_train, X_test = X[np.ix_(train, train)], X[np.ix_(test, train)]
        else:
            X_train, X_test = X[train], X[test]
        yield (X_train, y[train], w_train), (X_test, y[test], w_test)


def _held_out(spectrum, coefs, X_test, Y_test, y_test, w_test, *, coding,
              kernel, infeasible, scorer):
    """Scores and errors (n_eps, T) of the held-out rows, in memory.

    ``coefs`` (n_eps, T, m, Q) are the dual map's coefficients of every grid
    point: the predictions are ``kernel(X_test, X_fit) @ dual_map @ coefs``.
    """
    n_eps, n_rounds = coefs.shape[:2]
    basis = spectrum.prediction_basis(
        _pairwise(X_test, spectrum.X_fit, **kernel)
    )
    scores = np.full((n_eps, n_rounds), -np.inf)
    errors = np.full((n_eps, n_rounds), np.inf)
    for e in np.flatnonzero(~infeasible):
        scores[e], errors[e] = score_rounds(
            _apply(basis, coefs[e]), Y_test, y_test, coding, scorer, w_test
        )
    return scores, errors


class _BaseSelfDistilledKernelCV(DocLinkMixin, BaseEstimator):
    """Grid selection shared by the regressor and the classifier CV classes.

    Subclasses provide ``_coding(y)`` (the target coding of the whole training
    set or of a fold's training part) and ``_template()`` (an estimator of the
    refitted kind, for the scorer and the refit).
    """

    _parameter_constraints: dict = {
        **KERNEL_CONSTRAINTS,
        **GROUND_TRUTH_WEIGHTS_CONSTRAINTS,
        "epsilons": ["array-like", None],
        "max_rounds": [Interval(Integral, 0, None, closed="left")],
        "cv": ["cv_object"],
        "scoring": [str, callable, None],
    }

    def _validate_X(self, X, reset):
        return validate_data(self, X, reset=reset, dtype=np.float64)

    def _search(self, X, y, sample_weight=None):
        """Score the grid, refit the best point on all of ``X``, set attributes.

        Zero-weight rows are dropped for the search; the refit gets all rows
        and drops the same ones.
        """
        check_square_gram(self.kernel, X)
        gt_weights, scalar_weight = resolve_ground_truth_weights(self)
        X_all, y_all = X, y
        rows = fit_weights(sample_weight, X, self.kernel)
        X, y = rows.select(X, y)
        weights = rows.sample_weight
        if is_classifier(self) and rows.keep is not None:
            check_weighted_classes(y)
        coding = self._coding(y, weights)
        Y = coding.encode(y)
        # Per output; known without a pass over a dask y (the coding's moments).
        mean_squares = coding.mean_square(Y, weights)
        scorer = None if self.scoring is None else check_scoring(
            self._template(), scoring=self.scoring
        )
        spectrum = None
        if self.cv is None or self.epsilons is None:
            # Leave-one-out scores from it, a default grid is placed on it,
            # and the refit reuses it.
            spectrum = compute_spectrum(
                X, Y, sample_weight=weights, **solver_params(self),
                need_basis=self.cv is None,
            )
        with np.errstate(over="ignore"):
            reference = float(coding.user_epsilon(np.mean(mean_squares)))
        if self.epsilons is None:
            check_reference_scale(reference)
            with np.errstate(over="ignore"):
                epsilons = coding.user_epsilon(
                    default_epsilons(spectrum, Y, sample_weight=weights,
                                     mean_square=mean_squares)
                )
        else:
            epsilons = check_epsilons(self.epsilons)
        grid = dict(epsilons=epsilons, max_rounds=self.max_rounds,
                    ground_truth_weights=gt_weights, scorer=scorer,
                    sample_weight=weights)
        if self.cv is None:
            scores, errors, valid, infeasible, splits = loo_scores(
                spectrum, X, Y, y, coding, kernel=kernel_kwargs(self), **grid
            )
        else:
            # The splits index all rows; each fold drops its zero weights.
            if rows.keep is not None:
                X, y = X_all, y_all
                grid["sample_weight"] = rows.weights_of_all_rows()
            scores, errors, valid, infeasible, splits = kfold_scores(
                X, y, cv=self.cv, classifier=is_classifier(self),
                coding_of=self._coding, solver=solver_params(self),
                kernel=kernel_kwargs(self), **grid,
            )
        # (epsilon, stage) -> (epsilon, weight, round); a float weight is no
        # grid axis of the results.
        shape = (epsilons.shape[0], gt_weights.shape[0], self.max_rounds + 1)
        if scalar_weight:
            shape = (shape[0], shape[2])
        scores, errors, valid = (a.reshape(shape) for a in (scores, errors, valid))
        if splits is not None:
            splits = [s.reshape(shape) for s in splits]
        check_any_valid(epsilons, valid)
        scores = np.where(valid, scores, -np.inf)
        results = search_results(
            epsilons, scores, valid, splits, status=grid_status(valid, infeasible),
            weights=None if scalar_weight else gt_weights,
        )
        grid_scores = scores.reshape(shape[0], gt_weights.shape[0], -1)
        final, best = self._refit(
            X_all, y_all, epsilons, gt_weights, grid_scores, spectrum, coding,
            rows,
        )
        self.epsilons_ = epsilons
        self.loo_errors_ = np.where(valid, errors, np.inf)
        self.cv_results_ = results
        self.best_epsilon_ = float(epsilons[best[0]])
        self.best_ground_truth_weight_ = float(gt_weights[best[1]])
        self.best_n_rounds_ = int(best[2])
        self.best_score_ = float(grid_scores[best])
        self.best_estimator_ = final
        self.best_index_ = int(np.ravel_multi_index(best, grid_scores.shape))
        self.best_params_ = dict(results["params"][self.best_index_])
        # The edges of epsilon and rounds; every weight lies in [0, 1).
        self.selection_on_edge_ = selection_on_edge(
            (best[0], best[2]), (grid_scores.shape[0], grid_scores.shape[2])
        )
        for name in FITTED_ATTRIBUTES:
            setattr(self, name, getattr(final, name))
        if self.store_eigenvectors:
            self.eigenvectors_ = final.eigenvectors_
        elif hasattr(self, "eigenvectors_"):
            del self.eigenvectors_
        return self

    def _refit(self, X, y, epsilons, weights, scores, spectrum, coding, rows):
        """The best grid point refitted on all points, and its index.

        ``spectrum``, ``coding`` and ``rows`` (the checked ``sample_weight``,
        :func:`~._kernel_ridge.fit_weights`) are the search's on the same rows
        and weights; the refit reuses them instead of reading the data again.

        ``scores`` has shape (n_eps, n_weights, n_rounds). With ``cv``, a
        point feasible on every training fold can be infeasible on all points
        (more points, a larger numerical null space): then the next best
        point is refitted.
        """
        flat = scores.ravel()
        skipped = []
        for index in np.argsort(-flat, kind="stable"):
            if not (np.isfinite(flat[index]) or skipped) and self.scoring is None:
                raise ValueError(
                    "The mean squared error of every grid point, in the units "
                    "of y, overflows float64 (|y| beyond about 1e154): rescale "
                    "y, e.g. divide it by its largest absolute value."
                )
            if not np.isfinite(flat[index]) and not skipped:
                raise ValueError(
                    f"scoring={self.scoring!r} gave no finite score at any "
                    "feasible, non-collapsed grid point (it returned NaN or "
                    "inf, e.g. a metric undefined on these targets or folds). "
                    "Use another scoring or cv."
                )
            if not np.isfinite(flat[index]):
                raise ValueError(
                    "No grid point could be refitted on all training points: "
                    f"the epsilons {sorted(set(skipped))} are below the smallest "
                    "training mean squared error the kernel reaches there. Pass "
                    "larger epsilons."
                )
            best = np.unravel_index(index, scores.shape)
            final = self._make_final(
                float(epsilons[best[0]]), int(best[2]), float(weights[best[1]])
            )
            final._validate_params()
            try:
                final._fit(X, y, spectrum=spectrum, coding=coding, rows=rows)
            except InfeasibleEpsilonError:
                skipped.append(float(epsilons[best[0]]))
                continue
            break
        if skipped:
            warnings.warn(
                "The best grid points with epsilon in "
                f"{sorted(set(skipped))} could not be refitted on all training "
                "points (epsilon below the smallest training mean squared error "
                "the kernel reaches there); the best refittable point was used.",
                UserWarning,
                stacklevel=6,
            )
        return final, best

    def _make_final(self, epsilon, n_rounds, ground_truth_weight):
        params = {
            key: getattr(self, key)
            for key in self._template().get_params()
            if key not in ("epsilon", "n_rounds", "on_collapse",
                           "ground_truth_weight")
        }
        return type(self._template())(
            epsilon=epsilon, n_rounds=n_rounds,
            ground_truth_weight=ground_truth_weight, **params
        )

    def predict(self, X):
        """Predict with the selected, refitted model.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Samples (or kernel values with ``kernel="precomputed"``).

        Returns
        -------
        y_pred : ndarray or dask array of shape (n_samples,) or (n_samples, n_targets)
            Predictions, or class labels for the classifier.
        """
        check_is_fitted(self, "best_estimator_")
        X = self._validate_X(X, reset=False)
        return self.best_estimator_.predict(X)

    def staged_predict(self, X):
        """Predict with every round of the refitted model, 0 to ``best_n_rounds_``.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Samples (or kernel values with ``kernel="precomputed"``).

        Yields
        ------
        y_pred : ndarray or dask array of shape (n_samples,) or (n_samples, n_targets)
            Predictions (class labels for the classifier) of each round.
        """
        check_is_fitted(self, "best_estimator_")
        X = self._validate_X(X, reset=False)
        yield from self.best_estimator_.staged_predict(X)
