"""``.. seedance-price-table::``: the per-second rates of ``client/pricing.py``, computed at build time.

The costs page shows the rates the estimator actually uses, so the page cannot drift from the
code: one row per resolution, columns per tier, with and without reference videos.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

if TYPE_CHECKING:
    from sphinx.application import Sphinx


def price_rows() -> list[tuple[str, str, str, str, str]]:
    """(resolution, frame, standard, fast, standard / fast with video inputs) per output second."""
    from airflow_provider_seedance.client import pricing

    rows = []
    for resolution, (width, height) in pricing.FRAME_SIZES.items():
        per_second = {
            tier: pricing.tokens_for(resolution, 1) / 1000 * price
            for tier, price in pricing.TOKEN_PRICE_PER_1000.items()
        }
        with_video = {tier: usd * pricing.VIDEO_INPUT_MULTIPLIER for tier, usd in per_second.items()}
        rows.append(
            (
                resolution,
                f"{width}x{height}",
                f"${per_second['standard']:.5f}",
                f"${per_second['fast']:.5f}",
                f"${with_video['standard']:.5f} / ${with_video['fast']:.5f}",
            )
        )
    return rows


HEADER = ("resolution", "priced frame", "standard, per s", "fast, per s", "with video inputs")


def _row(cells: tuple[str, ...], *, literal: bool) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        entry += nodes.paragraph("", "", nodes.literal(cell, cell) if literal else nodes.Text(cell))
        row += entry
    return row


class PriceTable(SphinxDirective):
    """A table node built directly (the page may be Markdown or reStructuredText)."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        table = nodes.table(classes=["seedance-price-table"])
        group = nodes.tgroup(cols=len(HEADER))
        table += group
        group.extend(nodes.colspec(colwidth=1) for _ in HEADER)
        head = nodes.thead()
        head += _row(HEADER, literal=False)
        body = nodes.tbody()
        body.extend(_row(row, literal=False) for row in price_rows())
        group += head
        group += body
        return [table]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("seedance-price-table", PriceTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
