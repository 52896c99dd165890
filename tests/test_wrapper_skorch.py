"""SelfDistillationWrapper around any skorch net: nets, datasets, resumable chains."""

import os
import pickle
import signal
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import StratifiedKFold

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from joblib import Parallel, delayed  # noqa: E402
from skorch import (  # noqa: E402
    NeuralNetBinaryClassifier,
    NeuralNetClassifier,
    NeuralNetRegressor,
)
from skorch.callbacks import Callback, EpochScoring  # noqa: E402
from skorch.dataset import ValidSplit  # noqa: E402
from torch import nn  # noqa: E402

from sklearn_selfdistill import SelfDistillationWrapper  # noqa: E402
from sklearn_selfdistill._chain import round_seed  # noqa: E402
from sklearn_selfdistill.nets import (  # noqa: E402
    DistillNetClassifier,
    SoftNLLLoss,
)


class LogitMLP(nn.Module):
    def __init__(self, n_out=10):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, n_out))

    def forward(self, X):
        return self.net(X.reshape(len(X), -1))


class ProbMLP(LogitMLP):
    """skorch's classic classifier module: a softmax output for NLLLoss."""

    def forward(self, X):
        return torch.softmax(super().forward(X), dim=-1)


class BinaryMLP(LogitMLP):
    def __init__(self):
        super().__init__(n_out=1)


class ImageDataset(torch.utils.data.Dataset):
    """Digits as (1, 8, 8) images with their labels, as a user would write it."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return torch.as_tensor(self.X[i]).reshape(1, 8, 8), int(self.y[i])


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return X[:500], y[:500], X[500:900], y[500:900]


def _alone(net, X, y, random_state):
    """The same net trained by skorch alone, seeded as the wrapper's round 0."""
    torch.manual_seed(round_seed(random_state, 0))
    return net.fit(X, y)


KW = dict(max_epochs=6, lr=0.1, batch_size=64, train_split=None,
          optimizer=torch.optim.SGD, optimizer__momentum=0.9)


@pytest.mark.parametrize("criterion, module", [(nn.CrossEntropyLoss, LogitMLP),
                                               (nn.NLLLoss, ProbMLP)])
def test_plain_neural_net_classifier(digits, criterion, module):
    X, y, Xt, yt = digits
    net = NeuralNetClassifier(module, criterion=criterion, **KW)
    model = SelfDistillationWrapper(net, n_rounds=2, random_state=0,
                                    basis_kernel=None).fit(X, y)
    alone = _alone(clone(net), X, y, 0)
    acc0 = accuracy_score(yt, next(model.staged_predict(Xt)))
    assert acc0 > 0.8
    assert abs(acc0 - accuracy_score(yt, alone.predict(Xt))) <= 0.05
    # Round 0 is skorch's own training on the labels, seeded as stated.
    assert_allclose(next(model.staged_predict_proba(Xt)), alone.predict_proba(Xt),
                    atol=1e-6)
    assert [r["round"] for r in model.history_] == [0, 1, 2]
    for t, proba in enumerate(model.staged_predict_proba(X)):
        assert_allclose(model.history_[t]["train_score"],
                        accuracy_score(y, proba.argmax(1)))
        assert model.history_[t]["epochs"] == 6
    if criterion is nn.NLLLoss:
        # Rounds after the first train on the soft-target NLL.
        assert all(est.criterion is SoftNLLLoss for est in model.estimators_)
    assert model.score(Xt, yt) > 0.8


def test_neural_net_regressor(digits):
    X, y, Xt, yt = digits
    target = (y - 4.5) / 3.0
    net = NeuralNetRegressor(LogitMLP, module__n_out=1, **{**KW, "max_epochs": 30,
                                                           "lr": 0.05})
    model = SelfDistillationWrapper(net, n_rounds=1, random_state=0,
                                    basis_kernel=None).fit(X, target)
    alone = _alone(clone(net), X, target.reshape(-1, 1).astype(np.float32), 0)
    r2 = r2_score((yt - 4.5) / 3.0, next(model.staged_predict(Xt)))
    assert r2 > 0.5
    assert abs(r2 - r2_score((yt - 4.5) / 3.0, alone.predict(Xt))) <= 0.05
    staged = list(model.staged_predict(X))
    assert_allclose(model.history_[1]["train_loss"],
                    np.mean((staged[1] - staged[0]) ** 2), rtol=1e-4)


