"""Prompt references: one syntax for users, each platform's documented syntax on the wire.

Users write ``@Image1`` / ``@Video2`` / ``@Audio1`` in every prompt (the source documents'
syntax, checked by the request models: the file must exist). A dialect names the syntax its
platform documents in :attr:`~.base.Dialect.reference_style`:

* :attr:`ReferenceStyle.VERBATIM` -- sent as written. fal.ai, Oxen.ai (the seed-era schema the
  dialect speaks) and AIHubMax document ``@Image1``.
* :attr:`ReferenceStyle.SPACED` -- ``Image 1`` / ``Video 2`` / ``Audio 1``: ByteDance's ModelArk /
  Ark documentation writes its prompts that way ("the first frame is Image 1", "Video 1",
  "Audio 1"); the content list's order gives the numbers, as ours does.

A platform whose syntax is undocumented keeps VERBATIM (docs/platforms.md says which).
"""

from __future__ import annotations

import enum

from airflow_provider_seedance.client.models import REFERENCE_RE

__all__ = ["ReferenceStyle", "translate_references"]


class ReferenceStyle(enum.Enum):
    VERBATIM = "@Image1"
    SPACED = "Image 1"


def translate_references(prompt: str, style: ReferenceStyle) -> str:
    """``prompt`` with every ``@Image1``-style reference written in ``style``."""
    if style is ReferenceStyle.VERBATIM:
        return prompt
    return REFERENCE_RE.sub(lambda m: f"{m.group(1)} {int(m.group(2))}", prompt)
