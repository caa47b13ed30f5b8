"""Thousands of concurrently polled jobs: job state is computed lazily, no per-job tasks."""

from __future__ import annotations

import asyncio
import time

import httpx

from airflow_provider_seedance.emulator.testing import EmulatorHandle
from tests.emulator.conftest import FAL_FAST, FAL_STANDARD

JOBS = 1000
CONCURRENCY = 16


async def test_thousands_of_jobs_polled_concurrently(seedance_emulator: EmulatorHandle) -> None:
    emu = seedance_emulator
    emu.configure(queue_seconds=0.5, run_seconds=0.5)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    gate = asyncio.Semaphore(CONCURRENCY)
    headers = {"Authorization": f"Key {emu.api_key}"}
    start = time.monotonic()
    async with httpx.AsyncClient(base_url=emu.base_url, headers=headers, limits=limits, timeout=30) as client:

        async def submit(i: int) -> str:
            path = FAL_FAST if i % 2 else FAL_STANDARD
            async with gate:
                response = await client.post(path, json={"prompt": f"job {i}", "seed": i})
            response.raise_for_status()
            return str(response.json()["status_url"])

        async def poll(url: str) -> str:
            async with gate:
                return str((await client.get(url)).json()["status"])

        status_urls = await asyncio.gather(*(submit(i) for i in range(JOBS)))
        pending = list(status_urls)
        while pending:
            statuses = await asyncio.gather(*(poll(url) for url in pending))
            pending = [url for url, status in zip(pending, statuses, strict=False) if status != "COMPLETED"]
            if pending:
                await asyncio.sleep(0.2)
    elapsed = time.monotonic() - start
    jobs = emu.jobs()
    assert len(jobs) == JOBS
    assert all(job["state"] == "succeeded" for job in jobs)
    assert elapsed < 45
