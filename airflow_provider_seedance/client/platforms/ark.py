"""BytePlus ModelArk / Volcengine Ark dialect (ByteDance's own content generation task API).

One API, two regions that must not be mixed: ``byteplus`` talks to
``https://ark.ap-southeast.bytepluses.com`` with the ``dreamina-seedance-2-0[-fast]-260128``
models, ``volcengine`` to ``https://ark.cn-beijing.volces.com`` with
``doubao-seedance-2-0[-fast]-260128``. Each is a subclass that only sets those values.

One model serves every mode; the ``content`` list says which. Submit is ``POST
{base}/api/v3/contents/generations/tasks`` with a ``content`` list: one text item holding the
prompt (its ``@Image1`` references written ``Image 1``, as Ark's documentation does), then for
reference-to-video ``image_url`` / ``video_url`` / ``audio_url`` items with the roles
``reference_image`` / ``reference_video`` / ``reference_audio``, for image-to-video an
``image_url`` item with the role ``first_frame`` and optionally one with ``last_frame``, for
text-to-video nothing more. The two families of roles are never mixed in one request (Ark
rejects that; each request model holds one family only). ``ratio`` (``auto`` ->
``adaptive``), ``resolution``, an integer ``duration`` (``auto`` -> ``-1``), ``generate_audio``,
``seed``, ``watermark: false`` and, when ``end_user_id`` is set, ``safety_identifier``; the
answer is ``{"id": "cgt-..."}``. Status and result are the same ``GET .../tasks/{id}``
(``queued`` / ``running`` / ``succeeded`` / ``failed`` / ``expired`` / ``cancelled``,
``content.video_url``, ``error {code, message}``, ``seed``).

Cancel is ``DELETE .../tasks/{id}``, whose effect depends on the task's state: a queued task is
cancelled (REQUESTED); a running or already cancelled task is refused with HTTP 400 (reported
as NOT_SUPPORTED, resp. ALREADY_FINISHED; a running task keeps running and is billed); a
finished task's *record is deleted*. So the dialect sets ``check_status_before_cancel``: the
client's cancel plan (``cancel.py``) reads the task first and sends the DELETE only while Ark
still reports it unfinished (a task that is gone is NOT_FOUND, a finished one ALREADY_FINISHED).
Only a task that finishes between that read and the DELETE can still lose its record.

Only 480p/720p/1080p are sold, 1080p not on the fast tier. The model ids can be overridden per
connection (``model_overrides``: a tier, or ``"<mode>/<tier>"``, -> a model id or an ``ep-...``
endpoint id). Error bodies are ``{"error":
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
    JobState,
    JobStatus,
    SeedanceRequest,
)
from airflow_provider_seedance.client.platforms.base import Catalog, every_mode
from airflow_provider_seedance.client.platforms.http import HttpRequest, HttpResponse, Operation
from airflow_provider_seedance.client.platforms.json_fields import openai_error
from airflow_provider_seedance.client.platforms.prompt_refs import ReferenceStyle
from airflow_provider_seedance.client.platforms.task import TaskDialect, task_states

TASKS_PATH = "/api/v3/contents/generations/tasks"
#: Our media inputs -> Ark's content item type and role (one family per mode, never mixed).
_MEDIA_ITEMS = {
    "image_urls": ("image_url", "reference_image"),
    "video_urls": ("video_url", "reference_video"),
    "audio_urls": ("audio_url", "reference_audio"),
    "image_url": ("image_url", "first_frame"),
    "end_image_url": ("image_url", "last_frame"),
}

#: "... cannot be cancelled or deleted in status 'cancelled'": the refusal names the state.
_IN_CANCELLED_STATE = re.compile(r"status\W{0,3}cancel{1,2}ed", re.IGNORECASE)


class ArkDialect(TaskDialect):
    """ModelArk / Ark content generation tasks; subclasses pick the region and model ids."""

    #: Model id per tier (an ``ep-...`` endpoint id would also be accepted by Ark).
    models: ClassVar[Mapping[str, str]]
    catalog: ClassVar[Catalog] = every_mode({"standard": RESOLUTIONS, "fast": ("480p", "720p")})
    reference_style: ClassVar[ReferenceStyle] = ReferenceStyle.SPACED
    supports_model_overrides: ClassVar[bool] = True
    # DELETE on a succeeded/failed task deletes its record: a later retry could not find it and
    # would pay for a new job. The cancel plan reads the status first and sends the DELETE only
    # for a task the platform still reports unfinished.
    check_status_before_cancel: ClassVar[bool] = True
    auto_aspect_ratio: ClassVar[str] = "adaptive"
    integer_duration: ClassVar[bool] = True
    task_path: ClassVar[str] = TASKS_PATH
    states, expected_states = task_states(
        "queued", "running", "succeeded", "failed", expired=JobState.EXPIRED, cancelled=JobState.CANCELLED
    )
    job_list: ClassVar[str] = "the account's task list"
    request_id_shape: ClassVar[str] = "a task id like cgt-20260405024433-sbj8r"
    #: The SDKs' ``BASE_URL`` is ``https://ark.<region>.../api/v3``; the dialect adds ``/api/v3``.
    sdk_base_suffixes: ClassVar[tuple[str, ...]] = ("/api/v3",)

    # -- submit --------------------------------------------------------------------------
    def build_submit(self, request: SeedanceRequest) -> HttpRequest:
        content: list[dict[str, Any]] = [{"type": "text", "text": self.wire_prompt(request.prompt)}]
        for field, value in request.media_inputs().items():
            kind, role = _MEDIA_ITEMS[field]
            for url in value if isinstance(value, list) else [value]:
                content.append({"type": kind, kind: {"url": url}, "role": role})
        body: dict[str, Any] = {
            "model": self.model_id(request.mode, request.tier, self.models[request.tier]),
            "content": content,
            "ratio": self.wire_aspect_ratio(request.aspect_ratio),
            "resolution": request.resolution,
            "duration": self.wire_duration(request.duration),
            "generate_audio": request.generate_audio,
            "watermark": False,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.end_user_id is not None:
            body["safety_identifier"] = request.end_user_id
        return HttpRequest("POST", f"{self.base_url}{TASKS_PATH}", json=body)

    # -- status and result (the same GET) ------------------------------------------------
    def task_status(self, ref: JobRef, data: dict[str, Any], raw: str, state: JobState) -> JobStatus:
        error = data.get("error")
        message = code = None
        if isinstance(error, dict) and state is not JobState.SUCCEEDED:
            message = str(error["message"]) if error.get("message") else None
            code = str(error["code"]) if error.get("code") else None
            if state is JobState.FAILED:
                message, code = self.failure(message, code)
        return JobStatus(
            request_id=ref.request_id, state=state, raw_status=raw, error=message, error_type=code
        )

    def video_url(self, data: dict[str, Any]) -> object:
        content = data.get("content")
        return content.get("video_url") if isinstance(content, dict) else None

    # -- cancel (DELETE on the task, after the cancel plan's look) ------------------------
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

    def probe_answer_ok(self, data: object) -> bool:
        """The task list: ``{"total", "items"}`` (a 404 is always a missing route here)."""
        return isinstance(data, dict) and isinstance(data.get("items"), list)

    # -- errors --------------------------------------------------------------------------
    def error_details(self, response: HttpResponse) -> tuple[str | None, str | None]:
        """``{"error": {"code", "message", "param", "type"}}``; ``code`` is the error type."""
        message, error = openai_error(response.json_or_none())
        code = error.get("code") or error.get("type") if error is not None else None
        return message, str(code) if code else None


def _model_ids(family: str) -> Mapping[str, str]:
    """The Seedance 2.0 model ids by tier: both regions publish ``<family>-seedance-2-0[-fast]-260128``."""
    return {"standard": f"{family}-seedance-2-0-260128", "fast": f"{family}-seedance-2-0-fast-260128"}


class BytePlusArkDialect(ArkDialect):
    """BytePlus ModelArk (international, ``ap-southeast``): the ``dreamina`` model family."""

    name: ClassVar[str] = "byteplus"
    label: ClassVar[str] = "BytePlus ModelArk"
    default_base_url: ClassVar[str] = "https://ark.ap-southeast.bytepluses.com"
    models: ClassVar[Mapping[str, str]] = _model_ids("dreamina")


class VolcengineArkDialect(ArkDialect):
    """Volcengine Ark (China, ``cn-beijing``): the ``doubao`` model family."""

    name: ClassVar[str] = "volcengine"
    label: ClassVar[str] = "Volcengine Ark"
    default_base_url: ClassVar[str] = "https://ark.cn-beijing.volces.com"
    models: ClassVar[Mapping[str, str]] = _model_ids("doubao")
