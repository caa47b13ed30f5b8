"""The HTTP values a dialect exchanges with a transport, and the header and URL helpers.

:class:`HttpRequest` describes one call (the transport adds the auth headers and sends it),
:class:`HttpResponse` is a fully read answer, :class:`Operation` names the kind of call (the
retry policy treats SUBMIT differently). :func:`parse_retry_after` reads a ``Retry-After``
header; :func:`same_origin` and :func:`file_name_from_url` read URLs. Plain data, no I/O.
"""

from __future__ import annotations

import email.utils
import enum
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from airflow_provider_seedance.client.errors import SeedanceProtocolError

__all__ = [
    "HttpRequest",
    "HttpResponse",
    "Operation",
    "file_name_from_url",
    "parse_retry_after",
    "same_origin",
]


class Operation(str, enum.Enum):
    """The kinds of call a client makes; the retry policy treats SUBMIT differently."""

    SUBMIT = "submit"
    STATUS = "status"
    RESULT = "result"
    CANCEL = "cancel"
    PROBE = "probe"


@dataclass(frozen=True)
class HttpRequest:
    """A description of one HTTP call (auth headers are added by the transport)."""

    method: str
    url: str
    json: Any = None
    params: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpResponse:
    """A fully read HTTP response. Header names are lower case."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    def excerpt(self, limit: int = 200) -> str:
        text = self.content[:limit].decode("utf-8", errors="replace").strip()
        return text + ("..." if len(self.content) > limit else "")

    def json_or_none(self) -> Any:
        """The JSON body, or None when the body is empty, not JSON, or nested too deeply."""
        if not self.content.strip():
            return None
        try:
            return _loads(self.content)
        except ValueError:
            return None

    def json_object(self, platform: str, what: str) -> dict[str, Any]:
        """The body as a JSON object, or a clear :class:`SeedanceProtocolError`."""
        try:
            data = _loads(self.content)
        except ValueError:
            kind = "an HTML page" if self.content.lstrip()[:1] == b"<" else "malformed JSON"
            raise SeedanceProtocolError(
                f"{platform} answered {what} with HTTP {self.status_code} and {kind} instead of a JSON "
                f"object: {self.excerpt()!r}",
                status_code=self.status_code,
            ) from None
        if not isinstance(data, dict):
            raise SeedanceProtocolError(
                f"{platform} answered {what} with HTTP {self.status_code} and JSON that is not an object: "
                f"{self.excerpt()!r}",
                status_code=self.status_code,
            )
        return data


def _loads(content: bytes) -> Any:
    """``json.loads`` for untrusted bodies: every way it can fail is a ``ValueError``.

    Nesting deeper than the interpreter's recursion limit raises ``RecursionError`` in the
    decoder; an answer like that is as unreadable as malformed JSON and is reported as such.
    """
    try:
        return json.loads(content)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str | None, int | None] | None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    return scheme, parts.hostname, port


def same_origin(url: str, base_url: str) -> bool:
    """True when ``url`` has the scheme, host and port of ``base_url`` (default ports implied)."""
    a, b = _origin(url), _origin(base_url)
    return a is not None and a == b and a[1] is not None


def file_name_from_url(url: str) -> str | None:
    """The last path segment of ``url`` when it names a file (``.../abc.mp4?sig=...`` -> ``abc.mp4``)."""
    last = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return last if "." in last.strip(".") else None