def test_binary_classifier_trains_on_the_teacher_probability(digits):
    X, y, Xt, yt = digits
    yb = (y >= 5).astype(np.int64)
    net = NeuralNetBinaryClassifier(BinaryMLP, **{**KW, "max_epochs": 15})
    model = SelfDistillationWrapper(net, n_rounds=1, random_state=0,
                                    basis_kernel=None).fit(X, yb)
    assert model.score(Xt, (yt >= 5).astype(int)) > 0.8
    assert model.predict_proba(Xt).shape == (400, 2)


def test_dataset_with_y_none(digits):
    X, y, Xt, yt = digits
    net = NeuralNetClassifier(LogitMLP, criterion=nn.CrossEntropyLoss, **KW)
    ds, ds_test = ImageDataset(X, y), ImageDataset(Xt, yt)
    model = SelfDistillationWrapper(net, n_rounds=1, random_state=0).fit(ds, None)
    alone = _alone(clone(net), ds, None, 0)
    acc0 = accuracy_score(yt, next(model.staged_predict(ds_test)))
    assert abs(acc0 - accuracy_score(yt, alone.predict(ds_test))) <= 0.05
    assert_allclose(model.estimators_[0].predict_proba(ds_test),
                    alone.predict_proba(ds_test), atol=1e-6)
    assert len(model.history_) == 2
    assert_allclose(model.score(ds_test), accuracy_score(yt, model.predict(Xt)))
    assert_allclose(model.predict_proba(ds_test), model.predict_proba(Xt),
                    rtol=1e-5, atol=1e-6)
    # The default basis kernel works on the flattened images.
    assert model.basis_coefficients_.shape == (2, 500, 10)
    # Same images as arrays: same model.
    arrays = SelfDistillationWrapper(net, n_rounds=1, random_state=0).fit(X, y)
    assert_allclose(arrays.predict_proba(Xt), model.predict_proba(Xt), atol=1e-5)


def test_dataset_too_large_for_the_basis_skips_it(digits, monkeypatch):
    import sklearn_selfdistill._rounds as rounds_module

    X, y, _, _ = digits
    monkeypatch.setattr(rounds_module, "_MAX_FLAT_BYTES", 100 * 64 * 8)
    net = DistillNetClassifier(max_epochs=1)
    with pytest.warns(UserWarning, match=r"basis_coefficients_ skipped: the "
                                         r"Dataset's 500 inputs, flattened"):
        model = SelfDistillationWrapper(net, random_state=0).fit(
            ImageDataset(X, y))
    assert not hasattr(model, "basis_coefficients_")
    assert model.n_rounds_ == 1


def test_epoch_scoring_and_stratified_split_on_distill_net(digits):
    X, y, _, _ = digits
    net = DistillNetClassifier(
        max_epochs=3, train_split=ValidSplit(5, stratified=True),
        callbacks=[("train_acc", EpochScoring("accuracy", on_train=True,
                                              name="train_acc",
                                              lower_is_better=False))],
    )
    model = SelfDistillationWrapper(net, n_rounds=1, random_state=0,
                                    basis_kernel=None).fit(X, y)
    train, valid = next(StratifiedKFold(5).split(X, y))
    for record, est in zip(model.history_, model.estimators_):
        assert 0 <= est.history[-1, "train_acc"] <= 1
        # Scored against the labels of the stratified validation fold.
        assert_allclose(est.history[-1, "valid_acc"],
                        accuracy_score(y[valid], est.predict(X[valid])))
        assert record["valid_acc"] == est.history[-1, "valid_acc"]
    assert model.history_[1]["valid_acc"] > 0.5


