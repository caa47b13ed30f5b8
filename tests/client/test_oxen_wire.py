"""Oxen.ai dialect and transport, on the wire (respx), for the sync and the async client alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import respx

from airflow_provider_seedance.client.errors import (
    SeedanceAmbiguousSubmitError,
    SeedanceAuthError,
    SeedanceJobFailed,
    SeedanceNotFoundError,
    SeedanceProtocolError,
    SeedanceRateLimitError,
    SeedanceRequestRejected,
    SeedanceServerError,
    SeedanceValidationError,
)
from airflow_provider_seedance.client.models import CancelOutcome, JobRef, JobState
from airflow_provider_seedance.client.platforms import get_dialect
from tests.client.helpers import ClientFacade, assert_sent_by_us, fixtures_for, mp4, sent_json, simple_request

OXEN = "https://hub.oxen.ai"
QUEUE = f"{OXEN}/api/ai/queue"
GEN_ID = "5b0d4c8e-2f1a-4d6b-9c3e-7a8f9e0d1c2b"
GEN_URL = f"{QUEUE}/{GEN_ID}"
RESULT_URL = f"{OXEN}/api/repos/ox/generations/file/main/{GEN_ID}.mp4?token=abc"
REF = JobRef(platform="oxen", request_id=GEN_ID)


oxen, client = fixtures_for("oxen", router="oxen")


def generation(status: str, **fields: Any) -> dict[str, Any]:
    """Oxen's ``GET /api/ai/queue/{id}`` body."""
    return {
        "generation_id": GEN_ID,
        "model_name": "bytedance-seedance-2-0-reference-to-video",
        "media_type": "video",
        "status": status,
        "result_url": None,
        "error_message": None,
        "enqueued_at": "2026-05-01T10:00:00.000Z",
        **fields,
    }


def error(type_: str, title: str) -> dict[str, Any]:
    """Oxen's error body for a refused call (``status_message`` repeats the type)."""
    return {"error": {"type": type_, "title": title}, "status": "error", "status_message": type_}


def enqueued(generation_id: str = GEN_ID) -> dict[str, Any]:
    return {"generations": [{"generation_id": generation_id, "status": "queued"}]}


# -- submit -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tier", "model"),
    [
        ("standard", "bytedance-seedance-2-0-reference-to-video"),
        ("fast", "bytedance-seedance-2-0-fast-reference-to-video"),
    ],
)
def test_submit_posts_the_seed_era_body_to_the_queue(
    oxen: respx.MockRouter, client: ClientFacade, tier: str, model: str
) -> None:
    route = oxen.post(QUEUE).respond(200, json=enqueued())
    request = simple_request(
        tier=tier,
        prompt="@Image1 walks to the beat of @Audio1 past @Video1",
        video_urls=["https://x.test/m.mp4"],
        audio_urls=["https://x.test/beat.mp3"],
        duration=8,
        aspect_ratio="9:16",
        resolution="480p",
        generate_audio=False,
        seed=7,
    )
    job = client.submit(request)
    assert job == JobRef(platform="oxen", request_id=GEN_ID, tier=tier)  # type: ignore[arg-type]
    assert sent_json(route, QUEUE) == {
        "model": model,
        "prompt": "@Image1 walks to the beat of @Audio1 past @Video1",
        "input_images": ["https://x.test/a.jpg"],
        "input_videos": ["https://x.test/m.mp4"],
        "input_audios": ["https://x.test/beat.mp3"],
        "resolution": "480p",
        "duration": "8",
        "aspect_ratio": "9:16",
        "generate_audio": False,
        "seed": 7,
        "num_generations": 1,
    }


def test_defaults_send_auto_strings_and_no_seed(oxen: respx.MockRouter, client: ClientFacade) -> None:
    route = oxen.post(QUEUE).respond(200, json=enqueued())
    client.submit(simple_request(seed=-1))
    body = sent_json(route)
    assert (body["duration"], body["aspect_ratio"], body["resolution"]) == ("auto", "auto", "720p")
    assert "seed" not in body  # unset = random
    assert "input_videos" not in body
    assert "end_user_id" not in body


def test_every_request_carries_a_bearer_key_and_the_user_agent(
    oxen: respx.MockRouter, client: ClientFacade
) -> None:
    oxen.post(QUEUE).respond(200, json=enqueued())
    oxen.get(GEN_URL).respond(200, json=generation("succeeded", result_url=RESULT_URL))
    oxen.delete(GEN_URL).respond(200, json={"status": "success", "generation_id": GEN_ID})
    job = client.submit(simple_request())
    client.status(job)
    client.result(job)
    client.cancel(job)
    assert [c.request.method for c in oxen.calls] == ["POST", "GET", "GET", "DELETE"]
    assert_sent_by_us(oxen.calls)


