"""An HTTP server on 127.0.0.1 serving reference media the way CDNs and signed URLs do.

Each path is a :class:`Route`: bytes (or a file) with a content type, honouring ``Range``
(206 + ``Content-Range``) unless ``ranges=False``; or a fixed ``status``; a ``redirect``; a
``delay`` before answering (timeouts). Every request is logged with its ``Range`` header, so
tests can assert how much was read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from tests.support.http_server import LocalHTTPServer, server_fixtures


@dataclass
class Route:
    data: bytes | None = None
    path: Path | None = None
    content_type: str = "application/octet-stream"
    status: int = 200
    redirect: str | None = None
    delay: float = 0.0
    ranges: bool = True


@dataclass
class ReferenceServer(LocalHTTPServer):
    routes: dict[str, Route] = field(default_factory=dict)
    log: list[tuple[str, str | None]] = field(default_factory=list)
    bytes_sent: int = 0

    answers_head: ClassVar[bool] = True

    def add(self, name: str, **route: Any) -> str:
        self.routes[name] = Route(**route)
        return f"{self.base_url}/{name}"

    def reset(self) -> None:
        self.routes.clear()
        self.log.clear()
        self.bytes_sent = 0

    def _serve(self, h: BaseHTTPRequestHandler, *, head: bool) -> None:
        name = urlsplit(h.path).path.lstrip("/")
        self.log.append((name, h.headers.get("Range")))
        route = self.routes.get(name)

        def send(status: int, body: bytes, headers: dict[str, str]) -> None:
            h.send_response(status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            if not head:
                try:
                    h.wfile.write(body)
                    self.bytes_sent += len(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        if route is None:
            return send(404, b"not found", {"Content-Type": "text/plain"})
        if route.delay:
            time.sleep(route.delay)
        if route.redirect is not None:
            return send(302, b"", {"Location": route.redirect})
        if route.status >= 400:
            return send(route.status, b"<Error>denied</Error>", {"Content-Type": "application/xml"})
        size = len(route.data) if route.data is not None else (route.path.stat().st_size if route.path else 0)

        def read(start: int, end: int) -> bytes:
            if route.data is not None:
                return route.data[start:end]
            assert route.path is not None
            with open(route.path, "rb") as f:
                f.seek(start)
                return f.read(end - start)

        rng = h.headers.get("Range")
        if rng and route.ranges and rng.startswith("bytes="):
            start_s, _, end_s = rng[6:].partition("-")
            start = int(start_s)
            end = min(int(end_s) if end_s else size - 1, size - 1)
            if start >= size:
                return send(416, b"", {"Content-Range": f"bytes */{size}"})
            return send(
                206,
                read(start, end + 1),
                {"Content-Type": route.content_type, "Content-Range": f"bytes {start}-{end}/{size}"},
            )
        if route.data is not None or head:
            return send(200, read(0, size) if not head else b"", {"Content-Type": route.content_type})
        # A whole file: streamed in 1 MiB pieces (a benchmark's baseline downloads 100 MB).
        h.send_response(200)
        h.send_header("Content-Type", route.content_type)
        h.send_header("Content-Length", str(size))
        h.end_headers()
        try:
            for offset in range(0, size, 1 << 20):
                piece = read(offset, min(size, offset + (1 << 20)))
                h.wfile.write(piece)
                self.bytes_sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass


reference_server_session, reference_server = server_fixtures(
    ReferenceServer,
    "reference_server",
    "Reference media over HTTP on 127.0.0.1; routes and log cleared for every test.",
)