def test_online_targets_equal_fixed_without_augmentation(digits):
    X, y, Xt, _ = digits
    net = DistillNetClassifier(max_epochs=3)
    fixed = SelfDistillationWrapper(net, n_rounds=2, random_state=0,
                                    ground_truth_weight=0.3,
                                    basis_kernel=None).fit(X, y)
    online = clone(fixed).set_params(teacher_targets="online").fit(X, y)
    for a, b in zip(fixed.staged_predict_proba(Xt), online.staged_predict_proba(Xt)):
        assert_allclose(a, b, atol=1e-5)


class CountFits(Callback):
    """Counts trainings; raises or sends SIGINT in a chosen one."""

    fits = 0
    fail_at = None
    sigint_at = None

    def on_train_begin(self, net, **kwargs):
        type(self).fits += 1
        if type(self).fits == type(self).fail_at:
            raise RuntimeError("boom in this round")

    def on_epoch_end(self, net, **kwargs):
        if type(self).fits == type(self).sigint_at and len(net.history) == 2:
            os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture
def counter():
    CountFits.fits, CountFits.fail_at, CountFits.sigint_at = 0, None, None
    yield CountFits
    CountFits.fits, CountFits.fail_at, CountFits.sigint_at = 0, None, None


def _counted(**kw):
    kw = {"random_state": 0, "basis_kernel": None, **kw}
    return SelfDistillationWrapper(
        DistillNetClassifier(max_epochs=3, callbacks=[CountFits()]), **kw)


def test_warm_start_trains_only_new_rounds(digits, counter):
    X, y, Xt, _ = digits
    model = _counted(n_rounds=2, warm_start=True).fit(X, y)
    first = list(model.estimators_)
    assert counter.fits == 3
    model.set_params(n_rounds=4).fit(X, y)
    assert counter.fits == 5
    assert all(a is b for a, b in zip(model.estimators_[:3], first))
    fresh = _counted(n_rounds=4).fit(X, y)
    for a, b in zip(model.staged_predict_proba(Xt), fresh.staged_predict_proba(Xt)):
        assert_allclose(a, b, atol=1e-5)
    assert [r["round"] for r in model.history_] == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="n_rounds=3 must be at least the 4"):
        model.set_params(n_rounds=3).fit(X, y)
    assert model.n_rounds_ == 4  # the failed call kept the fitted rounds
    with pytest.raises(ValueError, match="training data differ"):
        model.set_params(n_rounds=5).fit(X[:400], y[:400])
    with pytest.raises(ValueError, match="parameters"):
        model.set_params(ground_truth_weight=0.5).fit(X, y)
    assert model.n_rounds_ == 4


def test_seeds_do_not_depend_on_n_rounds(digits):
    X, y, Xt, _ = digits
    net = DistillNetClassifier(max_epochs=2)
    short = SelfDistillationWrapper(net, n_rounds=1, random_state=3).fit(X, y)
    long = SelfDistillationWrapper(net, n_rounds=3, random_state=3).fit(X, y)
    for a, b in zip(short.staged_predict_proba(Xt), long.staged_predict_proba(Xt)):
        assert_array_equal(a, b)
    assert_array_equal(short.basis_eigenvalues_, long.basis_eigenvalues_)
    assert_allclose(short.basis_coefficients_, long.basis_coefficients_[:2])


