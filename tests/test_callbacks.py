"""LossThresholdStopping and the wrapper's epsilon rule."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

pytest.importorskip("torch")
pytest.importorskip("skorch")

from skorch import NeuralNetRegressor  # noqa: E402

from sklearn_selfdistill import SelfDistillationWrapper  # noqa: E402
from sklearn_selfdistill.callbacks import (  # noqa: E402
    FullPassLoss,
    LossThresholdStopping,
    full_pass_loss,
)
from sklearn_selfdistill.nets import (  # noqa: E402
    DistillNetClassifier,
    DistillNetRegressor,
    MLPModule,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:200] / 16.0).astype(np.float32), y[:200]


def _l2(P, T):
    return float(((P - T) ** 2).sum(axis=1).mean())


def _kl(T, P):
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(T > 0, T * (np.log(np.where(T > 0, T, 1)) - np.log(P)), 0)
    return float(terms.sum(axis=1).mean())


@pytest.mark.parametrize("loss", ["l2", "cross_entropy"])
def test_stops_at_first_epoch_at_or_below_threshold(digits, loss):
    X, y = digits
    T = np.eye(10)[y]
    threshold = 0.3 if loss == "l2" else 0.5
    stop = LossThresholdStopping(threshold)
    net = DistillNetClassifier(loss=loss, max_epochs=100,
                               callbacks=[FullPassLoss(), stop], batch_size=32)
    net.fit(X, y)
    losses = net.history[:, "train_full_loss"]
    # skorch's running batch average is its own, left alone.
    assert not np.allclose(net.history[:, "train_loss"], losses)
    assert stop.reached_
    assert stop.stopped_epoch_ == len(losses) < 100
    assert losses[-1] <= threshold
    assert all(value > threshold for value in losses[:-1])
    # The recorded value is the full evaluation pass of the final weights.
    P = net.predict_proba(X).astype(np.float64)
    expected = _l2(P, T) if loss == "l2" else _kl(T, P)
    assert_allclose(losses[-1], expected, rtol=1e-5)
    assert_allclose(stop.last_loss_, losses[-1])


def test_each_epoch_records_the_full_pass_loss(digits):
    """Every epoch's recorded loss equals an independent pass after that epoch."""
    X, y = digits
    T = np.eye(10)[y]
    seen = []

    class Probe(LossThresholdStopping):
        def on_epoch_end(self, net, **kwargs):
            try:
                super().on_epoch_end(net, **kwargs)
            finally:
                P = net.predict_proba(X).astype(np.float64)
                seen.append(_l2(P, T))

    stop = Probe(-1.0)  # never reached
    net = DistillNetClassifier(max_epochs=4,
                               callbacks=[FullPassLoss(), stop]).fit(X, y)
    assert not stop.reached_ and stop.stopped_epoch_ is None
    assert len(net.history) == 4
    assert_allclose(net.history[:, "train_full_loss"], seen, rtol=1e-5)
    # skorch's own train_loss (running batch average) is not overwritten.
    assert not np.allclose(net.history[:, "train_loss"], seen, rtol=1e-3)


def test_kl_is_zero_on_own_predictions(digits):
    X, y = digits
    net = DistillNetClassifier(loss="cross_entropy", max_epochs=2).fit(X, y)
    P = net.predict_proba(X)
    assert full_pass_loss(net, (X, P)) == pytest.approx(0.0, abs=1e-6)
    # ... while the cross-entropy itself is the teacher's entropy.
    import torch

    ce = net.get_loss(net.forward(X), torch.as_tensor(P)).item()
    entropy = -np.sum(P * np.log(P), axis=1).mean()
    assert ce == pytest.approx(entropy, rel=1e-4)


