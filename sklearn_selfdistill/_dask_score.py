"""``score`` on dask arrays: R^2 and accuracy from per-block sums.

``score(X, y)`` with a dask ``X`` maps ``predict`` over the blocks of rows,
as :func:`~._dask.blockwise` does, and each block returns a few sums of its
targets, predictions and weights; the sums travel up a tree of tasks, so
neither the predictions nor ``y`` come to the client. A numpy ``X`` goes to
scikit-learn's own ``score``, untouched.

* R^2 (scikit-learn's :func:`~sklearn.metrics.r2_score`, multi-output
  ``"uniform_average"``): per output, ``sum w (y - pred)^2`` and the weighted
  sum of squares of ``y`` about its weighted mean, the latter combined from
  blocks as shifted sums (the total ``sum w``, ``sum w (y - c)`` and
  ``sum w (y - c)^2`` about a centre ``c`` moved to the weighted mean of the
  blocks combined), never as ``sum w y^2 - (sum w y)^2 / sum w``, which loses
  every digit when the mean is large against the spread.
* accuracy (:func:`~sklearn.metrics.accuracy_score`): ``sum w [pred == y]``
  over ``sum w``.
"""

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils.validation import check_is_fitted

from ._dask import _known_rows, is_dask_array
from ._dask_solver import per_block, tree_reduce

__all__ = ["DaskAccuracyScoreMixin", "DaskR2ScoreMixin"]


class DaskR2ScoreMixin:
    """A block-wise ``score`` for dask X, placed before ``RegressorMixin``."""

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination :math:`R^2` of ``self.predict(X)``.

        As scikit-learn's :meth:`~sklearn.base.RegressorMixin.score`
        (:func:`~sklearn.metrics.r2_score`, outputs averaged uniformly). With
        a dask ``X`` the predictions, ``y`` and ``sample_weight`` (numpy or
        dask) are reduced block by block on the workers to a few sums per
        output: nothing of length ``n_samples`` comes to the client.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Test samples.
        y : array-like or dask array of shape (n_samples,) or \
(n_samples, n_outputs)
            True values for ``X``.
        sample_weight : array-like or dask array of shape (n_samples,), \
default=None
            Sample weights.

        Returns
        -------
        score : float
            :math:`R^2` of ``self.predict(X)`` with respect to ``y``.

        Notes
        -----
        A ``y`` constant over the rows of non-zero weight has no variance:
        the score is 1.0 for exact predictions and 0.0 otherwise, as
        scikit-learn defines it. On numpy data scikit-learn computes that
        variance from a rounded mean, and returns e.g. ``-1e31`` for
        ``y = 0.1`` everywhere; on dask arrays the constant is detected
        exactly (the least and largest value of each output). Weights that
        are all zero raise a ``ValueError``, as scikit-learn 1.9 and later do
        (earlier versions raise ``ZeroDivisionError`` from ``numpy.average``).
        """
        if not is_dask_array(X):
            return super().score(X, y, sample_weight=sample_weight)
        return _dask_score(self, X, y, sample_weight, classifier=False)


class DaskAccuracyScoreMixin:
    """A block-wise ``score`` for dask X, placed before ``ClassifierMixin``."""

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of ``self.predict(X)`` with respect to ``y``.

        As scikit-learn's :meth:`~sklearn.base.ClassifierMixin.score`
        (:func:`~sklearn.metrics.accuracy_score`). With a dask ``X`` each
        block of rows returns its weighted count of correct labels and its
        weight, summed on the workers: nothing of length ``n_samples`` comes
        to the client.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Test samples.
        y : array-like or dask array of shape (n_samples,)
            True labels for ``X``.
        sample_weight : array-like or dask array of shape (n_samples,), \
default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy of ``self.predict(X)`` with respect to ``y``.
        """
        if not is_dask_array(X):
            return super().score(X, y, sample_weight=sample_weight)
        return _dask_score(self, X, y, sample_weight, classifier=True)


