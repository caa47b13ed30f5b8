"""BytePlus ModelArk / Volcengine Ark dialect and transport, on the wire (respx), sync and async."""

from __future__ import annotations

import json
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
from airflow_provider_seedance.client.platforms.ark import BytePlusArkDialect, VolcengineArkDialect
from airflow_provider_seedance.client.platforms.http import HttpResponse, Operation
from tests.client.helpers import ClientFacade, assert_sent_by_us, fixtures_for, mp4, sent_json, simple_request

BYTEPLUS = "https://ark.ap-southeast.bytepluses.com"
VOLCENGINE = "https://ark.cn-beijing.volces.com"
TASKS = "/api/v3/contents/generations/tasks"
TASK_ID = "cgt-20260405024433-sbj8r"
TASK_URL = f"{BYTEPLUS}{TASKS}/{TASK_ID}"
VIDEO = (
    f"https://ark-content-generation-ap-southeast-1.tos.bytepluses.com/{TASK_ID}/video.mp4?X-Tos-Signature=s"
)
REF = JobRef(platform="byteplus", request_id=TASK_ID)
REGIONS = {
    "byteplus": (BYTEPLUS, "dreamina-seedance-2-0-260128", "dreamina-seedance-2-0-fast-260128"),
    "volcengine": (VOLCENGINE, "doubao-seedance-2-0-260128", "doubao-seedance-2-0-fast-260128"),
}


ark, client = fixtures_for("byteplus", router="ark")


def task(status: str, **fields: Any) -> dict[str, Any]:
    """Ark's ``GET .../tasks/{id}`` body."""
    return {
        "id": TASK_ID,
        "model": "dreamina-seedance-2-0-260128",
        "status": status,
        "error": None,
        "created_at": 1775357073,
        "updated_at": 1775357073,
        "seed": 11,
        "resolution": "720p",
        "ratio": "16:9",
        "duration": 5,
        "framespersecond": 24,
        "generate_audio": True,
        **fields,
    }


def error(code: str, message: str, type_: str, param: str = "") -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": f"{message} Request id: 0217753570738",
            "param": param,
            "type": type_,
        }
    }


# -- submit -------------------------------------------------------------------------------------
@pytest.mark.parametrize("tier", ["standard", "fast"])
@pytest.mark.parametrize("platform", ["byteplus", "volcengine"])
def test_submit_posts_a_content_list_to_the_region_with_its_model_ids(
    ark: respx.MockRouter, make_client: Callable[..., ClientFacade], platform: str, tier: str
) -> None:
    base, standard, fast = REGIONS[platform]
    route = ark.post(f"{base}{TASKS}").respond(200, json={"id": TASK_ID})
    request = simple_request(
        tier=tier,
        prompt="@Image1 and @Image2 dance to @Audio1, moving like @Video1",
        image_urls=["https://x.test/a.jpg", "https://x.test/b.png"],
        video_urls=["https://x.test/m.mp4"],
        audio_urls=["https://x.test/a.mp3"],
        duration=10,
        aspect_ratio="9:16",
        resolution="480p",
        generate_audio=False,
        seed=5,
        end_user_id="user-42",
    )
    job = make_client(platform=platform).submit(request)
    assert job == JobRef(platform=platform, request_id=TASK_ID, tier=tier)  # type: ignore[arg-type]
    assert sent_json(route, f"{base}{TASKS}") == {
        "model": standard if tier == "standard" else fast,
        "content": [
            # users write @Image1; Ark's documentation writes "Image 1" (prompt_refs.py)
            {"type": "text", "text": "Image 1 and Image 2 dance to Audio 1, moving like Video 1"},
            {"type": "image_url", "image_url": {"url": "https://x.test/a.jpg"}, "role": "reference_image"},
            {"type": "image_url", "image_url": {"url": "https://x.test/b.png"}, "role": "reference_image"},
            {"type": "video_url", "video_url": {"url": "https://x.test/m.mp4"}, "role": "reference_video"},
            {"type": "audio_url", "audio_url": {"url": "https://x.test/a.mp3"}, "role": "reference_audio"},
        ],
        "ratio": "9:16",
        "resolution": "480p",
        "duration": 10,
        "generate_audio": False,
        "watermark": False,
        "seed": 5,
        "safety_identifier": "user-42",
    }


