"""scikit-learn's estimator checks on SelfDistilledKernelRidge."""

from sklearn.gaussian_process.kernels import RBF, WhiteKernel
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_selfdistill import SelfDistilledKernelRidge


@parametrize_with_checks(
    [
        SelfDistilledKernelRidge(),
        SelfDistilledKernelRidge(normalize_y=True, ground_truth_weight=0.5, n_rounds=3),
        SelfDistilledKernelRidge(kernel="laplacian", epsilon=0.05, n_rounds=0),
        SelfDistilledKernelRidge(kernel=RBF(2.0) + WhiteKernel(0.1), normalize_y=True),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
