"""The package's skorch nets, losses and module factories."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import log_softmax, softmax

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from sklearn_selfdistill.nets import (  # noqa: E402
    CIFARVGG,
    CIFARResNet,
    DistillNetClassifier,
    DistillNetRegressor,
    MLPModule,
    SoftTargetLoss,
    make_mlp,
    make_resnet,
    make_vgg,
)


def _data(n=60, d=5, k=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d).astype(np.float32)
    y = np.argmax(X[:, :k] + 0.3 * rng.randn(n, k), axis=1)
    return X, y


def test_losses_match_numpy():
    rng = np.random.RandomState(0)
    Z = rng.randn(7, 4)
    T = softmax(rng.randn(7, 4), axis=1)
    z, t = torch.as_tensor(Z), torch.as_tensor(T)
    l2 = SoftTargetLoss("l2")(z, t).item()
    ce = SoftTargetLoss("cross_entropy")(z, t).item()
    assert_allclose(l2, ((softmax(Z, axis=1) - T) ** 2).sum(axis=1).mean(), rtol=1e-6)
    assert_allclose(ce, -(T * log_softmax(Z, axis=1)).sum(axis=1).mean(), rtol=1e-6)
    # On one-hot targets soft cross-entropy is the usual cross-entropy.
    labels = rng.randint(0, 4, size=7)
    onehot = torch.as_tensor(np.eye(4)[labels])
    assert_allclose(SoftTargetLoss("cross_entropy")(z, onehot).item(),
                    torch.nn.functional.cross_entropy(z.float(),
                                                      torch.as_tensor(labels)).item(),
                    rtol=1e-6)
    with pytest.raises(ValueError, match="loss must be one of"):
        SoftTargetLoss("hinge")


def test_per_sample_monitored_loss():
    rng = np.random.RandomState(1)
    Z = rng.randn(5, 3)
    T = softmax(rng.randn(5, 3), axis=1)
    net = DistillNetClassifier(loss="cross_entropy")
    kl = net.per_sample_loss(torch.as_tensor(Z), torch.as_tensor(T)).numpy()
    P = softmax(Z, axis=1)
    assert_allclose(kl, (T * (np.log(T) - np.log(P))).sum(axis=1), rtol=1e-5)
    # The KL divergence vanishes when the output equals the targets.
    same = net.per_sample_loss(torch.as_tensor(np.log(T)), torch.as_tensor(T))
    assert_allclose(same.numpy(), 0.0, atol=1e-6)
    net.set_params(loss="l2")
    l2 = net.per_sample_loss(torch.as_tensor(Z), torch.as_tensor(T)).numpy()
    assert_allclose(l2, ((P - T) ** 2).sum(axis=1), rtol=1e-5)


def test_classifier_labels_and_probabilities():
    X, y = _data()
    labels = np.array(["a", "b", "c"])[y]
    net = DistillNetClassifier(max_epochs=40, lr=0.02).fit(X, labels)
    assert_array_equal(net.classes_, ["a", "b", "c"])
    assert net.module_.layers[0].in_features == 5
    assert net.module_.layers[-1].out_features == 3
    P = net.predict_proba(X)
    assert P.dtype == np.float32
    assert_allclose(P.sum(axis=1), 1.0, rtol=1e-6)
    assert np.mean(net.predict(X) == labels) > 0.8
    # A student on the teacher's probabilities keeps the classes it is given.
    student = DistillNetClassifier(max_epochs=40, lr=0.02,
                                   classes=net.classes_).fit(X, P)
    assert_array_equal(student.classes_, ["a", "b", "c"])
    assert np.mean(student.predict(X) == net.predict(X)) > 0.9
    plain = DistillNetClassifier(max_epochs=1).fit(X, P)
    assert_array_equal(plain.classes_, [0, 1, 2])
    # Classes in a given (unsorted) order: column j of the targets is classes[j].
    class Recording(DistillNetClassifier):
        def get_dataset(self, X, y=None):
            if y is not None:
                self.y_seen_ = np.asarray(y)
            return super().get_dataset(X, y)

    unsorted = Recording(max_epochs=1, classes=["c", "a", "b"]).fit(X, labels)
    # skorch trains on the labels' positions in classes (one-hot in the loss).
    assert_array_equal(unsorted.y_seen_, np.array([1, 2, 0])[y])
    assert set(unsorted.predict(X)) <= {"a", "b", "c"}


def test_classifier_input_errors():
    X, y = _data()
    with pytest.raises(ValueError, match="one probability vector per row"):
        DistillNetClassifier(max_epochs=1).fit(X, np.full((60, 3), 0.5))
    with pytest.raises(ValueError, match=r"labels \[7\] that are not among"):
        DistillNetClassifier(max_epochs=1, classes=[0, 1, 2]).fit(X, np.full(60, 7))
    with pytest.raises(ValueError, match="3 columns of probabilities but there "
                                         "are 2 classes"):
        DistillNetClassifier(max_epochs=1, classes=[0, 1]).fit(X, np.eye(3)[y])
    with pytest.raises(ValueError, match="loss must be one of"):
        DistillNetClassifier(loss="mse", max_epochs=1).fit(X, y)


def test_partial_fit_keeps_classes_and_weights():
    X, y = _data()
    net = DistillNetClassifier(max_epochs=2).fit(X, y + 10)
    before = net.module_.layers[0].weight.detach().clone()
    net.partial_fit(X, np.eye(3)[y])
    assert_array_equal(net.classes_, [10, 11, 12])
    assert len(net.history) == 4  # two more epochs on the same module
    assert not torch.equal(before, net.module_.layers[0].weight)


def test_regressor_shapes_and_loss():
    X, _ = _data()
    y = X @ np.arange(5.0)
    net = DistillNetRegressor(max_epochs=60).fit(X, y)
    pred = net.predict(X)
    assert pred.shape == (60,) and pred.dtype == np.float32
    assert net.score(X, y) > 0.9
    Y = np.column_stack([y, -2 * y])
    net2 = DistillNetRegressor(max_epochs=1).fit(X, Y)
    assert net2.predict(X).shape == (60, 2)
    assert net2.module_.layers[-1].out_features == 2
    yp = torch.as_tensor(net2.predict(X))
    assert_allclose(net2.get_loss(yp, torch.as_tensor(Y)).item(),
                    ((net2.predict(X) - Y) ** 2).sum(axis=1).mean(), rtol=1e-5)
    with pytest.raises(ValueError, match="loss must be 'l2'"):
        DistillNetRegressor(loss="cross_entropy", max_epochs=1).fit(X, y)


def test_bf16_autocast():
    X, y = _data()
    torch.manual_seed(0)
    net = DistillNetClassifier(max_epochs=3).fit(X, y)
    logits32 = net.forward(X)
    net.set_params(bf16_autocast=True)
    logits16 = net.forward(X)
    assert logits16.dtype == torch.float32
    diff = (logits16 - logits32).abs().max().item()
    # bf16 has an 8-bit mantissa: close, but not the float32 result.
    assert 0 < diff < 0.1 * logits32.abs().max().item()
    torch.manual_seed(0)
    mixed = DistillNetClassifier(max_epochs=3, bf16_autocast=True).fit(X, y)
    assert np.isfinite(mixed.history[-1, "train_loss"])
    assert mixed.predict_proba(X).dtype == np.float32


def test_pickle_round_trip():
    X, y = _data()
    net = DistillNetClassifier(max_epochs=2).fit(X, y)
    restored = pickle.loads(pickle.dumps(net))
    assert_array_equal(restored.predict_proba(X), net.predict_proba(X))


def test_mlp_factory():
    mlp = make_mlp(6, 2, hidden_units=(8, 4), dropout=0.5)
    linears = [m for m in mlp.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (6, 8), (8, 4), (4, 2)]
    assert sum(isinstance(m, torch.nn.Dropout) for m in mlp.modules()) == 2
    assert MLPModule(3, 1, hidden_units=5)(torch.zeros(2, 3)).shape == (2, 1)


@pytest.mark.parametrize(
    "factory, depth",
    [(make_resnet, 18), (make_resnet, 34), (make_resnet, 50),
     (make_vgg, 11), (make_vgg, 16)],
)
def test_vision_factories_train_one_epoch(factory, depth):
    pytest.importorskip("torchvision")
    rng = np.random.RandomState(depth)
    X = rng.randn(4, 1, 32, 32).astype(np.float32)
    y = np.array([0, 1, 2, 3])
    torch.manual_seed(0)
    module = factory(depth=depth, n_classes=4, in_channels=1)
    assert module(torch.as_tensor(X)).shape == (4, 4)
    first = next(module.parameters()).detach().clone()
    net = DistillNetClassifier(module, max_epochs=1, batch_size=4, lr=0.001)
    net.fit(X, y)
    assert len(net.history) == 1 and np.isfinite(net.history[-1, "train_loss"])
    assert not torch.equal(first, next(net.module_.parameters()))
    assert net.predict_proba(X).shape == (4, 4)


def test_vision_modules_infer_channels_and_stem():
    pytest.importorskip("torchvision")
    X = np.random.RandomState(0).randn(2, 2, 32, 32).astype(np.float32)
    net = DistillNetClassifier(CIFARResNet, module__depth=18, max_epochs=1,
                               batch_size=2).fit(X, np.array([0, 4]))
    conv1 = net.module_.net.conv1
    assert (conv1.in_channels, conv1.kernel_size, conv1.stride) == (2, (3, 3), (1, 1))
    assert isinstance(net.module_.net.maxpool, torch.nn.Identity)
    assert net.module_.net.fc.out_features == 2
    vgg = CIFARVGG(n_outputs=7, depth=11, in_channels=3, batch_norm=False)
    assert vgg.classifier.in_features == 512 and vgg.classifier.out_features == 7
    assert vgg(torch.zeros(1, 3, 32, 32)).shape == (1, 7)
    with pytest.raises(ValueError, match="depth must be one of"):
        make_resnet(depth=101)
    with pytest.raises(ValueError, match="depth must be one of"):
        make_vgg(depth=19)


def test_classifier_with_stratified_split_and_epoch_scoring():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import StratifiedKFold
    from skorch.callbacks import EpochScoring
    from skorch.dataset import ValidSplit

    X, y = load_digits(return_X_y=True)
    X, y = (X[:300] / 16).astype(np.float32), y[:300]
    labels = np.array(list("abcdefghij"))[y]
    net = DistillNetClassifier(
        max_epochs=3, train_split=ValidSplit(5, stratified=True),
        callbacks=[("train_acc", EpochScoring("accuracy", on_train=True,
                                              name="train_acc",
                                              lower_is_better=False))],
    ).fit(X, y)
    _, valid = next(StratifiedKFold(5).split(X, y))
    assert_allclose(net.history[-1, "valid_acc"],
                    np.mean(net.predict(X[valid]) == y[valid]))
    assert 0 <= net.history[-1, "train_acc"] <= 1
    # String labels: valid_acc compares class positions, whatever the labels.
    named = DistillNetClassifier(max_epochs=3,
                                 train_split=ValidSplit(5, stratified=True))
    named.fit(X, labels)
    assert_allclose(named.history[-1, "valid_acc"],
                    np.mean(named.predict(X[valid]) == labels[valid]))


def test_classifier_fits_a_dataset_without_y():
    from skorch.dataset import Dataset

    X, y = _data()
    net = DistillNetClassifier(max_epochs=2).fit(Dataset(X, y), None)
    assert_array_equal(net.classes_, [0, 1, 2])
    assert net.module_.layers[0].in_features == 5
    with pytest.raises(ValueError, match="needs y, or a Dataset"):
        DistillNetClassifier().fit(X, None)
