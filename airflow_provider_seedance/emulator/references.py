"""Emulated platforms fetch the media a submit references, the way real platforms do.

Each platform's submit handler calls :func:`reference_failure` once with the request body. It
finds every reference URL in the body (fal / AIHubMax ``image_urls`` / ``video_urls`` /
``audio_urls``, Oxen ``input_images`` / ``input_videos`` / ``input_audios``, Ark ``content`` items
of type ``image_url`` / ``video_url`` / ``audio_url``, and image-to-video's frames: fal / AIHubMax
``image_url`` / ``end_image_url``, Oxen ``input_image`` / ``tail_image_url``)
and fetches each one with a ranged ``GET`` (``Range: bytes=0-0``, :data:`FETCH_TIMEOUT`), all at
once. A reference that answers 4xx/5xx, times out, cannot be connected to, is empty, or whose
signed URL (GCS V4 ``X-Goog-Date`` + ``X-Goog-Expires``, an emulator media or fal-storage link)
expires before the job would start, makes the job fail when it would start, in the platform's
words (:func:`failure_for`), naming each bad input and its URL without the query string.

**Only loopback URLs are fetched** (``127.0.0.1``, ``localhost``, ``::1``: the GCS emulator, the
emulator's own ``/_media/`` and ``/fal-cdn/`` links, a test's media server); redirects are
followed only to loopback. Any other host (``https://example.com/a.png``) is assumed reachable
and never contacted: the emulator never sends a request off this machine. ``data:`` URIs count
as reachable. ``EmulatorConfig.fetch_references = False`` turns the fetching off.

The fetch happens while the submit is answered, not when the job starts (jobs have no
background work); a URL's announced expiry stands in for "still valid at the start".
"""

from __future__ import annotations

import asyncio
import calendar
import ipaddress
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from airflow_provider_seedance.emulator.state import Failure, get_state

if TYPE_CHECKING:
    from starlette.requests import Request

    from airflow_provider_seedance.emulator.state import EmulatorState

#: Seconds allowed for each reference fetch (connect + first byte).
FETCH_TIMEOUT = 5.0
MAX_REDIRECTS = 3
#: Sent with every fetch, so request logs can tell the emulator's own fetches apart.
USER_AGENT = "seedance-emulator-reference-fetch/1"

#: dialect -> the body fields holding reference URLs (a list of URLs, or one URL).
FLAT_FIELDS: dict[str, tuple[str, ...]] = {
    # reference-to-video lists, then image-to-video's first/end frame
    "fal": ("image_urls", "video_urls", "audio_urls", "image_url", "end_image_url"),
    "aihubmax": ("image_urls", "video_urls", "audio_urls", "image_url", "end_image_url"),
    "oxen": (
        "input_images",
        "input_videos",
        "input_audios",
        "input_face_images",
        "input_face_videos",
        "input_image",
        "tail_image_url",
    ),
}
ARK_KINDS = ("image_url", "video_url", "audio_url")
_LOOPBACK_NAMES = frozenset({"localhost"})


@dataclass(frozen=True)
class BadReference:
    """A reference the platform could not fetch: the input naming it, its URL (no query), why."""

    field: str
    url: str
    reason: str

    def describe(self) -> str:
        return f"{self.field} ({self.url}): {self.reason}"


def references_in(dialect: str, body: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """``(field, url)`` for every reference URL of a ``dialect`` submit body (non-strings skipped)."""
    if dialect == "ark":
        content = body.get("content")
        for i, item in enumerate(content if isinstance(content, list) else ()):
            kind = item.get("type") if isinstance(item, dict) else None
            if kind in ARK_KINDS:
                ref = item.get(kind)
                if isinstance(ref, dict) and isinstance(ref.get("url"), str):
                    yield f"content[{i}].{kind}.url", ref["url"]
        return
    for name in FLAT_FIELDS.get(dialect, ()):
        value = body.get(name)
        if isinstance(value, str):
            yield name, value
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, str):
                    yield f"{name}[{i}]", item


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def display(url: str) -> str:
    """``url`` without its query or fragment (signatures stay out of job errors)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else url[:80]


def announced_expiry(state: EmulatorState, url: str, own_netloc: str | None = None) -> float | None:
    """Unix time a loopback URL says it stops working: a GCS V4 signed URL's ``X-Goog-Date`` +
    ``X-Goog-Expires`` (real time), or -- for this emulator's own links (``own_netloc``) -- a
    media link's ``expires`` / a fal-storage file's lifecycle (emulator time, converted to real
    time). None when it announces none."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    date, expires = query.get("X-Goog-Date"), query.get("X-Goog-Expires")
    if date and expires:
        try:
            return calendar.timegm(time.strptime(date[0], "%Y%m%dT%H%M%SZ")) + int(expires[0])
        except ValueError:
            return None
    if own_netloc is None or parts.netloc != own_netloc:
        return None
    emulator_to_real = time.time() - state.clock.wall()
    if parts.path.startswith("/_media/") and query.get("expires"):
        try:
            return int(query["expires"][0]) + emulator_to_real
        except ValueError:
            return None
    if parts.path.startswith("/fal-cdn/"):
        from airflow_provider_seedance.emulator.platforms.fal_storage import file_of_url

        stored = file_of_url(state, parts.path)
        if stored is not None and stored.expires_at is not None:
            return stored.expires_at + emulator_to_real
    return None


