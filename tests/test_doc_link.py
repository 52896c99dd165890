"""The HTML representation's "?" links to the estimator's API page."""

import re
from pathlib import Path

import pytest
from sklearn.base import BaseEstimator
from sklearn.utils import estimator_html_repr

import sklearn_selfdistill
from sklearn_selfdistill._doc_link import DOC_URL, DocLinkMixin

API = Path(__file__).resolve().parents[1] / "doc" / "api.rst"


def api_entries():
    """Dotted names of the API reference's autosummary entries."""
    text = API.read_text()
    return re.findall(r"^   ((?:\w+\.)*[A-Z]\w+)$", text, flags=re.MULTILINE)


ESTIMATORS = [
    "SelfDistilledKernelRidge",
    "SelfDistilledKernelRidgeClassifier",
    "SelfDistilledKernelRidgeCV",
    "SelfDistilledKernelRidgeClassifierCV",
    "SelfDistillationWrapper",
]


@pytest.mark.parametrize("entry", ESTIMATORS)
def test_link_is_the_autosummary_page(entry):
    assert entry in api_entries()
    cls = getattr(sklearn_selfdistill, entry)
    if issubclass(cls, DocLinkMixin):
        linked = cls
    else:
        linked = type(entry, (DocLinkMixin, cls), {"__module__": cls.__module__})
    # The page autosummary writes for this entry (doc/api.rst, toctree generated/).
    expected = f"{DOC_URL}generated/sklearn_selfdistill.{entry}.html"
    assert linked()._get_doc_link() == expected
    html = estimator_html_repr(linked())
    assert f'href="{expected}"' in html


def test_link_of_a_submodule_class():
    pytest.importorskip("skorch")
    from sklearn_selfdistill import nets

    assert "nets.DistillNetClassifier" in api_entries()
    linked = type("DistillNetClassifier", (DocLinkMixin, BaseEstimator),
                  {"__module__": nets.__name__})
    assert linked()._get_doc_link() == (
        f"{DOC_URL}generated/sklearn_selfdistill.nets.DistillNetClassifier.html"
    )


def test_no_link_outside_the_package():
    class Outside(DocLinkMixin, BaseEstimator):
        pass

    Outside.__module__ = "somewhere_else.models"
    assert Outside()._get_doc_link() == ""


@pytest.mark.parametrize("entry", ESTIMATORS[:4])
def test_kernel_estimators_link_to_their_page(entry):
    cls = getattr(sklearn_selfdistill, entry)
    assert issubclass(cls, DocLinkMixin)
    # DocLinkMixin comes before BaseEstimator, whose link is scikit-learn's.
    assert cls.__mro__.index(DocLinkMixin) < cls.__mro__.index(BaseEstimator)
    expected = f"{DOC_URL}generated/sklearn_selfdistill.{entry}.html"
    assert cls()._get_doc_link() == expected
    assert f'href="{expected}"' in estimator_html_repr(cls())


def test_wrapper_links_to_its_page():
    from sklearn.linear_model import Ridge

    from sklearn_selfdistill import SelfDistillationWrapper

    assert SelfDistillationWrapper.__mro__[1] is DocLinkMixin
    expected = f"{DOC_URL}generated/sklearn_selfdistill.SelfDistillationWrapper.html"
    model = SelfDistillationWrapper(Ridge())
    assert model._get_doc_link() == expected
    html = estimator_html_repr(model)
    assert f'href="{expected}"' in html
    # The inner scikit-learn estimator keeps scikit-learn's own link.
    assert "https://scikit-learn.org/" in html and "Ridge.html" in html


@pytest.mark.parametrize("name", ["DistillNetClassifier", "DistillNetRegressor"])
def test_nets_link_to_their_pages(name):
    pytest.importorskip("skorch")
    from sklearn_selfdistill import SelfDistillationWrapper, nets

    assert f"nets.{name}" in api_entries()
    net = getattr(nets, name)(max_epochs=1)
    expected = f"{DOC_URL}generated/sklearn_selfdistill.nets.{name}.html"
    assert net._get_doc_link() == expected
    assert f'href="{expected}"' in estimator_html_repr(net)
    # Inside the wrapper: both links.
    html = estimator_html_repr(SelfDistillationWrapper(net))
    assert f'href="{expected}"' in html
    assert "generated/sklearn_selfdistill.SelfDistillationWrapper.html" in html
