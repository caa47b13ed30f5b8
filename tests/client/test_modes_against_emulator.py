"""The client-level scenario suite for every mode on every platform that sells it, over real HTTP
against the local emulator, on the sync and the async transport: the happy path (with the
download), a failed job, cancel, 429 while polling, the deadline, and a reconnect after a worker
crash that never submits twice."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_seedance.client.errors import SeedanceJobFailed, SeedanceRequestRejected
from airflow_provider_seedance.client.events import EventStatus
from airflow_provider_seedance.client.models import (
    CancelOutcome,
    ImageToVideoRequest,
    JobRef,
    JobState,
    Mode,
    ReferenceToVideoRequest,
    SeedanceRequest,
    TextToVideoRequest,
)
from airflow_provider_seedance.client.platforms import DIALECTS, dialect_class
from airflow_provider_seedance.client.polling import Poller, wait_sync
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from tests.client.helpers import ClientFacade, client_for, policy, wait_terminal
from tests.support.retry import NO_WAIT

EmulatorHandle = Any  # airflow_provider_seedance.emulator.testing.EmulatorHandle

ROUTES = {"fal": "fal", "oxen": "oxen", "aihubmax": "aihubmax", "byteplus": "ark", "volcengine": "ark"}
IMG = "https://cdn.example.com/brand/product.png"
END = "https://cdn.example.com/brand/product-end.jpg"


def make_request(mode: Mode, tier: str = "standard", **extra: Any) -> SeedanceRequest:
    common: dict[str, Any] = {"tier": tier, "seed": 42, "duration": 5, "aspect_ratio": "16:9", **extra}
    if mode is Mode.TEXT_TO_VIDEO:
        return TextToVideoRequest(prompt="A lighthouse at dawn, waves below", **common)
    if mode is Mode.IMAGE_TO_VIDEO:
        return ImageToVideoRequest(
            prompt="The product turns slowly", image_url=IMG, end_image_url=END, **common
        )
    return ReferenceToVideoRequest(prompt="@Image1 on a beach", image_urls=[IMG], **common)


#: every (platform, mode) the platforms sell: the scenario suite runs on each
SOLD = [(p, m) for p in DIALECTS for m in Mode if dialect_class(p).sells(m)]
CANCELLABLE = [(p, m) for p, m in SOLD if p != "aihubmax"]


def test_the_suite_covers_every_sold_mode() -> None:
    assert len(SOLD) == 14  # 5 platforms x 3 modes, less AIHubMax's undocumented text-to-video
    assert ("aihubmax", Mode.TEXT_TO_VIDEO) not in SOLD


@pytest.mark.parametrize("tier", ["standard", "fast"])
@pytest.mark.parametrize(("platform", "mode"), SOLD)
def test_happy_path_submit_poll_result_and_download(
    emulator: EmulatorHandle, make_client: Callable[..., ClientFacade], platform: str, mode: Mode, tier: str
) -> None:
    client = client_for(make_client, emulator, platform)
    job = client.submit(make_request(mode, tier))
    assert (job.platform, job.tier) == (platform, tier)
    assert wait_terminal(client, job).state is JobState.SUCCEEDED
    result = client.result(job)
    with SeedanceHook(retry_policy=NO_WAIT).get_http_client() as http:
        assert http.get(result.video.url).content == emulator.video_bytes(job.request_id)
    summary = emulator.job(job.request_id)
    assert (summary["mode"], summary["tier"], summary["platform"]) == (mode.value, tier, platform)
    assert len(emulator.requests(f"{ROUTES[platform]}.submit")) == 1
    if platform != "aihubmax":  # AIHubMax does not report the seed
        assert result.seed == 42


@pytest.mark.parametrize(("platform", "mode"), SOLD)
def test_a_failed_job_reports_the_platform_message(
    emulator: EmulatorHandle, make_client: Callable[..., ClientFacade], platform: str, mode: Mode
) -> None:
    message = "Getting model response error: 422 - Value error, the first frame is unreadable"
    # fal keeps the model's HTTP status on the result of a failed request (api-dialects §7.2)
    http = {"status": 422} if platform == "fal" else {}
    emulator.add_fault(f"{ROUTES[platform]}.submit", "fail_job", error="model_error", body=message, **http)
    client = client_for(make_client, emulator, platform)
    job = client.submit(make_request(mode))
    status = wait_terminal(client, job)
    assert (status.state, status.error) == (JobState.FAILED, message)
    # task platforms: the same GET says failed; fal: the result URL answers the model's error
    expected = SeedanceRequestRejected if platform == "fal" else SeedanceJobFailed
    with pytest.raises(expected, match="unreadable"):
        client.result(job)


@pytest.mark.parametrize(("platform", "mode"), CANCELLABLE)
def test_cancel_of_a_queued_job(
    held: EmulatorHandle, make_client: Callable[..., ClientFacade], platform: str, mode: Mode
) -> None:
    client = client_for(make_client, held, platform)
    job = client.submit(make_request(mode, "fast"))
    assert client.status(job).state is JobState.QUEUED
    assert client.cancel(job) is CancelOutcome.REQUESTED
    assert client.status(job).state is JobState.CANCELLED


def test_aihubmax_image_to_video_cancel_is_not_supported_and_sends_nothing(
    held: EmulatorHandle, make_client: Callable[..., ClientFacade]
) -> None:
    client = client_for(make_client, held, "aihubmax")
    job = client.submit(make_request(Mode.IMAGE_TO_VIDEO))
    before = len(held.requests())
    assert client.cancel(job) is CancelOutcome.NOT_SUPPORTED
    assert len(held.requests()) == before


@pytest.mark.parametrize(("platform", "mode"), SOLD)
def test_429_while_polling_is_retried_after_retry_after(
    emulator: EmulatorHandle,
    make_client: Callable[..., ClientFacade],
    sleeps: list[float],
    platform: str,
    mode: Mode,
) -> None:
    client = client_for(make_client, emulator, platform, retry=policy())
    job = client.submit(make_request(mode))
    route = f"{ROUTES[platform]}.status"
    emulator.add_fault(route, "status", status=429, retry_after=2, times=2)
    client.status(job)
    assert all(2.0 <= s <= 3.0 for s in sleeps[:2]), sleeps  # Retry-After x U(1, 1.5)
    assert [r["status_code"] for r in emulator.requests(route)] == [429, 429, 200]


@pytest.mark.parametrize(("platform", "mode"), SOLD)
def test_the_deadline_ends_the_wait_and_the_job_is_cancelled_where_possible(
    held: EmulatorHandle, make_client: Callable[..., ClientFacade], platform: str, mode: Mode
) -> None:
    client = client_for(make_client, held, platform)
    job = client.submit(make_request(mode))
    poller = Poller(ref=job, end_time=time.time() + 0.3, poll_interval=0.05)
    event = wait_sync(poller, client.status)
    assert event.status is EventStatus.TIMEOUT
    assert event.request_id == job.request_id
    expected = CancelOutcome.NOT_SUPPORTED if platform == "aihubmax" else CancelOutcome.REQUESTED
    assert client.cancel(job) is expected


@pytest.mark.parametrize(("platform", "mode"), SOLD)
def test_after_a_worker_crash_the_stored_ref_reconnects_without_a_second_submit(
    seedance_emulator: EmulatorHandle, make_client: Callable[..., ClientFacade], platform: str, mode: Mode
) -> None:
    seedance_emulator.configure(queue_seconds=0.1, run_seconds=0.1)
    stored = client_for(make_client, seedance_emulator, platform).submit(make_request(mode)).to_dict()
    # a new worker: a new client, the ref read back from the task state store
    client = client_for(make_client, seedance_emulator, platform)
    job = JobRef.from_dict(stored)
    deadline = time.time() + 10
    while not (status := client.status(job)).is_terminal and time.time() < deadline:
        time.sleep(0.05)
    assert status.state is JobState.SUCCEEDED
    assert client.result(job).request_id == job.request_id
    assert len(seedance_emulator.requests(f"{ROUTES[platform]}.submit")) == 1
    assert len(seedance_emulator.jobs()) == 1
