"""``http2``: does HTTP/2 make the triggers' polling cheaper? CPU per 1,000 polls, HTTP/1.1 vs HTTP/2.

1,000 pollers (asyncio tasks on one event loop, as in a triggerer) share ONE pooled identity of
:class:`~airflow_provider_seedance.client.pool.ClientPool`, over **TLS**, each polling a
fal-like status URL every ``poll`` seconds (first poll at U(0, poll), then U(1, 1.25) x poll, as
the jittered poller does). The server is hypercorn (``python -m benchmarks.bench_http2 server``):
one process, a minimal raw ASGI app answering fal's 202 ``IN_PROGRESS`` JSON, ALPN offering
``h2`` and ``http/1.1``, a throwaway trustme CA given to the client by ``SSL_CERT_FILE``; it
counts requests per HTTP version and the client connections (distinct peer ports).

Variants, each in its own fresh worker process, alternated ``repeats`` times:

* ``http1``: ``ClientPool()`` as the triggers use it (64 keep-alive connections over 32 shards);
* ``http2``: ``ClientPool(http2=True)``: the same shards, each connection negotiating h2;
* ``http2-1x16``: ``ClientPool(http2=True, max_connections=16, shard_size=16)``: one client, up to
  16 streams multiplexed on its (single) h2 connection.

Measured in the worker: CPU-s (user + system, the whole process) per 1,000 polls while polling,
request latency p50 / p99, and which HTTP version each response came over. ``http1`` is the
baseline of every ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import BenchResult, Row, child_env, cpu_seconds, peak_rss_kb, run_json

STATUS_PATH = "/bytedance/seedance-2.0/requests/{}/status"
VARIANTS: dict[str, dict[str, Any]] = {
    "http1": {},
    "http2": {"http2": True},
    "http2-1x16": {"http2": True, "max_connections": 16, "shard_size": 16},
}


# -- server -----------------------------------------------------------------------------------


class _Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests: dict[str, int] = {}
        self.peers: set[tuple[str, int]] = set()

    def as_dict(self) -> dict[str, Any]:
        return {"requests": dict(self.requests), "connections": len(self.peers)}


def _app(stats: _Stats) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        if path == "/_stats":
            status, body = 200, json.dumps(stats.as_dict()).encode()
            if scope["method"] == "POST":
                stats.reset()
        else:
            version = scope.get("http_version", "?")
            stats.requests[version] = stats.requests.get(version, 0) + 1
            if scope.get("client"):
                stats.peers.add(tuple(scope["client"]))
            request_id = path.rsplit("/", 2)[-2]
            status = 202
            body = json.dumps(
                {
                    "status": "IN_PROGRESS",
                    "request_id": request_id,
                    "response_url": f"https://127.0.0.1/bytedance/seedance-2.0/requests/{request_id}",
                    "logs": None,
                }
            ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def server(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="benchmarks.bench_http2 server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--certfile", required=True)
    parser.add_argument("--keyfile", required=True)
    args = parser.parse_args(argv)

    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{args.port}"]
    config.certfile, config.keyfile = args.certfile, args.keyfile
    config.alpn_protocols = ["h2", "http/1.1"]
    config.keep_alive_timeout = 600
    config.h2_max_concurrent_streams = 100
    config.backlog = 2048
    config.accesslog = None
    config.errorlog = "-"
    config.loglevel = "WARNING"
    stop = asyncio.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await serve(_app(_Stats()), config, shutdown_trigger=stop.wait)

    asyncio.run(main())


class H2Server:
    """The hypercorn server above in its own process group on a free 127.0.0.1 port, over TLS."""

    def __enter__(self) -> H2Server:
        import httpx
        import trustme

        from scripts.stack import free_port

        self._tmp = tempfile.mkdtemp(prefix="bench-http2-")
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_path = str(Path(self._tmp, "ca.pem"))
        ca.cert_pem.write_to_path(self.ca_path)
        certfile, keyfile = Path(self._tmp, "server.pem"), Path(self._tmp, "server.key")
        cert.cert_chain_pems[0].write_to_path(str(certfile))
        for pem in cert.cert_chain_pems[1:]:
            pem.write_to_path(str(certfile), append=True)
        cert.private_key_pem.write_to_path(str(keyfile))
        port = free_port()
        args = ["-m", "benchmarks.bench_http2", "server", "--port", str(port)]
        args += ["--certfile", str(certfile), "--keyfile", str(keyfile)]
        self.process = subprocess.Popen([sys.executable, *args], env=child_env(), start_new_session=True)
        self.base_url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(self.base_url + "/_stats", verify=self._verify(), timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError("the hypercorn server did not start") from None
                time.sleep(0.1)
        return self

    def _verify(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_path)

    def stats(self, *, reset: bool = False) -> dict[str, Any]:
        import httpx

        method = "POST" if reset else "GET"
        response = httpx.request(method, self.base_url + "/_stats", verify=self._verify(), timeout=10)
        result: dict[str, Any] = response.json()
        return result

    def __exit__(self, *exc: object) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        shutil.rmtree(self._tmp, ignore_errors=True)


# -- worker -----------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 4)


async def _poll_all(variant: str, base_url: str, pollers: int, polls: int, poll: float) -> dict[str, Any]:
    from airflow_provider_seedance.client.pool import ClientPool

    pool = ClientPool(**VARIANTS[variant])
    rng = random.Random(13)
    latencies: list[float] = []
    versions: dict[str, int] = {}
    errors = 0

    async def poller(i: int) -> None:
        nonlocal errors
        url = base_url + STATUS_PATH.format(f"job-{i}")
        await asyncio.sleep(rng.uniform(0, poll))
        for _ in range(polls):
            async with pool.lease(
                platform="fal", base_url=base_url, api_key="bench-key", timeout=30
            ) as client:
                t = time.perf_counter()
                try:
                    response = await client.get(url, headers={"Authorization": "Key bench-key"})
                    response.json()
                except Exception:
                    errors += 1
                else:
                    latencies.append(time.perf_counter() - t)
                    versions[response.http_version] = versions.get(response.http_version, 0) + 1
            await asyncio.sleep(poll * rng.uniform(1.0, 1.25))

    # Warm-up: one lease/poll so imports and the first handshakes are not in the measure.
    async with pool.lease(platform="fal", base_url=base_url, api_key="bench-key", timeout=30) as client:
        await client.get(base_url + STATUS_PATH.format("warm-up"))
    cpu0, t0 = cpu_seconds(), time.monotonic()
    await asyncio.gather(*(poller(i) for i in range(pollers)))
    cpu, wall = cpu_seconds() - cpu0, time.monotonic() - t0
    await pool.aclose()
    done = len(latencies)
    return {
        "variant": variant,
        "pollers": pollers,
        "polls": done,
        "errors": errors,
        "cpu_s": round(cpu, 3),
        "wall_s": round(wall, 2),
        "cpu_per_1000_polls": round(cpu / done * 1000, 4) if done else None,
        "latency_p50_ms": None if not latencies else round(1000 * statistics.median(latencies), 2),
        "latency_p99_ms": None if not latencies else round(1000 * (_pct(latencies, 0.99) or 0), 2),
        "http_versions": versions,
        "peak_rss_mb": round(peak_rss_kb() / 1024, 1),
    }


def worker(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="benchmarks.bench_http2 worker")
    parser.add_argument("--variant", required=True, choices=sorted(VARIANTS))
    parser.add_argument("--server", required=True)
    parser.add_argument("--pollers", type=int, required=True)
    parser.add_argument("--polls", type=int, required=True)
    parser.add_argument("--poll", type=float, required=True)
    args = parser.parse_args(argv)
    import httpx  # noqa: F401  (imported before the measure, like a triggerer has it)

    report = asyncio.run(_poll_all(args.variant, args.server, args.pollers, args.polls, args.poll))
    print(json.dumps(report))


# -- orchestrator -----------------------------------------------------------------------------


def h2_available() -> bool:
    try:
        import h2  # noqa: F401
        import hypercorn  # noqa: F401
    except ImportError:
        return False
    return True


def run(
    *,
    quick: bool = False,
    pollers: int | None = None,
    polls: int | None = None,
    poll: float | None = None,
    repeats: int | None = None,
) -> BenchResult:
    pollers = pollers if pollers is not None else (300 if quick else 1000)
    polls = polls if polls is not None else (4 if quick else 6)
    poll = poll if poll is not None else (2.0 if quick else 4.0)
    repeats = repeats if repeats is not None else (1 if quick else 3)
    params = {"pollers": pollers, "polls_each": polls, "poll_s": poll, "repeats": repeats, "tls": True}
    description = "CPU per 1,000 polls over one pooled client with TLS: HTTP/2 vs HTTP/1.1"
    if not h2_available():
        return BenchResult(
            "http2",
            description,
            params,
            notes=["skipped: needs the h2 and hypercorn packages (the test extra)"],
        )
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    with H2Server() as srv:
        for _ in range(repeats):
            for variant in VARIANTS:
                srv.stats(reset=True)
                args = [
                    "-m",
                    "benchmarks.bench_http2",
                    "worker",
                    "--variant",
                    variant,
                    "--server",
                    srv.base_url,
                ]
                args += ["--pollers", str(pollers), "--polls", str(polls), "--poll", str(poll)]
                report = run_json(args, env=child_env(SSL_CERT_FILE=srv.ca_path), timeout=600)
                report["server"] = srv.stats()
                runs[variant].append(report)

    def median(variant: str, key: str) -> float | None:
        values = [r[key] for r in runs[variant] if r.get(key) is not None]
        return round(statistics.median(values), 4) if values else None

    rows = []
    for variant in ("http2", "http2-1x16"):
        for key, label, unit in (
            ("cpu_per_1000_polls", "CPU-s per 1,000 polls", "s"),
            ("latency_p99_ms", "poll latency p99", "ms"),
        ):
            rows.append(
                Row(variant, label, unit, median(variant, key), median("http1", key), baseline_name="http1")
            )
    connections = {v: [r["server"]["connections"] for r in runs[v]] for v in VARIANTS}
    notes = [
        f"{pollers} pollers x {polls} polls every {poll:g} s (jittered), one pooled identity, TLS; "
        f"medians of {repeats} alternated runs per variant, each a fresh process.",
        f"client connections seen by the server per run: {connections}.",
        "HTTP versions of the responses: "
        + "; ".join(f"{v}: {runs[v][0]['http_versions']}" for v in VARIANTS if runs[v]),
    ]
    return BenchResult("http2", description, params, rows=rows, raw={"runs": runs}, notes=notes)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "server":
        server(sys.argv[2:])
    else:
        from benchmarks.__main__ import main

        sys.exit(main(["http2", *sys.argv[1:]]))