def test_auto_becomes_adaptive_and_minus_one_and_no_seed_sends_none(
    ark: respx.MockRouter, client: ClientFacade
) -> None:
    route = ark.post(f"{BYTEPLUS}{TASKS}").respond(200, json={"id": TASK_ID})
    client.submit(simple_request())
    body = sent_json(route)
    assert (body["ratio"], body["duration"], body["resolution"]) == ("adaptive", -1, "720p")
    assert "seed" not in body
    assert "safety_identifier" not in body
    assert [item["type"] for item in body["content"]] == ["text", "image_url"]


def test_every_request_carries_a_bearer_key_and_the_user_agent(
    ark: respx.MockRouter, client: ClientFacade
) -> None:
    ark.post(f"{BYTEPLUS}{TASKS}").respond(200, json={"id": TASK_ID})
    ark.get(TASK_URL).respond(200, json=task("succeeded", content={"video_url": VIDEO}))
    ark.delete(TASK_URL).respond(200, json={})
    job = client.submit(simple_request())
    client.status(job)
    client.result(job)
    assert client.cancel(job) is CancelOutcome.ALREADY_FINISHED  # read first, never DELETE a finished task
    assert [c.request.method for c in ark.calls] == ["POST", "GET", "GET", "GET"]
    assert_sent_by_us(ark.calls)


def test_a_custom_base_url_keeps_the_region_model_ids(
    ark: respx.MockRouter, make_client: Callable[..., ClientFacade]
) -> None:
    route = ark.post(f"http://127.0.0.1:8787{TASKS}").respond(200, json={"id": TASK_ID})
    make_client(platform="volcengine", base_url="http://127.0.0.1:8787").submit(simple_request())
    assert sent_json(route)["model"] == "doubao-seedance-2-0-260128"


def test_get_dialect_picks_the_region_class() -> None:
    assert isinstance(get_dialect("byteplus"), BytePlusArkDialect)
    assert get_dialect("byteplus").base_url == BYTEPLUS
    volc = get_dialect("volcengine", "https://proxy.example/ark/")
    assert isinstance(volc, VolcengineArkDialect)
    assert volc.base_url == "https://proxy.example/ark"


def test_submit_without_an_id_warns_that_a_job_may_exist(ark: respx.MockRouter, client: ClientFacade) -> None:
    ark.post(f"{BYTEPLUS}{TASKS}").respond(200, json={})
    with pytest.raises(SeedanceAmbiguousSubmitError, match=r"no task id.*A job may exist"):
        client.submit(simple_request())


def test_an_invalid_parameter_is_a_rejected_request_with_the_code(
    ark: respx.MockRouter, client: ClientFacade
) -> None:
    ark.post(f"{BYTEPLUS}{TASKS}").respond(
        400,
        json=error(
            "InvalidParameter",
            "The parameter `ratio` specified in the request is not valid.",
            "BadRequest",
            "ratio",
        ),
    )
    with pytest.raises(SeedanceRequestRejected) as info:
        client.submit(simple_request())
    assert info.value.error_type == "InvalidParameter"
    assert "(param: ratio)" in str(info.value)
    assert str(info.value).startswith("BytePlus ModelArk answered submit with HTTP 400 (InvalidParameter): ")


def test_a_sensitive_content_rejection_keeps_its_code(ark: respx.MockRouter, client: ClientFacade) -> None:
    ark.post(f"{BYTEPLUS}{TASKS}").respond(
        400,
        json=error(
            "InputImageSensitiveContentDetected",
            "The input image may contain sensitive content.",
            "BadRequest",
        ),
    )
    with pytest.raises(SeedanceRequestRejected) as info:
        client.submit(simple_request())
    assert info.value.error_type == "InputImageSensitiveContentDetected"


