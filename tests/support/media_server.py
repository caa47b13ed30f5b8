"""A tiny signed-URL media server for download and transfer tests: exact control of every byte.

Conftests expose its ``media_server`` fixture by importing it; the serving is
:class:`tests.support.http_server.LocalHTTPServer`'s.

It serves ``/media/<name>?token=<t>`` from a background thread on 127.0.0.1. Content is either
given bytes or a deterministic pattern of a given size (starting with an MP4 ``ftyp`` box)
generated while streaming (so a 200 MB
video never sits in memory). Tokens expire on demand (403, like a signed URL after 24 h).
Faults, consumed in order by successful-token GETs: ``status`` (answer ``code``), ``truncate``
(announce the full ``Content-Length`` but send half the body, then close), ``short_length``
(announce and send only half: a complete response that disagrees with the platform's size),
``chunked_short`` (no ``Content-Length``: a well-formed chunked body of only half the bytes).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.http_server import LocalHTTPServer, server_fixtures

BLOCK = 1024 * 1024


#: What every generated video starts with: an MP4 ``ftyp`` box, so it passes the archiver's sniff.
MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"


def pattern_block(name: str) -> bytes:
    """A 1 MiB block that differs per name."""
    seed = hashlib.sha256(name.encode()).digest()
    return (seed * (BLOCK // len(seed) + 1))[:BLOCK]


def iter_pattern(name: str, size: int) -> Iterator[bytes]:
    block = pattern_block(name)
    first = MP4_HEAD + block[len(MP4_HEAD) :]
    left = size
    while left > 0:
        n = min(left, BLOCK)
        chunk, first = first, block
        yield chunk if n == BLOCK else chunk[:n]
        left -= n


def pattern_bytes(name: str, size: int) -> bytes:
    return b"".join(iter_pattern(name, size))


@dataclass
class _Video:
    data: bytes | None
    size: int
    tokens: set[str] = field(default_factory=set)
    issued: int = 0


@dataclass
class MediaServer(LocalHTTPServer):
    videos: dict[str, _Video] = field(default_factory=dict)
    faults: list[dict[str, Any]] = field(default_factory=list)
    log: list[tuple[str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- control --------------------------------------------------------------------------

    def add(self, name: str, *, data: bytes | None = None, size: int | None = None) -> str:
        """Register a video (bytes, or a generated pattern of ``size``); return a fresh URL."""
        if data is None and size is None:
            raise ValueError("data or size")
        self.videos[name] = _Video(data=data, size=len(data) if data is not None else int(size or 0))
        return self.fresh_url(name)

    def fresh_url(self, name: str) -> str:
        video = self.videos[name]
        with self.lock:
            video.issued += 1
            token = f"t{video.issued}"
            video.tokens.add(token)
        return f"{self.base_url}/media/{name}?token={token}"

    def expire(self, name: str) -> None:
        """Every URL issued so far for ``name`` answers 403 from now on."""
        self.videos[name].tokens.clear()

    def content(self, name: str) -> bytes:
        video = self.videos[name]
        return video.data if video.data is not None else pattern_bytes(name, video.size)

    def add_fault(self, kind: str, *, times: int = 1, **extra: Any) -> None:
        with self.lock:
            for _ in range(times):
                self.faults.append({"kind": kind, **extra})

    def gets(self, name: str) -> list[int]:
        """Statuses answered to GETs of ``name``, in order."""
        return [status for path, status in self.log if path == name]

    def reset(self) -> None:
        self.videos.clear()
        self.faults.clear()
        self.log.clear()

    # -- serving --------------------------------------------------------------------------
    def _take_fault(self) -> dict[str, Any] | None:
        with self.lock:
            return self.faults.pop(0) if self.faults else None

    def _serve(self, handler: BaseHTTPRequestHandler, *, head: bool) -> None:
        parts = urlsplit(handler.path)
        name = parts.path.removeprefix("/media/")
        token = parse_qs(parts.query).get("token", [""])[0]
        video = self.videos.get(name)

        def answer(status: int, body: bytes = b"", content_type: str = "text/plain") -> None:
            self.log.append((name, status))
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        if video is None:
            return answer(404, b"no such video")
        if token not in video.tokens:
            return answer(403, b"<Error>Request has expired</Error>", "application/xml")
        fault = self._take_fault()
        if fault and fault["kind"] == "status":
            status = int(fault.get("code", 503))
            handler.close_connection = True
            return answer(status, b"try later")
        chunks: Iterator[bytes] = (
            iter([video.data]) if video.data is not None else iter_pattern(name, video.size)
        )
        announced = video.size
        if fault and fault["kind"] == "short_length":
            announced = video.size // 2
        self.log.append((name, 200))
        handler.send_response(200)
        handler.send_header("Content-Type", "video/mp4")
        if fault and fault["kind"] == "chunked_short":
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            body = self.content(name)[: video.size // 2]
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                for i in range(0, len(body), BLOCK):
                    piece = body[i : i + BLOCK]
                    handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                handler.wfile.write(b"0\r\n\r\n")  # a complete, well-formed (short) body
            handler.close_connection = True
            return
        handler.send_header("Content-Length", str(announced))
        handler.end_headers()
        sent = 0
        limit = video.size // 2 if fault and fault["kind"] == "truncate" else announced
        try:
            for chunk in chunks:
                if sent >= limit:
                    break
                piece = chunk[: limit - sent]
                handler.wfile.write(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        handler.close_connection = True


media_server_session, media_server = server_fixtures(
    MediaServer, "media_server", "A signed-URL media server on 127.0.0.1 with faults; cleared for every test."
)