def _dask_score(estimator, X, y, sample_weight, *, classifier):
    import dask
    import dask.array as da

    check_is_fitted(estimator)
    pred = estimator.predict(X)
    rows = pred.chunks[0]
    n = pred.shape[0]
    y = _rows_of(y, "y", rows, n)
    if classifier:
        y = _labels(y, estimator.classes_)
    elif y.dtype.kind not in "biuf":
        raise ValueError(
            f"y has dtype {y.dtype}; the R^2 score of a regressor needs numeric "
            "targets (convert them with y.astype(float))."
        )
    else:
        _check_outputs(y, pred)
    weights = None
    if sample_weight is not None:
        weights = _rows_of(sample_weight, "sample_weight", rows, n)
        if weights.ndim != 1 or weights.dtype.kind not in "biuf":
            raise ValueError(
                "sample_weight must be a 1-D numeric array of shape "
                f"(n_samples,); got shape {weights.shape} and dtype "
                f"{weights.dtype}."
            )
    if not classifier and n < 2:
        warnings.warn("R^2 score is not well-defined with less than two samples.",
                      UndefinedMetricWarning, stacklevel=3)
        return float("nan")
    block = _accuracy_block if classifier else _r2_block
    # Each block's first row, for the errors that name rows.
    starts = da.from_array(np.concatenate([[0], np.cumsum(rows)[:-1]]), chunks=1)
    parts = per_block(_from_start, starts, y, pred, weights, args=(block,))
    combine = _add if classifier else _combine_r2
    (sums,) = dask.compute(tree_reduce(parts, combine))
    total, nonzero = sums["w"], sums["nonzero"]
    if nonzero == 0:
        raise ValueError("Sample weights must contain at least one non-zero number.")
    if total == 0:
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")
    if classifier:
        return float(sums["correct"] / total)
    return _r2_of(sums)


def _rows_of(a, name, rows, n):
    """``a`` as a dask array chunked by ``rows`` (numpy or dask input)."""
    import dask.array as da

    if not is_dask_array(a):
        a = np.asarray(a)
    if a.ndim == 0:
        raise ValueError(
            f"{name} must be an array of shape (n_samples,); got a scalar."
        )
    if a.ndim > 2:
        raise ValueError(f"{name} has shape {a.shape}; at most 2 dimensions.")
    if is_dask_array(a):
        a = _known_rows(a, name)
    if a.shape[0] != n:
        _inconsistent(n, a.shape[0])
    chunks = (rows,) + tuple((s,) for s in a.shape[1:])
    if is_dask_array(a):
        return a.rechunk(chunks)
    return da.from_array(a, chunks=chunks)


def _inconsistent(n, other):
    raise ValueError(
        "Found input variables with inconsistent numbers of samples: "
        f"[{n}, {other}]."
    )


def _check_outputs(y, pred):
    q_true = 1 if y.ndim == 1 else y.shape[1]
    q_pred = 1 if pred.ndim == 1 else pred.shape[1]
    if q_true != q_pred:
        raise ValueError(
            "y_true and y_pred have different number of output "
            f"({q_true}!={q_pred})"
        )


