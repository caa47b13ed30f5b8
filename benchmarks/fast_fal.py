"""A fast fake of fal's queue status API, so a trigger benchmark measures the client side.

``python -m benchmarks.fast_fal --port-file PATH [--certfile PEM]`` serves HTTP/1.1 (keep-alive;
HTTPS with ``--certfile``) on 127.0.0.1 from
one raw asyncio protocol (no framework: a few microseconds per request, so ten thousand
jobs' polls do not make the server the bottleneck). It is stateless: a job's id is
``j<index>-<queue_end_ms>-<finish_ms>`` (epoch milliseconds), so

* ``GET /bytedance/seedance-2.0/requests/<id>/status`` answers 202 ``IN_QUEUE`` with a queue
  position (one per 100 ms left in the queue) before ``queue_end``, 202 ``IN_PROGRESS`` before
  ``finish``, then 200 ``COMPLETED``;
* ``GET /_stats`` answers the counters: requests, status requests, connections accepted and the
  most open at once (``POST /_stats/reset`` zeroes them).

:func:`job_id` makes such an id; :func:`finish_of` reads the finish time back (seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

PREFIX = b"/bytedance/seedance-2.0/requests/"


def job_id(index: int, queue_end: float, finish: float) -> str:
    return f"j{index}-{int(queue_end * 1000)}-{int(finish * 1000)}"


def finish_of(request_id: str) -> float:
    return int(request_id.rsplit("-", 1)[1]) / 1000


class Stats:
    requests = 0
    status_requests = 0
    connections = 0
    open_now = 0
    open_max = 0

    @classmethod
    def as_dict(cls) -> dict[str, int]:
        return {
            "requests": cls.requests,
            "status_requests": cls.status_requests,
            "connections": cls.connections,
            "open_now": cls.open_now,
            "open_max": cls.open_max,
            # this server's own CPU (user + system s): shows whether it, not the client, is the bottleneck
            "cpu_s": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 3),
        }

    @classmethod
    def reset(cls) -> None:
        cls.requests = cls.status_requests = cls.connections = 0
        cls.open_max = cls.open_now


def _response(status: int, body: bytes) -> bytes:
    reason = {200: b"OK", 202: b"Accepted", 404: b"Not Found"}.get(status, b"OK")
    return b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
        status,
        reason,
        len(body),
        body,
    )


def answer(method: bytes, target: bytes) -> bytes:
    path = target.split(b"?", 1)[0]
    Stats.requests += 1
    if path.startswith(PREFIX) and path.endswith(b"/status"):
        Stats.status_requests += 1
        request_id = path[len(PREFIX) : -len(b"/status")].decode()
        try:
            _, queue_ms, finish_ms = request_id.split("-")
            now_ms = time.time() * 1000
            if now_ms < int(queue_ms):
                position = int((int(queue_ms) - now_ms) / 100)
                return _response(202, b'{"status":"IN_QUEUE","queue_position":%d,"logs":[]}' % position)
            if now_ms < int(finish_ms):
                return _response(202, b'{"status":"IN_PROGRESS","logs":[]}')
            return _response(200, b'{"status":"COMPLETED","logs":[]}')
        except ValueError:
            return _response(404, b'{"detail":"Request not found"}')
    if path == b"/_stats":
        if method == b"POST":
            Stats.reset()
        return _response(200, json.dumps(Stats.as_dict()).encode())
    return _response(404, b'{"detail":"Not found"}')


class Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        Stats.connections += 1
        Stats.open_now += 1
        Stats.open_max = max(Stats.open_max, Stats.open_now)

    def connection_lost(self, exc: Exception | None) -> None:
        Stats.open_now -= 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            # GETs only (no bodies): the status API and the stats.
            method, target, _ = head.split(b"\r\n", 1)[0].split(b" ", 2)
            self.transport.write(answer(method, target))


async def serve(port_file: Path, certfile: str | None, keyfile: str | None) -> None:
    ssl_context = None
    if certfile:
        import ssl

        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(certfile, keyfile)  # keyfile None: the key is in certfile
    server = await asyncio.get_running_loop().create_server(
        Protocol, "127.0.0.1", 0, backlog=4096, ssl=ssl_context
    )
    port = server.sockets[0].getsockname()[1]
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(port))
    os.replace(tmp, port_file)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fast_fal")
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()  # the fake should be fast; what is measured is the client
    except ImportError:  # pragma: no cover
        pass
    asyncio.run(serve(args.port_file, args.certfile, args.keyfile))


if __name__ == "__main__":
    main()
