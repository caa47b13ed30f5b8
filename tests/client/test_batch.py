"""StatusBatcher: many Ark status polls answered by one task-list call, against the emulator."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_seedance.client.batch import StatusBatcher, batcher_for
from airflow_provider_seedance.client.errors import SeedanceError
from airflow_provider_seedance.client.models import JobRef, ReferenceToVideoRequest
from airflow_provider_seedance.client.transport import AsyncSeedanceClient, SeedanceClient
from airflow_provider_seedance.emulator.testing import EmulatorHandle

REQUEST = ReferenceToVideoRequest(prompt="A dog, like @Image1", image_urls=["https://example.com/a.png"])


def _kwargs(emu: EmulatorHandle, platform: str = "byteplus") -> dict[str, str]:
    return {"api_key": emu.api_key, "platform": platform, "base_url": emu.base_url}


@pytest.fixture
def tasks(seedance_emulator: EmulatorHandle) -> list[JobRef]:
    seedance_emulator.configure(manual_clock=True, queue_seconds=5, run_seconds=10)
    with SeedanceClient(**_kwargs(seedance_emulator)) as client:
        return [client.submit(REQUEST) for _ in range(30)]


async def test_thirty_polls_make_one_list_call_with_the_single_calls_answers(
    seedance_emulator: EmulatorHandle, tasks: list[JobRef]
) -> None:
    seedance_emulator.advance(7)  # running
    async with AsyncSeedanceClient(**_kwargs(seedance_emulator)) as client:
        single = [await client.status(ref) for ref in tasks]
        before = len(seedance_emulator.requests())
        batcher = StatusBatcher(max_batch=100, window=0.05)
        batched = await asyncio.gather(*(batcher.status(ref, client) for ref in tasks))
    assert batched == single
    made = seedance_emulator.requests()[before:]
    assert [r["route"] for r in made] == ["ark.list"]
    assert batcher.list_calls == 1
    assert batcher.fallbacks == 0


async def test_max_batch_splits_and_a_missing_task_falls_back_to_its_own_call(
    seedance_emulator: EmulatorHandle, tasks: list[JobRef]
) -> None:
    missing = JobRef(platform="byteplus", request_id="cgt-20990101000000-nope")
    async with AsyncSeedanceClient(**_kwargs(seedance_emulator)) as client:
        batcher = StatusBatcher(max_batch=10, window=0.01)
        before = len(seedance_emulator.requests())
        results = await asyncio.gather(
            *(batcher.status(ref, client) for ref in [*tasks[:15], missing]), return_exceptions=True
        )
    routes = [r["route"] for r in seedance_emulator.requests()[before:]]
    assert routes.count("ark.list") == 2
    assert routes.count("ark.status") == 1  # the fallback for the task the list did not hold
    assert all(not isinstance(r, BaseException) for r in results[:15])
    assert isinstance(results[15], SeedanceError)  # exactly what the single call says


async def test_a_failed_list_call_fails_each_poll(
    seedance_emulator: EmulatorHandle, tasks: list[JobRef]
) -> None:
    seedance_emulator.add_fault("ark.list", "status", status=401, times=1)
    async with AsyncSeedanceClient(**_kwargs(seedance_emulator)) as client:
        batcher = StatusBatcher(window=0.01)
        results = await asyncio.gather(
            *(batcher.status(ref, client) for ref in tasks[:5]), return_exceptions=True
        )
    assert all(isinstance(r, SeedanceError) for r in results)


async def test_only_ark_connections_get_a_batcher(seedance_emulator: EmulatorHandle) -> None:
    async with AsyncSeedanceClient(**_kwargs(seedance_emulator, "byteplus")) as ark:
        assert batcher_for(ark) is batcher_for(ark)
    async with AsyncSeedanceClient(**_kwargs(seedance_emulator, "fal")) as fal:
        assert batcher_for(fal) is None