def _labels(y, classes):
    """A 1-D ``y`` of labels comparable with the predictions."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(
            f"y has shape {y.shape}; the accuracy of this classifier needs one "
            "label per row, shape (n_samples,)."
        )
    text = {y.dtype.kind in "US", np.asarray(classes).dtype.kind in "US"}
    if "O" not in (y.dtype.kind, np.asarray(classes).dtype.kind) and len(text) > 1:
        raise ValueError("Mix of label input types (string and number)")
    return y


def _check_finite(a, name, start):
    if a.dtype.kind in "fc" and not np.isfinite(a).all():
        raise ValueError(
            f"Input {name} contains NaN or infinity (in rows {start} to "
            f"{start + a.shape[0] - 1})."
        )


def _from_start(start, y, pred, w, block):
    """``block`` of one block of rows, ``start`` its first row (as an array)."""
    return block(int(start[0]), y, pred, w)


def _accuracy_block(start, y, pred, w):
    """``sum w [pred == y]``, ``sum w`` and the non-zero weights of one block."""
    _check_finite(y, "y", start)
    if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
        raise ValueError(
            "Classification metrics can't handle a mix of continuous and "
            f"class-label targets: y has non-integer values in rows {start} to "
            f"{start + y.shape[0] - 1}; score needs class labels."
        )
    correct = pred == y
    if w is None:
        return {"correct": int(np.count_nonzero(correct)), "w": y.shape[0],
                "nonzero": y.shape[0]}
    _check_finite(w, "sample_weight", start)
    w = w.astype(np.float64, copy=False)
    return {"correct": float(w @ correct), "w": float(w.sum()),
            "nonzero": int(np.count_nonzero(w))}


def _r2_block(start, y, pred, w):
    """One block's weighted sums about its own mean, per output.

    Two temporaries of the block's size (deviations, residuals): the sums
    are contracted by ``einsum`` without forming products.
    """
    _check_finite(y, "y", start)
    y = y.reshape(y.shape[0], -1).astype(np.float64, copy=False)
    pred = pred.reshape(pred.shape[0], -1)
    n_rows, n_outputs = y.shape
    centre = y.mean(axis=0) if n_rows else np.zeros(n_outputs)
    dev = y - centre
    res = y - pred
    if w is None:
        kept = None
        sums = dict(w=float(n_rows), nonzero=n_rows,
                    dev=dev.sum(axis=0), sq=np.einsum("iq,iq->q", dev, dev),
                    residual=np.einsum("iq,iq->q", res, res))
    else:
        _check_finite(w, "sample_weight", start)
        w = w.astype(np.float64, copy=False)
        kept = (w != 0)[:, None]
        sums = dict(w=float(w.sum()), nonzero=int(np.count_nonzero(w)),
                    dev=w @ dev, sq=np.einsum("i,iq,iq->q", w, dev, dev),
                    residual=np.einsum("i,iq,iq->q", w, res, res))
    sums.update(
        centre=centre,
        low=np.min(y, axis=0, where=kept if kept is not None else True,
                   initial=np.inf),
        high=np.max(y, axis=0, where=kept if kept is not None else True,
                    initial=-np.inf),
    )
    return sums


def _add(*parts):
    return {key: sum(p[key] for p in parts) for key in parts[0]}


def _combine_r2(*parts):
    """Blocks' sums about their centres, moved to one centre and added.

    ``sum w (y - c) = dev_i + w_i (c_i - c)`` and
    ``sum w (y - c)^2 = sq_i + 2 (c_i - c) dev_i + w_i (c_i - c)^2`` for each
    part ``i``; ``c`` is the parts' weighted mean (the first part's centre if
    their weights sum to zero).
    """
    out = _add(*(
        {k: p[k] for k in ("w", "nonzero", "residual")} for p in parts
    ))
    total = out["w"]
    centre = parts[0]["centre"]
    if total != 0:
        centre = sum(p["w"] * p["centre"] + p["dev"] for p in parts) / total
    dev, sq = 0.0, 0.0
    for p in parts:
        shift = p["centre"] - centre
        dev = dev + p["dev"] + p["w"] * shift
        sq = sq + p["sq"] + 2.0 * shift * p["dev"] + p["w"] * shift * shift
    out.update(
        centre=centre, dev=dev, sq=sq,
        low=np.minimum.reduce([p["low"] for p in parts]),
        high=np.maximum.reduce([p["high"] for p in parts]),
    )
    return out


def _r2_of(sums):
    """scikit-learn's R^2 (``force_finite=True``, uniform average) from sums."""
    residual = sums["residual"]
    spread = sums["sq"] - sums["dev"] ** 2 / sums["w"]
    spread = np.where(sums["low"] == sums["high"], 0.0, spread)
    scores = np.ones_like(residual)
    valid = (spread != 0) & (residual != 0)
    scores[valid] = 1 - residual[valid] / spread[valid]
    scores[(residual != 0) & (spread == 0)] = 0.0
    return float(np.mean(scores))
