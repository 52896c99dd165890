"""The nets used on their own: bad array inputs get typed errors naming the input
and the fix, a fit that raises leaves the net unfitted, a Dataset is not read."""

import re

import numpy as np
import pytest
from scipy import sparse
from sklearn.exceptions import NotFittedError

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from skorch import NeuralNet  # noqa: E402
from torch.utils.data import TensorDataset  # noqa: E402

from sklearn_selfdistill.nets import (  # noqa: E402
    DistillNetClassifier,
    DistillNetRegressor,
)

RNG = np.random.RandomState(0)
X = RNG.randn(30, 4)
Y_REG = X[:, 0] - X[:, 1]
Y_CLS = (Y_REG > 0).astype(int)


def _with(value, at=(0, 0), base=X):
    out = base.copy()
    out[at] = value
    return out


REGRESSOR_FIT = [
    ("NaN in X", lambda: (_with(np.nan), Y_REG), ValueError,
     "(?s)Input X contains NaN.*DistillNetRegressor does not accept missing values"),
    ("inf in X", lambda: (_with(np.inf), Y_REG), ValueError,
     r"Input X contains infinity.*needs finite inputs: replace or drop"),
    ("1e150 in X", lambda: (_with(1e150), Y_REG), ValueError,
     r"X has values up to 1e\+150 in magnitude, beyond float32's range.*"
     r"rescale it"),
    ("complex X", lambda: (X + 1j, Y_REG), ValueError,
     r"X contains complex values; DistillNetRegressor takes real numbers"),
    ("inf in y", lambda: (X, np.r_[np.inf, Y_REG[1:]]), ValueError,
     "Input y contains infinity"),
    ("NaN in y", lambda: (X, np.r_[np.nan, Y_REG[1:]]), ValueError,
     "Input y contains NaN"),
    ("complex y", lambda: (X, Y_REG + 1j), ValueError,
     r"y contains complex values; DistillNetRegressor takes real numbers: "
     r"pass the real part \(y.real\)"),
    ("1e150 in y", lambda: (X, Y_REG * 1e150), ValueError,
     r"y has values up to .*e\+150 in magnitude; the net trains in float32, "
     r"where squared errors beyond 1.84e\+19 overflow. Rescale y, e.g. "
     r"TransformedTargetRegressor"),
    ("3-D y", lambda: (X, np.zeros((30, 2, 2))), ValueError,
     r"y must have shape \(n_samples,\) or \(n_samples, n_outputs\)"),
    ("empty X", lambda: (X[:0], Y_REG[:0]), ValueError,
     r"Found array with 0 sample\(s\) \(shape=\(0, 4\)\) while a minimum of 1 "
     r"is required by DistillNetRegressor"),
    ("1-D X", lambda: (X[:, 0], Y_REG), ValueError,
     "Expected 2D array, got 1D array instead"),
    ("lengths", lambda: (X, Y_REG[:5]), ValueError,
     r"inconsistent numbers of samples: \[30, 5\]"),
    ("y None", lambda: (X, None), ValueError,
     r"DistillNetRegressor.fit needs y, the regression targets"),
]

CLASSIFIER_FIT = [
    ("NaN in X", lambda: (_with(np.nan), Y_CLS), ValueError,
     "(?s)Input X contains NaN.*DistillNetClassifier does not accept missing"),
    ("inf in X", lambda: (_with(-np.inf), Y_CLS), ValueError,
     "Input X contains infinity"),
    ("continuous labels", lambda: (X, Y_REG), ValueError,
     r"DistillNetClassifier: y must hold class labels \(integers or strings\) "
     r"or an \(n_samples, n_classes\) matrix of probabilities \(Unknown label "
     r"type: continuous.*For real-valued targets use DistillNetRegressor"),
    ("NaN label", lambda: (X, np.r_[np.nan, Y_CLS[1:]]), ValueError,
     "Input y contains NaN"),
    ("complex labels", lambda: (X, Y_CLS + 1j), ValueError,
     r"y contains complex values; DistillNetClassifier takes real numbers"),
    ("inf probabilities", lambda: (X, np.full((30, 2), np.inf)), ValueError,
     "Input y contains infinity"),
    ("empty X", lambda: (X[:0], Y_CLS[:0]), ValueError,
     r"Found array with 0 sample\(s\)"),
    ("lengths", lambda: (X[:10], Y_CLS), ValueError,
     r"inconsistent numbers of samples: \[10, 30\]"),
]


def _assert_unfitted(net):
    with pytest.raises(NotFittedError):
        net.check_is_fitted()
    for name in ("classes_", "n_outputs_", "n_features_in_", "module_", "y_ndim_"):
        assert not hasattr(net, name), name
    assert net.initialized_ is False


@pytest.mark.parametrize("case, data, error, words", REGRESSOR_FIT,
                         ids=[c[0] for c in REGRESSOR_FIT])
def test_regressor_fit_errors(case, data, error, words):
    net = DistillNetRegressor(max_epochs=1)
    Xb, yb = data()
    with pytest.raises(error, match=words):
        net.fit(Xb, yb)
    _assert_unfitted(net)


