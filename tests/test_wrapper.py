"""SelfDistillationWrapper: common checks, exact round logic, soft targets, seeding."""

import importlib.util
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax
from sklearn.datasets import load_diabetes, load_iris, make_blobs
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, r2_score
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_selfdistill import SelfDistillationWrapper

HAS_SKORCH = (
    importlib.util.find_spec("torch") is not None
    and importlib.util.find_spec("skorch") is not None
)
needs_skorch = pytest.mark.skipif(not HAS_SKORCH, reason="needs torch and skorch")


def _common_check_estimators():
    estimators = [
        SelfDistillationWrapper(LogisticRegression()),
        SelfDistillationWrapper(Ridge()),
    ]
    if HAS_SKORCH:
        from sklearn_selfdistill.nets import DistillNetRegressor

        estimators = [
            SelfDistillationWrapper(),
            SelfDistillationWrapper(DistillNetRegressor()),
        ] + estimators
    return estimators


def _expected_failures(estimator):
    from sklearn.base import is_regressor

    from sklearn_selfdistill._rounds import is_skorch_net

    if is_regressor(estimator) and is_skorch_net(estimator.estimator):
        # A float32 network's output on one row and on a batch can differ by
        # one unit in the last place (BLAS picks kernels by batch size); the
        # check compares them to 1e-7 in absolute terms.
        return {"check_methods_subset_invariance":
                "float32 network outputs differ by 1 ulp between batch sizes"}
    return {}


# Every other check passes, networks included.
@parametrize_with_checks(_common_check_estimators(),
                         expected_failed_checks=_expected_failures)
def test_common_checks(estimator, check):
    check(estimator)


# ---------------------------------------------------------------- round logic


def _kernel_data(n=25, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2 + 0.2 * rng.randn(n)
    return X, y


@pytest.mark.parametrize("w", [0.0, 0.3])
def test_kernel_ridge_rounds_match_closed_form(w):
    """Round t predicts (K (K + a I)^-1)^(t+1) y, with ground-truth mixing w."""
    X, y = _kernel_data()
    a, gamma, n_rounds = 0.3, 0.7, 4
    model = SelfDistillationWrapper(
        KernelRidge(alpha=a, kernel="rbf", gamma=gamma), n_rounds=n_rounds,
        ground_truth_weight=w, basis_kernel=None,
    ).fit(X, y)
    K = rbf_kernel(X, X, gamma=gamma)
    S = K @ np.linalg.inv(K + a * np.eye(len(y)))
    targets = y
    staged = list(model.staged_predict(X))
    assert len(staged) == len(model.estimators_) == n_rounds + 1
    for t in range(n_rounds + 1):
        f_t = S @ targets
        if w == 0.0:
            assert_allclose(f_t, np.linalg.matrix_power(S, t + 1) @ y,
                            rtol=1e-10, atol=1e-12)
        assert_allclose(staged[t], f_t, rtol=1e-8, atol=1e-10)
        assert_allclose(model.history_[t]["train_score"], r2_score(y, f_t),
                        rtol=1e-10)
        assert_allclose(model.history_[t]["train_loss"],
                        np.mean((f_t - targets) ** 2), rtol=1e-8)
        targets = w * y + (1 - w) * f_t
    assert_allclose(model.predict(X), staged[-1])
    assert not hasattr(model, "basis_coefficients_")


def test_basis_coefficients_of_kernel_ridge_are_B_t():
    """basis_coefficients_[t] = (d / (d + a / n))^(t+1), d the eigenvalues of K/n."""
    X, y = _kernel_data(n=30, seed=1)
    n, a, gamma, n_rounds = 30, 0.2, 0.5, 3
    model = SelfDistillationWrapper(
        KernelRidge(alpha=a, kernel="rbf", gamma=gamma), n_rounds=n_rounds,
        basis_kernel="rbf", basis_kernel_params={"gamma": gamma},
    ).fit(X, y)
    d_ref, U = np.linalg.eigh(rbf_kernel(X, X, gamma=gamma) / n)
    d_ref, U = d_ref[::-1], U[:, ::-1]
    d = model.basis_eigenvalues_
    assert_allclose(d[:10], d_ref[:10], rtol=1e-10)
    assert not hasattr(model, "basis_indices_")
    assert model.basis_coefficients_.shape == (n_rounds + 1, n)
    # The leading, well-separated directions: those where y has a share of at
    # least 1e-3 ||y|| are the closed form, the others exactly 0.
    top = slice(0, 8)
    weak = np.abs(U.T @ y)[top] < 1e-3 * np.linalg.norm(y)
    for t in range(n_rounds + 1):
        expected = np.where(weak, 0.0, (d[top] / (d[top] + a / n)) ** (t + 1))
        assert_allclose(model.basis_coefficients_[t, top], expected,
                        rtol=1e-6, atol=1e-9)
    # Every direction: in [0, 1] and the closed form wherever it is not zeroed.
    B = model.basis_coefficients_
    kept = (B[0] != 0) & (d > 1e-9)
    for t in range(n_rounds + 1):
        assert_allclose(B[t, kept], (d[kept] / (d[kept] + a / n)) ** (t + 1),
                        rtol=1e-5, atol=1e-7)


def _uniform_chain(n, alpha, seed=0, **kw):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, (n, 3))
    y = np.sin(np.pi * X[:, 0]) + X[:, 1] * X[:, 2] + 0.1 * rng.randn(n)
    model = SelfDistillationWrapper(
        KernelRidge(alpha=alpha, kernel="rbf", gamma=2.0), n_rounds=3,
        basis_kernel="rbf", basis_kernel_params={"gamma": 2.0}, **kw,
    ).fit(X, y)
    return X, y, model


