"""Sphinx configuration of the airflow-provider-seedance documentation site.

Built by ``make docs`` (and by ``make test``) with warnings as errors and nitpicky references:
``sphinx-build -W --keep-going -n -b html docs docs/_build/html``. Nothing is fetched: there is no
intersphinx, external links are only collected (``_ext/external_links.py`` writes them to
``external-links.txt`` in the build directory), and references to other projects' types are
listed in ``nitpick_ignore_regex`` below rather than resolved.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))

# Initialise Airflow (settings, logging config, its pydantic models) before autodoc imports
# anything. With `undoc-members`, Airflow imported for the first time from inside autodoc (after
# the client's pages) fails to build its own logging models (pydantic's `__pydantic_extra__`
# schema error; seen with Sphinx 9.0 and pydantic 2.14); imported here first, it does not.
import airflow.sdk  # noqa: E402, F401

import airflow_provider_seedance  # noqa: E402

project = "airflow-provider-seedance"
author = "airflow-provider-seedance developers"
copyright = "the airflow-provider-seedance developers, Apache-2.0"
release = airflow_provider_seedance.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "external_links",
    "error_catalogue",
    "price_table",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "_ext"]
templates_path: list[str] = []

# -- MyST: the project's Markdown pages are pages of the site as they are -----------------------
myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]
myst_heading_anchors = 3  # `[Credentials](#credentials)` and `page.md#section` links resolve
myst_linkify_fuzzy_links = False

# -- autodoc: the API reference follows the code's docstrings ----------------------------------
autodoc_default_options = {
    "members": True,
    "undoc-members": True,
    "show-inheritance": True,
    "member-order": "bysource",
}
autodoc_typehints = "signature"
autodoc_class_signature = "mixed"
autodoc_preserve_defaults = True
autodoc_inherit_docstrings = False
napoleon_google_docstring = False
napoleon_numpy_docstring = False
add_module_names = False
python_use_unqualified_type_names = True

# -- nitpicky: every reference into this package must resolve; other projects' types are not
# resolved offline (no intersphinx), so references outside the package are ignored.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(?!airflow_provider_seedance\b).*"),
    # Private helpers named in public signatures (`_Log`) are not documented by design.
    (r"py:.*", r"airflow_provider_seedance(\.\w+)*\._\w+"),
    # Type variables in generic signatures (``T``) are not documented objects.
    (r"py:class", r"airflow_provider_seedance(\.\w+)*\.T"),
]

# -- HTML --------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"airflow-provider-seedance {release}"
html_static_path = ["_static"]
html_show_sourcelink = False
html_last_updated_fmt = None

linkcheck_ignore = [r".*"]  # `make docs` never fetches; see external_links


def _public_bases(app: object, name: str, obj: object, options: object, bases: list[type]) -> None:
    """Show a private base class (``_ClientBase``) as the public bases it stands for."""
    expanded: list[type] = []
    for base in bases:
        if base.__name__.startswith("_"):
            expanded.extend(b for b in base.__bases__ if b is not object)
        else:
            expanded.append(base)
    bases[:] = expanded


def setup(app: object) -> None:
    app.connect("autodoc-process-bases", _public_bases)  # type: ignore[attr-defined]
