"""List the site's external links without fetching them.

Every ``http(s)://`` and ``mailto:`` reference of every page is written, with the pages that
use it, to ``external-links.txt`` in the build directory (one ``URL<TAB>page, page`` line per
URL, sorted). ``make docs`` never goes online; a person or a scheduled job with network access
can check the list with ``sphinx-build -b linkcheck`` or any link checker.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docutils import nodes

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

FILE_NAME = "external-links.txt"
_SCHEMES = ("http://", "https://", "mailto:")


def _links(env: BuildEnvironment) -> dict[str, set[str]]:
    """docname -> the external URLs it links to (kept in the pickled environment)."""
    if not hasattr(env, "seedance_external_links"):
        env.seedance_external_links = {}  # type: ignore[attr-defined]
    links: dict[str, set[str]] = env.seedance_external_links  # type: ignore[attr-defined]
    return links


def _collect(app: Sphinx, doctree: nodes.document) -> None:
    uris = {node.get("refuri", "") for node in doctree.findall(nodes.reference)}
    _links(app.env)[app.env.docname] = {uri for uri in uris if uri.startswith(_SCHEMES)}


def _purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    _links(env).pop(docname, None)


def _merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    _links(env).update({doc: uris for doc, uris in _links(other).items() if doc in docnames})


def _write(app: Sphinx, exception: BaseException | None) -> None:
    if exception is not None:
        return
    pages_by_url: dict[str, set[str]] = defaultdict(set)
    for docname, uris in _links(app.env).items():
        for uri in uris:
            pages_by_url[uri].add(docname)
    lines = [f"{uri}\t{', '.join(sorted(pages))}" for uri, pages in sorted(pages_by_url.items())]
    Path(app.outdir, FILE_NAME).write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-read", _collect)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("build-finished", _write)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
