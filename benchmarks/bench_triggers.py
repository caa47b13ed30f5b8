"""``triggers``: N deferred jobs waited for in one asyncio loop, as a triggerer runs them (issue 13).

The realistic scenario: poll every ``POLL`` s; every job is queued for U(0, 10) s and finishes
U(20, 80) s after the triggers start. The server is :mod:`benchmarks.fast_fal` (a raw asyncio
fake of fal's queue status API in its own process), so what is measured is the client side.

For each variant and size a fresh worker process (``python -m benchmarks.bench_triggers worker``)
builds N triggers, starts them all on one event loop next to a 100 ms ticker and waits for every
event. Per case: CPU-s of the worker per 1,000 status calls, cores used (CPU / wall), peak RSS,
finish -> event lag (the event's time minus the job's finish time, p50 / p99 / max), connections
the server accepted and the most open at once, status calls per job.

Variants:

* ``ours``: the production :class:`SeedanceJobTrigger` (its ``run()``, ``_wait`` and the hook's
  pooled ``async_client``) with the kwargs the operator defers with (``submitted_at``: the
  jobs' start), rebuilt from its serialized kwargs, the connection read from
  ``AIRFLOW_CONN_SEEDANCE_DEFAULT`` as Airflow would;
* ``ours+typical``: the same trigger, also given ``expected_seconds`` (the minimal duration of
  its kind, 20 s here);
* ``today``: the trigger of 0.1 (:class:`~benchmarks.baseline_triggers.PerTriggerClientTrigger`):
  its own ``AsyncSeedanceClient`` per trigger, a fixed interval;
* ``client-per-poll``: a new ``httpx.AsyncClient`` per poll, verifying with the system CA bundle;
* ``fal-client``: a ``fal_client.AsyncClient`` per job polling its handle's ``status()``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import BenchResult, Row, child_env, cpu_seconds, peak_rss_kb, reset_peak_rss, run_json

OURS = "ours"
#: ours, also told when each job was submitted and the minimal duration of its kind (20 s here)
OURS_TYPICAL = "ours+typical"
TODAY = "today"
POLL = 10.0
QUEUE_RANGE = (0.0, 10.0)
FINISH_RANGE = (20.0, 80.0)


# -- variants ----------------------------------------------------------------------------------


class _FalClientTrigger:
    """``fal_client.AsyncClient`` per job, polling ``handle.status()`` every poll interval."""

    def __init__(self, *, job: dict[str, str], end_time: float, poll_interval: float) -> None:
        self.job, self.end_time, self.poll_interval = job, end_time, poll_interval

    async def run(self) -> AsyncIterator[Any]:
        import fal_client

        from airflow_provider_seedance.client.models import JobRef

        ref = JobRef.from_dict(self.job)
        client = fal_client.AsyncClient(key=os.environ["BENCH_API_KEY"])
        handle = await client.get_handle("bytedance/seedance-2.0", ref.request_id)
        status = "timeout"
        try:
            while time.time() < self.end_time:
                if isinstance(await handle.status(), fal_client.Completed):
                    status = "success"
                    break
                await asyncio.sleep(self.poll_interval)
        finally:
            await (await client._client).aclose()

        class _Event:
            payload = {"status": status}

        yield _Event()


def _make_trigger(
    variant: str,
    job: dict[str, str],
    end_time: float,
    poll_interval: float,
    *,
    submitted_at: float | None = None,
    minimal_seconds: float | None = None,
) -> Any:
    if variant in (OURS, OURS_TYPICAL):
        from airflow_provider_seedance.triggers.seedance import SeedanceJobTrigger

        # The production trigger, built from the kwargs the operator defers with (round-tripped
        # through serialize(), as the triggerer rebuilds it); its connection comes from the
        # environment (AIRFLOW_CONN_SEEDANCE_DEFAULT), as Airflow resolves it.
        # ``ours`` gets what the operator passes (its submit time); ``ours+typical`` also the
        # minimal duration of the job's kind.
        trigger = SeedanceJobTrigger(
            job=job,
            end_time=end_time,
            poll_interval=poll_interval,
            submitted_at=submitted_at,
            expected_seconds=minimal_seconds if variant == OURS_TYPICAL else None,
        )
        _, kwargs = trigger.serialize()
        return SeedanceJobTrigger(**kwargs)
    if variant == "fal-client":
        return _FalClientTrigger(job=job, end_time=end_time, poll_interval=poll_interval)
    from benchmarks.baseline_triggers import BASELINES

    return BASELINES[variant](job=job, end_time=end_time, poll_interval=poll_interval)


# -- worker (runs in its own process) ----------------------------------------------------------


async def _consume(trigger: Any, finish: float) -> tuple[float, str]:
    """Run a trigger to its first event, as the triggerer does; return (lag s, status)."""
    gen = trigger.run()
    try:
        async for event in gen:
            return time.time() - finish, str(event.payload.get("status"))
    finally:
        await gen.aclose()
    return time.time() - finish, "no-event"


def _pct(values: list[float], q: float) -> float | None:
    return round(values[int(q * (len(values) - 1))], 2) if values else None


async def _run_all(triggers: list[tuple[Any, float]], budget: float) -> dict[str, Any]:
    ticks: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while not done.is_set():
            before = loop.time()
            await asyncio.sleep(0.1)
            ticks.append(max(0.0, loop.time() - before - 0.1))

    tick = asyncio.create_task(ticker())
    tasks = [asyncio.create_task(_consume(t, finish)) for t, finish in triggers]
    finished, pending = await asyncio.wait(tasks, timeout=budget)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=30)
    done.set()
    await tick
    from airflow_provider_seedance.client.pool import pool_for_running_loop

    await pool_for_running_loop().aclose()
    results = [t.result() for t in finished if not t.cancelled() and t.exception() is None]
    statuses: dict[str, int] = {}
    for _, status in results:
        statuses[status] = statuses.get(status, 0) + 1
    errors = [repr(t.exception()) for t in finished if not t.cancelled() and t.exception() is not None]
    lags = sorted(lag for lag, _ in results)
    ticks.sort()
    return {
        "events": len(results),
        "unfinished": len(pending),
        "statuses": statuses,
        "task_errors": errors[:3],
        "lag_p50_s": _pct(lags, 0.5),
        "lag_p99_s": _pct(lags, 0.99),
        "lag_max_s": round(lags[-1], 2) if lags else None,
        "loop_lag_p99_ms": round(1000 * ticks[int(0.99 * (len(ticks) - 1))], 1) if ticks else None,
        "loop_lag_mean_ms": round(1000 * statistics.fmean(ticks), 1) if ticks else None,
    }


def worker(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="benchmarks.bench_triggers worker")
    parser.add_argument("--variant", required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--jobs", type=int, required=True)
    parser.add_argument("--poll", type=float, default=POLL)
    parser.add_argument("--queue", type=float, nargs=2, default=QUEUE_RANGE)
    parser.add_argument("--finish", type=float, nargs=2, default=FINISH_RANGE)
    parser.add_argument("--budget", type=float, default=300.0)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the run here")
    args = parser.parse_args(argv)

    import logging

    import fal_client.client

    from benchmarks.fast_fal import job_id

    fal_client.client.QUEUE_URL_FORMAT = args.server.rstrip("/") + "/"  # the fake, for fal-client
    logging.disable(logging.INFO)  # the same for every variant: per-poll INFO lines are not measured
    _make_trigger(args.variant, {"platform": "fal", "request_id": "warm-up"}, 0.0, 1.0)  # imports
    rng = random.Random(13)
    t0 = time.time() + 2.0 + args.jobs / 4000  # the jobs' clock: after the triggers are built
    end_time = t0 + args.finish[1] + args.budget
    triggers = []
    for i in range(args.jobs):
        queue_end = t0 + rng.uniform(*args.queue)
        finish = t0 + rng.uniform(max(args.finish[0], queue_end - t0), args.finish[1])
        ref = {"platform": "fal", "request_id": job_id(i, queue_end, finish)}
        trigger = _make_trigger(
            args.variant, ref, end_time, args.poll, submitted_at=t0, minimal_seconds=args.finish[0]
        )
        triggers.append((trigger, finish))
    stats_url = args.server.rstrip("/") + "/_stats"
    server_cpu_before = httpx.post(stats_url).raise_for_status().json()["cpu_s"]
    time.sleep(max(0.0, t0 - time.time()))
    reset_peak_rss()
    cpu_before, started = cpu_seconds(), time.monotonic()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    report = asyncio.run(_run_all(triggers, args.budget))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(args.profile))
    wall = time.monotonic() - started
    cpu = cpu_seconds() - cpu_before
    stats = httpx.get(stats_url).json()
    polls = stats["status_requests"]
    report.update(
        load_average_1min=round(os.getloadavg()[0], 2),  # other work on the machine (shared cores)
        wall_seconds=round(wall, 1),
        cpu_seconds=round(cpu, 2),
        cores=round(cpu / wall, 3),
        cpu_per_1000_polls=round(1000 * cpu / polls, 3) if polls else None,
        polls=polls,
        polls_per_job=round(polls / args.jobs, 2),
        connections=stats["connections"],
        sockets_max=stats["open_max"],
        peak_rss_mb=round(peak_rss_kb() / 1024, 1),
        # the fake server runs in its own process: its share of a core over the same wall time
        server_cores=round((stats["cpu_s"] - server_cpu_before) / wall, 3),
    )
    print(json.dumps(report))


# -- orchestrator ------------------------------------------------------------------------------


class FastFal:
    """Run :mod:`benchmarks.fast_fal` in its own process group on a free port.

    ``tls=True`` serves HTTPS with a throwaway ``trustme`` CA at :attr:`ca_path` (the platforms
    are all HTTPS, and a handshake per poll is most of what a client without keep-alive pays).
    """

    def __init__(self, *, tls: bool = True) -> None:
        self.tls = tls
        self.ca_path: str | None = None

    def __enter__(self) -> FastFal:
        import subprocess

        self._tmp = tempfile.mkdtemp(prefix="fast-fal-")
        port_file = Path(self._tmp, "port")
        args = [sys.executable, "-m", "benchmarks.fast_fal", "--port-file", str(port_file)]
        if self.tls:
            import trustme

            ca = trustme.CA()
            cert = ca.issue_cert("127.0.0.1", "localhost")
            self.ca_path = str(Path(self._tmp, "ca.pem"))
            ca.cert_pem.write_to_path(self.ca_path)
            cert.private_key_and_cert_chain_pem.write_to_path(str(Path(self._tmp, "server.pem")))
            args += ["--certfile", str(Path(self._tmp, "server.pem"))]
        self.process = subprocess.Popen(args, env=child_env(), start_new_session=True)
        deadline = time.monotonic() + 20
        while not port_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("benchmarks.fast_fal did not start")
            time.sleep(0.05)
        scheme = "https" if self.tls else "http"
        self.base_url = f"{scheme}://127.0.0.1:{port_file.read_text().strip()}"
        return self

    def __exit__(self, *exc: object) -> None:
        import shutil
        import signal

        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(10)
        shutil.rmtree(self._tmp, ignore_errors=True)


def run_case(
    server: FastFal,
    variant: str,
    n: int,
    *,
    poll: float,
    queue: tuple[float, float],
    finish: tuple[float, float],
    budget: float,
    profile: Path | None = None,
) -> dict[str, Any]:
    key = "bench-key"
    conn = json.dumps(
        {"conn_type": "seedance", "password": key, "host": server.base_url, "extra": {"platform": "fal"}}
    )
    args = ["-m", "benchmarks.bench_triggers", "worker", "--variant", variant, "--server", server.base_url]
    args += ["--jobs", str(n), "--poll", str(poll), "--budget", str(budget)]
    args += ["--queue", *map(str, queue), "--finish", *map(str, finish)]
    if profile is not None:
        args += ["--profile", str(profile)]
    extra = {"SSL_CERT_FILE": server.ca_path} if server.ca_path else {}
    env = child_env(AIRFLOW_CONN_SEEDANCE_DEFAULT=conn, BENCH_API_KEY=key, **extra)
    report = run_json(args, env=env, timeout=budget + finish[1] + 180)
    report.update(jobs=n, variant=variant)
    return report


_METRICS: list[tuple[str, str, str]] = [
    # key, metric label, unit (all: lower is better)
    ("cpu_per_1000_polls", "CPU-s per 1,000 polls", "s"),
    ("cores", "cores used (CPU / wall)", ""),
    ("peak_rss_mb", "peak RSS", "MB"),
    ("lag_p99_s", "finish -> event lag p99", "s"),
    ("lag_max_s", "finish -> event lag max", "s"),
    ("sockets_max", "sockets open at once (server side)", ""),
    ("connections", "connections opened", ""),
    ("polls_per_job", "status calls per job", ""),
]


def run(
    *,
    quick: bool,
    sizes: list[int] | None = None,
    baselines_at: int | None = None,
    variants: list[str] | None = None,
    poll: float = POLL,
    queue: tuple[float, float] = QUEUE_RANGE,
    finish: tuple[float, float] = FINISH_RANGE,
    budget: float = 200.0,
    tls: bool = True,
) -> BenchResult:
    """Run the cases: ``ours`` and ``today`` at every size, the other baselines at ``baselines_at``."""
    if sizes is None:
        sizes = [1000] if quick else [1000, 5000, 10000]
    baselines_at = baselines_at if baselines_at is not None else sizes[0]
    cases: list[tuple[str, int]] = []
    for n in sizes:
        wanted = [OURS, TODAY] + (["client-per-poll", "fal-client"] if n == baselines_at else [])
        if not quick and n in (sizes[0], sizes[-1]):
            wanted.insert(1, OURS_TYPICAL)
        cases += [(v, n) for v in wanted if variants is None or v in variants]
    result = BenchResult(
        name="triggers",
        description="N deferred jobs in one event loop (poll 10 s, jobs end 20-80 s in), vs baselines",
        params={
            "sizes": sizes,
            "poll_interval_s": poll,
            "queue_s": list(queue),
            "finish_s": list(finish),
            "cases": [f"{v}@{n}" for v, n in cases],
            "server": "benchmarks.fast_fal (raw asyncio fake of fal's queue status API)",
            "tls": tls,
        },
    )
    started = time.monotonic()
    reports: dict[str, dict[str, Any]] = {}
    with FastFal(tls=tls) as server:
        for variant, n in cases:
            print(f"   triggers: {variant} x {n} ...", file=sys.stderr, flush=True)
            report = run_case(server, variant, n, poll=poll, queue=queue, finish=finish, budget=budget)
            print(f"   -> {json.dumps(report)}", file=sys.stderr, flush=True)
            reports[f"{variant}@{n}"] = report
    result.raw = reports
    for n in sizes:
        for variant, case in [(OURS, f"{n} triggers"), (OURS_TYPICAL, f"{n} triggers, ours+typical")]:
            ours = reports.get(f"{variant}@{n}")
            if ours is None:
                continue
            baselines = [TODAY, "client-per-poll", "fal-client"] if variant == OURS else [TODAY]
            for baseline in baselines:
                other = reports.get(f"{baseline}@{n}")
                if other is None:
                    continue
                for key, label, unit in _METRICS:
                    result.rows.append(
                        Row(case, label, unit, ours.get(key), other.get(key), "lower", baseline)
                    )
    for key, report in reports.items():
        if report["unfinished"] or report.get("task_errors"):
            result.notes.append(
                f"{key}: {report['unfinished']} triggers had no event within the budget "
                f"(errors: {report.get('task_errors')})"
            )
        bad = {s: c for s, c in report["statuses"].items() if s != "success"}
        if bad:
            result.notes.append(f"{key}: non-success events {bad}")
    result.seconds = time.monotonic() - started
    return result


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2:])
    else:
        sys.exit("usage: python -m benchmarks.bench_triggers worker ... (or python -m benchmarks triggers)")