def test_submit_to_a_custom_base_url(
    oxen: respx.MockRouter, make_client: Callable[..., ClientFacade]
) -> None:
    route = oxen.post("http://127.0.0.1:8787/api/ai/queue").respond(200, json=enqueued())
    make_client(platform="oxen", base_url="http://127.0.0.1:8787/").submit(simple_request())
    assert route.call_count == 1


def test_submit_without_a_generation_id_warns_that_a_job_may_exist(
    oxen: respx.MockRouter, client: ClientFacade
) -> None:
    oxen.post(QUEUE).respond(200, json={"generations": []})
    with pytest.raises(SeedanceAmbiguousSubmitError, match=r"no generation_id.*A job may exist"):
        client.submit(simple_request())


def test_an_unknown_model_on_enqueue_is_not_found(oxen: respx.MockRouter, client: ClientFacade) -> None:
    oxen.post(QUEUE).respond(404, json=error("resource_not_found", "Model not found: x"))
    with pytest.raises(SeedanceNotFoundError) as info:
        client.submit(simple_request())
    assert info.value.error_type == "resource_not_found"
    assert str(info.value) == "Oxen.ai answered submit with HTTP 404 (resource_not_found): Model not found: x"


def test_a_bad_num_generations_answer_is_a_rejected_request(
    oxen: respx.MockRouter, client: ClientFacade
) -> None:
    oxen.post(QUEUE).respond(
        400, json=error("bad_request", "num_generations must be an integer between 1 and 4")
    )
    with pytest.raises(SeedanceRequestRejected, match="num_generations must be an integer"):
        client.submit(simple_request())


@pytest.mark.parametrize("code", [500, 502, 503])
def test_5xx_on_submit_is_ambiguous_and_sent_once(
    oxen: respx.MockRouter, client: ClientFacade, code: int
) -> None:
    route = oxen.post(QUEUE).respond(
        code,
        json={
            "error": {"type": "upstream", "title": "The model provider returned an error."},
            "status": code,
        },
    )
    with pytest.raises(SeedanceAmbiguousSubmitError, match="NOT re-sent"):
        client.submit(simple_request())
    assert route.call_count == 1


# -- status -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("queued", JobState.QUEUED),
        ("processing", JobState.RUNNING),
        ("succeeded", JobState.SUCCEEDED),
        ("cancelled", JobState.CANCELLED),
    ],
)
def test_status_values_map_to_job_states(
    oxen: respx.MockRouter, client: ClientFacade, raw: str, state: JobState
) -> None:
    route = oxen.get(GEN_URL).respond(200, json=generation(raw))
    status = client.status(REF)
    assert (status.state, status.raw_status, status.error) == (state, raw, None)
    assert route.call_count == 1


def test_a_parameter_error_surfaces_later_as_failed_with_the_message(
    oxen: respx.MockRouter, client: ClientFacade
) -> None:
    message = "Getting model response error: 422 - Value error, duration must be one of auto, 4..15"
    oxen.get(GEN_URL).respond(200, json=generation("failed", error_message=message))
    status = client.status(REF)
    assert (status.state, status.error) == (JobState.FAILED, message)
    assert status.is_terminal


def test_an_unknown_status_is_a_protocol_error_naming_it(
    oxen: respx.MockRouter, client: ClientFacade
) -> None:
    oxen.get(GEN_URL).respond(200, json=generation("paused"))
    with pytest.raises(SeedanceProtocolError, match=f"unknown status 'paused' for generation {GEN_ID}"):
        client.status(REF)


def test_status_of_an_unknown_generation_is_not_found(oxen: respx.MockRouter, client: ClientFacade) -> None:
    oxen.get(GEN_URL).respond(
        404, json=error("resource_not_found", "The requested resource could not be found")
    )
    with pytest.raises(SeedanceNotFoundError, match="could not be found"):
        client.status(REF)


@pytest.mark.parametrize("code", [401, 403])
def test_a_rejected_key_is_an_auth_error(oxen: respx.MockRouter, client: ClientFacade, code: int) -> None:
    oxen.get(GEN_URL).respond(
        code, json={"error": {"type": "unauthorized", "title": "Invalid API key"}, "status": "error"}
    )
    with pytest.raises(SeedanceAuthError, match=r"Oxen\.ai rejected the API key"):
        client.status(REF)


def test_429_on_a_poll_keeps_retry_after(oxen: respx.MockRouter, client: ClientFacade) -> None:
    route = oxen.get(GEN_URL).respond(
        429, json={"error": {"type": "too_many_requests", "title": "Slow down"}}, headers={"Retry-After": "0"}
    )
    with pytest.raises(SeedanceRateLimitError) as info:
        client.status(REF)
    assert info.value.retry_after == 0.0
    assert route.call_count == 5  # retried up to the policy's attempts


