"""Readers for fields of untrusted JSON bodies, shared by the dialects' response parsers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["first_text", "message_with_param", "nonempty_str"]


def nonempty_str(value: object) -> str | None:
    """``value`` when it is a non-empty string, else None (for fields of untrusted JSON)."""
    return value if isinstance(value, str) and value else None


def first_text(data: Mapping[str, Any], *keys: str) -> str | None:
    """The value of the first of ``keys`` that is a non-empty string in ``data``, else None."""
    for key in keys:
        if (value := nonempty_str(data.get(key))) is not None:
            return value
    return None


def message_with_param(error: Mapping[str, Any]) -> str | None:
    """An OpenAI-style error object's ``message``, with `` (param: p)`` where it names a
    ``param``; None without a message."""
    detail = nonempty_str(error.get("message"))
    param = nonempty_str(error.get("param"))
    return f"{detail} (param: {param})" if detail is not None and param is not None else detail
