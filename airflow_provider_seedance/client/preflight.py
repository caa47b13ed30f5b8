"""Preflight of reference media: every documented limit, checked from headers, before submit.

:func:`preflight` takes parsed references (:mod:`.references`), opens each one where it lives
(a local file, a GCS object through the storage API, an http(s) URL through ranged GETs), and
reads only what is needed: the first bytes for the format by content (magic numbers), the
container's top-level boxes and headers for duration and resolution (PyAV over a seekable
reader that fetches 256 KiB blocks on demand), the image header for the pixel size (Pillow,
which parses the header without decoding). A 50 MB video is never read whole; peak memory is
a few blocks per reference.

Every violation of every reference is collected and raised at once in one
:class:`~.errors.SeedancePreflightError` whose lines name the input (``video_urls[2]``), the
limit and the measured value. :attr:`PreflightReport.input_video_seconds` is the measured
combined duration of the reference videos, for
:func:`~airflow_provider_seedance.client.pricing.estimate_cost`.

The limits per platform (:data:`PLATFORM_LIMITS`) come from the source documents; see
``docs/references.md`` for the table and the sources.
"""

from __future__ import annotations

import io
import logging
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import httpx

from airflow_provider_seedance.client.errors import (
    FieldError,
    ReferenceFieldError,
    SeedancePreflightError,
)
from airflow_provider_seedance.client.media import safe_url
from airflow_provider_seedance.client.references import MediaKind, Reference, SourceKind

if TYPE_CHECKING:
    from google.cloud import storage

log = logging.getLogger(__name__)

MB = 1_000_000
#: Bytes per ranged GET / GCS read; also the read-ahead of the local reader.
BLOCK_SIZE = 256 * 1024
_CACHED_BLOCKS = 4
_MAX_REDIRECTS = 5
_MAX_BOXES = 10_000
_GENERIC_TYPES = ("application/octet-stream", "binary/octet-stream", "application/x-www-form-urlencoded")
_EXPECTED_TOP_TYPE = {MediaKind.IMAGE: "image/", MediaKind.VIDEO: "video/", MediaKind.AUDIO: "audio/"}
_FORMAT_NAMES = {
    MediaKind.IMAGE: "JPEG, PNG or WebP",
    MediaKind.VIDEO: "MP4 or MOV",
    MediaKind.AUDIO: "MP3 or WAV",
}


# -- limits -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaLimits:
    """The documented limits of one platform. ``None``: the platform documents no such limit.

    Sizes are in bytes (decimal MB: 30 MB = 30,000,000 bytes, the strict reading), durations
    in seconds, pixel counts are width x height.
    """

    image_formats: frozenset[str] = frozenset({"JPEG", "PNG", "WEBP"})
    image_max_bytes: int = 30 * MB
    image_min_side: int | None = None
    image_max_side: int | None = None
    image_min_aspect: float | None = None
    image_max_aspect: float | None = None
    video_formats: frozenset[str] = frozenset({"MP4", "MOV"})
    video_min_total_seconds: float = 2.0
    video_max_total_seconds: float = 15.0
    video_min_each_seconds: float | None = None
    video_max_each_seconds: float | None = None
    #: Exclusive: "total size under 50 MB".
    video_total_bytes_below: int = 50 * MB
    video_min_pixels: int | None = 640 * 640
    video_max_pixels: int | None = 834 * 1112
    video_min_side: int | None = None
    video_max_side: int | None = None
    video_min_aspect: float | None = None
    video_max_aspect: float | None = None
    video_min_fps: float | None = None
    video_max_fps: float | None = None
    audio_formats: frozenset[str] = frozenset({"MP3", "WAV"})
    audio_max_bytes: int = 15 * MB
    audio_max_total_seconds: float | None = 15.0
    audio_min_each_seconds: float | None = None
    audio_max_each_seconds: float | None = None
    #: Where the numbers come from (shown in docs and messages).
    source: str = ""