def test_rpm_exceeded_on_submit_is_retried_because_nothing_was_created(
    ark: respx.MockRouter, client: ClientFacade
) -> None:
    route = ark.post(f"{BYTEPLUS}{TASKS}").mock(
        side_effect=[
            respx.MockResponse(
                429,
                json=error(
                    "RateLimitExceeded.EndpointRPMExceeded", "Request rate limit exceeded.", "TooManyRequests"
                ),
            ),
            respx.MockResponse(200, json={"id": TASK_ID}),
        ]
    )
    assert client.submit(simple_request()).request_id == TASK_ID
    assert route.call_count == 2


def test_500_on_submit_is_ambiguous_and_sent_once(ark: respx.MockRouter, client: ClientFacade) -> None:
    route = ark.post(f"{BYTEPLUS}{TASKS}").respond(
        500,
        json=error(
            "InternalServiceError", "The service encountered an internal error.", "InternalServerError"
        ),
    )
    with pytest.raises(SeedanceAmbiguousSubmitError):
        client.submit(simple_request())
    assert route.call_count == 1


# -- status -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("queued", JobState.QUEUED),
        ("running", JobState.RUNNING),
        ("succeeded", JobState.SUCCEEDED),
        ("cancelled", JobState.CANCELLED),
    ],
)
def test_status_values_map_to_job_states(
    ark: respx.MockRouter, client: ClientFacade, raw: str, state: JobState
) -> None:
    ark.get(TASK_URL).respond(200, json=task(raw))
    status = client.status(REF)
    assert (status.state, status.raw_status, status.error) == (state, raw, None)


def test_failed_carries_the_error_code_and_message(ark: respx.MockRouter, client: ClientFacade) -> None:
    ark.get(TASK_URL).respond(
        200,
        json=task(
            "failed",
            error={
                "code": "InternalServiceError",
                "message": "The service encountered an unexpected internal error.",
            },
        ),
    )
    status = client.status(REF)  # moderation codes: tests/client/test_moderation.py
    assert (status.state, status.error, status.error_type) == (
        JobState.FAILED,
        "The service encountered an unexpected internal error.",
        "InternalServiceError",
    )


def test_expired_is_terminal_expired(ark: respx.MockRouter, client: ClientFacade) -> None:
    ark.get(TASK_URL).respond(200, json=task("expired", error={"code": "TaskExpired", "message": "too long"}))
    status = client.status(REF)
    assert (status.state, status.error_type) == (JobState.EXPIRED, "TaskExpired")
    assert status.is_terminal


def test_an_unknown_status_is_a_protocol_error_naming_it(ark: respx.MockRouter, client: ClientFacade) -> None:
    ark.get(TASK_URL).respond(200, json=task("paused"))
    with pytest.raises(SeedanceProtocolError, match=f"unknown status 'paused' for task {TASK_ID}"):
        client.status(REF)


def test_a_task_older_than_seven_days_is_not_found(ark: respx.MockRouter, client: ClientFacade) -> None:
    ark.get(TASK_URL).respond(
        404, json=error("ResourceNotFound", f"The specified task {TASK_ID} is not found.", "NotFound", "id")
    )
    with pytest.raises(SeedanceNotFoundError) as info:
        client.status(REF)
    assert info.value.error_type == "ResourceNotFound"


@pytest.mark.parametrize(("code", "ark_code"), [(401, "AuthenticationError"), (403, "AccountOverdueError")])
def test_auth_and_overdue_errors_point_at_the_key(
    ark: respx.MockRouter, client: ClientFacade, code: int, ark_code: str
) -> None:
    ark.get(TASK_URL).respond(
        code, json=error(ark_code, "The API key is missing or invalid.", "Unauthorized")
    )
    with pytest.raises(
        SeedanceAuthError, match=rf"BytePlus ModelArk rejected the API key \(HTTP {code}\) \({ark_code}\)"
    ):
        client.status(REF)


