"""Content-moderation refusals become one non-retryable error class (issue 10, moderation).

Ark refuses sensitive content with ``*SensitiveContentDetected*`` codes on submit (HTTP 400) or
on a failed task's ``error.code``; fal's ``content_policy_violation`` 422 shows up only when the
result is fetched; Oxen reports a late ``failed`` generation whose message shows the refusal.
Each is a :class:`SeedanceContentRejected` (one class to catch) naming the refused input where
the platform says, sent once and never retried; a moderated failed job's status carries
``error_type="content_rejected"`` so the operator fails it without a retry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import respx

from airflow_provider_seedance.client.errors import (
    CONTENT_REJECTED,
    SeedanceAmbiguousSubmitError,
    SeedanceContentRejected,
    SeedanceJobContentRejected,
    SeedanceJobFailed,
    SeedanceRequestRejected,
    SeedanceSubmitContentRejected,
)
from airflow_provider_seedance.client.models import JobRef, JobState
from tests.client.helpers import (
    REQUEST_ID,
    REQUESTS_URL,
    STANDARD_URL,
    STATUS_URL,
    ClientFacade,
    simple_request,
)

ARK = "https://ark.ap-southeast.bytepluses.com/api/v3/contents/generations/tasks"
ARK_ID = "cgt-20260405024433-sbj8r"
OXEN_ID = "5b0d4c8e-2f1a-4d6b-9c3e-7a8f9e0d1c2b"
OXEN = f"https://hub.oxen.ai/api/ai/queue/{OXEN_ID}"
HUB_ID = "task-unified-1757165031-uyujaw3d"
HUB = "https://api.aihubmax.com/v1"


def ark_error(code: str, message: str) -> dict[str, Any]:
    return {
        "error": {"code": code, "message": f"{message} Request id: 0217", "param": "", "type": "BadRequest"}
    }


# -- Ark: on submit and on the task ----------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "refused"),
    [
        ("InputTextSensitiveContentDetected", "prompt"),
        ("InputImageSensitiveContentDetected", "image"),
        ("InputVideoSensitiveContentDetected", "video"),
        ("InputAudioSensitiveContentDetected", "audio"),
        ("SensitiveContentDetected", None),
        ("SensitiveContentDetected.SevereViolation", None),
        ("SensitiveContentDetected.Violence", None),
    ],
)
def test_ark_refusal_on_submit_is_content_rejected_sent_once(
    make_client: Callable[..., ClientFacade], code: str, refused: str | None
) -> None:
    with respx.mock() as router:
        route = router.post(ARK).respond(
            400,
            json=ark_error(code, "The request failed because the input may contain sensitive information."),
        )
        with pytest.raises(SeedanceContentRejected) as caught:
            make_client(platform="byteplus").submit(simple_request())
    exc = caught.value
    assert isinstance(exc, SeedanceSubmitContentRejected)
    assert isinstance(exc, SeedanceRequestRejected)
    assert not isinstance(exc, SeedanceAmbiguousSubmitError)
    assert not exc.retryable
    assert exc.refused_input == refused
    assert exc.platform_code == code
    assert code in str(exc)
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("code", "refused"),
    [("InputImageSensitiveContentDetected", "image"), ("OutputVideoSensitiveContentDetected", None)],
)
def test_ark_task_failed_for_its_content_is_content_rejected(
    make_client: Callable[..., ClientFacade], code: str, refused: str | None
) -> None:
    body = {
        "id": ARK_ID,
        "status": "failed",
        "error": {"code": code, "message": "The content may contain sensitive information."},
    }
    client = make_client(platform="byteplus")
    ref = JobRef(platform="byteplus", request_id=ARK_ID)
    with respx.mock() as router:
        router.get(f"{ARK}/{ARK_ID}").respond(200, json=body)
        status = client.status(ref)
        with pytest.raises(SeedanceContentRejected) as caught:
            client.result(ref)
    assert status.state is JobState.FAILED
    assert status.error_type == CONTENT_REJECTED
    assert code in (status.error or "")
    assert isinstance(caught.value, SeedanceJobContentRejected)
    assert isinstance(caught.value, SeedanceJobFailed)
    assert caught.value.refused_input == refused
    assert caught.value.request_id == ARK_ID


def test_an_ordinary_ark_failure_is_not_content_rejected(make_client: Callable[..., ClientFacade]) -> None:
    body = {"id": ARK_ID, "status": "failed", "error": {"code": "InternalServiceError", "message": "boom"}}
    with respx.mock() as router:
        router.get(f"{ARK}/{ARK_ID}").respond(200, json=body)
        status = make_client(platform="byteplus").status(JobRef(platform="byteplus", request_id=ARK_ID))
    assert status.error_type == "InternalServiceError"


def test_an_ordinary_ark_400_is_a_plain_rejection(make_client: Callable[..., ClientFacade]) -> None:
    with respx.mock() as router:
        router.post(ARK).respond(400, json=ark_error("InvalidParameter", "duration is invalid"))
        with pytest.raises(SeedanceRequestRejected) as caught:
            make_client(platform="byteplus").submit(simple_request())
    assert not isinstance(caught.value, SeedanceContentRejected)


# -- fal: the 422 that only appears when the result is fetched --------------------------------
def fal_policy(loc: list[Any]) -> dict[str, Any]:
    return {
        "detail": [
            {
                "loc": loc,
                "msg": "The content was flagged by a content checker.",
                "type": "content_policy_violation",
                "url": "https://docs.fal.ai/errors#content_policy_violation",
                "input": "the flagged input",
                "categories": ["violence"],
            }
        ]
    }


@pytest.mark.parametrize(
    ("loc", "refused"),
    [
        (["body", "prompt"], "prompt"),
        (["body", "image_urls", 0], "image"),
        (["body", "video_urls", 1], "video"),
        (["body", "audio_urls"], "audio"),
        (["body"], None),
    ],
)
def test_fal_policy_422_on_the_result_is_a_job_content_rejection_fetched_once(
    client: ClientFacade, loc: list[Any], refused: str | None
) -> None:
    with respx.mock() as router:
        router.get(STATUS_URL).respond(200, json={"status": "COMPLETED", "logs": []})
        result = router.get(REQUESTS_URL).respond(
            422, json=fal_policy(loc), headers={"x-fal-retryable": "false"}
        )
        ref = client.job_ref(REQUEST_ID)
        assert client.status(ref).state is JobState.SUCCEEDED  # fal says nothing until the result
        with pytest.raises(SeedanceContentRejected) as caught:
            client.result(ref)
    assert isinstance(caught.value, SeedanceJobContentRejected)
    assert caught.value.refused_input == refused
    assert caught.value.platform_code == "content_policy_violation"
    assert "the flagged input" not in str(caught.value)  # the platform echoes the input: not logged
    assert result.call_count == 1


def test_fal_policy_422_on_submit_is_a_submit_content_rejection(client: ClientFacade) -> None:
    with respx.mock() as router:
        route = router.post(STANDARD_URL).respond(422, json=fal_policy(["body", "prompt"]))
        with pytest.raises(SeedanceSubmitContentRejected) as caught:
            client.submit(simple_request())
    assert caught.value.refused_input == "prompt"
    assert route.call_count == 1


def test_an_ordinary_fal_422_on_the_result_is_not_content_rejected(client: ClientFacade) -> None:
    body = {"detail": [{"loc": ["body", "duration"], "msg": "bad", "type": "value_error"}]}
    with respx.mock() as router:
        router.get(REQUESTS_URL).respond(422, json=body)
        with pytest.raises(SeedanceRequestRejected) as caught:
            client.result(client.job_ref(REQUEST_ID))
    assert not isinstance(caught.value, SeedanceContentRejected)


# -- Oxen and AIHubMax: late failed jobs whose message shows the refusal --------------------------
@pytest.mark.parametrize(
    ("message", "refused"),
    [
        (
            "Getting model response error: 422 - {'detail': [{'loc': ['body', 'prompt'], "
            "'msg': 'The content was flagged by a content checker.', "
            "'type': 'content_policy_violation'}]}",
            "prompt",
        ),
        ("Getting model response error: 400 - InputImageSensitiveContentDetected: sensitive", "image"),
        ("The request was rejected by the content moderation system", None),
        ("Your input_videos violate our content policy", "video"),
    ],
)
def test_oxen_failed_generation_refused_for_content(
    make_client: Callable[..., ClientFacade], message: str, refused: str | None
) -> None:
    body = {"generation_id": OXEN_ID, "status": "failed", "error_message": message}
    client = make_client(platform="oxen")
    ref = JobRef(platform="oxen", request_id=OXEN_ID)
    with respx.mock() as router:
        router.get(OXEN).respond(200, json=body)
        status = client.status(ref)
        with pytest.raises(SeedanceJobContentRejected) as caught:
            client.result(ref)
    assert status.error_type == CONTENT_REJECTED
    assert caught.value.refused_input == refused


@pytest.mark.parametrize(
    "message",
    [
        "Getting model response error: 422 - Value error, duration must be 4..15",
        "Upstream timeout",
        "Video too long",
    ],
)
def test_oxen_ordinary_failures_are_not_content_rejected(
    make_client: Callable[..., ClientFacade], message: str
) -> None:
    body = {"generation_id": OXEN_ID, "status": "failed", "error_message": message}
    with respx.mock() as router:
        router.get(OXEN).respond(200, json=body)
        status = make_client(platform="oxen").status(JobRef(platform="oxen", request_id=OXEN_ID))
    assert status.error_type != CONTENT_REJECTED


def test_aihubmax_failed_task_and_submit_refused_for_content(
    make_client: Callable[..., ClientFacade],
) -> None:
    client = make_client(platform="aihubmax")
    ref = JobRef(platform="aihubmax", request_id=HUB_ID)
    failed = {
        "id": HUB_ID,
        "status": "failed",
        "error": {"code": "InputTextSensitiveContentDetected", "message": "sensitive"},
    }
    refused = {
        "error": {
            "code": "content_policy_violation",
            "message": "The prompt was flagged by moderation",
            "type": "invalid_request_error",
        }
    }
    with respx.mock() as router:
        router.get(f"{HUB}/tasks/{HUB_ID}").respond(200, json=failed)
        router.post(f"{HUB}/videos/generations").respond(400, json=refused)
        assert client.status(ref).error_type == CONTENT_REJECTED
        with pytest.raises(SeedanceJobContentRejected) as job:
            client.result(ref)
        with pytest.raises(SeedanceSubmitContentRejected) as submit:
            client.submit(simple_request())
    assert job.value.refused_input == "prompt"
    assert submit.value.refused_input == "prompt"
