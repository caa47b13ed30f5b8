"""Readers for fields of untrusted JSON bodies, shared by the dialects' response parsers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["first_text", "message_with_param", "nonempty_str", "openai_error"]


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


def openai_error(
    data: object, *, top_level_message: bool = False
) -> tuple[str | None, Mapping[str, Any] | None]:
    """The message and the ``error`` object of an OpenAI-style error body ``{"error": {...}}``.

    A string ``error`` is the message itself (no object). Without an ``error`` object the message
    is the body's own ``message`` where ``top_level_message`` (AIHubMax), else None.
    """
    if not isinstance(data, dict):
        return None, None
    error = data.get("error")
    if isinstance(error, str) and error:
        return error, None
    if not isinstance(error, dict):
        return (nonempty_str(data.get("message")) if top_level_message else None), None
    return message_with_param(error), error
