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

FILE_NAME = "external-links.txt"
_SCHEMES = ("http://", "https://", "mailto:")


def _collect(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    links: dict[str, set[str]] = app.env.__dict__.setdefault("seedance_external_links", defaultdict(set))
    for node in doctree.findall(nodes.reference):
        uri = node.get("refuri", "")
        if uri.startswith(_SCHEMES):
            links[uri].add(docname)


def _write(app: Sphinx, exception: BaseException | None) -> None:
    if exception is not None:
        return
    links: dict[str, set[str]] = app.env.__dict__.get("seedance_external_links", {})
    lines = [f"{uri}\t{', '.join(sorted(pages))}" for uri, pages in sorted(links.items())]
    Path(app.outdir, FILE_NAME).write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-resolved", _collect)
    app.connect("build-finished", _write)
    return {"parallel_read_safe": True, "parallel_write_safe": False}
