"""AIHubMax dialect and transport, on the wire (respx), for the sync and the async client alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import respx

from airflow_provider_seedance.client.errors import (
    SeedanceAmbiguousSubmitError,
    SeedanceAPIError,
    SeedanceAuthError,
    SeedanceJobFailed,
    SeedanceNotFoundError,
    SeedanceProtocolError,
    SeedanceRateLimitError,
    SeedanceRequestRejected,
    SeedanceValidationError,
)
from airflow_provider_seedance.client.models import CancelOutcome, JobRef, JobState
from airflow_provider_seedance.client.platforms import get_dialect
from tests.client.helpers import ClientFacade, assert_sent_by_us, fixtures_for, mp4, sent_json, simple_request

HUB = "https://api.aihubmax.com"
SUBMIT = f"{HUB}/v1/videos/generations"
TASK_ID = "task-unified-1757165031-uyujaw3d"
TASK_URL = f"{HUB}/v1/tasks/{TASK_ID}"
VIDEO = "https://files.aihubmax.com/videos/task-unified-1757165031-uyujaw3d.mp4?Expires=1757251431"
REF = JobRef(platform="aihubmax", request_id=TASK_ID)


hub, client = fixtures_for("aihubmax", router="hub")


def task(status: str, **fields: Any) -> dict[str, Any]:
    """AIHubMax's task object (create answer and ``GET /v1/tasks/{id}``)."""
    return {
        "created": 1757165031,
        "id": TASK_ID,
        "model": "seedance-2.0-reference-to-video",
        "object": "video.generation.task",
        "progress": 0,
        "status": status,
        "results": None,
        "error": None,
        "task_info": {"can_cancel": True, "estimated_time": 165, "video_duration": 8},
        "type": "video",
        "usage": {"billing_rule": "per_second", "credits_reserved": 50, "user_group": "default"},
        **fields,
    }


def error(code: Any, message: str, type_: str, param: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "type": type_}
    if param:
        body["param"] = param
    return {"error": body}


# -- submit -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tier", "model"),
    [("standard", "seedance-2.0-reference-to-video"), ("fast", "seedance-2.0-fast-reference-to-video")],
)
def test_submit_posts_a_flat_body(hub: respx.MockRouter, client: ClientFacade, tier: str, model: str) -> None:
    route = hub.post(SUBMIT).respond(200, json=task("pending"))
    request = simple_request(
        tier=tier,
        prompt="@Image1 dances to @Audio1 like @Video1",
        video_urls=["https://x.test/m.mov"],
        audio_urls=["https://x.test/a.wav"],
        duration="5",
        aspect_ratio="21:9",
        resolution="480p",
        generate_audio=False,
        seed=1234,
    )
    job = client.submit(request)
    assert job == JobRef(platform="aihubmax", request_id=TASK_ID, tier=tier)  # type: ignore[arg-type]
    assert sent_json(route, SUBMIT) == {
        "model": model,
        "prompt": "@Image1 dances to @Audio1 like @Video1",
        "image_urls": ["https://x.test/a.jpg"],
        "video_urls": ["https://x.test/m.mov"],
        "audio_urls": ["https://x.test/a.wav"],
        "resolution": "480p",
        "aspect_ratio": "21:9",
        "duration": 5,
        "generate_audio": False,
        "seed": 1234,
    }


def test_auto_becomes_adaptive_and_minus_one(hub: respx.MockRouter, client: ClientFacade) -> None:
    route = hub.post(SUBMIT).respond(200, json=task("pending"))
    client.submit(simple_request(seed=-1, end_user_id="user-7"))
    body = sent_json(route)
    assert (body["aspect_ratio"], body["duration"], body["seed"]) == ("adaptive", -1, -1)
    assert "end_user_id" not in body
    assert "video_urls" not in body


def test_no_seed_sends_no_seed(hub: respx.MockRouter, client: ClientFacade) -> None:
    route = hub.post(SUBMIT).respond(200, json=task("pending"))
    client.submit(simple_request())
    assert "seed" not in sent_json(route)


def test_every_request_carries_a_bearer_key_and_the_user_agent(
    hub: respx.MockRouter, client: ClientFacade
) -> None:
    hub.post(SUBMIT).respond(200, json=task("pending"))
    hub.get(TASK_URL).respond(200, json=task("completed", progress=100, results=[VIDEO]))
    job = client.submit(simple_request())
    client.status(job)
    client.result(job)
    assert [c.request.method for c in hub.calls] == ["POST", "GET", "GET"]
    assert_sent_by_us(hub.calls)


