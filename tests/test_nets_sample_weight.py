"""sample_weight of the package's nets: each sample's loss weighted."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import softmax
from sklearn.exceptions import NotFittedError

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from sklearn_selfdistill import SelfDistillationWrapper  # noqa: E402
from sklearn_selfdistill.nets import (  # noqa: E402
    DistillNetClassifier,
    DistillNetRegressor,
)


def _data(n=24, d=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d).astype(np.float32)
    y_reg = (X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.randn(n)).astype(np.float32)
    y_cls = np.digitize(X[:, 0], [-0.4, 0.4])  # 3 classes
    w = rng.randint(0, 4, n).astype(np.float64)
    w[0] = 0.0
    w[1] = 3.0
    return X, y_reg, y_cls, w


def _fit(net, X, y, seed=0, **kw):
    torch.manual_seed(seed)
    return net.fit(X, y, **kw)


@pytest.mark.parametrize("batch_size", [-1, 5])
@pytest.mark.parametrize("loss", ["l2", "cross_entropy"])
def test_classifier_weighted_loss_by_hand(loss, batch_size):
    """With lr=0 the model does not move, so the epoch's recorded training loss
    is the weighted loss sum_i w_i l_i / sum_i w_i of that model (skorch
    averages the batch losses weighted by batch size)."""
    X, _, y, w = _data()
    net = _fit(DistillNetClassifier(loss=loss, lr=0.0, max_epochs=1,
                                    batch_size=batch_size), X, y,
               sample_weight=w)
    P = net.predict_proba(X).astype(np.float64)
    T = np.eye(3)[y]
    if loss == "l2":
        per_sample = ((P - T) ** 2).sum(axis=1)
    else:
        per_sample = -(T * np.log(P)).sum(axis=1)
    expected = (w * per_sample).sum() / w.sum()
    assert_allclose(net.history[-1, "train_loss"], expected, rtol=1e-5)
    unweighted = per_sample.mean()
    assert abs(expected - unweighted) > 1e-3  # the weights matter here


@pytest.mark.parametrize("batch_size", [-1, 7])
def test_regressor_weighted_loss_by_hand(batch_size):
    X, y, _, w = _data()
    Y = np.column_stack([y, -2 * y])
    net = _fit(DistillNetRegressor(lr=0.0, max_epochs=1, batch_size=batch_size),
               X, Y, sample_weight=w)
    per_sample = ((net.predict(X).astype(np.float64) - Y) ** 2).sum(axis=1)
    assert_allclose(net.history[-1, "train_loss"],
                    (w * per_sample).sum() / w.sum(), rtol=1e-5)
    # A common factor changes nothing.
    net2 = _fit(DistillNetRegressor(lr=0.0, max_epochs=1, batch_size=batch_size),
                X, Y, sample_weight=7.5 * w)
    assert_allclose(net2.history[-1, "train_loss"], net.history[-1, "train_loss"],
                    rtol=1e-6)


@pytest.mark.parametrize("cls", [DistillNetRegressor, DistillNetClassifier])
def test_integer_weights_equal_repeated_rows(cls):
    """One full batch: the weighted loss is the mean loss over the rows repeated
    w_i times (zero-weight rows dropped), so the gradients and the trained
    models are the same."""
    X, y_reg, y_cls, w = _data()
    y = y_reg if cls is DistillNetRegressor else y_cls
    kw = dict(max_epochs=15, lr=0.05, batch_size=-1)
    weighted = _fit(cls(**kw), X, y, sample_weight=w)
    reps = w.astype(int)
    repeated = _fit(cls(**kw), np.repeat(X, reps, axis=0), np.repeat(y, reps))
    if cls is DistillNetRegressor:
        assert_allclose(weighted.predict(X), repeated.predict(X), atol=1e-5)
    else:
        assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X),
                        atol=1e-5)
    unweighted = _fit(cls(**kw), X, y)
    out = (unweighted.predict(X) if cls is DistillNetRegressor
           else unweighted.predict_proba(X))
    assert np.abs(out - (weighted.predict(X) if cls is DistillNetRegressor
                         else weighted.predict_proba(X))).max() > 1e-3


@pytest.mark.parametrize("cls", [DistillNetRegressor, DistillNetClassifier])
def test_unit_weights_change_nothing(cls):
    X, y_reg, y_cls, _ = _data()
    y = y_reg if cls is DistillNetRegressor else y_cls
    kw = dict(max_epochs=3, batch_size=8)
    a = _fit(cls(**kw), X, y)
    b = _fit(cls(**kw), X, y, sample_weight=np.ones(len(X)))
    assert_allclose(a.predict(X) if cls is DistillNetRegressor
                    else a.predict_proba(X),
                    b.predict(X) if cls is DistillNetRegressor
                    else b.predict_proba(X), atol=1e-6)


def test_weights_with_probability_targets_and_a_dataset():
    X, _, y, w = _data()
    rng = np.random.RandomState(1)
    P = softmax(rng.randn(len(X), 3), axis=1)
    net = _fit(DistillNetClassifier(lr=0.0, max_epochs=1), X, P, sample_weight=w)
    Q = net.predict_proba(X).astype(np.float64)
    assert_allclose(net.history[-1, "train_loss"],
                    (w * ((Q - P) ** 2).sum(axis=1)).sum() / w.sum(), rtol=1e-5)
    ds = torch.utils.data.TensorDataset(torch.as_tensor(X), torch.as_tensor(y))
    net = _fit(DistillNetClassifier(lr=0.0, max_epochs=1), ds, None,
               sample_weight=w)
    Q = net.predict_proba(X).astype(np.float64)
    assert_allclose(net.history[-1, "train_loss"],
                    (w * ((Q - np.eye(3)[y]) ** 2).sum(axis=1)).sum() / w.sum(),
                    rtol=1e-5)


def test_weights_with_a_torch_criterion():
    X, y, _, w = _data()
    net = _fit(DistillNetRegressor(criterion=torch.nn.MSELoss, lr=0.0,
                                   max_epochs=1), X, y, sample_weight=w)
    r2 = (net.predict(X).astype(np.float64) - y) ** 2
    assert_allclose(net.history[-1, "train_loss"], (w * r2).sum() / w.sum(),
                    rtol=1e-5)


def test_sample_weight_errors():
    X, y, _, w = _data()
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(24,\)"):
        DistillNetRegressor(max_epochs=1).fit(X, y, sample_weight=w[:3])
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        DistillNetRegressor(max_epochs=1).fit(X, y, sample_weight=-w)
    with pytest.raises(ValueError, match="positive sum"):
        DistillNetRegressor(max_epochs=1).fit(X, y, sample_weight=0 * w)
    with pytest.raises(ValueError, match="Input sample_weight contains NaN"):
        DistillNetRegressor(max_epochs=1).fit(X, y, sample_weight=w + np.nan)

    class PairLoss:  # a criterion with no per-sample losses
        def __call__(self, y_pred, y_true):
            return ((y_pred.reshape(-1) - y_true.reshape(-1)) ** 2).mean()

    net = DistillNetRegressor(criterion=PairLoss, max_epochs=1)
    with pytest.raises(TypeError, match="sample_weight needs the loss of each "
                                        "sample, which criterion PairLoss"):
        net.fit(X, y, sample_weight=w)
    with pytest.raises(NotFittedError):  # the failed fit left it unfitted
        net.check_is_fitted()


def test_wrapper_passes_weights_to_every_round_of_a_net():
    """Every round of the wrapper around a net with integer weights equals the
    same chain on the repeated rows (one full batch per epoch)."""
    X, y, _, w = _data()
    reps = w.astype(int)
    kw = dict(n_rounds=2, basis_kernel=None, random_state=0)
    net = DistillNetRegressor(max_epochs=10, lr=0.05, batch_size=-1)
    weighted = SelfDistillationWrapper(net, **kw).fit(X, y, sample_weight=w)
    repeated = SelfDistillationWrapper(net, **kw).fit(
        np.repeat(X, reps, axis=0), np.repeat(y, reps))
    for a, b in zip(weighted.staged_predict(X), repeated.staged_predict(X)):
        assert_allclose(a, b, atol=1e-5)


def test_wrapper_rejects_weights_for_a_net_without_them():
    from skorch import NeuralNetRegressor

    X, y, _, w = _data()
    net = NeuralNetRegressor(torch.nn.Linear, module__in_features=3,
                             module__out_features=1, max_epochs=1)
    model = SelfDistillationWrapper(net, basis_kernel=None)
    with pytest.raises(ValueError, match=r"NeuralNetRegressor.fit does not take "
                                         r"sample_weight \(skorch would pass it "
                                         r"to the module's forward\)"):
        model.fit(X, y.reshape(-1, 1), sample_weight=w)
    assert not hasattr(model, "estimators_")