_FAL_TEXT = "fal.ai model page (seeds 000, 002, 003)"
#: fal.ai, Oxen.ai: one text for both (seeds 000-003); AIHubMax (seed 004) states audio per clip
#: and no pixel bounds; ModelArk adds per-side and aspect bounds (mirrored on docs.evolink.ai).
PLATFORM_LIMITS: dict[str, MediaLimits] = {
    "fal": MediaLimits(source=_FAL_TEXT),
    "oxen": MediaLimits(source="Oxen.ai model page (seed 001, same text as fal.ai)"),
    "aihubmax": MediaLimits(
        video_min_pixels=None,
        video_max_pixels=None,
        audio_max_total_seconds=None,
        audio_max_each_seconds=15.0,
        source="AIHubMax API manual (seed 004): audio each <= 15 s / 15 MB, videos total 2-15 s, < 50 MB",
    ),
    "ark": MediaLimits(
        image_min_side=300,
        image_max_side=6000,
        image_min_aspect=0.4,
        image_max_aspect=2.5,
        video_min_each_seconds=2.0,
        video_max_each_seconds=15.0,
        video_min_side=300,
        video_max_side=6000,
        video_min_aspect=0.4,
        video_max_aspect=2.5,
        video_min_fps=24.0,
        video_max_fps=60.0,
        audio_min_each_seconds=2.0,
        audio_max_each_seconds=15.0,
        source="ModelArk Seedance 2.0 input requirements (as mirrored by docs.evolink.ai)",
    ),
}


def limits_for(platform: str) -> MediaLimits:
    """The limits of ``platform``; an unknown platform gets fal.ai's (the common text)."""
    return PLATFORM_LIMITS.get(platform, PLATFORM_LIMITS["fal"])


# -- what was measured ---------------------------------------------------------------------------


@dataclass
class MediaInfo:
    """What preflight measured about one reference (None: not measured / not applicable)."""

    reference: Reference
    size: int | None = None
    format: str | None = None
    content_type: str | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    fps: float | None = None
    bytes_read: int = 0
    errors: list[FieldError] = field(default_factory=list)

    @property
    def field(self) -> str:
        return self.reference.field

    def fail(self, message: str, *, transient: bool = False) -> None:
        self.errors.append(ReferenceFieldError(self.field, message, transient=transient))


@dataclass(frozen=True)
class PreflightReport:
    """The measurements of every reference, and the combined input-video duration."""

    infos: tuple[MediaInfo, ...]
    platform: str

    @property
    def input_video_seconds(self) -> float:
        """Measured combined duration of the reference videos (0.0 without videos)."""
        return sum(i.duration or 0.0 for i in self.infos if i.reference.kind is MediaKind.VIDEO)

    @property
    def bytes_read(self) -> int:
        return sum(i.bytes_read for i in self.infos)

    def as_dict(self) -> list[dict[str, object]]:
        """A JSON-able summary (for the XCom result / logs); no URLs with query strings."""
        return [
            {
                "field": i.field,
                "reference": i.reference.display,
                "format": i.format,
                "bytes": i.size,
                "width": i.width,
                "height": i.height,
                "seconds": None if i.duration is None else round(i.duration, 3),
            }
            for i in self.infos
        ]


# -- readers ---------------------------------------------------------------------------------------


class _BlockReader(io.RawIOBase):
    """A seekable reader over a source of known size that fetches fixed blocks on demand.

    Keeps at most a few blocks (LRU), so memory is bounded whatever the size. ``fetch(start,
    end)`` returns the bytes ``[start, end)``; :attr:`bytes_read` counts what was fetched.
    """

    def __init__(
        self, size: int, fetch: Callable[[int, int], bytes], *, block_size: int = BLOCK_SIZE
    ) -> None:
        super().__init__()
        self.size = size
        self._fetch = fetch
        self._block = block_size
        self._pos = 0
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _get_block(self, index: int) -> bytes:
        block = self._cache.get(index)
        if block is None:
            start = index * self._block
            end = min(self.size, start + self._block)
            block = self._fetch(start, end)
            self.bytes_read += len(block)
            if len(block) != end - start:
                raise OSError(f"short read at {start}: got {len(block)} of {end - start} bytes")
            self._cache[index] = block
            while len(self._cache) > _CACHED_BLOCKS:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(index)
        return block

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._pos >= self.size:
            return 0
        index, offset = divmod(self._pos, self._block)
        block = self._get_block(index)
        n = min(len(buffer), len(block) - offset)
        buffer[:n] = block[offset : offset + n]
        self._pos += n
        return n

    def read_at(self, offset: int, n: int) -> bytes:
        self.seek(offset)
        out = bytearray()
        while len(out) < n:
            chunk = self.read(n - len(out))
            if not chunk:
                break
            out += chunk
        return bytes(out)


