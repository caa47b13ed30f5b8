"""``submit``: N submissions from C concurrent submitters against an account rate limit.

The emulator (a real server on 127.0.0.1) limits the account to ``RATE`` submits per second with
a token bucket of ``RATE`` (429 + ``Retry-After``, :mod:`airflow_provider_seedance.emulator.limits`).
C asyncio submitters share one pooled ``httpx.AsyncClient`` and each submits its share of N
distinct requests (the prompt names the submission) with :class:`AsyncSeedanceClient`.

* ours: :class:`RetryPolicy` as shipped (a 429 on submit retried until its deadline, every
  ``Retry-After`` waited with jitter above it);
* baseline: the policy before issue 13 (``Retry-After`` waited exactly, 5 attempts at most).

Lost = submissions that raised; duplicates = prompts the emulator holds more than one job for;
floor = (N - burst) / rate, the least wall time the limit allows.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any

import httpx

from benchmarks.common import BenchResult, Row

RATE = 20.0


class LegacyRetryPolicy:
    """Stand-in for the policy before issue 13: exact ``Retry-After``, at most 5 attempts, also on submit."""

    @staticmethod
    def make() -> Any:
        from dataclasses import dataclass

        from airflow_provider_seedance.client.platforms.http import Operation
        from airflow_provider_seedance.client.retry import RetryPolicy

        @dataclass(frozen=True)
        class _Legacy(RetryPolicy):
            def gives_up(
                self, exc: BaseException | None, failures: int, elapsed: float, op: Operation | None = None
            ) -> bool:
                return failures >= self.max_attempts or elapsed >= self.max_elapsed

        return _Legacy(retry_after_jitter=0.0)


async def _submit_all(base_url: str, api_key: str, n: int, concurrency: int, policy: Any) -> dict[str, Any]:
    from airflow_provider_seedance.client.models import ReferenceToVideoRequest
    from airflow_provider_seedance.client.pool import ClientPool
    from airflow_provider_seedance.client.transport import AsyncSeedanceClient

    pool = ClientPool(grace=0)
    work: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        work.put_nowait(i)
    ok: list[str] = []
    lost: collections.Counter[str] = collections.Counter()

    async def submitter() -> None:
        async with pool.lease(platform="fal", base_url=base_url, api_key=api_key, timeout=60) as http:
            client = AsyncSeedanceClient(
                api_key=api_key, platform="fal", base_url=base_url, retry=policy, http_client=http
            )
            while True:
                try:
                    i = work.get_nowait()
                except asyncio.QueueEmpty:
                    return
                try:
                    ref = await client.submit(ReferenceToVideoRequest(prompt=f"submission {i}", duration=5))
                    ok.append(ref.request_id)
                except Exception as exc:
                    lost[type(exc).__name__] += 1

    started = time.monotonic()
    await asyncio.gather(*(submitter() for _ in range(concurrency)))
    wall = time.monotonic() - started
    await pool.aclose()
    return {"accepted": len(ok), "lost": sum(lost.values()), "lost_by": dict(lost), "wall_seconds": wall}


def run_case(server: Any, n: int, concurrency: int, variant: str) -> dict[str, Any]:
    from airflow_provider_seedance.client.retry import RetryPolicy

    handle = server.handle
    handle.reset()
    httpx.post(
        f"{server.base_url}/_emulator/config",
        json={"rate_limit_rps": RATE, "rate_limit_burst": int(RATE), "rate_limit_scope": "submit"},
    ).raise_for_status()
    policy = RetryPolicy() if variant == "ours" else LegacyRetryPolicy.make()
    logging.disable(logging.WARNING)  # one warning per 429 is not what is measured
    try:
        report = asyncio.run(_submit_all(server.base_url, server.api_key, n, concurrency, policy))
    finally:
        logging.disable(logging.NOTSET)
    jobs = handle.jobs()
    prompts = collections.Counter(job["prompt"] for job in jobs)
    report["jobs_created"] = len(jobs)
    report["duplicates"] = sum(c - 1 for c in prompts.values() if c > 1)
    report["refused_429"] = sum(1 for r in handle.requests("fal.submit") if r.get("status_code") == 429)
    report["floor_seconds"] = (n - RATE) / RATE
    report["wall_over_floor"] = round(report["wall_seconds"] / report["floor_seconds"], 3)
    report["wall_seconds"] = round(report["wall_seconds"], 2)
    return report


def run(*, quick: bool, n: int | None = None, concurrencies: list[int] | None = None) -> BenchResult:
    from airflow_provider_seedance.emulator.testing import EmulatorServer

    n = n or (150 if quick else 500)
    concurrencies = concurrencies or [8, 32, 64]
    result = BenchResult(
        name="submit",
        description=f"{n} submits against a {RATE:g}/s account limit (429 + Retry-After)",
        params={"submissions": n, "rate_per_s": RATE, "burst": int(RATE), "concurrency": concurrencies},
    )
    started = time.monotonic()
    with EmulatorServer() as server:
        for c in concurrencies:
            reports = {}
            for variant in ("ours", "legacy"):
                reports[variant] = report = run_case(server, n, c, variant)
                result.raw[f"{variant}@{c}"] = report
            ours, base = reports["ours"], reports["legacy"]
            case = f"{c} submitters"
            result.rows += [
                Row(
                    case,
                    "submits lost",
                    "",
                    ours["lost"],
                    base["lost"],
                    "lower",
                    "exact Retry-After, 5 attempts",
                ),
                Row(
                    case,
                    "duplicate jobs",
                    "",
                    ours["duplicates"],
                    base["duplicates"],
                    "lower",
                    "exact Retry-After, 5 attempts",
                ),
                Row(
                    case,
                    "wall time / floor",
                    "x",
                    ours["wall_over_floor"],
                    base["wall_over_floor"],
                    "lower",
                    "exact Retry-After, 5 attempts",
                ),
                Row(
                    case,
                    "429 answers",
                    "",
                    ours["refused_429"],
                    base["refused_429"],
                    "lower",
                    "exact Retry-After, 5 attempts",
                ),
            ]
    result.notes.append(
        f"floor = (submissions - burst) / rate = {(n - RATE) / RATE:.0f} s; target: 0 lost, 0 duplicates, "
        "wall time <= 1.2 x floor"
    )
    result.seconds = time.monotonic() - started
    return result