def test_rpm_exceeded_on_a_poll_is_a_rate_limit_error_after_retries(
    ark: respx.MockRouter, client: ClientFacade
) -> None:
    route = ark.get(TASK_URL).respond(
        429, json=error("RateLimitExceeded.EndpointRPMExceeded", "Slow down.", "TooManyRequests")
    )
    with pytest.raises(SeedanceRateLimitError) as info:
        client.status(REF)
    assert info.value.error_type == "RateLimitExceeded.EndpointRPMExceeded"
    assert route.call_count == 5


def test_a_transient_503_on_a_poll_is_retried(ark: respx.MockRouter, client: ClientFacade) -> None:
    ark.get(TASK_URL).mock(
        side_effect=[
            respx.MockResponse(503, json=error("ServiceUnavailable", "Busy.", "ServiceUnavailable")),
            respx.MockResponse(200, json=task("running")),
        ]
    )
    assert client.status(REF).state is JobState.RUNNING


def test_an_html_gateway_page_is_a_server_error(ark: respx.MockRouter, client: ClientFacade) -> None:
    ark.get(TASK_URL).respond(502, html="<html><body>502 Bad Gateway</body></html>")
    with pytest.raises(SeedanceServerError, match="non-JSON body"):
        client.status(REF)


# -- result -------------------------------------------------------------------------------------
def test_result_reads_the_video_url_and_seed_from_the_same_get(
    ark: respx.MockRouter, client: ClientFacade
) -> None:
    route = ark.get(TASK_URL).respond(
        200, json=task("succeeded", content={"video_url": VIDEO}, usage={"completion_tokens": 10})
    )
    result = client.result(REF)
    assert route.call_count == 1
    assert result.seed == 11
    assert result.video.model_dump() == mp4(VIDEO, "video.mp4")


def test_result_of_a_failed_task_is_job_failed(ark: respx.MockRouter, client: ClientFacade) -> None:
    ark.get(TASK_URL).respond(
        200, json=task("failed", error={"code": "InternalServiceError", "message": "boom"})
    )
    with pytest.raises(SeedanceJobFailed, match="boom") as info:
        client.result(REF)
    assert info.value.error_type == "InternalServiceError"


def test_result_of_a_queued_task_says_it_is_not_ready(ark: respx.MockRouter, client: ClientFacade) -> None:
    ark.get(TASK_URL).respond(200, json=task("queued"))
    with pytest.raises(SeedanceProtocolError, match="no result yet \\(status 'queued'\\)"):
        client.result(REF)


def test_succeeded_without_a_video_url_is_a_protocol_error(
    ark: respx.MockRouter, client: ClientFacade
) -> None:
    ark.get(TASK_URL).respond(200, json=task("succeeded", content={}))
    with pytest.raises(SeedanceProtocolError, match="gives no video URL"):
        client.result(REF)


# -- cancel -------------------------------------------------------------------------------------
def test_cancel_of_a_queued_task_is_requested(ark: respx.MockRouter, client: ClientFacade) -> None:
    ark.get(TASK_URL).respond(200, json=task("queued"))
    route = ark.delete(TASK_URL).respond(200, json={})
    assert client.cancel(REF) is CancelOutcome.REQUESTED
    assert route.call_count == 1


def test_cancel_of_a_running_task_is_refused_as_not_supported(
    ark: respx.MockRouter, client: ClientFacade
) -> None:
    ark.get(TASK_URL).respond(200, json=task("running"))
    ark.delete(TASK_URL).respond(
        400,
        json=error(
            "InvalidParameter.TaskStatus",
            f"The task {TASK_ID} cannot be cancelled or deleted in status 'running'.",
            "BadRequest",
            "id",
        ),
    )
    assert client.cancel(REF) is CancelOutcome.NOT_SUPPORTED


def test_cancel_refused_for_a_task_cancelled_meanwhile_is_already_finished(
    ark: respx.MockRouter, client: ClientFacade
) -> None:
    ark.get(TASK_URL).respond(200, json=task("queued"))  # cancelled between the read and the DELETE
    ark.delete(TASK_URL).respond(
        400,
        json=error(
            "InvalidParameter.TaskStatus",
            f"The task {TASK_ID} cannot be cancelled or deleted in status 'cancelled'.",
            "BadRequest",
            "id",
        ),
    )
    assert client.cancel(REF) is CancelOutcome.ALREADY_FINISHED