class _Unreachable(Exception):
    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass
class _Opened:
    reader: _BlockReader
    content_type: str | None
    final_url: str | None = None


def _open_local(ref: Reference) -> _Opened:
    assert ref.path is not None
    try:
        size = ref.path.stat().st_size
        handle = open(ref.path, "rb")  # noqa: SIM115 (closed by the reader's owner below)
    except FileNotFoundError as exc:
        raise _Unreachable(f"local file {ref.display} does not exist", transient=False) from exc
    except OSError as exc:
        raise _Unreachable(
            f"cannot read local file {ref.display}: {exc.strerror or exc}", transient=False
        ) from exc
    lock = threading.Lock()

    def fetch(start: int, end: int) -> bytes:
        with lock:
            handle.seek(start)
            return handle.read(end - start)

    reader = _BlockReader(size, fetch)
    reader._close_handle = handle  # type: ignore[attr-defined]
    return _Opened(reader, None)


def _open_gcs(ref: Reference, client: storage.Client | None, *, timeout: float) -> _Opened:
    assert ref.gcs is not None
    if client is None:
        raise _Unreachable(f"{ref.display} needs a GCS client (none configured)", transient=False)
    from google.api_core import exceptions as gexc

    from airflow_provider_seedance.client.gcs import stat_object

    try:
        info = stat_object(client, ref.gcs, timeout=timeout)
    except gexc.Forbidden as exc:
        raise _Unreachable(
            f"no permission to read {ref.display} (HTTP 403): grant the GCS credentials "
            "storage.objects.get on the bucket",
            transient=False,
        ) from exc
    except gexc.Unauthorized as exc:
        raise _Unreachable(
            f"GCS refused the credentials for {ref.display} (HTTP 401)", transient=False
        ) from exc
    except gexc.NotFound as exc:  # the bucket itself is missing
        raise _Unreachable(
            f"{ref.display}: bucket {ref.gcs.bucket!r} does not exist", transient=False
        ) from exc
    except (gexc.ServerError, gexc.TooManyRequests, gexc.RetryError) as exc:
        raise _Unreachable(f"GCS failed while reading {ref.display}: {exc}", transient=True) from exc
    except Exception as exc:  # transport errors from requests/urllib3
        raise _Unreachable(
            f"GCS unreachable for {ref.display}: {type(exc).__name__}", transient=True
        ) from exc
    if info is None:
        raise _Unreachable(f"{ref.display} does not exist", transient=False)
    bucket = client.bucket(ref.gcs.bucket)
    blob = bucket.blob(ref.gcs.name, generation=info.generation)

    def fetch(start: int, end: int) -> bytes:
        if end <= start:
            return b""
        data: bytes = blob.download_as_bytes(start=start, end=end - 1, timeout=timeout, checksum=None)
        if len(data) == info.size and info.size != end - start:
            data = data[start:end]  # the emulator ignores Range and answers the whole object
        return data

    return _Opened(_BlockReader(info.size, fetch), info.content_type)


