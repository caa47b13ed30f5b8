"""``triggers``: many concurrent deferred jobs in one asyncio loop, as a triggerer runs them.

For each variant and size a fresh worker process (``python -m benchmarks.bench_triggers worker``)
builds N triggers for N jobs already submitted to the emulator, starts them all as tasks on one
event loop next to a 100 ms ticker, and waits for every first event. The emulator's clock is frozen
while the jobs are submitted and started by the worker when it is ready, so every job leaves the
queue and finishes at the same known moment and only the waiting is measured.

Variants: ``ours`` (:class:`SeedanceJobTrigger`, one pooled ``httpx.AsyncClient`` per run) and the
baselines of :mod:`benchmarks.baseline_triggers`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    BenchResult,
    Row,
    child_env,
    cpu_seconds,
    peak_rss_kb,
    process_cpu_seconds,
    reset_peak_rss,
    run_json,
    status_kb,
)

OURS = "ours"
PRIMARY_BASELINE = "client-per-poll"
#: Seconds each job spends queued and running once the emulator clock starts.
QUEUE_SECONDS = 2.0
RUN_SECONDS = 3.0


# -- worker (runs in its own process) ----------------------------------------------------------


def _make_trigger(variant: str, job: dict[str, str], end_time: float, poll_interval: float) -> Any:
    if variant == OURS:
        from airflow_provider_seedance.triggers.seedance import SeedanceJobTrigger

        return SeedanceJobTrigger(job=job, end_time=end_time, poll_interval=poll_interval)
    from benchmarks.baseline_triggers import BASELINES

    return BASELINES[variant](job=job, end_time=end_time, poll_interval=poll_interval)


async def _consume(trigger: Any, started: float) -> tuple[float, str]:
    """Run a trigger to its first event, as the triggerer does; return (seconds, status)."""
    gen = trigger.run()
    try:
        async for event in gen:
            return time.monotonic() - started, str(event.payload.get("status"))
    finally:
        await gen.aclose()
    return time.monotonic() - started, "no-event"


async def _run_all(triggers: list[Any], started: float, budget: float) -> dict[str, Any]:
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while not done.is_set():
            before = loop.time()
            await asyncio.sleep(0.1)
            lags.append(max(0.0, loop.time() - before - 0.1))

    tick = asyncio.create_task(ticker())
    tasks = [asyncio.create_task(_consume(t, started)) for t in triggers]
    finished, pending = await asyncio.wait(tasks, timeout=budget)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=30)
    done.set()
    await tick
    results = [t.result() for t in finished if not t.cancelled() and t.exception() is None]
    statuses: dict[str, int] = {}
    for _, status in results:
        statuses[status] = statuses.get(status, 0) + 1
    errors = [repr(t.exception()) for t in finished if not t.cancelled() and t.exception() is not None]
    times = sorted(seconds for seconds, _ in results)
    lags.sort()
    return {
        "events": len(results),
        "unfinished": len(pending),
        "statuses": statuses,
        "task_errors": errors[:3],
        "event_seconds_p50": times[len(times) // 2] if times else None,
        "event_seconds_max": times[-1] if times else None,
        "loop_lag_max_ms": round(1000 * lags[-1], 1) if lags else None,
        "loop_lag_p99_ms": round(1000 * lags[int(0.99 * (len(lags) - 1))], 1) if lags else None,
        "loop_lag_mean_ms": round(1000 * statistics.fmean(lags), 1) if lags else None,
        "ticks": len(lags),
    }


def worker(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="benchmarks.bench_triggers worker")
    parser.add_argument("--variant", required=True)
    parser.add_argument("--jobs", type=Path, required=True)
    parser.add_argument("--emulator", required=True, help="emulator base URL (to start its clock)")
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--budget", type=float, default=300.0)
    args = parser.parse_args(argv)

    import logging

    from airflow_provider_seedance.emulator.testing import EmulatorHandle

    # The same for every variant: per-poll INFO lines are not what is measured.
    logging.disable(logging.INFO)
    _make_trigger(args.variant, {"platform": "fal", "request_id": "warm-up"}, 0.0, 1.0)  # imports
    jobs: list[dict[str, str]] = json.loads(args.jobs.read_text())
    end_time = time.time() + args.budget + 60
    triggers = [_make_trigger(args.variant, job, end_time, args.poll_interval) for job in jobs]

    with EmulatorHandle(args.emulator) as emulator:
        rss_before = status_kb("VmRSS")
        reset_peak_rss()
        cpu_before = cpu_seconds()
        emulator.configure(manual_clock=False)  # the jobs' clock starts now
        started = time.monotonic()
        report = asyncio.run(_run_all(triggers, started, args.budget))
        report["wall_seconds"] = round(time.monotonic() - started, 2)
        report["cpu_seconds"] = round(cpu_seconds() - cpu_before, 2)
        report["peak_rss_mb"] = round(peak_rss_kb() / 1024, 1)
        report["rss_before_mb"] = round((rss_before or 0) / 1024, 1)
        report["threads"] = status_kb("Threads")
    print(json.dumps(report))


# -- orchestrator ------------------------------------------------------------------------------


def _submit_jobs(server: Any, n: int) -> list[dict[str, str]]:
    """Submit ``n`` jobs to the (frozen-clock) emulator with our sync client; return their refs."""
    from airflow_provider_seedance.client.models import ReferenceToVideoRequest
    from airflow_provider_seedance.client.transport import SeedanceClient

    request = ReferenceToVideoRequest(prompt="benchmark clip", duration=5)
    with SeedanceClient(api_key=server.api_key, platform="fal", base_url=server.base_url) as client:
        return [client.submit(request).to_dict() for _ in range(n)]


def run_case(
    server: Any,
    variant: str,
    n: int,
    *,
    poll_interval: float,
    budget: float,
    queue_seconds: float = QUEUE_SECONDS,
    run_seconds: float = RUN_SECONDS,
) -> dict[str, Any]:
    emulator = server.handle
    emulator.reset()
    emulator.configure(queue_seconds=queue_seconds, run_seconds=run_seconds, manual_clock=True)
    jobs = _submit_jobs(server, n)
    submitted = len(emulator.requests("fal.submit"))
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(jobs, handle)
    try:
        emu_cpu = process_cpu_seconds(server.process.pid)
        env = child_env(AIRFLOW_CONN_SEEDANCE_DEFAULT=emulator.connection_json("fal"))
        report = run_json(
            [
                "-m",
                "benchmarks.bench_triggers",
                "worker",
                "--variant",
                variant,
                "--jobs",
                handle.name,
                "--emulator",
                server.base_url,
                "--poll-interval",
                str(poll_interval),
                "--budget",
                str(budget),
            ],
            env=env,
            timeout=budget + 120,
        )
        emu_cpu_after = process_cpu_seconds(server.process.pid)
    finally:
        os.unlink(handle.name)
    requests = emulator.requests()
    report["emulator_requests"] = len(requests) - submitted
    report["status_requests"] = sum(1 for r in requests if r["route"] == "fal.status")
    report["emulator_cpu_seconds"] = (
        round(emu_cpu_after - emu_cpu, 2) if emu_cpu is not None and emu_cpu_after is not None else None
    )
    report["jobs"] = n
    report["variant"] = variant
    return report


_METRICS: list[tuple[str, str, str, str]] = [
    # key, metric label, unit, better
    ("wall_seconds", "wall time to all events", "s", "lower"),
    ("cpu_seconds", "CPU of the triggerer process", "s", "lower"),
    ("peak_rss_mb", "peak RSS", "MB", "lower"),
    ("loop_lag_max_ms", "event-loop lag max", "ms", "lower"),
    ("loop_lag_p99_ms", "event-loop lag p99", "ms", "lower"),
    ("emulator_requests", "requests to the emulator", "", "lower"),
    ("emulator_cpu_seconds", "CPU of the emulator", "s", "lower"),
]


def run(
    *,
    quick: bool,
    sizes: list[int] | None = None,
    budget: float | None = None,
    variants: list[str] | None = None,
    queue_seconds: float = QUEUE_SECONDS,
    run_seconds: float = RUN_SECONDS,
) -> BenchResult:
    """Run the cases; ``variants`` (default: all) limits them, e.g. for the smoke test."""
    from airflow_provider_seedance.emulator.testing import EmulatorServer

    poll_interval = 1.0
    if sizes is None:
        sizes = [500] if quick else [1000, 2000]
    budget = budget or (120.0 if quick else 240.0)
    # Every variant at the smallest size; the slow anti-patterns only there (keeps the run short).
    cases: list[tuple[str, int]] = []
    for i, n in enumerate(sizes):
        wanted = [OURS, PRIMARY_BASELINE] + (["to-thread", "blocking"] if i == 0 else [])
        cases += [(v, n) for v in wanted if variants is None or v in variants]
    result = BenchResult(
        name="triggers",
        description="N SeedanceJobTrigger runs in one asyncio loop vs baseline triggers (same poll logic)",
        params={
            "sizes": sizes,
            "poll_interval_s": poll_interval,
            "job_queue_s": queue_seconds,
            "job_run_s": run_seconds,
            "budget_s": budget,
            "cases": [f"{v}@{n}" for v, n in cases],
        },
    )
    started = time.monotonic()
    reports: dict[str, dict[str, Any]] = {}
    with EmulatorServer(queue_seconds=queue_seconds, run_seconds=run_seconds) as server:
        for variant, n in cases:
            print(f"   triggers: {variant} x {n} ...", file=sys.stderr, flush=True)
            report = run_case(
                server,
                variant,
                n,
                poll_interval=poll_interval,
                budget=budget,
                queue_seconds=queue_seconds,
                run_seconds=run_seconds,
            )
            print(f"   -> {json.dumps(report)}", file=sys.stderr, flush=True)
            reports[f"{variant}@{n}"] = report
    result.raw = reports
    for n in sizes:
        ours = reports.get(f"{OURS}@{n}")
        if ours is None:
            continue
        for baseline in [PRIMARY_BASELINE, "to-thread", "blocking"]:
            other = reports.get(f"{baseline}@{n}")
            if other is None:
                continue
            for key, label, unit, better in _METRICS:
                if baseline != PRIMARY_BASELINE and key in ("loop_lag_p99_ms", "emulator_cpu_seconds"):
                    continue
                result.rows.append(
                    Row(f"{n} triggers", label, unit, ours.get(key), other.get(key), better, baseline)
                )
    for key, report in reports.items():
        if report["unfinished"] or report.get("task_errors"):
            result.notes.append(
                f"{key}: {report['unfinished']} triggers had no event within the {budget:.0f} s budget "
                f"(errors: {report.get('task_errors')}); its wall time is the budget, a lower bound."
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