def _closed_form(X, y, n_directions, alpha):
    """Exact B_t of a KernelRidge chain from the explicit Gram matrix."""
    n = len(y)
    d, U = np.linalg.eigh(rbf_kernel(X, X, gamma=2.0) / n)
    d, U = d[::-1][:n_directions], U[:, ::-1][:, :n_directions]
    weak = np.abs(U.T @ y) < 1e-3 * np.linalg.norm(y)
    shrink = n * d / (n * d + alpha)
    return d, np.stack([np.where(weak, 0.0, shrink ** (t + 1)) for t in range(4)])


def test_basis_lanczos_path_through_the_wrapper(monkeypatch):
    """The Lanczos path of the basis (forced at 400 points) against the closed form."""
    from sklearn_selfdistill import _empirical_basis

    monkeypatch.setattr(_empirical_basis, "DEFAULT_DENSE_MAX_SAMPLES", 0)
    X, y, model = _uniform_chain(400, alpha=10.0, basis_n_components=20,
                                 random_state=0)
    d, exact = _closed_form(X, y, 20, alpha=10.0)
    assert model.basis_eigenvalues_.shape == (20,)
    assert model.basis_coefficients_.shape == (4, 20)
    assert_allclose(model.basis_eigenvalues_, d, rtol=1e-9)
    assert_allclose(model.basis_coefficients_, exact, rtol=0, atol=1e-6)
    # Seeded: reproducible to the last digit.
    _, _, again = _uniform_chain(400, alpha=10.0, basis_n_components=20,
                                 random_state=0)
    assert_array_equal(again.basis_coefficients_, model.basis_coefficients_)
    # None: every direction, by the dense path, whatever n.
    _, _, full = _uniform_chain(400, alpha=10.0, basis_n_components=None)
    assert full.basis_coefficients_.shape == (4, 400)
    assert_allclose(full.basis_coefficients_[:, :20], exact, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_basis_target_at_5000_points():
    """KernelRidge(alpha=100, rbf, gamma=2) on 5000 points in [-1, 1]^3: the 20
    leading coefficients of every round within 0.01 of the exact ones."""
    X, y, model = _uniform_chain(5000, alpha=100.0, random_state=0)
    assert model.basis_coefficients_.shape == (4, 50)  # default, Lanczos
    _, exact = _closed_form(X, y, 20, alpha=100.0)
    error = np.abs(model.basis_coefficients_[:, :20] - exact).max()
    assert error < 0.01
    assert error < 1e-6  # in fact to round-off


def test_basis_of_an_indefinite_kernel_warns_and_keeps_the_rounds():
    X, y = _kernel_data(n=60, seed=0)
    with pytest.warns(UserWarning, match=r"basis_coefficients_ skipped: .*not "
                                         r"positive semi-definite.*rounds are kept"):
        model = SelfDistillationWrapper(
            Ridge(), n_rounds=2, basis_kernel="sigmoid",
            basis_kernel_params={"gamma": 1.0, "coef0": 1.0}).fit(X, y)
    assert model.n_rounds_ == 2 and not hasattr(model, "basis_coefficients_")
    assert_allclose(model.predict(X), model.estimators_[2].predict(X))


@pytest.mark.parametrize("value", [0, -3, 2.5, "all"])
def test_basis_n_components_is_validated(value):
    X, y = _kernel_data()
    with pytest.raises(ValueError, match="basis_n_components"):
        SelfDistillationWrapper(Ridge(), basis_n_components=value).fit(X, y)


def test_classifier_basis_has_class_axis():
    X, y = load_iris(return_X_y=True)
    model = SelfDistillationWrapper(LogisticRegression(max_iter=500), n_rounds=2,
                                    basis_kernel="linear").fit(X, y)
    # A linear kernel on 4 features: rank <= 4, the rest of the spectrum is 0.
    assert model.basis_coefficients_.shape == (3, 150, 3)
    assert np.count_nonzero(model.basis_eigenvalues_) <= 4
    Y = np.eye(3)[y]
    P = model.estimators_[2].predict_proba(X)
    d, U = np.linalg.eigh(X @ X.T / 150)
    u0 = U[:, -1]
    assert_allclose(model.basis_coefficients_[2, 0],
                    (u0 @ P) / (u0 @ Y), rtol=1e-6)


# -------------------------------------------------------------- soft targets


class _RecordingRidge(Ridge):
    def fit(self, X, y, sample_weight=None):
        self.y_seen_ = np.array(y, copy=True)
        return super().fit(X, y, sample_weight=sample_weight)


class _RecordingLogistic(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        self.X_seen_ = np.array(X, copy=True)
        self.y_seen_ = np.array(y, copy=True)
        self.sw_seen_ = None if sample_weight is None else np.array(sample_weight)
        return super().fit(X, y, sample_weight=sample_weight)


def test_regressor_targets_are_teacher_predictions():
    X, y = load_diabetes(return_X_y=True)
    model = SelfDistillationWrapper(_RecordingRidge(alpha=0.5), n_rounds=3).fit(X, y)
    assert_array_equal(model.estimators_[0].y_seen_, y)
    for t in range(1, 4):
        assert_allclose(model.estimators_[t].y_seen_,
                        model.estimators_[t - 1].predict(X), rtol=1e-12)


def test_sample_weight_expansion_rows():
    X, y = load_iris(return_X_y=True)
    model = SelfDistillationWrapper(_RecordingLogistic(max_iter=1000), n_rounds=1,
                                    ground_truth_weight=0.25).fit(X, y)
    student = model.estimators_[1]
    P = model.estimators_[0].predict_proba(X)
    T = 0.25 * np.eye(3)[y] + 0.75 * P
    assert_array_equal(student.X_seen_, np.concatenate([X] * 3))
    assert_array_equal(student.y_seen_, np.repeat(np.arange(3), 150))
    assert_allclose(student.sw_seen_, T.T.reshape(-1), rtol=1e-12)


def test_sample_weight_expansion_is_soft_target_cross_entropy():
    """LogisticRegression on the expanded rows minimises soft-target cross-entropy."""
    X, y = make_blobs(n_samples=40, centers=3, n_features=2, random_state=0,
                      cluster_std=2.5)
    C = 0.5
    model = SelfDistillationWrapper(
        LogisticRegression(C=C, tol=1e-12, max_iter=10_000), n_rounds=1,
    ).fit(X, y)
    T = model.estimators_[0].predict_proba(X)
    n_f, n_c = X.shape[1], 3

    def objective(theta):
        W = theta[: n_f * n_c].reshape(n_f, n_c)
        b = theta[n_f * n_c:]
        Z = X @ W + b
        ce = -(T * log_softmax(Z, axis=1)).sum()
        G = (softmax(Z, axis=1) - T)
        grad_W = X.T @ G + W / C
        return ce + 0.5 * (W ** 2).sum() / C, np.concatenate(
            [grad_W.ravel(), G.sum(axis=0)])

    res = minimize(objective, np.zeros(n_f * n_c + n_c), jac=True,
                   method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15,
                                                "maxiter": 10_000})
    W = res.x[: n_f * n_c].reshape(n_f, n_c)
    b = res.x[n_f * n_c:]
    X_test = np.random.RandomState(1).uniform(-10, 10, size=(20, 2))
    assert_allclose(model.predict_proba(X_test),
                    softmax(X_test @ W + b, axis=1), atol=1e-6)
    assert_allclose(model.estimator_.coef_.T - model.estimator_.coef_.T.mean(1,
                    keepdims=True), W - W.mean(1, keepdims=True), atol=1e-5)


def test_fit_params_routed_to_inner_estimator():
    X, y = load_diabetes(return_X_y=True)
    sw = np.random.RandomState(0).uniform(0.5, 2, size=len(y))
    model = SelfDistillationWrapper(Ridge(alpha=0.3), n_rounds=2).fit(
        X, y, sample_weight=sw)
    targets = y
    for t in range(3):
        ref = Ridge(alpha=0.3).fit(X, targets, sample_weight=sw)
        assert_allclose(model.estimators_[t].coef_, ref.coef_, rtol=1e-10)
        targets = ref.predict(X)


def test_plain_classifier_errors():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="does not accept sample_weight"):
        SelfDistillationWrapper(KNeighborsClassifier(), n_rounds=1).fit(X, y)
    # n_rounds=0 needs no soft targets.
    m = SelfDistillationWrapper(KNeighborsClassifier(), n_rounds=0).fit(X, y)
    assert_array_equal(m.predict(X), KNeighborsClassifier().fit(X, y).predict(X))
    with pytest.raises(ValueError, match="epsilon applies to skorch nets only"):
        SelfDistillationWrapper(Ridge(), epsilon=0.1).fit(X, y)
    with pytest.raises(ValueError, match="student_init='teacher'"):
        SelfDistillationWrapper(Ridge(), student_init="teacher").fit(X, y)