def _open_http(ref: Reference, http: httpx.Client) -> _Opened:
    """First ranged GET (following same-scheme redirects); the reader re-requests ranges."""
    assert ref.url is not None
    url = ref.url
    scheme = urlsplit(url).scheme
    for _ in range(_MAX_REDIRECTS + 1):
        try:
            with http.stream(
                "GET", url, headers={"Range": f"bytes=0-{BLOCK_SIZE - 1}", "Accept-Encoding": "identity"}
            ) as resp:
                if resp.is_redirect:
                    location = resp.headers.get("Location", "")
                    target = urljoin(url, location)
                    if urlsplit(target).scheme != scheme:
                        raise _Unreachable(
                            f"{safe_url(ref.url)} redirects to another scheme ({safe_url(target)})",
                            transient=False,
                        )
                    url = target
                    continue
                status = resp.status_code
                if status >= 400:
                    hint = {
                        401: " (unauthorized)",
                        403: " (forbidden: a signed URL that expired?)",
                        404: " (not found)",
                        410: " (gone: an expired link?)",
                    }.get(status, "")
                    raise _Unreachable(
                        f"{safe_url(ref.url)} answered HTTP {status}{hint}",
                        transient=status in (408, 425, 429) or status >= 500,
                    )
                content_type = resp.headers.get("Content-Type")
                first = b""
                for chunk in resp.iter_bytes(64 * 1024):
                    first += chunk
                    if len(first) >= BLOCK_SIZE:
                        break
                first = first[:BLOCK_SIZE]
                if status == 206:
                    total = resp.headers.get("Content-Range", "").rpartition("/")[2]
                    size = int(total) if total.isdigit() else None
                else:
                    length = resp.headers.get("Content-Length")
                    size = int(length) if length and length.isdigit() else None
                if size is None:
                    raise _Unreachable(f"{safe_url(ref.url)} does not announce its size", transient=False)
                final = url
                break
        except httpx.TimeoutException as exc:
            raise _Unreachable(
                f"{safe_url(ref.url)} timed out ({type(exc).__name__})", transient=True
            ) from exc
        except httpx.TransportError as exc:
            raise _Unreachable(
                f"{safe_url(ref.url)} is unreachable ({type(exc).__name__}: {exc})", transient=True
            ) from exc
    else:
        raise _Unreachable(f"{safe_url(ref.url)} redirects more than {_MAX_REDIRECTS} times", transient=False)

    def fetch(start: int, end: int) -> bytes:
        if start == 0 and len(first) >= end:
            return first[:end]
        try:
            with http.stream(
                "GET", final, headers={"Range": f"bytes={start}-{end - 1}", "Accept-Encoding": "identity"}
            ) as resp:
                if resp.status_code >= 400:
                    raise OSError(f"HTTP {resp.status_code} for bytes {start}-{end - 1}")
                skip = start if resp.status_code == 200 else 0  # the server ignored Range
                out = bytearray()
                for chunk in resp.iter_bytes(64 * 1024):
                    if skip:
                        if len(chunk) <= skip:
                            skip -= len(chunk)
                            continue
                        chunk, skip = chunk[skip:], 0
                    out += chunk
                    if len(out) >= end - start:
                        break
                return bytes(out[: end - start])
        except httpx.TransportError as exc:
            raise OSError(f"{type(exc).__name__} for bytes {start}-{end - 1}") from exc

    return _Opened(_BlockReader(size, fetch), content_type, final)


def _open_data(ref: Reference) -> _Opened:
    assert ref.data is not None
    data = ref.data
    return _Opened(_BlockReader(len(data), lambda s, e: data[s:e]), ref.data_mime)


# -- content ---------------------------------------------------------------------------------------


