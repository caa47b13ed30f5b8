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

Media URLs come from the platform's answer, so they are not trusted (:class:`MediaURLPolicy`):
before any byte is fetched, the URL -- and every redirect hop, followed here one at a time --
must be ``https`` and its host must resolve only to public addresses (never loopback,
link-local such as a cloud VM's metadata server 169.254.169.254, private, shared, reserved or
multicast), else :class:`MediaURLRefusedError`. Only when the Seedance connection's own host is
itself local or private (the emulator on 127.0.0.1, a proxy on the VPC) are such addresses and
plain ``http`` allowed (:meth:`MediaURLPolicy.for_connection`). The check resolves the host
just before the request; a DNS answer that changes between that check and httpx's own lookup
(DNS rebinding) is not covered.

Messages never contain a URL's query string (where signatures and tokens live).
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import logging
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx

from airflow_provider_seedance.client.errors import (
    MediaURLRefusedError,
    SeedanceDownloadError,
    SeedanceIncompleteDownloadError,
)
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
#: Redirect hops followed (each one checked against the policy) before giving up.
MAX_REDIRECTS = 5

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def resolve_host(host: str, port: int | None = None) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal is its own answer); OSError if none."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def is_public_address(ip: IPAddress) -> bool:
    """True for a globally routable unicast address (an IPv4-mapped IPv6 is judged as IPv4)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _describe(ip: IPAddress) -> str:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for attr, label in (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_private", "private"),
        ("is_multicast", "multicast"),
    ):
        if getattr(ip, attr):
            return f"{ip}, a {label} address"
    return f"{ip}, not a public address"


@dataclass(frozen=True)
class MediaURLPolicy:
    """Which media URLs may be downloaded; see the module docstring.

    :param allow_local: Allow plain ``http`` and loopback / link-local / private / reserved
        addresses. Set only when the Seedance connection itself points at such a host.
    """

    allow_local: bool = False

    @classmethod
    def for_connection(cls, base_url: str | None) -> MediaURLPolicy:
        """The policy for a connection's base URL: local only if its host resolves only locally."""
        host = urlsplit(base_url).hostname if base_url else None
        if not host:
            return cls()
        try:
            addresses = resolve_host(host)
        except (OSError, UnicodeError):
            return cls()
        return cls(allow_local=bool(addresses) and not any(is_public_address(a) for a in addresses))

    def check(self, url: str, *, field: str = "video.url") -> None:
        """Raise :class:`MediaURLRefusedError` unless ``url`` may be fetched. Resolves its host."""
        where = safe_url(url)
        local_hint = (
            " (allowed only when the Seedance connection's host is itself local, as with the emulator)"
        )
        try:
            parts = urlsplit(url)
            host, port = parts.hostname, parts.port
        except ValueError:
            raise MediaURLRefusedError(f"{where} is not a valid URL", field=field) from None
        if parts.scheme not in ("http", "https") or not host:
            raise MediaURLRefusedError(f"{where} must be an https URL with a host", field=field)
        if self.allow_local:
            return
        if parts.scheme != "https":
            raise MediaURLRefusedError(f"{where} must use https{local_hint}", field=field)
        try:
            addresses = resolve_host(host, port)
        except (OSError, UnicodeError) as exc:
            raise SeedanceDownloadError(
                f"Download of {where} failed: cannot resolve {host!r}: {exc}", retryable=True
            ) from exc
        bad = [a for a in addresses if not is_public_address(a)]
        if bad or not addresses:
            what = _describe(bad[0]) if bad else "no address"
            raise MediaURLRefusedError(
                f"{where} resolves to {what}; media URLs must point at public addresses{local_hint}",
                field=field,
            )


#: ISO base media (MP4, MOV) box types that can open a file, at bytes 4..8.
_ISO_BMFF_FIRST_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid"})
_MATROSKA_MAGIC = b"\x1a\x45\xdf\xa3"  # WebM, MKV
#: Content types whose signature :func:`looks_like_video` knows; others are not sniffed.
SNIFFED_TYPES = ("video/mp4", "video/quicktime", "video/webm", "video/x-matroska")


def looks_like_video(head: bytes, content_type: str) -> bool:
    """Whether the first bytes of a body can start a ``content_type`` video (True if not sniffed).

    Catches a 2xx answer whose body is an error page or garbage while its headers claim a video.
    """
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind not in SNIFFED_TYPES:
        return True
    if kind in ("video/webm", "video/x-matroska"):
        return head.startswith(_MATROSKA_MAGIC)
    return len(head) >= 8 and head[4:8] in _ISO_BMFF_FIRST_BOXES


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


def _get_following_redirects(
    client: httpx.Client, url: str, policy: MediaURLPolicy, stack: contextlib.ExitStack
) -> httpx.Response:
    """GET ``url``, following redirects one hop at a time; every hop is checked first."""
    current, label = url, "video.url"
    for _ in range(MAX_REDIRECTS + 1):
        policy.check(current, field=label)
        response = stack.enter_context(
            client.stream("GET", current, headers={"Accept-Encoding": "identity"}, follow_redirects=False)
        )
        location = response.headers.get("Location")
        if not (response.is_redirect and location):
            return response
        response.close()
        current, label = urljoin(str(response.url), location), "video.url (redirect)"
    raise SeedanceDownloadError(f"Download of {safe_url(url)} redirected more than {MAX_REDIRECTS} times")


@contextlib.contextmanager
def open_download(
    client: httpx.Client,
    url: str,
    *,
    expected_size: int | None = None,
    policy: MediaURLPolicy | None = None,
) -> Iterator[DownloadStream]:
    """Open a streaming GET of ``url``; raise :class:`SeedanceDownloadError` on a bad answer.

    ``url`` and every redirect hop must pass ``policy`` (default: the strict
    :class:`MediaURLPolicy`) before a request is sent. Never send platform credentials to a
    media URL: ``client`` must be a plain client.
    """
    where = safe_url(url)
    policy = policy if policy is not None else MediaURLPolicy()
    try:
        with contextlib.ExitStack() as stack:
            response = _get_following_redirects(client, url, policy, stack)
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
    :param policy: Which URLs (and redirect hops) may be fetched; strict by default, see
        :meth:`MediaURLPolicy.for_connection`.
    """

    url: str
    expected_size: int | None = None
    refresh: Callable[[], tuple[str, int | None]] | None = None
    refreshes: int = 0
    policy: MediaURLPolicy = field(default_factory=MediaURLPolicy)

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
            with open_download(
                client, source.url, expected_size=source.expected_size, policy=source.policy
            ) as stream:
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