def _error_code(text: str) -> str:
    """The ``<Code>`` of a storage XML error, or a JSON error's code/type, if the body has one."""
    if match := re.search(r"<Code>([^<]{1,64})</Code>", text):
        return f" {match.group(1)}"
    if match := re.search(r'"(?:error_type|reason|code)"\s*:\s*"([^"]{1,64})"', text):
        return f" {match.group(1)}"
    return ""


async def fetch_problem(http: httpx.AsyncClient, url: str) -> str | None:
    """Why ``url`` cannot be fetched (a ranged GET of its first byte), or None if it can.

    Redirects are followed to loopback hosts only (a redirect elsewhere is not followed and counts
    as reachable, like any non-loopback URL)."""
    for _ in range(MAX_REDIRECTS + 1):
        try:
            async with http.stream(
                "GET",
                url,
                headers={"Range": "bytes=0-0", "Accept-Encoding": "identity", "User-Agent": USER_AGENT},
            ) as resp:
                if resp.is_redirect:
                    target = urljoin(url, resp.headers.get("Location", ""))
                    parts = urlsplit(target)
                    if parts.scheme not in ("http", "https"):
                        return f"redirects to an unsupported URL ({display(target)})"
                    if not is_loopback_host(parts.hostname):
                        return None
                    url = target
                    continue
                if resp.status_code == 416:
                    return "the file is empty (HTTP 416 for its first byte)"
                if resp.status_code >= 400:
                    body = b""
                    async for chunk in resp.aiter_bytes():
                        body += chunk
                        if len(body) >= 4096:
                            break
                    code = _error_code(body[:4096].decode("utf-8", "replace"))
                    return f"HTTP {resp.status_code}{code}"
                return None
        except httpx.TimeoutException:
            return f"timed out after {FETCH_TIMEOUT:g} s"
        except httpx.TransportError as exc:
            return f"unreachable ({type(exc).__name__})"
    return f"more than {MAX_REDIRECTS} redirects"


async def bad_references(request: Request, dialect: str, body: dict[str, Any]) -> list[BadReference]:
    """Every reference of ``body`` the platform could not fetch (empty when all are fine or
    fetching is off)."""
    state = get_state(request)
    if not getattr(state.config, "fetch_references", True):
        return []
    starts_at = time.time() + state.config.queue_seconds  # when the platform would fetch them
    bad: list[BadReference] = []
    to_fetch: list[tuple[str, str]] = []
    for field, url in references_in(dialect, body):
        parts = urlsplit(url.strip())
        if parts.scheme == "data":
            continue
        if parts.scheme not in ("http", "https") or not parts.hostname:
            bad.append(BadReference(field, display(url), "not an http(s) URL the platform can download"))
        elif is_loopback_host(parts.hostname):
            to_fetch.append((field, url.strip()))
    if to_fetch:
        timeout = httpx.Timeout(FETCH_TIMEOUT)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as http:
            problems = await asyncio.gather(*(fetch_problem(http, url) for _, url in to_fetch))
        for (field, url), problem in zip(to_fetch, problems, strict=True):
            expiry = announced_expiry(state, url, request.url.netloc)
            if problem is None and expiry is not None and expiry < starts_at:
                problem = "the signed URL expires before the job starts"
            if problem is not None:
                bad.append(BadReference(field, display(url), problem))
    return bad


def failure_for(dialect: str, bad: list[BadReference]) -> Failure:
    """How ``dialect`` fails a job whose references could not be fetched (see docs/emulator.md:
    each shape is the emulator's guess; the platforms do not document it)."""
    detail = "; ".join(b.describe() for b in bad)
    if dialect == "fal":
        return Failure("file_download_error", f"Failed to download the file(s): {detail}", 422, at_start=True)
    if dialect == "oxen":
        return Failure(
            "model_error",
            f"Getting model response error: 422 - Failed to download input file(s): {detail}",
            at_start=True,
        )
    if dialect == "aihubmax":
        kind = next((k for k in ("video", "audio", "image") if k in bad[0].field), "image")
        return Failure(
            f"invalid_{kind}_url", f"Failed to download the referenced file(s): {detail}", at_start=True
        )
    return Failure(
        "InvalidParameter",
        f"The specified media could not be downloaded: {detail}. "
        "Make sure each URL is publicly reachable and not expired.",
        at_start=True,
    )


async def reference_failure(request: Request, dialect: str, body: dict[str, Any]) -> Failure | None:
    """The failure for a job created by this submit when a reference cannot be fetched, or None.

    The one call each platform's submit handler makes (its result goes to ``create_job(failure=…)``).
    """
    bad = await bad_references(request, dialect, body)
    return failure_for(dialect, bad) if bad else None