def sniff_format(head: bytes) -> str | None:
    """The media format by content (magic numbers), or None when unrecognised.

    Returns one of JPEG, PNG, WEBP, GIF, BMP, TIFF, MP4, MOV, WEBM, AVI, WAV, MP3, OGG, FLAC, M4A.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "WAV"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:2] == b"BM":
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "WEBM"
    if head[:4] == b"OggS":
        return "OGG"
    if head[:4] == b"fLaC":
        return "FLAC"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "MOV"
        if brand in (b"M4A ", b"M4B "):
            return "M4A"
        if brand in (b"heic", b"heix", b"mif1", b"avif"):
            return "HEIF"
        return "MP4"
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return "MOV"  # classic QuickTime files start without ftyp
    if head[:3] == b"ID3":
        return "MP3"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE6) == 0xE2:  # MPEG audio layer III sync
        return "MP3"
    return None


_KIND_OF_FORMAT = {
    **dict.fromkeys(("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF"), "an image"),
    **dict.fromkeys(("MP4", "MOV", "WEBM", "AVI"), "a video"),
    **dict.fromkeys(("WAV", "MP3", "OGG", "FLAC", "M4A"), "audio"),
}


def _check_boxes(reader: _BlockReader, info: MediaInfo) -> None:
    """Walk the top-level ISO BMFF boxes: a ``moov`` must exist and no box may pass the end."""
    offset, size, boxes, seen = 0, reader.size, 0, set()
    while offset < size and boxes < _MAX_BOXES:
        header = reader.read_at(offset, 16)
        if len(header) < 8:
            info.fail(f"is truncated: a box header at byte {offset} is cut off (file ends at {size})")
            return
        box_size, box_type = struct.unpack(">I4s", header[:8])
        if box_size == 1:
            if len(header) < 16:
                info.fail(f"is truncated at byte {offset} (file ends at {size})")
                return
            box_size = struct.unpack(">Q", header[8:16])[0]
        elif box_size == 0:
            box_size = size - offset
        if box_size < 8:
            info.fail(f"is not a valid MP4/MOV: box at byte {offset} declares {box_size} bytes")
            return
        seen.add(box_type)
        if offset + box_size > size:
            name = box_type.decode("latin-1")
            info.fail(
                f"is truncated: its {name!r} box needs {offset + box_size} bytes but the file has {size}"
            )
            return
        offset += box_size
        boxes += 1
    if b"moov" not in seen:
        info.fail("has no 'moov' box (not a complete MP4/MOV: truncated or still being written?)")


def _probe_av(reader: _BlockReader, info: MediaInfo, *, video: bool) -> None:
    import av

    reader.seek(0)
    try:
        with av.open(
            reader,
            mode="r",
            options={"probesize": "262144", "analyzeduration": "0"},
            metadata_errors="ignore",
        ) as container:
            streams = container.streams.video if video else container.streams.audio
            if not streams:
                info.fail(f"contains no {'video' if video else 'audio'} stream")
                return
            stream = streams[0]
            duration: float | None = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            if not duration and container.duration is not None:
                duration = container.duration / 1_000_000
            info.duration = duration
            if isinstance(stream, av.VideoStream):
                ctx = stream.codec_context
                info.width, info.height = int(ctx.width or 0) or None, int(ctx.height or 0) or None
                rate = stream.average_rate or stream.guessed_rate
                info.fps = float(rate) if rate else None
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        info.fail(f"cannot be read as {info.format}: {exc}")
        return
    if info.duration is None:
        info.fail("has no measurable duration")


def _check_wav(reader: _BlockReader, info: MediaInfo) -> None:
    head = reader.read_at(0, 12)
    riff = struct.unpack("<I", head[4:8])[0]
    if riff not in (0, 0xFFFFFFFF) and riff + 8 > reader.size:
        info.fail(f"is truncated: its RIFF header declares {riff + 8} bytes but the file has {reader.size}")


def _probe_image(reader: _BlockReader, info: MediaInfo) -> None:
    from PIL import Image, UnidentifiedImageError

    reader.seek(0)
    try:
        with Image.open(reader, formats=["JPEG", "PNG", "WEBP"]) as img:  # type: ignore[arg-type]
            info.width, info.height = img.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        info.fail(f"cannot be read as {info.format}: {exc}")


def _probe_one(
    ref: Reference,
    *,
    limits: MediaLimits,
    http: httpx.Client | None,
    storage_client: storage.Client | None,
    timeout: float,
) -> MediaInfo:
    info = MediaInfo(ref)
    try:
        if ref.source is SourceKind.LOCAL:
            opened = _open_local(ref)
        elif ref.source is SourceKind.GCS:
            opened = _open_gcs(ref, storage_client, timeout=timeout)
        elif ref.source is SourceKind.DATA:
            opened = _open_data(ref)
        else:
            assert http is not None
            opened = _open_http(ref, http)
    except _Unreachable as exc:
        info.fail(str(exc), transient=exc.transient)
        return info
    reader = opened.reader
    try:
        info.size, info.content_type = reader.size, opened.content_type
        _inspect(reader, info, limits)
    except OSError as exc:
        info.fail(f"reading it failed midway: {exc}", transient=True)
    finally:
        info.bytes_read = reader.bytes_read
        handle = getattr(reader, "_close_handle", None)
        if handle is not None:
            handle.close()
    return info


def _inspect(reader: _BlockReader, info: MediaInfo, limits: MediaLimits) -> None:
    kind = info.reference.kind
    if reader.size == 0:
        info.fail("is empty (0 bytes)")
        return
    ctype = (info.content_type or "").split(";")[0].strip().lower()
    if ctype and not ctype.startswith(_EXPECTED_TOP_TYPE[kind]) and ctype not in _GENERIC_TYPES:
        info.fail(f"is served as {ctype!r}, not {_EXPECTED_TOP_TYPE[kind]}*: not {_FORMAT_NAMES[kind]}")
        return
    head = reader.read_at(0, 64)
    fmt = sniff_format(head)
    allowed = {
        MediaKind.IMAGE: limits.image_formats,
        MediaKind.VIDEO: limits.video_formats,
        MediaKind.AUDIO: limits.audio_formats,
    }[kind]
    if fmt not in allowed:
        what = (
            f"is {_KIND_OF_FORMAT.get(fmt, 'a file')} in {fmt} format"
            if fmt
            else "has an unrecognised format"
        )
        info.fail(f"{what} by content; expected {_FORMAT_NAMES[kind]}")
        return
    info.format = fmt
    if kind is MediaKind.IMAGE:
        _probe_image(reader, info)
    elif kind is MediaKind.VIDEO:
        _check_boxes(reader, info)
        if not info.errors:
            _probe_av(reader, info, video=True)
    else:
        if fmt == "WAV":
            _check_wav(reader, info)
        if not info.errors:
            _probe_av(reader, info, video=False)


# -- limits check (pure) ---------------------------------------------------------------------------


def _mb(n: int) -> str:
    return f"{n / MB:.2f} MB ({n:,} bytes)"


def check_limits(infos: Sequence[MediaInfo], limits: MediaLimits) -> list[FieldError]:
    """Every limit broken by the measured ``infos``; pure (no I/O)."""
    errors: list[FieldError] = []

    def bad(field_name: str, message: str) -> None:
        errors.append(ReferenceFieldError(field_name, message))

    def bounds(
        f: str, what: str, value: float | None, lo: float | None, hi: float | None, unit: str = ""
    ) -> None:
        if value is None:
            return
        if lo is not None and value < lo:
            bad(f, f"{what} is {value:g}{unit}, below the minimum {lo:g}{unit}")
        if hi is not None and value > hi:
            bad(f, f"{what} is {value:g}{unit}, above the maximum {hi:g}{unit}")

    def frame(
        i: MediaInfo, min_side: float | None, max_side: float | None, lo: float | None, hi: float | None
    ) -> None:
        """Width, height and aspect ratio of a measured picture against their bounds."""
        if not (i.width and i.height):
            return
        for side, v in (("width", i.width), ("height", i.height)):
            bounds(i.field, side, v, min_side, max_side, " px")
        bounds(i.field, "aspect ratio (width/height)", round(i.width / i.height, 4), lo, hi)

    measured = [i for i in infos if not i.errors]
    for i in measured:
        kind, f = i.reference.kind, i.field
        if kind is MediaKind.IMAGE:
            if i.size is not None and i.size > limits.image_max_bytes:
                bad(f, f"is {_mb(i.size)}; images may be at most {_mb(limits.image_max_bytes)}")
            frame(
                i,
                limits.image_min_side,
                limits.image_max_side,
                limits.image_min_aspect,
                limits.image_max_aspect,
            )
        elif kind is MediaKind.VIDEO:
            if i.width and i.height:
                px = i.width * i.height
                if limits.video_min_pixels is not None and px < limits.video_min_pixels:
                    bad(
                        f,
                        f"is {i.width}x{i.height} = {px:,} pixels, below the minimum "
                        f"{limits.video_min_pixels:,} (~480p, 640x640)",
                    )
                if limits.video_max_pixels is not None and px > limits.video_max_pixels:
                    bad(
                        f,
                        f"is {i.width}x{i.height} = {px:,} pixels, above the maximum "
                        f"{limits.video_max_pixels:,} (~720p, 834x1112)",
                    )
            frame(
                i,
                limits.video_min_side,
                limits.video_max_side,
                limits.video_min_aspect,
                limits.video_max_aspect,
            )
            bounds(
                f,
                "frame rate",
                None if i.fps is None else round(i.fps, 3),
                limits.video_min_fps,
                limits.video_max_fps,
                " fps",
            )
            bounds(
                f,
                "duration",
                None if i.duration is None else round(i.duration, 3),
                limits.video_min_each_seconds,
                limits.video_max_each_seconds,
                " s",
            )
        else:
            if i.size is not None and i.size > limits.audio_max_bytes:
                bad(f, f"is {_mb(i.size)}; audio files may be at most {_mb(limits.audio_max_bytes)}")
            bounds(
                f,
                "duration",
                None if i.duration is None else round(i.duration, 3),
                limits.audio_min_each_seconds,
                limits.audio_max_each_seconds,
                " s",
            )

    videos = [i for i in infos if i.reference.kind is MediaKind.VIDEO]
    if videos and all(not i.errors for i in videos):
        total = sum(i.duration or 0.0 for i in videos)
        detail = " + ".join(f"{i.duration or 0:.3g} s" for i in videos) if len(videos) > 1 else ""
        label = "video_urls (combined)"
        if total < limits.video_min_total_seconds - 1e-6:
            bad(
                label,
                f"duration is {total:.3f} s{f' ({detail})' if detail else ''}, below the "
                f"minimum {limits.video_min_total_seconds:g} s",
            )
        if total > limits.video_max_total_seconds + 1e-6:
            bad(
                label,
                f"duration is {total:.3f} s{f' ({detail})' if detail else ''}, above the "
                f"maximum {limits.video_max_total_seconds:g} s",
            )
        size = sum(i.size or 0 for i in videos)
        if size >= limits.video_total_bytes_below:
            bad(label, f"size is {_mb(size)}; it must be under {_mb(limits.video_total_bytes_below)}")
    audios = [i for i in infos if i.reference.kind is MediaKind.AUDIO]
    if audios and limits.audio_max_total_seconds is not None and all(not i.errors for i in audios):
        total = sum(i.duration or 0.0 for i in audios)
        if total > limits.audio_max_total_seconds + 1e-6:
            bad(
                "audio_urls (combined)",
                f"duration is {total:.3f} s, above the maximum {limits.audio_max_total_seconds:g} s",
            )
    return errors


# -- entry point -----------------------------------------------------------------------------------


def preflight(
    references: Iterable[Reference],
    *,
    platform: str,
    http: httpx.Client | None = None,
    storage_client: storage.Client | None = None,
    limits: MediaLimits | None = None,
    timeout: float = 30.0,
    max_workers: int = 8,
) -> PreflightReport:
    """Probe every reference and check every documented limit of ``platform``.

    :param http: A plain client (no platform credentials!) for http(s) references; one with
        ``timeout`` is created when None.
    :param storage_client: For ``gs://`` references (the GCS credentials' client).
    :param timeout: Seconds per HTTP/GCS request.
    :param max_workers: References probed in parallel.
    :raises SeedancePreflightError: every violation of every reference, at once;
        ``transient`` is True when only network faults (timeouts, 5xx) stood in the way.
    """
    refs = list(references)
    lim = limits or limits_for(platform)
    own_http = http is None and any(r.source is SourceKind.HTTP for r in refs)
    client = httpx.Client(timeout=timeout, follow_redirects=False) if own_http else http
    try:
        if len(refs) <= 1 or max_workers <= 1:
            infos = [
                _probe_one(r, limits=lim, http=client, storage_client=storage_client, timeout=timeout)
                for r in refs
            ]
        else:
            with ThreadPoolExecutor(
                max_workers=min(max_workers, len(refs)), thread_name_prefix="preflight"
            ) as pool:
                infos = list(
                    pool.map(
                        lambda r: _probe_one(
                            r, limits=lim, http=client, storage_client=storage_client, timeout=timeout
                        ),
                        refs,
                    )
                )
    finally:
        if own_http and client is not None:
            client.close()
    order = {r.field: n for n, r in enumerate(refs)}
    errors = sorted(
        [e for i in infos for e in i.errors] + check_limits(infos, lim),
        key=lambda e: order.get(e.field, len(order)),
    )
    report = PreflightReport(tuple(infos), platform)
    if errors:
        raise SeedancePreflightError(errors, report=report)
    log.info(
        "Preflight of %d reference(s) for %s passed (%d bytes read; %.3f s of input video)",
        len(refs),
        platform,
        report.bytes_read,
        report.input_video_seconds,
    )
    return report


__all__ = [
    "BLOCK_SIZE",
    "PLATFORM_LIMITS",
    "MediaInfo",
    "MediaLimits",
    "PreflightReport",
    "check_limits",
    "limits_for",
    "preflight",
    "sniff_format",
]