def test_keep_last_and_string_labels():
    X, y = load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    full = SelfDistillationWrapper(LogisticRegression(max_iter=500), n_rounds=2)
    last = SelfDistillationWrapper(LogisticRegression(max_iter=500), n_rounds=2,
                                   keep="last")
    full.fit(X, labels)
    last.fit(X, labels)
    assert len(full.estimators_) == 3 and len(last.estimators_) == 1
    assert_array_equal(full.classes_, np.unique(labels))
    assert_allclose(last.predict_proba(X), full.predict_proba(X))
    assert set(last.predict(X)) <= set(labels)
    with pytest.raises(ValueError, match="keep='last'"):
        next(last.staged_predict(X))
    staged = list(full.staged_predict_proba(X))
    assert_allclose(staged[-1], full.predict_proba(X))
    assert_allclose(full.decision_function(X), full.estimator_.decision_function(X))
    assert not hasattr(SelfDistillationWrapper(Ridge()), "predict_proba")


def test_history_scores_against_original_labels():
    X, y = load_iris(return_X_y=True)
    model = SelfDistillationWrapper(LogisticRegression(C=0.05, max_iter=500),
                                    n_rounds=3).fit(X, y)
    staged = list(model.staged_predict(X))
    for t, record in enumerate(model.history_):
        assert record["round"] == t
        assert record["train_score"] == accuracy_score(y, staged[t])
        assert record["fit_seconds"] >= 0
    # Regularisation amplifies: the training accuracy on y_0 falls here.
    assert model.history_[-1]["train_score"] < model.history_[0]["train_score"]