def test_submit_to_a_custom_base_url(hub: respx.MockRouter, make_client: Callable[..., ClientFacade]) -> None:
    route = hub.post("http://127.0.0.1:8787/v1/videos/generations").respond(200, json=task("pending"))
    make_client(platform="aihubmax", base_url="http://127.0.0.1:8787").submit(simple_request())
    assert route.call_count == 1


def test_submit_without_an_id_warns_that_a_job_may_exist(hub: respx.MockRouter, client: ClientFacade) -> None:
    hub.post(SUBMIT).respond(200, json={"object": "video.generation.task", "status": "pending"})
    with pytest.raises(SeedanceAmbiguousSubmitError, match=r"no task id.*A job may exist"):
        client.submit(simple_request())


def test_a_400_names_the_param(hub: respx.MockRouter, client: ClientFacade) -> None:
    hub.post(SUBMIT).respond(
        400, json=error(400, "duration must be -1 or 4..15", "invalid_request_error", "duration")
    )
    with pytest.raises(SeedanceRequestRejected) as info:
        client.submit(simple_request())
    assert str(info.value) == (
        "AIHubMax answered submit with HTTP 400 (invalid_request_error): "
        "duration must be -1 or 4..15 (param: duration)"
    )


def test_a_string_error_code_is_the_error_type(hub: respx.MockRouter, client: ClientFacade) -> None:
    hub.post(SUBMIT).respond(
        422, json=error("model_not_found", "Model not found", "validation_error", "model")
    )
    with pytest.raises(SeedanceRequestRejected) as info:
        client.submit(simple_request())
    assert info.value.error_type == "model_not_found"


def test_insufficient_quota_is_a_plain_api_error(hub: respx.MockRouter, client: ClientFacade) -> None:
    hub.post(SUBMIT).respond(402, json=error(402, "Insufficient balance", "insufficient_quota"))
    with pytest.raises(
        SeedanceAPIError, match=r"HTTP 402 \(insufficient_quota\): Insufficient balance"
    ) as info:
        client.submit(simple_request())
    assert type(info.value) is SeedanceAPIError


def test_429_on_submit_is_retried_after_retry_after_because_nothing_was_created(
    hub: respx.MockRouter, client: ClientFacade
) -> None:
    route = hub.post(SUBMIT).mock(
        side_effect=[
            respx.MockResponse(
                429,
                json=error(429, "Rate limited (retry after 60 seconds)", "rate_limit_error"),
                headers={"Retry-After": "0"},
            ),
            respx.MockResponse(200, json=task("pending")),
        ]
    )
    assert client.submit(simple_request()).request_id == TASK_ID
    assert route.call_count == 2


def test_503_on_submit_is_ambiguous_and_sent_once(hub: respx.MockRouter, client: ClientFacade) -> None:
    route = hub.post(SUBMIT).respond(
        503, json=error(503, "Service unavailable (retry after 30 seconds)", "service_unavailable_error")
    )
    with pytest.raises(SeedanceAmbiguousSubmitError):
        client.submit(simple_request())
    assert route.call_count == 1


# -- status -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "progress", "state"),
    [("pending", 0, JobState.QUEUED), ("processing", 42, JobState.RUNNING)],
)
def test_active_statuses_map_with_progress(
    hub: respx.MockRouter, client: ClientFacade, raw: str, progress: int, state: JobState
) -> None:
    hub.get(TASK_URL).respond(200, json=task(raw, progress=progress))
    status = client.status(REF)
    assert (status.state, status.raw_status, status.progress) == (state, raw, float(progress))
    assert status.describe() == f"{state.value}, progress {progress}%"


def test_completed_with_results_is_succeeded(hub: respx.MockRouter, client: ClientFacade) -> None:
    hub.get(TASK_URL).respond(200, json=task("completed", progress=100, results=[VIDEO]))
    status = client.status(REF)
    assert (status.state, status.progress, status.error) == (JobState.SUCCEEDED, 100.0, None)


@pytest.mark.parametrize("results", [None, []])
def test_completed_without_results_is_not_terminal(
    hub: respx.MockRouter, client: ClientFacade, results: Any
) -> None:
    """The documented race: ``completed`` can arrive before ``results`` is filled in."""
    hub.get(TASK_URL).respond(200, json=task("completed", progress=95, results=results))
    status = client.status(REF)
    assert (status.state, status.raw_status) == (JobState.RUNNING, "completed")
    assert not status.is_terminal


def test_failed_carries_the_error_code_and_message(hub: respx.MockRouter, client: ClientFacade) -> None:
    hub.get(TASK_URL).respond(
        200,
        json=task(
            "failed",
            progress=100,
            error={
                "code": "upstream_error",
                "message": "Upstream generation failed",
                "type": "task_error",
            },
        ),
    )
    status = client.status(REF)  # moderation codes: tests/client/test_moderation.py
    assert (status.state, status.error, status.error_type) == (
        JobState.FAILED,
        "Upstream generation failed",
        "upstream_error",
    )


