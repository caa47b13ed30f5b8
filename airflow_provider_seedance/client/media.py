"""Streaming, verified download of a generated video from its media URL. Airflow-free.

Holds :func:`open_download` / :class:`DownloadStream` (one streaming GET), :class:`MediaSource`
(a URL plus how to get a fresh one) and :func:`run_download_attempts` (the attempt loop), plus
:func:`safe_url` and :func:`crc32c_b64`. Its errors live in
:mod:`airflow_provider_seedance.client.errors`, its retry decisions in
:mod:`airflow_provider_seedance.client.retry`.

The bytes go through in chunks (constant memory, any size). While they stream, the byte count
and the CRC32C checksum (the one Google Cloud Storage reports, base64) are computed, and the count
is checked against ``Content-Length`` and the platform's ``file_size`` at the end: a short or
long body raises :class:`SeedanceIncompleteDownloadError` *before* the caller finalizes anything.

Media URLs are signed and expire (about 24 h); an expired one answers 401/403/404/410, which
raises :class:`SeedanceDownloadError` with ``expired=True`` so the caller can ask the platform for
a fresh URL. :func:`run_download_attempts` drives that: retries of transient failures (transport
errors, 408, 425, 429, 5xx, a truncated body) as a :class:`RetryPolicy` decides, and one refresh
of an expired URL.

Messages never contain a URL's query string (where signatures and tokens live).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

import httpx

from airflow_provider_seedance.client.errors import SeedanceDownloadError, SeedanceIncompleteDownloadError
from airflow_provider_seedance.client.retry import DOWNLOAD_RETRY, RetryPolicy, parse_retry_after

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import google_crc32c

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_CHUNK_SIZE = 1024 * 1024
#: Status codes that mean "this signed URL no longer works": ask the platform for a fresh one.
EXPIRED_STATUSES = frozenset({401, 403, 404, 410})
_RETRYABLE_STATUSES = frozenset({408, 425, 429})
_NOT_VIDEO_TYPES = ("text/", "application/json", "application/xml", "application/problem+json")


def safe_url(url: str) -> str:
    """``url`` without its query string and fragment, for logs and error messages."""
    parts = urlsplit(url)
    if not parts.scheme:
        return "<invalid url>"
    suffix = "?…" if parts.query else ""
    return f"{parts.scheme}://{parts.netloc}{parts.path}{suffix}"


def crc32c_b64(checksum: google_crc32c.Checksum) -> str:
    """Format a running CRC32C the way GCS reports ``crc32c`` (base64 of the big-endian value)."""
    return base64.b64encode(checksum.digest()).decode("ascii")


class DownloadStream:
    """One open streaming GET of a media URL. Use through :func:`open_download`.

    Iterate :meth:`iter_chunks` exactly once; afterwards :attr:`size` and :attr:`crc32c` describe
    every byte that was yielded, and the size has been checked.
    """

    def __init__(self, response: httpx.Response, url: str, *, expected_size: int | None) -> None:
        import google_crc32c

        self.response = response
        self.url = url
        self.expected_size = expected_size
        self.size = 0
        self._crc = google_crc32c.Checksum()
        self.complete = False
        length = response.headers.get("Content-Length")
        encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
        self.content_length: int | None = int(length) if length and length.isdigit() and not encoded else None
        self.content_type: str | None = response.headers.get("Content-Type")

    @property
    def crc32c(self) -> str:
        """Base64 CRC32C of the bytes yielded so far (GCS's ``crc32c`` format)."""
        return crc32c_b64(self._crc)

    def iter_chunks(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
        """Yield the body in chunks of about ``chunk_size`` bytes; verify the size at the end."""
        where = safe_url(self.url)
        try:
            for chunk in self.response.iter_bytes(chunk_size):
                self.size += len(chunk)
                if self.content_length is not None and self.size > self.content_length:
                    raise SeedanceIncompleteDownloadError(
                        f"Download of {where} sent more bytes than its Content-Length {self.content_length}",
                        received=self.size,
                        expected=self.content_length,
                    )
                self._crc.update(chunk)
                yield chunk
        except httpx.TransportError as exc:  # includes RemoteProtocolError: body ended early
            raise SeedanceIncompleteDownloadError(
                f"Download of {where} broke off after {self.size} bytes: {type(exc).__name__}: {exc}",
                received=self.size,
                expected=self.content_length or self.expected_size,
            ) from exc
        for label, expected in (
            ("Content-Length", self.content_length),
            ("the platform's file_size", self.expected_size),
        ):
            if expected is not None and self.size != expected:
                raise SeedanceIncompleteDownloadError(
                    f"Download of {where} is incomplete: received {self.size} bytes, {label} says {expected}",
                    received=self.size,
                    expected=expected,
                )
        self.complete = True


@contextlib.contextmanager
def open_download(
    client: httpx.Client, url: str, *, expected_size: int | None = None
) -> Iterator[DownloadStream]:
    """Open a streaming GET of ``url``; raise :class:`SeedanceDownloadError` on a bad answer.

    Never send platform credentials to a media URL: ``client`` must be a plain client.
    """
    where = safe_url(url)
    try:
        with client.stream("GET", url, headers={"Accept-Encoding": "identity"}) as response:
            status = response.status_code
            if status >= 400:
                retryable = status in _RETRYABLE_STATUSES or status >= 500
                expired = status in EXPIRED_STATUSES
                hint = " (the link has probably expired)" if expired else ""
                raise SeedanceDownloadError(
                    f"Download of {where} failed with HTTP {status}{hint}",
                    status_code=status,
                    retryable=retryable,
                    expired=expired,
                    retry_after=parse_retry_after(response.headers.get("Retry-After")),
                )
            stream = DownloadStream(response, url, expected_size=expected_size)
            if stream.content_type and stream.content_type.lower().startswith(_NOT_VIDEO_TYPES):
                raise SeedanceDownloadError(
                    f"Download of {where} returned {stream.content_type!r}, not a video",
                    status_code=status,
                )
            if (
                stream.content_length is not None
                and expected_size is not None
                and stream.content_length != expected_size
            ):
                raise SeedanceIncompleteDownloadError(
                    f"Download of {where} announces {stream.content_length} bytes but the platform "
                    f"reported file_size {expected_size}",
                    received=0,
                    expected=expected_size,
                )
            yield stream
    except httpx.TransportError as exc:
        raise SeedanceDownloadError(
            f"Download of {where} failed: {type(exc).__name__}: {exc}", retryable=True
        ) from exc


@dataclass
class MediaSource:
    """Where a video can be downloaded, and how to get a fresh URL when that one expires.

    :param url: The current (signed) media URL.
    :param expected_size: The platform's ``file_size``, if it reported one.
    :param refresh: Called when the URL has expired; returns a fresh ``(url, expected_size)``
        (typically by asking the platform for the job's result again). None: no way to refresh.
    """

    url: str
    expected_size: int | None = None
    refresh: Callable[[], tuple[str, int | None]] | None = None
    refreshes: int = 0

    def renew(self) -> None:
        assert self.refresh is not None
        old = safe_url(self.url)
        self.url, self.expected_size = self.refresh()
        self.refreshes += 1
        log.info("Media URL %s expired; the platform gave a fresh one: %s", old, safe_url(self.url))


def run_download_attempts(
    client: httpx.Client,
    source: MediaSource,
    attempt: Callable[[DownloadStream], T],
    *,
    retry: RetryPolicy = DOWNLOAD_RETRY,
    max_refreshes: int = 1,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Open ``source`` and hand the stream to ``attempt``; retry transient download failures.

    ``attempt`` consumes the stream and returns a result. If it raises a
    :class:`SeedanceDownloadError` (a transient HTTP status, a dropped connection, a truncated
    body), the whole attempt is repeated from the first byte as ``retry`` decides (at most
    ``retry.max_attempts`` attempts, jittered exponential backoff, ``Retry-After`` honoured up to
    ``retry.max_retry_after``). An expired URL is replaced via ``source.refresh`` up to
    ``max_refreshes`` times without using up an attempt. Any other exception propagates at once.
    """
    failures = 0
    started = time.monotonic()
    while True:
        try:
            with open_download(client, source.url, expected_size=source.expected_size) as stream:
                return attempt(stream)
        except SeedanceDownloadError as exc:
            if exc.expired and source.refresh is not None and source.refreshes < max_refreshes:
                log.warning("%s", exc)
                source.renew()
                continue
            failures += 1
            delay = retry.next_delay(
                exc, failures, retryable=exc.retryable, elapsed=time.monotonic() - started
            )
            if delay is None:
                raise
            log.warning("%s; attempt %d of %d, retrying in %.1f s", exc, failures, retry.max_attempts, delay)
            sleep(delay)