def test_cancel_of_an_unknown_task_is_not_found(ark: respx.MockRouter, client: ClientFacade) -> None:
    ark.get(TASK_URL).respond(404, json=error("ResourceNotFound", "not found", "NotFound"))
    delete = ark.delete(TASK_URL).respond(404, json=error("ResourceNotFound", "not found", "NotFound"))
    assert client.cancel(REF) is CancelOutcome.NOT_FOUND
    assert delete.call_count == 0


@pytest.mark.parametrize("state", ["succeeded", "failed", "expired", "cancelled"])
def test_cancel_never_deletes_a_finished_task(
    ark: respx.MockRouter, client: ClientFacade, state: str
) -> None:
    ark.get(TASK_URL).respond(200, json=task(state, content={"video_url": VIDEO}))
    delete = ark.delete(TASK_URL).respond(200, json={})
    assert client.cancel(REF) is CancelOutcome.ALREADY_FINISHED
    assert delete.call_count == 0


def test_the_cancel_plan_reads_the_task_before_the_delete_without_io() -> None:
    """Sans-I/O: the plan both transports run, decided from plain responses."""
    look, delete = get_dialect("byteplus").plan_cancel(REF).steps
    assert (look.op, look.call.method, look.call.url) == (Operation.STATUS, "GET", TASK_URL)
    assert (delete.op, delete.call.method, delete.call.url) == (Operation.CANCEL, "DELETE", TASK_URL)

    def answer(status: int, body: object) -> HttpResponse:
        return HttpResponse(status, {}, json.dumps(body).encode())

    assert look.decide(answer(200, task("queued"))) is None  # unfinished: go on to the DELETE
    assert look.decide(answer(200, task("succeeded"))) is CancelOutcome.ALREADY_FINISHED
    assert look.decide(answer(404, error("ResourceNotFound", "gone", "NotFound"))) is CancelOutcome.NOT_FOUND
    assert delete.decide(answer(200, {})) is CancelOutcome.REQUESTED


def test_cancel_with_a_rejected_key_raises(ark: respx.MockRouter, client: ClientFacade) -> None:
    ark.get(TASK_URL).respond(401, json=error("AuthenticationError", "bad key", "Unauthorized"))
    ark.delete(TASK_URL).respond(401, json=error("AuthenticationError", "bad key", "Unauthorized"))
    with pytest.raises(SeedanceAuthError):
        client.cancel(REF)


# -- probe, limits, job page --------------------------------------------------------------------
def test_probe_lists_one_task(ark: respx.MockRouter, client: ClientFacade) -> None:
    route = ark.get(f"{BYTEPLUS}{TASKS}", params={"page_num": "1", "page_size": "1"}).respond(
        200, json={"total": 0, "items": []}
    )
    client.probe()
    assert route.call_count == 1
    assert [c.request.method for c in ark.calls] == ["GET"]


def test_probe_with_a_rejected_key_is_an_auth_error(ark: respx.MockRouter, client: ClientFacade) -> None:
    ark.get(url__startswith=f"{BYTEPLUS}{TASKS}").respond(
        401, json=error("AuthenticationError", "The API key is invalid.", "Unauthorized")
    )
    with pytest.raises(SeedanceAuthError):
        client.probe()


@pytest.mark.parametrize("platform", ["byteplus", "volcengine"])
def test_1080p_is_sold_for_the_standard_tier_only(
    ark: respx.MockRouter, make_client: Callable[..., ClientFacade], platform: str
) -> None:
    base = REGIONS[platform][0]
    route = ark.post(f"{base}{TASKS}").respond(200, json={"id": TASK_ID})
    client = make_client(platform=platform)
    client.submit(simple_request(resolution="1080p"))
    with pytest.raises(SeedanceValidationError, match="480p, 720p only for the fast tier"):
        client.submit(simple_request(resolution="1080p", tier="fast"))
    assert route.call_count == 1


def test_no_job_page_is_known() -> None:
    assert get_dialect("byteplus").job_url(REF) is None
