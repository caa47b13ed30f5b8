"""HTTP ``Range`` requests for the servers in this package: one parser and one response plan.

The review plugin (videos for a person's browser, inside Airflow's api-server) and the emulator's
media and fal-storage routes all serve files that a ``<video>`` element or a resuming download
reads in pieces. They answer a single range the same way (RFC 9110 §14): 206 with
``Content-Range``, 416 with ``Content-Range: bytes */size`` when it cannot be satisfied, 200 with
the whole body for no (or a multi-) range. :func:`plan_range` decides which; each server adds its
own headers and body. (The strict GCS emulator models GCS' own, more lenient, parsing in
:mod:`airflow_provider_seedance.emulator.gcs`.)

Framework-free: no Starlette or FastAPI import, so the plugin module stays cheap to import.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ByteRange", "parse_range", "plan_range"]


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive ``(start, end)`` of a single ``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n``.

    None for no header, another unit or several ranges (serve everything); ValueError when the
    range is malformed or cannot be satisfied (answer 416).
    """
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, second = header[6:].strip().partition("-")
    try:
        if first == "":
            length = int(second)
            if length <= 0:
                raise ValueError("empty suffix range")
            return max(0, size - length), size - 1
        start = int(first)
        end = int(second) if second else size - 1
    except ValueError as exc:
        raise ValueError(f"bad range {header!r}") from exc
    if start >= size or end < start:
        raise ValueError(f"unsatisfiable range {header!r}")
    return start, min(end, size - 1)


@dataclass(frozen=True)
class ByteRange:
    """How to answer one request for ``size`` bytes: status, the inclusive slice, range headers."""

    status: int
    start: int
    end: int
    headers: dict[str, str]

    @property
    def satisfiable(self) -> bool:
        return self.status != 416

    @property
    def length(self) -> int:
        return max(0, self.end - self.start + 1)


def plan_range(header: str | None, size: int) -> ByteRange:
    """The answer to a request with this ``Range`` header for an object of ``size`` bytes.

    ``headers`` carries ``Accept-Ranges``, ``Content-Length`` and, for 206 and 416,
    ``Content-Range``; a 416 plan has only ``Content-Range`` and no body.
    """
    try:
        wanted = parse_range(header, size)
    except ValueError:
        return ByteRange(416, 0, -1, {"Content-Range": f"bytes */{size}"})
    headers = {"Accept-Ranges": "bytes"}
    if wanted is None:
        start, end, status = 0, size - 1, 200
    else:
        (start, end), status = wanted, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    plan = ByteRange(status, start, end, headers)
    headers["Content-Length"] = str(plan.length)
    return plan
