"""Oxen.ai, AIHubMax and BytePlus/Volcengine Ark over real HTTP against the local emulator.

Every client test runs on the sync and the async transport; the last tests run the generation
operator unchanged against three platforms, only the connection's ``platform`` differing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_seedance.client.errors import (
    SeedanceAuthError,
    SeedanceJobFailed,
    SeedanceNotFoundError,
)
from airflow_provider_seedance.client.models import CancelOutcome, JobState
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.operators.seedance import SeedanceReferenceToVideoOperator
from tests.client.helpers import ClientFacade, client_for, policy, simple_request, wait_terminal
from tests.support.retry import NO_WAIT
from tests.support.tasks import FakeTaskStateStore, FakeTI

EmulatorHandle = Any  # airflow_provider_seedance.emulator.testing.EmulatorHandle

#: platform key -> the emulator's route prefix for that dialect
ROUTES = {"oxen": "oxen", "aihubmax": "aihubmax", "byteplus": "ark", "volcengine": "ark"}
MODELS = {
    ("oxen", "standard"): "bytedance-seedance-2-0-reference-to-video",
    ("oxen", "fast"): "bytedance-seedance-2-0-fast-reference-to-video",
    ("aihubmax", "standard"): "seedance-2.0-reference-to-video",
    ("aihubmax", "fast"): "seedance-2.0-fast-reference-to-video",
    ("byteplus", "standard"): "dreamina-seedance-2-0-260128",
    ("byteplus", "fast"): "dreamina-seedance-2-0-fast-260128",
    ("volcengine", "standard"): "doubao-seedance-2-0-260128",
    ("volcengine", "fast"): "doubao-seedance-2-0-fast-260128",
}
PLATFORMS = tuple(ROUTES)
CANCELLABLE = ("oxen", "byteplus", "volcengine")


# -- the happy path -----------------------------------------------------------------------------
@pytest.mark.parametrize("tier", ["standard", "fast"])
@pytest.mark.parametrize("platform", PLATFORMS)
def test_submit_poll_result_and_download(
    emulator: EmulatorHandle, make_client: Callable[..., ClientFacade], platform: str, tier: str
) -> None:
    client = client_for(make_client, emulator, platform)
    job = client.submit(simple_request(tier=tier, seed=42, duration=5, aspect_ratio="16:9"))
    assert (job.platform, job.tier) == (platform, tier)
    assert wait_terminal(client, job).state is JobState.SUCCEEDED
    result = client.result(job)
    assert result.request_id == job.request_id
    assert result.video.content_type == "video/mp4"
    with SeedanceHook(retry_policy=NO_WAIT).get_http_client() as http:
        body = http.get(result.video.url).content
    assert body == emulator.video_bytes(job.request_id)

    route = ROUTES[platform]
    (submit,) = emulator.requests(f"{route}.submit")
    assert submit["auth_scheme"] == "Bearer"
    assert submit["json"]["model"] == MODELS[platform, tier]
    summary = emulator.job(job.request_id)
    assert summary["tier"] == tier
    assert summary["platform"] == platform  # Ark jobs are told apart by their region's model ids
    if platform != "aihubmax":  # AIHubMax does not report the seed
        assert result.seed == 42


def test_aihubmax_completed_without_results_is_polled_again(
    emulator: EmulatorHandle, make_client: Callable[..., ClientFacade]
) -> None:
    """The emulator answers the first poll after completion with ``results: null`` (a real quirk)."""
    client = client_for(make_client, emulator, "aihubmax")
    job = client.submit(simple_request())
    first = client.status(job)
    assert (first.state, first.raw_status) == (JobState.RUNNING, "completed")
    assert first.progress is not None
    assert first.progress < 100
    assert client.status(job).state is JobState.SUCCEEDED
    assert client.result(job).video.url


def test_oxen_sends_the_seed_era_schema(
    emulator: EmulatorHandle, make_client: Callable[..., ClientFacade]
) -> None:
    client = client_for(make_client, emulator, "oxen")
    client.submit(simple_request(duration="auto"))
    sent = emulator.requests("oxen.submit")[0]["json"]
    assert sent["input_images"] == ["https://x.test/a.jpg"]
    assert (sent["duration"], sent["aspect_ratio"], sent["num_generations"]) == ("auto", "auto", 1)


@pytest.mark.parametrize("platform", ["byteplus", "volcengine"])
def test_ark_sends_a_content_list_and_adaptive_ratio(
    emulator: EmulatorHandle, make_client: Callable[..., ClientFacade], platform: str
) -> None:
    client_for(make_client, emulator, platform).submit(simple_request())
    sent = emulator.requests("ark.submit")[0]["json"]
    assert sent["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "https://x.test/a.jpg"},
        "role": "reference_image",
    }
    assert (sent["ratio"], sent["duration"], sent["watermark"]) == ("adaptive", -1, False)


# -- failures -----------------------------------------------------------------------------------
@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_failed_job_reports_failed_with_the_platform_message(
    emulator: EmulatorHandle, make_client: Callable[..., ClientFacade], platform: str
) -> None:
    message = "Getting model response error: 422 - Value error, the reference image is unreadable"
    emulator.add_fault(f"{ROUTES[platform]}.submit", "fail_job", error="model_error", body=message)
    client = client_for(make_client, emulator, platform)
    job = client.submit(simple_request())
    status = wait_terminal(client, job)
    assert status.state is JobState.FAILED
    assert status.error == message
    with pytest.raises(SeedanceJobFailed, match="unreadable") as info:
        client.result(job)
    assert info.value.request_id == job.request_id


@pytest.mark.parametrize("platform", PLATFORMS)
def test_status_of_an_unknown_job_is_not_found(
    emulator: EmulatorHandle, make_client: Callable[..., ClientFacade], platform: str
) -> None:
    client = client_for(make_client, emulator, platform)
    with pytest.raises(SeedanceNotFoundError):
        client.status(client.job_ref("no-such-job"))


# -- cancel -------------------------------------------------------------------------------------
@pytest.mark.parametrize("platform", CANCELLABLE)
def test_cancel_of_a_queued_job(
    held: EmulatorHandle, make_client: Callable[..., ClientFacade], platform: str
) -> None:
    client = client_for(make_client, held, platform)
    job = client.submit(simple_request())
    assert client.status(job).state is JobState.QUEUED
    assert client.cancel(job) is CancelOutcome.REQUESTED
    assert client.status(job).state is JobState.CANCELLED
    assert len(held.requests(f"{ROUTES[platform]}.cancel")) == 1


@pytest.mark.parametrize(
    ("platform", "outcome", "after"),
    [
        ("oxen", CancelOutcome.REQUESTED, JobState.CANCELLED),
        ("byteplus", CancelOutcome.NOT_SUPPORTED, JobState.RUNNING),  # Ark refuses a running task
        ("volcengine", CancelOutcome.NOT_SUPPORTED, JobState.RUNNING),
    ],
)
def test_cancel_of_a_running_job(
    held: EmulatorHandle,
    make_client: Callable[..., ClientFacade],
    platform: str,
    outcome: CancelOutcome,
    after: JobState,
) -> None:
    client = client_for(make_client, held, platform)
    job = client.submit(simple_request())
    held.advance(61)
    assert client.status(job).state is JobState.RUNNING
    assert client.cancel(job) is outcome
    assert client.status(job).state is after


@pytest.mark.parametrize(
    ("platform", "outcome", "deletes"),
    [
        ("oxen", CancelOutcome.REQUESTED, 1),  # Oxen answers success regardless
        # Ark's DELETE removes a finished task's record; cancel reads the status first and keeps it
        ("byteplus", CancelOutcome.ALREADY_FINISHED, 0),
    ],
)
def test_cancel_of_a_finished_job_has_no_effect(
    emulator: EmulatorHandle,
    make_client: Callable[..., ClientFacade],
    platform: str,
    outcome: CancelOutcome,
    deletes: int,
) -> None:
    client = client_for(make_client, emulator, platform)
    job = client.submit(simple_request())
    wait_terminal(client, job)
    assert client.cancel(job) is outcome
    assert len(emulator.requests(f"{ROUTES[platform]}.cancel")) == deletes
    assert client.status(job).state is JobState.SUCCEEDED


def test_ark_cancel_of_a_cancelled_task_is_already_finished(
    held: EmulatorHandle, make_client: Callable[..., ClientFacade]
) -> None:
    client = client_for(make_client, held, "byteplus")
    job = client.submit(simple_request())
    assert client.cancel(job) is CancelOutcome.REQUESTED
    assert client.cancel(job) is CancelOutcome.ALREADY_FINISHED


def test_aihubmax_cancel_is_not_supported_and_sends_nothing(
    held: EmulatorHandle, make_client: Callable[..., ClientFacade]
) -> None:
    client = client_for(make_client, held, "aihubmax")
    job = client.submit(simple_request())
    before = len(held.requests())
    assert client.cancel(job) is CancelOutcome.NOT_SUPPORTED
    assert len(held.requests()) == before
    assert client.status(job).state is JobState.QUEUED


# -- transient errors while polling -------------------------------------------------------------
@pytest.mark.parametrize("platform", PLATFORMS)
def test_429_during_polling_is_retried_after_retry_after(
    emulator: EmulatorHandle,
    make_client: Callable[..., ClientFacade],
    sleeps: list[float],
    platform: str,
) -> None:
    client = client_for(make_client, emulator, platform, retry=policy())
    job = client.submit(simple_request())
    route = f"{ROUTES[platform]}.status"
    emulator.add_fault(route, "status", status=429, retry_after=2, times=2)
    client.status(job)
    assert all(2.0 <= s <= 3.0 for s in sleeps[:2]), sleeps  # Retry-After x U(1, 1.5)
    assert [r["status_code"] for r in emulator.requests(route)] == [429, 429, 200]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_503_during_polling_is_retried(
    emulator: EmulatorHandle, make_client: Callable[..., ClientFacade], platform: str
) -> None:
    client = client_for(make_client, emulator, platform)
    job = client.submit(simple_request())
    route = f"{ROUTES[platform]}.status"
    emulator.add_fault(route, "status", status=503, times=2)
    assert wait_terminal(client, job).state is JobState.SUCCEEDED
    assert [r["status_code"] for r in emulator.requests(route)][:3] == [503, 503, 200]


# -- probe and connection -----------------------------------------------------------------------
@pytest.mark.parametrize("platform", PLATFORMS)
def test_probe_accepts_the_key_and_creates_nothing(
    emulator: EmulatorHandle, make_client: Callable[..., ClientFacade], platform: str
) -> None:
    client_for(make_client, emulator, platform).probe()
    assert emulator.jobs() == []
    assert [r["method"] for r in emulator.requests()] == ["GET"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_probe_rejects_a_wrong_key(
    emulator: EmulatorHandle, make_client: Callable[..., ClientFacade], platform: str
) -> None:
    with pytest.raises(SeedanceAuthError) as info:
        client_for(make_client, emulator, platform, api_key="sk-not-the-right-key").probe()
    assert "sk-not-the-right-key" not in str(info.value)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_hook_test_connection(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, platform: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DEFAULT", emulator.connection_json(platform))
    ok, message = SeedanceHook(retry_policy=NO_WAIT).test_connection()
    assert ok, message
    assert emulator.jobs() == []


# -- the operator: same DAG code on every platform ----------------------------------------------
OPERATOR_INPUTS: dict[str, Any] = {
    "prompt": "A corgi surfs a wave at golden hour, styled like @Image1",
    "image_urls": ["https://cdn.example.com/brand/style.png"],
    "preflight": False,  # a CDN that does not exist
    "duration": 5,
    "aspect_ratio": "16:9",
    "seed": 7,
}


@pytest.mark.parametrize("platform", ["oxen", "aihubmax", "byteplus"])
def test_the_operator_runs_unchanged_on_each_platform(
    seedance_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, platform: str
) -> None:
    seedance_emulator.configure(queue_seconds=0.2, run_seconds=0.3)
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DEFAULT", seedance_emulator.connection_json(platform))
    op = SeedanceReferenceToVideoOperator(
        task_id="clip", deferrable=False, poll_interval=0.1, **OPERATOR_INPUTS
    )
    context: dict[str, Any] = {"ti": FakeTI(), "task_state_store": FakeTaskStateStore()}
    result = op.execute(context)  # type: ignore[arg-type]

    assert (result["platform"], result["status"]) == (platform, "succeeded")
    (job,) = seedance_emulator.jobs()
    assert result["request_id"] == job["request_id"]
    assert job["state"] == "succeeded"
    with SeedanceHook(retry_policy=NO_WAIT).get_http_client() as http:
        assert http.get(result["video"]["url"]).content == seedance_emulator.video_bytes(job["request_id"])
    assert len(seedance_emulator.requests(f"{ROUTES[platform]}.submit")) == 1
