"""Round strategies of SelfDistillationWrapper: scikit-learn estimators, and the basis.

The wrapper chooses its strategy once per ``fit`` (:func:`make_rounds`):
:class:`SklearnRounds` here, or ``SkorchRounds`` of
:mod:`sklearn_selfdistill._rounds_skorch` for skorch nets (imported only then,
so that scikit-learn estimators need neither torch nor skorch).
"""

import sys
import warnings

import numpy as np
from scipy import sparse
from sklearn.base import clone, is_classifier
from sklearn.utils.validation import has_fit_parameter
from threadpoolctl import threadpool_limits

from . import _ntk
from ._solvers import eigh_gram
from .kernels import _kernel_name, _pairwise


def _kl_rows(P, Q):
    """Mean over rows of KL(P || Q), with 0 log 0 = 0."""
    Q = np.clip(Q, 1e-300, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(P > 0, P * (np.log(np.where(P > 0, P, 1.0)) - np.log(Q)), 0.0)
    return float(terms.sum(axis=1).mean())


def is_skorch_net(estimator):
    """Whether ``estimator`` is a skorch net, without importing skorch."""
    if "skorch" not in sys.modules:
        return False
    from skorch import NeuralNet

    return isinstance(estimator, NeuralNet)


def make_rounds(wrapper, estimator):
    """The round strategy for ``estimator``."""
    if is_skorch_net(estimator):
        from ._rounds_skorch import SkorchRounds

        return SkorchRounds(wrapper, estimator)
    return SklearnRounds(wrapper, estimator)


class SklearnRounds:
    """Round strategy of :class:`SelfDistillationWrapper` for scikit-learn estimators.

    A classifier trains on the teacher's probabilities by expanding every
    sample into one row per class weighted by its probability (for log-loss
    models exactly soft-target cross-entropy); a regressor on the teacher's
    predictions.
    """

    skorch = False

    def __init__(self, wrapper, estimator):
        self.wrapper = wrapper
        self.estimator = estimator
        self.classifier = is_classifier(estimator)
        self.kind = "proba" if self.classifier else "regression"

    def check(self, n_outputs):
        """Validate the estimator and the wrapper's parameters before training."""
        w, est = self.wrapper, self.estimator
        name = type(est).__name__
        if w.epsilon is not None:
            raise ValueError(
                "epsilon applies to skorch nets only (it stops each round's "
                "training at a training loss); a scikit-learn estimator "
                f"({name}) trains to its own schedule: set epsilon=None, or "
                "control its fit through its own parameters (e.g. alpha)."
            )
        if w.student_init == "teacher":
            raise ValueError(
                "student_init='teacher' copies a skorch net's weights; use "
                f"student_init='random' with a scikit-learn estimator ({name})."
            )
        if w.teacher_targets == "online":
            raise ValueError(
                "teacher_targets='online' predicts each training batch with the "
                f"teacher and needs a skorch net; {name} trains on the whole set "
                "at once: use teacher_targets='fixed'."
            )
        if self.classifier and w.n_rounds > 0:
            if not has_fit_parameter(est, "sample_weight"):
                raise ValueError(
                    f"{name}.fit does not accept sample_weight, so it cannot be "
                    "trained on a teacher's probabilities (each sample is "
                    "expanded into one row per class weighted by its "
                    "probability). Use a classifier whose fit takes sample_weight "
                    "and that has predict_proba (e.g. LogisticRegression), a "
                    "skorch net, or n_rounds=0."
                )
            if not hasattr(est, "predict_proba"):
                raise ValueError(
                    f"{name} has no predict_proba, so it gives no teacher "
                    "probabilities to distil; use a classifier with predict_proba "
                    "(e.g. LogisticRegression, or SVC(probability=True)) or "
                    "n_rounds=0."
                )

    def fit_round(self, data, t, fixed, teacher, seed, fit_params):
        """Train round ``t``; return the model, its record and training outputs."""
        model = clone(self.estimator)
        if seed is not None:
            params = model.get_params(deep=False)
            if "random_state" in params and params["random_state"] is None:
                model.set_params(random_state=seed)
        X = data.X
        if t == 0:
            model.fit(X, data.y_fit, **fit_params)
        elif self.classifier:
            n, n_classes = fixed.shape
            Xe = sparse.vstack([X] * n_classes, format=X.format) \
                if sparse.issparse(X) else np.concatenate([X] * n_classes)
            ye = np.repeat(np.arange(n_classes), n)
            weights = fixed.T.reshape(-1)
            params = dict(fit_params)
            if params.get("sample_weight") is not None:
                sw = np.asarray(params["sample_weight"], dtype=np.float64)
                weights = weights * np.tile(sw, n_classes)
            params["sample_weight"] = weights
            model.fit(Xe, ye, **params)
        else:
            model.fit(X, fixed[:, 0] if data.single_output else fixed, **fit_params)
        if self.classifier:
            if hasattr(model, "predict_proba"):
                outputs = self.proba(model, X)
            else:  # n_rounds == 0 without predict_proba: one-hot predictions
                pred = np.asarray(model.predict(X), dtype=int)
                outputs = np.zeros((len(pred), data.n_outputs))
                outputs[np.arange(len(pred)), pred] = 1.0
        else:
            outputs = self.predict(model, X)
        return model, {}, outputs

    def proba(self, model, X):
        """Probabilities in the column order 0, ..., n_classes - 1."""
        proba = np.asarray(model.predict_proba(X), dtype=np.float64)
        n_classes = len(self.wrapper.classes_)
        inner = np.asarray(getattr(model, "classes_", np.arange(proba.shape[1])))
        if proba.shape[1] == n_classes and np.array_equal(inner,
                                                          np.arange(n_classes)):
            return proba
        full = np.zeros((proba.shape[0], n_classes))
        full[:, inner.astype(int)] = proba
        return full

    def predict(self, model, X):
        """Regression outputs, 2-D."""
        out = np.asarray(model.predict(X), dtype=np.float64)
        return out.reshape(len(out), -1)

    def round_loss(self, model, outputs, targets):
        """KL divergence (classifiers: the expanded fit is soft-target
        cross-entropy) or squared error summed over outputs (regressors)."""
        if self.classifier:
            return _kl_rows(targets, outputs)
        return float(((outputs - targets) ** 2).sum(axis=1).mean())

    def seed_scope(self, model, seed):
        import contextlib

        return contextlib.nullcontext()


def check_basis_kernel(kernel, params, X_rows):
    """Evaluate the basis kernel on two rows: typos and bad callables fail here."""
    from sklearn.gaussian_process.kernels import Kernel
    from sklearn.metrics.pairwise import KERNEL_PARAMS

    given = dict(params or {})
    params = dict(given)
    m = X_rows.shape[0]
    if isinstance(kernel, str) or isinstance(kernel, Kernel):
        # scikit-learn's pairwise_kernels drops unknown parameters silently.
        if isinstance(kernel, Kernel) or kernel == "green_spline":
            accepted = set()
        elif kernel in _ntk._KERNELS:
            accepted = set(_ntk._PARAMS)
        else:
            accepted = set(KERNEL_PARAMS[kernel])
        unknown = sorted(set(given) - accepted)
        if unknown:
            raise ValueError(
                f"basis_kernel_params has {unknown} that basis_kernel="
                f"{kernel!r} does not take; it takes "
                f"{sorted(accepted) if accepted else 'none'}. Fix the names "
                "(e.g. {'gamma': 0.1} for 'rbf')."
            )
    try:
        gram = _pairwise(
            X_rows, kernel=kernel, gamma=params.pop("gamma", None),
            degree=params.pop("degree", 3), coef0=params.pop("coef0", 1),
            kernel_params=params or None,
        )
        gram = np.asarray(gram, dtype=np.float64)
        if gram.shape != (m, m) or not np.all(np.isfinite(gram)):
            raise ValueError(
                f"it gave a {gram.shape} matrix"
                + ("" if np.all(np.isfinite(gram)) else " with non-finite entries")
                + f" for {m} rows"
            )
    except Exception as exc:
        raise ValueError(
            f"basis_kernel={kernel!r} with basis_kernel_params="
            f"{given!r} cannot be evaluated on the training inputs "
            f"({type(exc).__name__}: {exc}). Fix basis_kernel_params (e.g. "
            "{'gamma': 0.1} for 'rbf'), or set basis_kernel=None to skip "
            "basis_coefficients_."
        ) from exc


def basis_coefficients(X_flat, Y0, round_outputs, *, kernel, kernel_params,
                       max_samples, rng):
    r"""The empirical :math:`B_t` of eq. (46) for every round.

    Parameters
    ----------
    X_flat : ndarray or sparse matrix of shape (n_samples, n_features)
        The training inputs, flattened.
    Y0 : ndarray of shape (n_samples, n_outputs)
        One-hot labels or real targets.
    round_outputs : list of ndarray of shape (n_samples, n_outputs)
        Every round's training predictions.
    kernel, kernel_params : the basis kernel.
    max_samples : int
        Size of the random subset the eigenbasis is taken on.
    rng : numpy.random.Generator
        Draws that subset (independent of the number of rounds).

    Returns
    -------
    attributes : dict
        ``basis_indices_``, ``basis_eigenvalues_`` and ``basis_coefficients_``
        (shape ``(n_rounds + 1, n_basis, n_outputs)``).
    """
    n = Y0.shape[0]
    idx = np.arange(n) if n <= max_samples else np.sort(
        rng.choice(n, max_samples, replace=False))
    Xb = X_flat[idx]
    if not sparse.issparse(Xb):
        Xb = np.asarray(Xb, dtype=np.float64)
    params = dict(kernel_params or {})
    gram = _pairwise(
        Xb, kernel=kernel, gamma=params.pop("gamma", None),
        degree=params.pop("degree", 3), coef0=params.pop("coef0", 1),
        kernel_params=params or None,
    )
    m = len(idx)
    gram = np.asarray(gram, dtype=np.float64) / m
    # One BLAS thread: at 500 points the eigendecomposition takes a few
    # hundredths of a second, and threads only contend with training.
    with threadpool_limits(limits=1, user_api="blas"):
        d, U = eigh_gram(gram, kernel_name=_kernel_name(kernel), overwrite=True)
    Yb = Y0[idx]
    den = U.T @ Yb
    small = np.abs(den) < 1e-8 * np.linalg.norm(Yb, axis=0)[None, :]
    safe = np.where(small, 1.0, den)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        coef = np.stack([np.where(small, 0.0, (U.T @ F[idx]) / safe)
                         for F in round_outputs])
    return {"basis_indices_": idx, "basis_eigenvalues_": d,
            "basis_coefficients_": coef}
