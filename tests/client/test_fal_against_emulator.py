"""The fal.ai dialect over real HTTP against the local emulator, on the sync and the async client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_seedance.client.errors import SeedanceAmbiguousSubmitError, SeedanceAuthError
from airflow_provider_seedance.client.models import CancelOutcome, JobState
from airflow_provider_seedance.client.platforms.base import same_origin
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from tests.client.helpers import ClientFacade, policy, simple_request, wait_terminal
from tests.support.retry import NO_WAIT

EmulatorHandle = Any  # airflow_provider_seedance.emulator.testing.EmulatorHandle


@pytest.fixture
def emulator(seedance_emulator: EmulatorHandle) -> EmulatorHandle:
    """The emulator with jobs that finish at once (real clock)."""
    seedance_emulator.configure(queue_seconds=0, run_seconds=0)
    return seedance_emulator


@pytest.fixture
def emu_client(
    make_client: Callable[..., ClientFacade], emulator: EmulatorHandle
) -> Callable[..., ClientFacade]:
    def make(**kwargs: Any) -> ClientFacade:
        return make_client(**{"api_key": emulator.api_key, "base_url": emulator.base_url, **kwargs})

    return make


@pytest.mark.parametrize("tier", ["standard", "fast"])
def test_submit_poll_and_result_for_each_tier(
    emulator: EmulatorHandle, emu_client: Callable[..., ClientFacade], tier: str
) -> None:
    client = emu_client()
    job = client.submit(simple_request(tier=tier, seed=42, duration=5))
    assert job.tier == tier
    assert job.status_url is not None
    assert same_origin(job.status_url, emulator.base_url)
    assert wait_terminal(client, job).state is JobState.SUCCEEDED
    result = client.result(job)
    assert result.video.url
    assert result.seed == 42
    submits = emulator.requests("fal.submit")
    assert len(submits) == 1
    assert submits[0]["path"].endswith(
        "/seedance-2.0/fast/reference-to-video" if tier == "fast" else "/seedance-2.0/reference-to-video"
    )
    assert submits[0]["auth_scheme"] == "Key"
    assert submits[0]["json"]["prompt"] == simple_request().prompt
    assert emulator.job(job.request_id)["tier"] == tier


def test_the_result_video_can_be_downloaded(
    emulator: EmulatorHandle, emu_client: Callable[..., ClientFacade]
) -> None:
    client = emu_client()
    job = client.submit(simple_request())
    wait_terminal(client, job)
    result = client.result(job)
    with SeedanceHook(retry_policy=NO_WAIT).get_http_client() as http:
        body = http.get(result.video.url).content
    assert body == emulator.video_bytes(job.request_id)


def test_cancel_of_a_queued_job(
    seedance_emulator: EmulatorHandle, make_client: Callable[..., ClientFacade]
) -> None:
    seedance_emulator.configure(manual_clock=True, queue_seconds=60, run_seconds=60)
    client = make_client(api_key=seedance_emulator.api_key, base_url=seedance_emulator.base_url)
    job = client.submit(simple_request())
    assert client.status(job).state is JobState.QUEUED
    assert client.cancel(job) is CancelOutcome.REQUESTED
    assert client.status(job).state is JobState.CANCELLED
    assert len(seedance_emulator.requests("fal.cancel")) == 1


def test_cancel_of_a_finished_job_is_already_finished(
    emulator: EmulatorHandle, emu_client: Callable[..., ClientFacade]
) -> None:
    client = emu_client()
    job = client.submit(simple_request())
    wait_terminal(client, job)
    assert client.cancel(job) is CancelOutcome.ALREADY_FINISHED


def test_429_during_polling_is_retried_after_retry_after(
    emulator: EmulatorHandle, emu_client: Callable[..., ClientFacade], sleeps: list[float]
) -> None:
    client = emu_client(retry=policy())
    job = client.submit(simple_request())
    emulator.add_fault("fal.status", "status", status=429, retry_after=3, times=2)
    assert wait_terminal(client, job).state is JobState.SUCCEEDED
    assert all(3.0 <= s <= 4.5 for s in sleeps[:2]), sleeps  # Retry-After x U(1, 1.5)
    assert [r["status_code"] for r in emulator.requests("fal.status")][:3] == [429, 429, 200]


def test_503_during_polling_is_retried(
    emulator: EmulatorHandle, emu_client: Callable[..., ClientFacade]
) -> None:
    client = emu_client()
    job = client.submit(simple_request())
    emulator.add_fault("fal.status", "status", status=503, times=2)
    assert client.status(job).state is JobState.SUCCEEDED
    assert [r["status_code"] for r in emulator.requests("fal.status")] == [503, 503, 200]


def test_slow_submit_answer_is_ambiguous_and_sent_exactly_once(
    emulator: EmulatorHandle, emu_client: Callable[..., ClientFacade]
) -> None:
    emulator.add_fault("fal.submit", "delay", delay=1.5)
    with pytest.raises(SeedanceAmbiguousSubmitError, match="ReadTimeout"):
        emu_client(timeout=0.3).submit(simple_request())
    assert len(emulator.requests("fal.submit")) == 1
    assert len(emulator.jobs()) == 1  # the job exists: re-sending would have paid twice


def test_dropped_submit_connection_is_ambiguous_and_sent_exactly_once(
    emulator: EmulatorHandle, emu_client: Callable[..., ClientFacade]
) -> None:
    emulator.add_fault("fal.submit", "drop")
    with pytest.raises(SeedanceAmbiguousSubmitError):
        emu_client().submit(simple_request())
    assert len(emulator.requests("fal.submit")) == 1


def test_a_wrong_key_is_rejected_by_the_probe(
    emulator: EmulatorHandle, emu_client: Callable[..., ClientFacade]
) -> None:
    with pytest.raises(SeedanceAuthError) as info:
        emu_client(api_key="sk-not-the-right-key").probe()
    assert "sk-not-the-right-key" not in str(info.value)


def test_hook_test_connection_against_the_emulator(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DEFAULT", emulator.connection_json("fal"))
    ok, message = SeedanceHook(retry_policy=NO_WAIT).test_connection()
    assert ok, message
    assert [r["method"] for r in emulator.requests()] == ["GET"]
