"""The "?" link of the estimators' HTML representation to their API page.

scikit-learn's HTML representation of an estimator (in Jupyter, or
:func:`sklearn.utils.estimator_html_repr`) shows a "?" that links to the
estimator's documentation, built from the class attributes
``_doc_link_module`` and ``_doc_link_template``: the link is made only for
classes of ``_doc_link_module``, and the template receives the public module
(the dotted path up to the first private part, e.g. ``sklearn_selfdistill``
for ``sklearn_selfdistill._kernel_ridge``) and the class name. The API pages
of this package are ``generated/<module>.<name>.html`` (``doc/api.rst``), so
:class:`DocLinkMixin` points every estimator there.
"""

__all__ = ["DOC_URL", "DocLinkMixin"]

#: Root of the published documentation.
DOC_URL = "https://sklearn-selfdistill.github.io/sklearn-selfdistill/"


class DocLinkMixin:
    """Link the HTML representation's "?" to the class's API page.

    Put it first among the bases, before scikit-learn's ``BaseEstimator``,
    whose ``_doc_link_module`` and ``_doc_link_template`` point to
    scikit-learn's own documentation.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> class Model(DocLinkMixin, BaseEstimator):
    ...     pass
    >>> Model.__module__ = "sklearn_selfdistill._kernel_ridge"
    >>> Model()._get_doc_link()
    'https://sklearn-selfdistill.github.io/.../generated/sklearn_selfdistill.Model.html'
    """

    _doc_link_module = "sklearn_selfdistill"
    _doc_link_template = (
        DOC_URL + "generated/{estimator_module}.{estimator_name}.html"
    )
