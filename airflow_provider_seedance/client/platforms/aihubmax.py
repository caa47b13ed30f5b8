"""AIHubMax dialect (EvoLink "unified task" API) for ``seedance-2.0[-fast]-{reference,image}-to-video``.

AIHubMax documents reference-to-video and image-to-video (standard and fast) for Seedance 2.0;
it documents no text-to-video, which :meth:`~.base.Dialect.check` therefore refuses naming the
platform and the mode. Submit is ``POST {base}/v1/videos/generations`` with a flat body under
the model's names (``image_urls`` / ``video_urls`` / ``audio_urls``; ``image_url`` and
``end_image_url`` for image-to-video), except that ``aspect_ratio`` ``auto`` is
spelled ``adaptive`` and ``duration`` is an integer (``auto`` -> ``-1``, "model decides"); the
answer is a task object whose ``id`` looks like ``task-unified-<unix>-<8 chars>``. Status and
result are the same ``GET {base}/v1/tasks/{id}``: ``pending`` / ``processing`` / ``completed`` /
``failed``, ``progress`` 0..100, ``results`` (URLs, or ``{"url": ...}`` objects), ``error``
``{code, message, type}``.

Quirk: ``completed`` can arrive with ``results`` null or empty (and ``progress`` < 100); that is
not terminal, it is reported as RUNNING and polled again. There is no cancel endpoint
(``task_info.can_cancel`` notwithstanding): :meth:`build_cancel` returns None and the client
reports NOT_SUPPORTED. Only 480p and 720p are sold. Links expire after 24 h; the file size and
the seed used are not reported. Error bodies are ``{"error": {"code", "message", "type",
"param"}}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_seedance.client.models import (
    CancelOutcome,
    JobRef,
    JobState,
    JobStatus,
    Mode,
    SeedanceRequest,
)
from airflow_provider_seedance.client.platforms.http import HttpRequest, HttpResponse
from airflow_provider_seedance.client.platforms.json_fields import message_with_param, nonempty_str
from airflow_provider_seedance.client.platforms.task import TaskDialect

if TYPE_CHECKING:
    from airflow_provider_seedance.client.platforms.base import Catalog

_TASK_NOT_FOUND = re.compile(r"\btask\b[^.]*\b(not found|not exist|does not exist)", re.IGNORECASE)
#: The modes AIHubMax documents (docs/platforms.md): (mode, tier) -> model id.
SOLD = (Mode.REFERENCE_TO_VIDEO, Mode.IMAGE_TO_VIDEO)
MODELS: dict[tuple[Mode, str], str] = {
    (mode, tier): f"seedance-2.0-{'fast-' if tier == 'fast' else ''}{mode.value}"
    for mode in SOLD
    for tier in ("standard", "fast")
}
SUBMIT_PATH = "/v1/videos/generations"
TASKS_PATH = "/v1/tasks"


def first_result_url(results: object) -> str | None:
    """``results[0]`` as a URL: a string, or an object with ``url``; None when there is none."""
    if not isinstance(results, list) or not results:
        return None
    first = results[0]
    if isinstance(first, dict):
        first = first.get("url")
    return first if isinstance(first, str) and first else None


class AIHubMaxDialect(TaskDialect):
    """AIHubMax unified tasks."""

    name: ClassVar[str] = "aihubmax"
    label: ClassVar[str] = "AIHubMax"
    default_base_url: ClassVar[str] = "https://api.aihubmax.com"
    catalog: ClassVar[Catalog] = {
        mode: {"standard": ("480p", "720p"), "fast": ("480p", "720p")} for mode in SOLD
    }
    auto_aspect_ratio: ClassVar[str] = "adaptive"
    integer_duration: ClassVar[bool] = True
    task_path: ClassVar[str] = TASKS_PATH
    states: ClassVar[Mapping[str, JobState]] = {
        "pending": JobState.QUEUED,
        "processing": JobState.RUNNING,
        "completed": JobState.SUCCEEDED,
        "failed": JobState.FAILED,
        # not in the seed's enum, but EvoLink callbacks fire on it: accept rather than fail the wait
        "cancelled": JobState.CANCELLED,
        "canceled": JobState.CANCELLED,
    }
    # the documented names, without the cancel ones
    expected_states: ClassVar[str] = "pending, processing, completed or failed"
    job_list: ClassVar[str] = "the AIHubMax task list"
    probe_id: ClassVar[str] = "task-unified-0-00000000"
    request_id_shape: ClassVar[str] = "a task id like task-unified-1757165031-uyujaw3d"
    #: OpenAI-style SDKs spell the base ``https://api.aihubmax.com/v1``; the dialect adds ``/v1``.
    sdk_base_suffixes: ClassVar[tuple[str, ...]] = ("/v1",)
    cancel_method: ClassVar[str | None] = None  # no cancel endpoint: the client reports NOT_SUPPORTED

    # -- submit --------------------------------------------------------------------------
    def build_submit(self, request: SeedanceRequest) -> HttpRequest:
        body: dict[str, Any] = {
            "model": MODELS[request.mode, request.tier],
            "prompt": self.wire_prompt(request.prompt),
            **request.media_inputs(),  # the model's names: image_urls..., image_url, end_image_url
        }
        body["resolution"] = request.resolution
        body["aspect_ratio"] = self.wire_aspect_ratio(request.aspect_ratio)
        body["duration"] = self.wire_duration(request.duration)
        body["generate_audio"] = request.generate_audio
        if request.seed is not None:  # -1 = "auto-generated by model", as documented
            body["seed"] = request.seed
        return HttpRequest("POST", f"{self.base_url}{SUBMIT_PATH}", json=body)

    # -- status and result (the same GET) ------------------------------------------------
    def task_status(self, ref: JobRef, data: dict[str, Any], raw: str, state: JobState) -> JobStatus:
        if state is JobState.SUCCEEDED and self.video_url(data) is None:
            state = JobState.RUNNING  # "completed" before the results are filled in: poll again
        progress = data.get("progress")
        error, error_type = (
            _task_error(data.get("error")) if state is not JobState.SUCCEEDED else (None, None)
        )
        if state is JobState.FAILED:
            error, error_type = self.failure(error, error_type)
        return JobStatus(
            request_id=ref.request_id,
            state=state,
            raw_status=raw,
            progress=float(progress)
            if isinstance(progress, int | float) and not isinstance(progress, bool)
            else None,
            error=error,
            error_type=error_type,
        )

    def video_url(self, data: dict[str, Any]) -> str | None:
        return first_result_url(data.get("results"))

    def video_seed(self, data: dict[str, Any]) -> object:
        return None  # the seed used is not reported

    # -- cancel: not offered -------------------------------------------------------------
    def parse_cancel(self, ref: JobRef, response: HttpResponse) -> CancelOutcome:
        return CancelOutcome.NOT_SUPPORTED

    # -- probe ---------------------------------------------------------------------------
    def probe_answer_ok(self, data: object) -> bool:
        """A task object (the all-zero task would have to exist)."""
        return isinstance(data, dict) and isinstance(data.get("status"), str)

    def is_unknown_job(self, data: object) -> bool:
        """The gateway's "task not found" error, not its generic route miss ("Invalid URL")."""
        error = data.get("error") if isinstance(data, dict) else None
        if not isinstance(error, dict):
            return False
        if error.get("param") in ("task_id", "id"):
            return True
        code = error.get("code")
        if isinstance(code, str) and code.lower() in ("task_not_found", "not_found_task"):
            return True
        message = error.get("message")
        return isinstance(message, str) and bool(_TASK_NOT_FOUND.search(message))

    # -- errors --------------------------------------------------------------------------
    def error_details(self, response: HttpResponse) -> tuple[str | None, str | None]:
        """``{"error": {"code", "message", "type", "param"}}``; a string ``code`` beats ``type``."""
        data = response.json_or_none()
        if not isinstance(data, dict):
            return None, None
        error = data.get("error")
        if isinstance(error, str) and error:
            return error, None
        if not isinstance(error, dict):
            return nonempty_str(data.get("message")), None
        return message_with_param(error), nonempty_str(error.get("code")) or nonempty_str(error.get("type"))


def _task_error(error: object) -> tuple[str | None, str | None]:
    """A failed task's ``error``: ``{code, message[, type]}`` (a string code), or a bare string."""
    if isinstance(error, str):
        return error or None, None
    if not isinstance(error, dict):
        return None, None
    message = error.get("message")
    code = error.get("code")
    return (
        str(message) if message else None,
        str(code) if code not in (None, "") else None,
    )
