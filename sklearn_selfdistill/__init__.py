"""Self-distillation for scikit-learn.

Estimators for self-distillation as analysed in "Self-Distillation Amplifies
Regularization in Hilbert Space" (Mobahi, Farajtabar and Bartlett, NeurIPS
2020): refit a model on its own predictions, round after round.
"""

from ._classifier import SelfDistilledKernelRidgeClassifier
from ._classifier_cv import SelfDistilledKernelRidgeClassifierCV
from ._cv import SelfDistilledKernelRidgeCV
from ._kernel_ridge import SelfDistilledKernelRidge
from ._plot import BasisCoefficientsDisplay, DistillationCurveDisplay
from ._plot_fit import DistillationFitDisplay, SparsificationDisplay
from ._plot_search import DistillationSearchDisplay
from ._version import __version__
from ._wrapper import SelfDistillationWrapper
from .exceptions import InfeasibleEpsilonError

__all__ = [
    "BasisCoefficientsDisplay",
    "DistillationCurveDisplay",
    "DistillationFitDisplay",
    "DistillationSearchDisplay",
    "InfeasibleEpsilonError",
    "SelfDistillationWrapper",
    "SelfDistilledKernelRidge",
    "SelfDistilledKernelRidgeCV",
    "SelfDistilledKernelRidgeClassifier",
    "SelfDistilledKernelRidgeClassifierCV",
    "SparsificationDisplay",
    "__version__",
]