@pytest.mark.parametrize("case, data, error, words", CLASSIFIER_FIT,
                         ids=[c[0] for c in CLASSIFIER_FIT])
def test_classifier_fit_errors(case, data, error, words):
    net = DistillNetClassifier(max_epochs=1)
    Xb, yb = data()
    with pytest.raises(error, match=words):
        net.fit(Xb, yb)
    _assert_unfitted(net)


@pytest.mark.parametrize("cls, y", [(DistillNetRegressor, Y_REG),
                                    (DistillNetClassifier, Y_CLS)])
def test_sparse_X_is_a_type_error(cls, y):
    net = cls(max_epochs=1)
    for fmt in ("csr", "csc", "coo"):
        with pytest.raises(TypeError, match=re.escape(
                f"{cls.__name__} takes dense inputs, but X is a sparse")
                + ".*convert it with X.toarray()"):
            net.fit(sparse.random(30, 4, density=0.5, format=fmt), y)
        _assert_unfitted(net)
    net.fit(X, y)
    with pytest.raises(TypeError, match="convert it with X.toarray()"):
        net.predict(sparse.csr_matrix(X))


@pytest.mark.parametrize("cls, y", [(DistillNetRegressor, Y_REG),
                                    (DistillNetClassifier, Y_CLS)])
def test_predict_before_fit_is_not_fitted_error(cls, y):
    net = cls()
    methods = ["predict"] + (["predict_proba"] if cls is DistillNetClassifier
                             else [])
    for method in methods:
        with pytest.raises(NotFittedError, match=f"This {cls.__name__} instance "
                                                 "is not initialized yet"):
            getattr(net, method)(X)
    # Initialised but never fitted: no classes yet, still not fitted.
    if cls is DistillNetClassifier:
        net.set_params(module__n_features=4, module__n_outputs=2).initialize()
        with pytest.raises(NotFittedError):
            net.predict(X)


@pytest.mark.parametrize("cls, y", [(DistillNetRegressor, Y_REG),
                                    (DistillNetClassifier, Y_CLS)])
def test_predict_checks_inputs(cls, y):
    net = cls(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match=rf"X has 3 features, but {cls.__name__} "
                                         r"is expecting 4 features as input"):
        net.predict(X[:, :3])
    with pytest.raises(ValueError, match="pass inputs of the training shape"):
        net.predict(X.reshape(30, 2, 2)[:, :1])  # 2 values per sample
    assert net.predict(X.reshape(30, 2, 2)).shape[0] == 30  # 4 values: fine
    with pytest.raises(ValueError, match="Input X contains NaN"):
        net.predict(_with(np.nan))
    with pytest.raises(ValueError, match=r"Found array with 0 sample\(s\)"):
        net.predict(X[:0])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        net.predict(torch.full((2, 4), float("nan")))


def test_failed_refit_leaves_the_net_unfitted():
    net = DistillNetRegressor(max_epochs=1).fit(X, Y_REG)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        net.fit(X, np.r_[np.nan, Y_REG[1:]])
    _assert_unfitted(net)
    net.fit(X, Y_REG)  # and it can be fitted again
    assert net.predict(X).shape == (30,)


def test_error_during_training_leaves_the_net_unfitted():
    class Broken(torch.nn.Module):
        def __init__(self, n_features=4, n_outputs=2):
            super().__init__()
            self.lin = torch.nn.Linear(n_features, n_outputs)

        def forward(self, X):
            raise RuntimeError("forward failed")

    net = DistillNetClassifier(Broken, max_epochs=1)
    with pytest.raises(RuntimeError, match="forward failed"):
        net.fit(X, Y_CLS)
    _assert_unfitted(net)
    # The class is still a working skorch net: a good module fits.
    net.set_params(module=DistillNetClassifier().module).fit(X, Y_CLS)
    assert net.predict(X).shape == (30,)


def test_warm_start_keeps_the_fitted_net_on_bad_input():
    net = DistillNetRegressor(max_epochs=1, warm_start=True).fit(X, Y_REG)
    before = net.predict(X)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        net.fit(_with(np.nan), Y_REG)
    np.testing.assert_array_equal(net.predict(X), before)


@pytest.mark.parametrize("cls, y", [(DistillNetRegressor, Y_REG),
                                    (DistillNetClassifier, Y_CLS)])
def test_dataset_passes_through_untouched(cls, y, monkeypatch):
    """A Dataset is handed to skorch as it is, NaN and all: it is not read."""
    seen = []
    original = NeuralNet.get_dataset

    def spy(self, X, y=None):
        seen.append(X)
        return original(self, X, y)

    monkeypatch.setattr(NeuralNet, "get_dataset", spy)
    target = torch.as_tensor(y, dtype=torch.float32 if cls is DistillNetRegressor
                             else torch.int64)
    ds = TensorDataset(torch.as_tensor(X, dtype=torch.float32), target)
    net = cls(max_epochs=1)
    net.fit(ds, y)
    assert seen[0] is ds
    seen.clear()
    net.predict(ds)
    assert seen[0] is ds
    assert net.n_features_in_ == 4
