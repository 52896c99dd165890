"""Round strategies of SelfDistillationWrapper: scikit-learn estimators, and the basis.

The wrapper chooses its strategy once per ``fit`` (:func:`make_rounds`):
:class:`SklearnRounds` here, or ``SkorchRounds`` of
:mod:`sklearn_selfdistill._rounds_skorch` for skorch nets (imported only then,
so that scikit-learn estimators need neither torch nor skorch).
"""

import contextlib
import sys
import warnings

import numpy as np
from scipy import sparse
from sklearn.base import clone, is_classifier
from sklearn.utils.validation import has_fit_parameter


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


def check_fit_params(estimator, fit_params):
    """A skorch net's ``fit`` passes unknown keywords to the module's forward:
    a ``sample_weight`` it does not take is an error before anything trains."""
    if fit_params.get("sample_weight") is not None and is_skorch_net(estimator) \
            and not has_fit_parameter(estimator, "sample_weight"):
        raise ValueError(
            f"{type(estimator).__name__}.fit does not take sample_weight (skorch "
            "would pass it to the module's forward). Use DistillNetClassifier or "
            "DistillNetRegressor of sklearn_selfdistill.nets, whose loss weights "
            "each sample, or fit without sample_weight."
        )


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


# Largest flattened copy of a Dataset's inputs read for the basis kernel.
_MAX_FLAT_BYTES = 2 * 2**30


@contextlib.contextmanager
def _reading(X, seeded):
    """Read a Dataset (labels, flat inputs) leaving torch's generator alone.

    A dataset that augments in ``__getitem__`` draws from torch's global
    generator; the reads run on a forked state (seeded when the wrapper is).
    """
    if not _is_dataset(X):
        yield
        return
    import torch

    with torch.random.fork_rng(devices=[]):
        if seeded:
            torch.manual_seed(0)
        yield


def _is_dataset(X):
    if "torch" not in sys.modules:
        return False
    from torch.utils.data import Dataset

    return isinstance(X, Dataset)


def flat_inputs(X, dataset):
    """Flattened inputs (None when too large) and two rows to check the kernel."""
    if not dataset:
        flat = X.reshape(X.shape[0], -1) if X.ndim > 2 else X
        return flat, flat[:2]
    import torch

    def flat(i):
        x = X[i][0]
        x = x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x)
        return x.reshape(-1).astype(np.float64)

    first = flat(0)
    size = len(X) * first.size * 8
    if size > _MAX_FLAT_BYTES:
        warnings.warn(
            f"basis_coefficients_ skipped: the Dataset's {len(X)} inputs, "
            f"flattened, would take {size / 2**30:.1f} GiB (more than "
            f"{_MAX_FLAT_BYTES / 2**30:.0f} GiB). Set basis_kernel=None to "
            "skip them without this warning, or fit on arrays.",
            UserWarning,
        )
        return None, np.stack([flat(i) for i in range(min(2, len(X)))])
    rows = np.stack([first] + [flat(i) for i in range(1, len(X))])
    return rows, rows[:2]


def basis_device(estimator):
    """The torch device of a net for the basis kernel products, or None (numpy).

    A net on the CPU computes with numpy (LAPACK and scikit-learn's kernels);
    a net on an accelerator has the kernel blocks, products and dense
    eigendecomposition run there.
    """
    device = getattr(estimator, "device", None)
    if device is None or not is_skorch_net(estimator):
        return None
    import torch

    return None if torch.device(device).type == "cpu" else device


def basis_coefficients(X_flat, Y0, round_outputs, *, kernel, kernel_params,
                       n_components, device=None, random_state=None):
    r"""The empirical :math:`B_t` of eq. (46) for every round.

    The directions are the eigenvectors of the FULL training Gram matrix
    ``G = kernel(X, X) / n`` (eq. (16)): all of them by the dense
    eigendecomposition up to
    :data:`~sklearn_selfdistill._empirical_basis.DEFAULT_DENSE_MAX_SAMPLES`
    points (or whatever ``n`` when ``n_components`` is ``None``), the
    ``n_components`` leading ones by the Lanczos method beyond
    (:func:`~sklearn_selfdistill._empirical_basis.gram_eigenbasis`); the
    coefficients are
    :func:`~sklearn_selfdistill._empirical_basis.empirical_basis_coefficients`.

    Parameters
    ----------
    X_flat : ndarray or sparse matrix of shape (n_samples, n_features)
        The training inputs, flattened.
    Y0 : ndarray of shape (n_samples, n_outputs)
        One-hot labels or real targets.
    round_outputs : list of ndarray of shape (n_samples, n_outputs)
        Every round's training predictions.
    kernel, kernel_params : the basis kernel.
    n_components : int or None
        Leading directions of the Lanczos path; ``None`` for all (dense).
    device : str or torch.device, default=None
        Where the kernel products run (``None``: numpy).
    random_state : int, default=None
        Start vector of the Lanczos iteration.

    Returns
    -------
    attributes : dict
        ``basis_eigenvalues_`` (shape ``(n_basis,)``) and
        ``basis_coefficients_`` (shape ``(n_rounds + 1, n_basis, n_outputs)``).
    """
    from . import _empirical_basis

    d, U = _empirical_basis.gram_eigenbasis(
        X_flat, kernel=kernel, kernel_params=kernel_params,
        n_components=n_components,
        dense_max_samples=_empirical_basis.DEFAULT_DENSE_MAX_SAMPLES,
        device=device, random_state=random_state,
    )
    coef = _empirical_basis.empirical_basis_coefficients(U, Y0, round_outputs)
    return {"basis_eigenvalues_": d, "basis_coefficients_": coef}