def test_checkpoint_resume_after_failure(digits, counter, tmp_path):
    X, y, Xt, _ = digits
    counter.fail_at = 3  # round 2
    with pytest.raises(RuntimeError, match="boom"):
        _counted(n_rounds=3, checkpoint_dir=tmp_path).fit(X, y)
    assert sorted(os.listdir(tmp_path)) == ["round_0000.pkl", "round_0001.pkl"]
    counter.fits, counter.fail_at = 0, None
    resumed = _counted(n_rounds=3, checkpoint_dir=tmp_path).fit(X, y)
    assert counter.fits == 2  # rounds 2 and 3 only
    counter.fits = 0
    straight = _counted(n_rounds=3).fit(X, y)
    for a, b in zip(resumed.staged_predict_proba(Xt),
                    straight.staged_predict_proba(Xt)):
        assert_allclose(a, b, atol=1e-5)
    restored = pickle.loads(pickle.dumps(resumed))
    assert_array_equal(restored.predict_proba(Xt), resumed.predict_proba(Xt))
    assert clone(resumed).checkpoint_dir == tmp_path


def test_sigint_keeps_finished_rounds(digits, counter):
    X, y, Xt, _ = digits
    counter.sigint_at = 2  # round 1
    model = _counted(n_rounds=3)
    with pytest.warns(UserWarning, match=r"Interrupted \(SIGINT\) in round 1"):
        model.fit(X, y)
    assert counter.fits == 2  # the chain stopped
    assert model.n_rounds_ == 0 and len(model.estimators_) == 1
    assert model.history_[-1] == {"round": 1, "interrupted": True}
    assert_array_equal(model.predict_proba(Xt),
                       model.estimators_[0].predict_proba(Xt))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_skorch_early_stopping_is_not_an_interrupt(digits):
    from skorch.callbacks import EarlyStopping

    X, y, _, _ = digits
    net = DistillNetClassifier(max_epochs=20, train_split=ValidSplit(5),
                               callbacks=[EarlyStopping(patience=1, threshold=1.0)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        model = SelfDistillationWrapper(net, n_rounds=2, random_state=0,
                                        basis_kernel=None).fit(X, y)
    assert model.n_rounds_ == 2
    assert all(r["epochs"] < 20 for r in model.history_)


def test_failure_leaves_unfitted_or_previous_rounds(digits, counter):
    X, y, Xt, _ = digits
    model = _counted(n_rounds=2).fit(X, y)
    counter.fits, counter.fail_at = 0, 2  # round 1
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(X, (y + 1) % 10)
    with pytest.raises(NotFittedError):
        model.predict(Xt)
    assert not hasattr(model, "classes_") and not hasattr(model, "n_features_in_")
    counter.fits = 0
    with pytest.raises(RuntimeError, match="boom"):
        _counted(n_rounds=2).fit(X, y)
    # warm_start: the rounds it had before the call.
    counter.fits, counter.fail_at = 0, None
    warm = _counted(n_rounds=1, warm_start=True).fit(X, y)
    before = warm.predict_proba(Xt)
    counter.fits, counter.fail_at = 0, 1  # the first new round (2)
    with pytest.raises(RuntimeError, match="boom"):
        warm.set_params(n_rounds=3).fit(X, y)
    assert warm.n_rounds_ == 1 and len(warm.estimators_) == 2
    assert_array_equal(warm.predict_proba(Xt), before)


@pytest.mark.parametrize("kernel, params, error, match", [
    ("rbf", {"gama": 1}, ValueError,
     r"basis_kernel_params has 'gama' \(did you mean 'gamma'\?\), which "
     r"basis_kernel='rbf' does not take: it takes only gamma"),
    (lambda a, b: np.nan, None, ValueError, "must return finite numbers"),
    (lambda a, b, width: 1.0, {"wdth": 1}, TypeError,
     "unexpected keyword argument 'wdth'.*make basis_kernel_params match"),
])
def test_basis_kernel_checked_before_training(digits, counter, kernel, params,
                                              error, match):
    X, y, _, _ = digits
    with pytest.raises(error, match=match):
        _counted(basis_kernel=kernel, basis_kernel_params=params).fit(X, y)
    assert counter.fits == 0


def test_criterion_errors_before_training(digits, counter):
    X, y, _, _ = digits
    net = NeuralNetClassifier(LogitMLP, criterion=nn.MultiMarginLoss,
                              callbacks=[CountFits()], **KW)
    with pytest.raises(TypeError, match="criterion MultiMarginLoss of "
                                        "NeuralNetClassifier cannot take"):
        SelfDistillationWrapper(net).fit(X, y)
    net = NeuralNetClassifier(LogitMLP, criterion=nn.CrossEntropyLoss,
                              criterion__ignore_index=0, **KW)
    with pytest.raises(ValueError, match="ignore_index=0"):
        SelfDistillationWrapper(net).fit(X, y)
    assert counter.fits == 0


def test_soft_nll_matches_torch_and_honours_weights():
    gen = torch.Generator().manual_seed(0)
    logq = torch.log_softmax(torch.randn(6, 4, generator=gen), 1)
    labels = torch.tensor([0, 1, 2, 3, 1, 1])
    weight = torch.tensor([1.0, 2.0, 0.5, 3.0])
    onehot = nn.functional.one_hot(labels, 4).float()
    expected = nn.NLLLoss(weight=weight)(logq, labels)
    assert_allclose(SoftNLLLoss(weight=weight)(logq, onehot).item(),
                    expected.item(), rtol=1e-6)
    p = torch.softmax(torch.randn(6, 4, generator=gen), 1)
    brute = -(p * weight * logq).sum() / (p * weight).sum()
    assert_allclose(SoftNLLLoss(weight=weight)(logq, p).item(), brute.item(),
                    rtol=1e-6)


def test_class_weight_of_nll_criterion_is_kept(digits):
    X, y, _, _ = digits
    weight = torch.linspace(0.5, 2.0, 10)
    net = NeuralNetClassifier(ProbMLP, criterion=nn.NLLLoss, criterion__weight=weight,
                              **KW)
    model = SelfDistillationWrapper(net, n_rounds=1, random_state=0,
                                    basis_kernel=None).fit(X, y)
    crit = model.estimators_[1].criterion_
    assert isinstance(crit, SoftNLLLoss)
    assert torch.equal(crit.weight, weight)


def test_threads_reproducible_and_global_generator_untouched(digits):
    X, y, Xt, _ = digits
    net = DistillNetClassifier(module__dropout=0.2, max_epochs=2)
    wrapper = SelfDistillationWrapper(net, n_rounds=1, random_state=5,
                                      basis_kernel=None)
    state = torch.random.get_rng_state()
    with pytest.warns(UserWarning, match="one at a time across threads"):
        fits = Parallel(n_jobs=2, backend="threading")(
            delayed(clone(wrapper).fit)(X, y) for _ in range(2))
    assert torch.equal(state, torch.random.get_rng_state())
    main = clone(wrapper).fit(X, y)
    for fit in fits:
        assert_array_equal(fit.predict_proba(Xt), main.predict_proba(Xt))


def test_user_callbacks_work_in_every_round(digits, tmp_path):
    from skorch.callbacks import Checkpoint, LRScheduler, ProgressBar

    X, y, _, _ = digits
    net = NeuralNetClassifier(
        LogitMLP, criterion=nn.CrossEntropyLoss, max_epochs=3, lr=0.1,
        batch_size=128, iterator_train__shuffle=True,
        callbacks=[LRScheduler("StepLR", step_size=1, gamma=0.5),
                   Checkpoint(monitor="valid_loss_best", dirname=str(tmp_path),
                              f_pickle="net.pkl"),
                   ProgressBar()],
    )
    model = SelfDistillationWrapper(net, n_rounds=1, random_state=0,
                                    basis_kernel=None).fit(X, y)
    for est in model.estimators_:
        # StepLR halves the rate every epoch: 0.1 * 0.5 ** 3 after three.
        assert_allclose(est.optimizer_.param_groups[0]["lr"], 0.0125)
        assert len(est.history) == 3 and "valid_acc" in est.history[-1]
        assert est.iterator_train__shuffle is True
    assert (tmp_path / "params.pt").exists()
    with open(tmp_path / "net.pkl", "rb") as f:  # pickled while training
        saved = pickle.load(f)
    assert type(saved) is NeuralNetClassifier
    assert not hasattr(saved, "selfdistill_targets_")
    # The user's net is untouched.
    assert not hasattr(net, "module_")


def test_user_collate_fn_gets_plain_samples(digits):
    from torch.utils.data import default_collate

    seen = []

    def collate(samples):
        seen.append(type(samples[0][0]))
        Xb, yb = default_collate(samples)
        return Xb * 2.0, yb  # the user's own preprocessing

    X, y, Xt, _ = digits
    net = NeuralNetClassifier(LogitMLP, criterion=nn.CrossEntropyLoss,
                              iterator_train__collate_fn=collate, **KW)
    model = SelfDistillationWrapper(net, n_rounds=1, random_state=0,
                                    basis_kernel=None).fit(X, y)
    assert seen and set(seen) == {torch.Tensor}
    assert all(est.iterator_train__collate_fn is collate
               for est in model.estimators_)
    assert model.score(Xt, digits[3]) > 0.5


class NoisyDigits(ImageDataset):
    """Augments in __getitem__: a fresh random view at every read."""

    def __getitem__(self, i):
        x, label = super().__getitem__(i)
        return x + 0.3 * torch.randn(x.shape), label


class RecordingClassifier(NeuralNetClassifier):
    """Keeps the views and the targets its loss saw in its last epoch."""

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if training and isinstance(X, dict):
            vars(self).setdefault("seen_", []).append(
                (X["selfdistill_x"].clone(), y_true.detach().clone()))
            del self.seen_[:-4]
        return super().get_loss(y_pred, y_true, X=X, training=training)


def test_online_teacher_predicts_the_augmented_view(digits):
    X, y, _, _ = digits
    net = RecordingClassifier(LogitMLP, criterion=nn.CrossEntropyLoss, **KW)
    ds = NoisyDigits(X, y)
    state = torch.random.get_rng_state()
    online = SelfDistillationWrapper(net, n_rounds=1, teacher_targets="online",
                                     random_state=0, basis_kernel=None).fit(ds)
    assert torch.equal(state, torch.random.get_rng_state())
    teacher, student = online.estimators_
    for views, targets in student.seen_:
        # The teacher's probabilities on the very views the student trained on.
        assert_allclose(targets.numpy(), teacher.predict_proba(views), atol=1e-6)
    fixed = SelfDistillationWrapper(net, n_rounds=1, random_state=0,
                                    basis_kernel=None).fit(ds)
    teacher, student = fixed.estimators_
    views, targets = student.seen_[-1]
    # Fixed targets come from one other random view per image.
    assert np.abs(targets.numpy() - teacher.predict_proba(views)).max() > 1e-3


def test_basis_runs_on_the_nets_device(digits, monkeypatch):
    """The net's device (when not the CPU) is where the basis kernel products
    run; a CPU net computes the basis with numpy."""
    from sklearn_selfdistill import _empirical_basis, _rounds

    assert _rounds.basis_device(DistillNetClassifier(device="cpu")) is None
    assert _rounds.basis_device(DistillNetClassifier(device=None)) is None
    assert _rounds.basis_device(DistillNetClassifier(device="cuda:1")) == "cuda:1"
    assert _rounds.basis_device(object()) is None
    seen = []
    original = _empirical_basis.gram_eigenbasis

    def spy(X, **kwargs):
        seen.append(kwargs["device"])
        return original(X, **{**kwargs, "device": None})

    monkeypatch.setattr(_empirical_basis, "gram_eigenbasis", spy)
    from sklearn_selfdistill import _wrapper

    monkeypatch.setattr(_wrapper, "basis_device", lambda est: "cuda:1")
    X, y, _, _ = digits
    SelfDistillationWrapper(DistillNetClassifier(max_epochs=1), n_rounds=0,
                            random_state=0).fit(X[:100], y[:100])
    assert seen == ["cuda:1"]
