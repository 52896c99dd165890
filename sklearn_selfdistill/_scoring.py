"""Scoring predictions computed in advance.

A scikit-learn scorer calls ``predict``, ``decision_function`` or
``predict_proba`` on an estimator. The searches score held-out predictions
that exist before any estimator does, and the Displays and
:func:`~sklearn_selfdistill.model_selection.compare_with_early_stopping` score
every round of a fitted model from its ``staged_*`` methods: both hand the
scorer a :class:`PrecomputedResponse` holding the answers.
"""

from sklearn.base import BaseEstimator, is_classifier
from sklearn.utils.metaestimators import available_if

__all__ = ["PrecomputedResponse", "staged_responses"]


class PrecomputedResponse(BaseEstimator):
    """Answer a scorer with responses computed beforehand (its ``X`` is ignored).

    Parameters
    ----------
    predictions : ndarray
        What ``predict`` returns.
    scores : ndarray, default=None
        What ``decision_function`` returns; without it the method is absent.
    probabilities : ndarray, default=None
        What ``predict_proba`` returns; without it the method is absent.
    classes : ndarray, default=None
        ``classes_`` of a classifier.
    estimator_type : {"regressor", "classifier"}, default="regressor"
        The estimator type the scorer sees.
    """

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


def staged_responses(estimator, X):
    """One :class:`PrecomputedResponse` per round of a fitted model on ``X``.

    Built from ``staged_predict`` and, for a classifier, the
    ``staged_decision_function`` and ``staged_predict_proba`` it has.
    """
    preds = list(estimator.staged_predict(X))
    if not is_classifier(estimator):
        return [PrecomputedResponse(predictions=p) for p in preds]
    scores = [None] * len(preds)
    probas = [None] * len(preds)
    if hasattr(estimator, "staged_decision_function"):
        scores = list(estimator.staged_decision_function(X))
    if hasattr(estimator, "staged_predict_proba"):
        probas = list(estimator.staged_predict_proba(X))
    return [
        PrecomputedResponse(predictions=p, scores=s, probabilities=q,
                            classes=estimator.classes_, estimator_type="classifier")
        for p, s, q in zip(preds, scores, probas)
    ]
