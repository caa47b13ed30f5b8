"""The videos the emulator serves: a real, playable MP4 per job, streamed at any size.

Each job's file is the committed sample clip (``assets/sample.mp4``, 1 s 64x64 H.264) -- or, for
jobs created with ``render_videos`` on, the take drawn for the request (:mod:`.render`) -- followed by
one top-level MP4 ``free`` box holding ``job=<id> seed=<seed>`` (so every job's bytes differ and
are deterministic) and, when a size is configured, zero padding up to that size. Players skip
``free`` boxes, so the file stays playable. The padding is generated while streaming: a 500 MB
video never sits in memory.

Media URLs look like ``{root}/_media/{request_id}.mp4?expires=<unix>&sig=<hmac>`` and stop
working (403) after ``expires``, like a signed storage URL.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from urllib.parse import urlencode

CONTENT_TYPE = "video/mp4"
CHUNK = 1024 * 1024
_ZEROS = bytes(CHUNK)
_SECRET = secrets.token_bytes(32)


@cache
def sample_bytes() -> bytes:
    """The committed sample MP4."""
    return resources.files("airflow_provider_seedance.emulator").joinpath("assets/sample.mp4").read_bytes()


@dataclass(frozen=True)
class VideoLayout:
    """Byte layout of one job's MP4: sample + ``free`` box header + tag + zero padding."""

    head: bytes  # sample clip + free-box header + tag
    padding: int  # number of zero bytes after ``head``

    @property
    def size(self) -> int:
        return len(self.head) + self.padding

    def iter_bytes(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield bytes ``start..end`` (inclusive end, like HTTP ranges) in chunks of <= 1 MiB."""
        last = self.size - 1 if end is None else min(end, self.size - 1)
        pos = start
        head_len = len(self.head)
        while pos <= last:
            if pos < head_len:
                stop = min(head_len, last + 1, pos + CHUNK)
                yield self.head[pos:stop]
            else:
                stop = min(last + 1, pos + CHUNK)
                n = stop - pos
                yield _ZEROS if n == CHUNK else _ZEROS[:n]
            pos = stop

    async def aiter_bytes(self, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """:meth:`iter_bytes` for an async streaming response body."""
        for chunk in self.iter_bytes(start, end):
            yield chunk

    def read_all(self) -> bytes:
        return b"".join(self.iter_bytes())


def _free_box_header(box_size: int) -> bytes:
    if box_size <= 0xFFFFFFFF:
        return struct.pack(">I4s", box_size, b"free")
    return struct.pack(">I4sQ", 1, b"free", box_size)  # 64-bit "largesize" form


def video_layout(request_id: str, seed: int, target_size: int = 0) -> VideoLayout:
    """Layout of the job's video; ``target_size`` pads it (ignored when smaller than natural).

    The clip is the job's rendered take when one was registered for it
    (:func:`.render.register_job`), else the committed sample.
    """
    from airflow_provider_seedance.emulator.render import clip_for_job

    sample = clip_for_job(request_id) or sample_bytes()
    tag = f"seedance-emulator job={request_id} seed={seed}\n".encode()
    natural = len(sample) + 8 + len(tag)
    if target_size <= natural:
        return VideoLayout(sample + _free_box_header(8 + len(tag)) + tag, 0)
    header_len = 8 if target_size - len(sample) <= 0xFFFFFFFF else 16
    box_size = target_size - len(sample)
    padding = box_size - header_len - len(tag)
    if padding < 0:  # pragma: no cover - only around the 4 GiB boundary
        return VideoLayout(sample + _free_box_header(8 + len(tag)) + tag, 0)
    return VideoLayout(sample + _free_box_header(box_size) + tag, padding)


def _signature(request_id: str, expires: int) -> str:
    return hmac.new(_SECRET, f"{request_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def media_path(request_id: str, expires: int) -> str:
    """Path and query of a signed media URL (append to the server root)."""
    query = urlencode({"expires": expires, "sig": _signature(request_id, expires)})
    return f"/_media/{request_id}.mp4?{query}"


def check_signature(request_id: str, expires: int, sig: str) -> bool:
    return hmac.compare_digest(_signature(request_id, expires), sig)