def test_fallback_to_criterion_for_other_nets():
    rng = np.random.RandomState(0)
    X = rng.randn(50, 3).astype(np.float32)
    Y = rng.randn(50, 2).astype(np.float32)
    net = NeuralNetRegressor(MLPModule, module__n_features=3, module__n_outputs=2,
                             max_epochs=1, train_split=None, verbose=0,
                             batch_size=16).fit(X, Y)
    pred = net.predict(X)
    # MSELoss averages over samples and outputs.
    assert_allclose(full_pass_loss(net, (X, Y)), np.mean((pred - Y) ** 2),
                    rtol=1e-5)
    own = DistillNetRegressor(max_epochs=1).fit(X, Y)
    assert_allclose(full_pass_loss(own, (X, Y)),
                    ((own.predict(X) - Y) ** 2).sum(axis=1).mean(), rtol=1e-5)


def test_invalid_parameters(digits):
    X, y = digits
    with pytest.raises(ValueError, match="monitor must be a history key"):
        DistillNetClassifier(callbacks=[LossThresholdStopping(0.1, 3)]).fit(X, y)
    with pytest.raises(ValueError, match="threshold must be a finite real"):
        DistillNetClassifier(callbacks=[LossThresholdStopping(None)]).fit(X, y)
    with pytest.raises(ValueError, match=r"put a FullPassLoss\(name='train_full_"):
        DistillNetClassifier(max_epochs=1,
                             callbacks=[LossThresholdStopping(0.1)]).fit(X, y)
    with pytest.raises(ValueError, match="needs a train_split"):
        DistillNetClassifier(
            max_epochs=1, callbacks=[FullPassLoss("valid_full", on_train=False)]
        ).fit(X, y)
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        DistillNetClassifier(callbacks=[FullPassLoss("")]).fit(X, y)


def test_valid_loss_monitors_the_validation_split(digits):
    from skorch.dataset import ValidSplit

    X, y = digits
    stop = LossThresholdStopping(0.0, monitor="valid_full_loss")
    net = DistillNetClassifier(
        max_epochs=2, train_split=ValidSplit(4, stratified=False),
        callbacks=[FullPassLoss("valid_full_loss", on_train=False), stop],
    ).fit(X, y)
    # ValidSplit(4) without shuffling keeps the first quarter for validation.
    P = net.predict_proba(X[:50]).astype(np.float64)
    assert_allclose(net.history[-1, "valid_full_loss"],
                    _l2(P, np.eye(10)[y[:50]]), rtol=1e-5)
    assert_allclose(stop.last_loss_, net.history[-1, "valid_full_loss"])


def test_wrapper_epsilon_ends_rounds_at_or_below_epsilon(digits):
    X, y = digits
    eps = 0.25
    model = SelfDistillationWrapper(
        DistillNetClassifier(max_epochs=200, batch_size=32), n_rounds=2,
        epsilon=eps, random_state=0, basis_kernel=None,
    ).fit(X, y)
    for t, (record, est) in enumerate(zip(model.history_, model.estimators_)):
        assert record["reached_epsilon"]
        losses = est.history[:, "train_full_loss"]
        assert losses[-1] <= eps and all(v > eps for v in losses[:-1])
        assert record["epochs"] == len(losses)
        assert_allclose(record["train_loss"], losses[-1], rtol=1e-5)


def test_wrapper_epsilon_warns_at_the_cap(digits):
    X, y = digits
    with pytest.warns(ConvergenceWarning) as record:
        model = SelfDistillationWrapper(
            DistillNetClassifier(max_epochs=2), n_rounds=1, epsilon=1e-6,
            random_state=0, basis_kernel=None,
        ).fit(X, y)
    messages = [str(w.message) for w in record
                if issubclass(w.category, ConvergenceWarning)]
    assert len(messages) == 2
    for t, message in enumerate(messages):
        assert message.startswith(f"Round {t}: the training loss ")
        assert "above epsilon=1e-06 after max_epochs=2 epochs" in message
    assert [r["epochs"] for r in model.history_] == [2, 2]
    assert not any(r["reached_epsilon"] for r in model.history_)