def test_verbose_prints_one_line_per_round(capsys):
    X, y = load_diabetes(return_X_y=True)
    SelfDistillationWrapper(Ridge(), n_rounds=2, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[1].startswith("[SelfDistillationWrapper] round 1: train_loss")


def test_module_imports_without_torch():
    code = textwrap.dedent(
        """
        import sys

        class Block:  # as if torch and skorch were not installed
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("torch", "skorch", "torchvision"):
                    raise ModuleNotFoundError(f"No module named {name!r}")

        sys.meta_path.insert(0, Block())
        import numpy as np
        from sklearn.linear_model import Ridge
        from sklearn_selfdistill import SelfDistillationWrapper
        X = np.arange(20.0).reshape(10, 2)
        y = X[:, 0] - X[:, 1] ** 0.5
        m = SelfDistillationWrapper(Ridge(), n_rounds=2).fit(X, y)
        assert m.predict(X).shape == (10,)
        assert "torch" not in sys.modules
        try:
            SelfDistillationWrapper().fit(X, (y > 0).astype(int))
        except ImportError as exc:
            assert "sklearn-selfdistill[torch]" in str(exc)
        else:
            raise AssertionError("no ImportError")
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# ------------------------------------------------------------------ skorch


def _digits_small():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X[:300] / 16.0).astype(np.float32)
    return X, y[:300]


@needs_skorch
@pytest.mark.parametrize("w", [0.0, 0.4])
def test_skorch_soft_targets_reach_next_round(w):
    from sklearn_selfdistill.nets import DistillNetClassifier

    class Recording(DistillNetClassifier):
        """Records the (sample index, target) pairs the loss is computed on."""

        def get_loss(self, y_pred, y_true, X=None, training=False):
            if training and isinstance(X, dict):
                seen = vars(self).setdefault("seen_", {})
                for i, row in zip(X["selfdistill_index"].tolist(),
                                  y_true.detach().numpy()):
                    seen[i] = row
            return super().get_loss(y_pred, y_true, X=X, training=training)

    X, y = _digits_small()
    model = SelfDistillationWrapper(Recording(max_epochs=3), n_rounds=2,
                                    ground_truth_weight=w, random_state=0).fit(X, y)
    for est in model.estimators_:
        assert type(est) is Recording  # the fitted rounds are the user's class
    onehot = np.eye(10)[y]

    def seen(est):
        return np.array([est.seen_[i] for i in range(len(y))])

    # Round 0 trains on the class indices, as skorch alone does.
    assert_array_equal(seen(model.estimators_[0]), y)
    for t in (1, 2):
        teacher = model.estimators_[t - 1].predict_proba(X)
        assert_allclose(seen(model.estimators_[t]), w * onehot + (1 - w) * teacher,
                        rtol=1e-5, atol=1e-6)
        assert_array_equal(model.estimators_[t].classes_, np.arange(10))
    assert_array_equal(model.classes_, np.arange(10))


@needs_skorch
def test_skorch_student_init():
    from sklearn_selfdistill.nets import DistillNetClassifier

    X, y = _digits_small()

    def weights(model):
        return [
            np.concatenate([p.detach().numpy().ravel()
                            for p in est.module_.parameters()])
            for est in model.estimators_
        ]

    # lr=0: training leaves the weights where each round starts.
    net = DistillNetClassifier(max_epochs=1, lr=0.0)
    teacher = SelfDistillationWrapper(net, n_rounds=2, student_init="teacher",
                                      random_state=0).fit(X, y)
    w = weights(teacher)
    assert_array_equal(w[1], w[0])
    assert_array_equal(w[2], w[0])
    fresh = SelfDistillationWrapper(net, n_rounds=2, random_state=0).fit(X, y)
    w = weights(fresh)
    assert not np.allclose(w[1], w[0]) and not np.allclose(w[2], w[1])
    assert_array_equal(w[0], weights(teacher)[0])


@needs_skorch
def test_skorch_module_instance_gets_fresh_weights():
    from sklearn_selfdistill.nets import DistillNetClassifier, make_mlp

    X, y = _digits_small()
    net = DistillNetClassifier(make_mlp(64, 10, hidden_units=16), lr=0.0,
                               max_epochs=1)
    user_weights = net.module.layers[0].weight.detach().numpy().copy()
    model = SelfDistillationWrapper(net, n_rounds=1, random_state=0).fit(X, y)
    w0, w1 = (est.module_.layers[0].weight.detach().numpy()
              for est in model.estimators_)
    assert not np.allclose(w0, w1)
    assert not np.allclose(w0, user_weights)
    # The user's module is left alone.
    assert_array_equal(net.module.layers[0].weight.detach().numpy(), user_weights)


@needs_skorch
def test_skorch_random_state_reproducible_and_pickle():
    import torch

    from sklearn_selfdistill.nets import DistillNetClassifier

    X, y = _digits_small()
    kw = dict(n_rounds=2, random_state=7)
    before = torch.random.get_rng_state()
    m1 = SelfDistillationWrapper(DistillNetClassifier(max_epochs=3), **kw).fit(X, y)
    assert torch.equal(before, torch.random.get_rng_state())  # global RNG untouched
    m2 = SelfDistillationWrapper(DistillNetClassifier(max_epochs=3), **kw).fit(X, y)
    assert_array_equal(m1.predict_proba(X), m2.predict_proba(X))
    for a, b in zip(m1.estimators_, m2.estimators_):
        for pa, pb in zip(a.module_.parameters(), b.module_.parameters()):
            assert torch.equal(pa, pb)
    m3 = SelfDistillationWrapper(DistillNetClassifier(max_epochs=3), n_rounds=2,
                                 random_state=8).fit(X, y)
    assert not np.allclose(m1.predict_proba(X), m3.predict_proba(X))

    targets = np.eye(10)[y]
    for t, proba in enumerate(m1.staged_predict_proba(X)):
        # history_ scores each round against the ORIGINAL labels ...
        assert m1.history_[t]["train_score"] == accuracy_score(y, proba.argmax(1))
        # ... and its loss against that round's targets (l2 summed over classes).
        assert_allclose(m1.history_[t]["train_loss"],
                        ((proba - targets) ** 2).sum(axis=1).mean(), rtol=1e-5)
        targets = proba

    restored = pickle.loads(pickle.dumps(m1))
    assert_array_equal(restored.predict_proba(X), m1.predict_proba(X))
    for a, b in zip(restored.staged_predict(X), m1.staged_predict(X)):
        assert_array_equal(a, b)


@needs_skorch
def test_skorch_history_and_regressor_shapes():
    from sklearn_selfdistill.nets import DistillNetRegressor

    X, y = load_diabetes(return_X_y=True)
    y = (y - y.mean()) / y.std()
    model = SelfDistillationWrapper(DistillNetRegressor(max_epochs=5), n_rounds=2,
                                    random_state=0).fit(X, y)
    staged = list(model.staged_predict(X))
    assert staged[0].shape == (442,) and staged[0].dtype == np.float64
    for t, record in enumerate(model.history_):
        assert_allclose(record["train_score"], r2_score(y, staged[t]), rtol=1e-5)
        assert record["epochs"] == 5
    # Round 1 is trained on round 0's predictions: its loss is against those.
    assert_allclose(model.history_[1]["train_loss"],
                    np.mean((staged[1] - staged[0]) ** 2), rtol=1e-4)
    Y2 = np.column_stack([y, -y])
    m2 = SelfDistillationWrapper(DistillNetRegressor(max_epochs=2), n_rounds=1,
                                 random_state=0).fit(X, Y2)
    assert m2.predict(X).shape == (442, 2)
    assert m2.basis_coefficients_.shape == (2, 442, 2)


@needs_skorch
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_in_pipeline():
    from sklearn_selfdistill.nets import DistillNetClassifier

    X, y = _digits_small()
    X, y = X[:120], y[:120]
    pipe = make_pipeline(
        StandardScaler(),
        SelfDistillationWrapper(DistillNetClassifier(max_epochs=4),
                                random_state=0, basis_kernel=None),
    )
    grid = {
        "selfdistillationwrapper__n_rounds": [0, 1],
        "selfdistillationwrapper__epsilon": [None, 0.5],
        "selfdistillationwrapper__estimator__lr": [0.01, 0.003],
    }
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 8
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_[-1]
    bp = search.best_params_
    assert len(best.estimators_) == bp["selfdistillationwrapper__n_rounds"] + 1
    assert all(est.lr == bp["selfdistillationwrapper__estimator__lr"]
               for est in best.estimators_)
    assert best.epsilon == bp["selfdistillationwrapper__epsilon"]


@needs_skorch
def test_plain_skorch_regressor_gets_2d_targets():
    from skorch import NeuralNetRegressor

    from sklearn_selfdistill.nets import MLPModule

    X, y = load_diabetes(return_X_y=True)
    y = (y - y.mean()) / y.std()
    net = NeuralNetRegressor(MLPModule, module__n_features=10, module__n_outputs=1,
                             max_epochs=3, train_split=None, lr=0.01)
    model = SelfDistillationWrapper(net, n_rounds=1, random_state=0,
                                    basis_kernel=None).fit(X, y)
    staged = list(model.staged_predict(X))
    assert staged[0].shape == staged[1].shape == (442,)
    assert_allclose(model.history_[1]["train_loss"],
                    np.mean((staged[1] - staged[0]) ** 2), rtol=1e-4)
    assert_allclose(model.history_[0]["train_score"], r2_score(y, staged[0]),
                    rtol=1e-5)


def test_classifier_column_labels_are_raveled_with_a_warning():
    # One label per sample, as scikit-learn's classifiers take them: a column
    # vector is the same labels (with a DataConversionWarning), a matrix of
    # several label columns is refused.
    from sklearn.exceptions import DataConversionWarning

    X, y = make_blobs(n_samples=60, centers=3, random_state=0)
    wrapper = SelfDistillationWrapper(LogisticRegression(), n_rounds=1,
                                      basis_kernel=None)
    flat = wrapper.fit(X, y).predict_proba(X)
    with pytest.warns(DataConversionWarning):
        column = wrapper.fit(X, y[:, None]).predict_proba(X)
    assert_allclose(column, flat, rtol=1e-12)
    with pytest.raises(ValueError, match="1d array"):
        wrapper.fit(X, np.column_stack([y, y]))