def test_an_unknown_status_is_a_protocol_error_naming_it(hub: respx.MockRouter, client: ClientFacade) -> None:
    hub.get(TASK_URL).respond(200, json=task("queueing"))
    with pytest.raises(SeedanceProtocolError, match=f"unknown status 'queueing' for task {TASK_ID}"):
        client.status(REF)


def test_status_of_an_unknown_task_is_not_found(hub: respx.MockRouter, client: ClientFacade) -> None:
    hub.get(TASK_URL).respond(404, json=error(404, "Task not found", "not_found_error", "task_id"))
    with pytest.raises(SeedanceNotFoundError, match="Task not found"):
        client.status(REF)


def test_401_is_an_auth_error(hub: respx.MockRouter, client: ClientFacade) -> None:
    hub.get(TASK_URL).respond(401, json=error(401, "Invalid token", "authentication_error"))
    with pytest.raises(SeedanceAuthError, match="AIHubMax rejected the API key"):
        client.status(REF)


def test_429_on_a_poll_is_retried_then_reported(hub: respx.MockRouter, client: ClientFacade) -> None:
    route = hub.get(TASK_URL).respond(
        429, json=error(429, "Too many requests", "rate_limit_error"), headers={"Retry-After": "0"}
    )
    with pytest.raises(SeedanceRateLimitError) as info:
        client.status(REF)
    assert info.value.error_type == "rate_limit_error"
    assert route.call_count == 5


# -- result -------------------------------------------------------------------------------------
@pytest.mark.parametrize("results", [[VIDEO], [{"url": VIDEO}]])
def test_result_takes_the_first_result_as_a_string_or_an_object(
    hub: respx.MockRouter, client: ClientFacade, results: list[Any]
) -> None:
    hub.get(TASK_URL).respond(200, json=task("completed", progress=100, results=results))
    result = client.result(REF)
    assert (result.request_id, result.seed) == (TASK_ID, None)
    assert result.video.model_dump() == mp4(VIDEO, f"{TASK_ID}.mp4")


def test_result_while_results_are_missing_says_it_is_not_ready(
    hub: respx.MockRouter, client: ClientFacade
) -> None:
    hub.get(TASK_URL).respond(200, json=task("completed", progress=95))
    with pytest.raises(SeedanceProtocolError, match="no result yet \\(status 'completed'\\)"):
        client.result(REF)


def test_result_of_a_failed_task_is_job_failed(hub: respx.MockRouter, client: ClientFacade) -> None:
    hub.get(TASK_URL).respond(
        200, json=task("failed", error={"code": "generation_failed", "message": "Upstream failed"})
    )
    with pytest.raises(SeedanceJobFailed, match="Upstream failed") as info:
        client.result(REF)
    assert info.value.error_type == "generation_failed"


# -- cancel: no endpoint ------------------------------------------------------------------------
def test_cancel_is_not_supported_and_sends_nothing(hub: respx.MockRouter, client: ClientFacade) -> None:
    anything = hub.route()
    assert client.cancel(REF) is CancelOutcome.NOT_SUPPORTED
    assert anything.call_count == 0


# -- probe, limits, job page --------------------------------------------------------------------
def test_probe_gets_a_task_that_cannot_exist(hub: respx.MockRouter, client: ClientFacade) -> None:
    route = hub.get(f"{HUB}/v1/tasks/task-unified-0-00000000").respond(
        404, json=error(404, "Task not found", "not_found_error")
    )
    client.probe()
    assert route.call_count == 1


def test_probe_with_a_rejected_key_is_an_auth_error(hub: respx.MockRouter, client: ClientFacade) -> None:
    hub.get(url__startswith=f"{HUB}/v1/tasks/").respond(
        401, json=error(401, "Invalid", "authentication_error")
    )
    with pytest.raises(SeedanceAuthError):
        client.probe()


@pytest.mark.parametrize("tier", ["standard", "fast"])
def test_1080p_is_not_sold(hub: respx.MockRouter, client: ClientFacade, tier: str) -> None:
    route = hub.post(SUBMIT)
    with pytest.raises(SeedanceValidationError, match="AIHubMax sells 480p, 720p only, got '1080p'"):
        client.submit(simple_request(resolution="1080p", tier=tier))
    assert route.call_count == 0


def test_no_job_page_is_known() -> None:
    assert get_dialect("aihubmax").job_url(REF) is None