def test_a_transient_503_on_a_poll_is_retried(oxen: respx.MockRouter, client: ClientFacade) -> None:
    oxen.get(GEN_URL).mock(
        side_effect=[
            respx.MockResponse(503, json={"error": {"type": "service_unavailable", "title": "busy"}}),
            respx.MockResponse(200, json=generation("processing")),
        ]
    )
    assert client.status(REF).state is JobState.RUNNING


def test_a_5xx_after_retries_is_a_server_error(oxen: respx.MockRouter, client: ClientFacade) -> None:
    oxen.get(GEN_URL).respond(502, json={"error": {"type": "upstream", "title": "upstream"}, "status": 502})
    with pytest.raises(SeedanceServerError, match=r"HTTP 502 \(upstream\): upstream"):
        client.status(REF)


# -- result -------------------------------------------------------------------------------------
def test_result_reads_the_result_url_from_the_same_get(oxen: respx.MockRouter, client: ClientFacade) -> None:
    route = oxen.get(GEN_URL).respond(200, json=generation("succeeded", result_url=RESULT_URL, seed=99))
    result = client.result(REF)
    assert route.call_count == 1
    assert result.seed == 99
    assert result.video.model_dump() == mp4(RESULT_URL, f"{GEN_ID}.mp4")


def test_result_of_a_failed_generation_is_job_failed(oxen: respx.MockRouter, client: ClientFacade) -> None:
    oxen.get(GEN_URL).respond(
        200, json=generation("failed", error_message="Getting model response error: 500")
    )
    with pytest.raises(SeedanceJobFailed, match=r"failed.*Getting model response error: 500") as info:
        client.result(REF)
    assert info.value.request_id == GEN_ID


def test_result_of_a_running_generation_says_it_is_not_ready(
    oxen: respx.MockRouter, client: ClientFacade
) -> None:
    oxen.get(GEN_URL).respond(200, json=generation("processing"))
    with pytest.raises(SeedanceProtocolError, match="no result yet \\(status 'processing'\\)"):
        client.result(REF)


def test_succeeded_without_a_result_url_is_a_protocol_error(
    oxen: respx.MockRouter, client: ClientFacade
) -> None:
    oxen.get(GEN_URL).respond(200, json=generation("succeeded"))
    with pytest.raises(SeedanceProtocolError, match="gives no video URL"):
        client.result(REF)


# -- cancel -------------------------------------------------------------------------------------
def test_cancel_deletes_the_generation(oxen: respx.MockRouter, client: ClientFacade) -> None:
    route = oxen.delete(GEN_URL).respond(200, json={"status": "success", "generation_id": GEN_ID})
    assert client.cancel(REF) is CancelOutcome.REQUESTED
    assert route.call_count == 1


def test_cancel_of_an_unknown_generation_is_not_found(oxen: respx.MockRouter, client: ClientFacade) -> None:
    oxen.delete(GEN_URL).respond(404, json={"error": {"type": "resource_not_found", "title": "nope"}})
    assert client.cancel(REF) is CancelOutcome.NOT_FOUND


def test_cancel_answered_with_an_error_status_is_a_protocol_error(
    oxen: respx.MockRouter, client: ClientFacade
) -> None:
    oxen.delete(GEN_URL).respond(200, json={"status": "error", "status_message": "locked"})
    with pytest.raises(SeedanceProtocolError, match="but not success"):
        client.cancel(REF)


# -- probe, limits, job page --------------------------------------------------------------------
def test_probe_lists_the_queued_generations(oxen: respx.MockRouter, client: ClientFacade) -> None:
    """Oxen's 404 for an unknown generation is generic (a wrong path answers it too): the probe
    reads the list instead, whose 200 proves the route (issue 10, defect 12)."""
    route = oxen.get(QUEUE, params={"status": "queued"}).respond(200, json={"count": 0, "generations": []})
    client.probe()
    assert route.call_count == 1


def test_probe_with_a_rejected_key_is_an_auth_error(oxen: respx.MockRouter, client: ClientFacade) -> None:
    oxen.get(url__startswith=QUEUE).respond(401, json={"error": {"type": "unauthorized", "title": "no"}})
    with pytest.raises(SeedanceAuthError):
        client.probe()


def test_1080p_is_sold_for_the_standard_tier_only(oxen: respx.MockRouter, client: ClientFacade) -> None:
    route = oxen.post(QUEUE).respond(200, json=enqueued())
    client.submit(simple_request(resolution="1080p"))
    assert sent_json(route)["resolution"] == "1080p"
    with pytest.raises(SeedanceValidationError, match="480p, 720p only for the fast tier, got '1080p'"):
        client.submit(simple_request(resolution="1080p", tier="fast"))
    assert route.call_count == 1


def test_no_job_page_is_known() -> None:
    assert get_dialect("oxen").job_url(REF) is None
