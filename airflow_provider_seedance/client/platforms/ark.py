"""BytePlus ModelArk / Volcengine Ark dialect (ByteDance's own content generation task API).

One API, two regions that must not be mixed: ``byteplus`` talks to
``https://ark.ap-southeast.bytepluses.com`` with the ``dreamina-seedance-2-0[-fast]-260128``
models, ``volcengine`` to ``https://ark.cn-beijing.volces.com`` with
``doubao-seedance-2-0[-fast]-260128``. Each is a subclass that only sets those values.

Submit is ``POST {base}/api/v3/contents/generations/tasks`` with a ``content`` list (one text
item holding the prompt, then ``image_url`` / ``video_url`` / ``audio_url`` items with the roles
``reference_image`` / ``reference_video`` / ``reference_audio``), ``ratio`` (``auto`` ->
``adaptive``), ``resolution``, an integer ``duration`` (``auto`` -> ``-1``), ``generate_audio``,
``seed``, ``watermark: false`` and, when ``end_user_id`` is set, ``safety_identifier``; the
answer is ``{"id": "cgt-..."}``. Status and result are the same ``GET .../tasks/{id}``
(``queued`` / ``running`` / ``succeeded`` / ``failed`` / ``expired`` / ``cancelled``,
``content.video_url``, ``error {code, message}``, ``seed``).

Cancel is ``DELETE .../tasks/{id}``, whose effect depends on the task's state: a queued task is
cancelled (REQUESTED); a running or already cancelled task is refused with HTTP 400 (reported
as NOT_SUPPORTED, resp. ALREADY_FINISHED; a running task keeps running and is billed); a
finished task's *record is deleted*. The dialect is sans-I/O and cannot look before it
deletes, so cancel is meant for jobs believed unfinished, which is how the operator, the
trigger and the sensor use it (on kill or deadline, after a non-terminal poll).

Only 480p/720p/1080p are sold, 1080p not on the fast tier. Error bodies are ``{"error":
{"code", "message", "param", "type"}}``; ``code`` (``AuthenticationError``,
``RateLimitExceeded.EndpointRPMExceeded``, ...) becomes the error type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from airflow_provider_seedance.client.models import (
    RESOLUTIONS,
    CancelOutcome,
    JobRef,
    JobResult,
    JobState,
    JobStatus,
    ReferenceToVideoRequest,
)
from airflow_provider_seedance.client.platforms.base import (
    Dialect,
    HttpRequest,
    HttpResponse,
    Operation,
    message_with_param,
)

TASKS_PATH = "/api/v3/contents/generations/tasks"
_MEDIA_ITEMS = (
    ("image_urls", "image_url", "reference_image"),
    ("video_urls", "video_url", "reference_video"),
    ("audio_urls", "audio_url", "reference_audio"),
)
_STATES = {
    "queued": JobState.QUEUED,
    "running": JobState.RUNNING,
    "succeeded": JobState.SUCCEEDED,
    "failed": JobState.FAILED,
    "expired": JobState.EXPIRED,
    "cancelled": JobState.CANCELLED,
    "canceled": JobState.CANCELLED,
}
_EXPECTED = "queued, running, succeeded, failed, expired or cancelled"

#: "... cannot be cancelled or deleted in status 'cancelled'": the refusal names the state.
_IN_CANCELLED_STATE = re.compile(r"status\W{0,3}cancel{1,2}ed", re.IGNORECASE)


def wire_duration(duration: str) -> int:
    """``"auto"`` -> -1 (the model decides), ``"8"`` -> 8."""
    return -1 if duration == "auto" else int(duration)


class ArkDialect(Dialect):
    """ModelArk / Ark content generation tasks; subclasses pick the region and model ids."""

    name: ClassVar[str] = "ark"
    label: ClassVar[str] = "Ark"
    default_base_url: ClassVar[str] = "https://ark.ap-southeast.bytepluses.com"
    #: Model id per tier (an ``ep-...`` endpoint id would also be accepted by Ark).
    models: ClassVar[Mapping[str, str]] = {
        "standard": "dreamina-seedance-2-0-260128",
        "fast": "dreamina-seedance-2-0-fast-260128",
    }
    resolutions: ClassVar[tuple[str, ...]] = RESOLUTIONS
    tier_resolutions: ClassVar[Mapping[str, tuple[str, ...]]] = {"fast": ("480p", "720p")}
    # DELETE on a succeeded/failed task deletes its record: a later retry could not find it and
    # would pay for a new job. Only send it for a task the platform still reports unfinished.
    check_status_before_cancel: ClassVar[bool] = True

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}

    def _task_url(self, ref: JobRef) -> str:
        return f"{self.base_url}{TASKS_PATH}/{ref.request_id}"

    # -- submit --------------------------------------------------------------------------
    def build_submit(self, request: ReferenceToVideoRequest) -> HttpRequest:
        content: list[dict[str, Any]] = [{"type": "text", "text": request.prompt}]
        for field, kind, role in _MEDIA_ITEMS:
            for url in getattr(request, field):
                content.append({"type": kind, kind: {"url": url}, "role": role})
        body: dict[str, Any] = {
            "model": self.models[request.tier],
            "content": content,
            "ratio": "adaptive" if request.aspect_ratio == "auto" else request.aspect_ratio,
            "resolution": request.resolution,
            "duration": wire_duration(request.duration),
            "generate_audio": request.generate_audio,
            "watermark": False,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.end_user_id is not None:
            body["safety_identifier"] = request.end_user_id
        return HttpRequest("POST", f"{self.base_url}{TASKS_PATH}", json=body)

    def parse_submit(self, request: ReferenceToVideoRequest, response: HttpResponse) -> JobRef:
        data = self.submitted_data(response)
        task_id = self.require_job_id(
            data.get("id"), response, field="task id", where="the account's task list"
        )
        return JobRef(platform=self.name, request_id=task_id, tier=request.tier)

    # -- status --------------------------------------------------------------------------
    def build_status(self, ref: JobRef) -> HttpRequest:
        return HttpRequest("GET", self._task_url(ref))

    def _status_from(
        self, ref: JobRef, response: HttpResponse, op: Operation
    ) -> tuple[JobStatus, dict[str, Any]]:
        data, raw, state = self.status_body(
            ref, response, op, states=_STATES, noun="task", expected=_EXPECTED
        )
        error = data.get("error")
        message = code = None
        if isinstance(error, dict) and state is not JobState.SUCCEEDED:
            message = str(error["message"]) if error.get("message") else None
            code = str(error["code"]) if error.get("code") else None
        status = JobStatus(
            request_id=ref.request_id, state=state, raw_status=raw, error=message, error_type=code
        )
        return status, data

    def parse_status(self, ref: JobRef, response: HttpResponse) -> JobStatus:
        return self._status_from(ref, response, Operation.STATUS)[0]

    # -- result (the same GET) -----------------------------------------------------------
    def build_result(self, ref: JobRef) -> HttpRequest:
        return HttpRequest("GET", self._task_url(ref))

    def parse_result(self, ref: JobRef, response: HttpResponse) -> JobResult:
        status, data = self._status_from(ref, response, Operation.RESULT)
        content = data.get("content")
        url = content.get("video_url") if isinstance(content, dict) else None
        return self.video_result(ref, status, response, url, data.get("seed"))

    # -- cancel --------------------------------------------------------------------------
    def build_cancel(self, ref: JobRef) -> HttpRequest:
        return HttpRequest("DELETE", self._task_url(ref))

    def parse_cancel(self, ref: JobRef, response: HttpResponse) -> CancelOutcome:
        code = response.status_code
        if 200 <= code < 300:
            return CancelOutcome.REQUESTED
        if code == 404:
            return CancelOutcome.NOT_FOUND
        if code in (400, 409):
            # Refused because of the task's state: running (cannot be stopped) or cancelled.
            detail, _ = self.error_details(response)
            if detail is not None and _IN_CANCELLED_STATE.search(detail):
                return CancelOutcome.ALREADY_FINISHED
            return CancelOutcome.NOT_SUPPORTED
        raise self.error_from_response(Operation.CANCEL, response)

    # -- probe ---------------------------------------------------------------------------
    def build_probe(self) -> HttpRequest:
        """List one task: 200 with a good key, 401 with a bad one; creates nothing."""
        return HttpRequest("GET", f"{self.base_url}{TASKS_PATH}", params={"page_num": "1", "page_size": "1"})

    # -- errors --------------------------------------------------------------------------
    def error_details(self, response: HttpResponse) -> tuple[str | None, str | None]:
        """``{"error": {"code", "message", "param", "type"}}``; ``code`` is the error type."""
        data = response.json_or_none()
        if not isinstance(data, dict):
            return None, None
        error = data.get("error")
        if isinstance(error, str) and error:
            return error, None
        if not isinstance(error, dict):
            return None, None
        code = error.get("code") or error.get("type")
        return message_with_param(error), str(code) if code else None


class BytePlusArkDialect(ArkDialect):
    """BytePlus ModelArk (international, ``ap-southeast``)."""

    name: ClassVar[str] = "byteplus"
    label: ClassVar[str] = "BytePlus ModelArk"
    default_base_url: ClassVar[str] = "https://ark.ap-southeast.bytepluses.com"
    models: ClassVar[Mapping[str, str]] = {
        "standard": "dreamina-seedance-2-0-260128",
        "fast": "dreamina-seedance-2-0-fast-260128",
    }


class VolcengineArkDialect(ArkDialect):
    """Volcengine Ark (China, ``cn-beijing``)."""

    name: ClassVar[str] = "volcengine"
    label: ClassVar[str] = "Volcengine Ark"
    default_base_url: ClassVar[str] = "https://ark.cn-beijing.volces.com"
    models: ClassVar[Mapping[str, str]] = {
        "standard": "doubao-seedance-2-0-260128",
        "fast": "doubao-seedance-2-0-fast-260128",
    }
