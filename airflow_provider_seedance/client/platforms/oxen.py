"""Oxen.ai inference API dialect (``bytedance-seedance-2-0[-fast]-reference-to-video``).

Submit is ``POST {base}/api/ai/queue`` with the model id, the seed-era inputs
(``input_images`` / ``input_videos`` / ``input_audios``, string ``duration`` ``"auto"`` or
``"4"``..``"15"``, ``aspect_ratio`` including ``auto``) and ``num_generations: 1``; the answer
is ``{"generations": [{"generation_id": ..., "status": "queued"}]}``. Status and result are the
same ``GET {base}/api/ai/queue/{id}`` (``queued`` / ``processing`` / ``succeeded`` / ``failed``
/ ``cancelled``, ``result_url``, ``error_message``); cancel is ``DELETE`` on that URL.

Quirks: enqueue checks only the model, ``num_generations`` and credits, so parameter errors
show up later as ``failed`` with an ``error_message`` (``Getting model response error: 422 -
...``), mapped to FAILED with that message. Cancel answers ``{"status": "success"}`` whether
or not the generation was still active (it has no effect once terminal), so its outcome is
REQUESTED either way. Oxen sells 480p/720p/1080p for the standard model; the fast tier is held
to 480p/720p like ByteDance's own fast model. The file size is not reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from airflow_provider_seedance.client.errors import SeedanceProtocolError
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
    first_text,
)

MODELS = {
    "standard": "bytedance-seedance-2-0-reference-to-video",
    "fast": "bytedance-seedance-2-0-fast-reference-to-video",
}
QUEUE_PATH = "/api/ai/queue"
_MEDIA_FIELDS = {"image_urls": "input_images", "video_urls": "input_videos", "audio_urls": "input_audios"}
_STATES = {
    "queued": JobState.QUEUED,
    "processing": JobState.RUNNING,
    "succeeded": JobState.SUCCEEDED,
    "failed": JobState.FAILED,
    "cancelled": JobState.CANCELLED,
    "canceled": JobState.CANCELLED,
}
_EXPECTED = "queued, processing, succeeded, failed or cancelled"
_PROBE_ID = "00000000-0000-0000-0000-000000000000"


class OxenDialect(Dialect):
    """Oxen.ai async queue."""

    name: ClassVar[str] = "oxen"
    label: ClassVar[str] = "Oxen.ai"
    default_base_url: ClassVar[str] = "https://hub.oxen.ai"
    resolutions: ClassVar[tuple[str, ...]] = RESOLUTIONS
    tier_resolutions: ClassVar[Mapping[str, tuple[str, ...]]] = {"fast": ("480p", "720p")}

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}

    def _generation_url(self, ref: JobRef) -> str:
        return f"{self.base_url}{QUEUE_PATH}/{ref.request_id}"

    # -- submit --------------------------------------------------------------------------
    def build_submit(self, request: ReferenceToVideoRequest) -> HttpRequest:
        body: dict[str, Any] = {"model": MODELS[request.tier], "prompt": request.prompt}
        for ours, theirs in _MEDIA_FIELDS.items():
            urls = getattr(request, ours)
            if urls:
                body[theirs] = list(urls)
        body["resolution"] = request.resolution
        body["duration"] = request.duration  # the seed-era schema: a string, "auto" or "4".."15"
        body["aspect_ratio"] = request.aspect_ratio
        body["generate_audio"] = request.generate_audio
        if request.seed is not None and request.seed != -1:  # unset = random
            body["seed"] = request.seed
        body["num_generations"] = 1
        return HttpRequest("POST", f"{self.base_url}{QUEUE_PATH}", json=body)

    def parse_submit(self, request: ReferenceToVideoRequest, response: HttpResponse) -> JobRef:
        data = self.submitted_data(response)
        generations = data.get("generations")
        first = generations[0] if isinstance(generations, list) and generations else None
        generation_id = self.require_job_id(
            first.get("generation_id") if isinstance(first, dict) else None,
            response,
            field="generation_id",
            where="the Oxen.ai queue",
        )
        return JobRef(platform=self.name, request_id=generation_id, tier=request.tier)

    # -- status --------------------------------------------------------------------------
    def build_status(self, ref: JobRef) -> HttpRequest:
        return HttpRequest("GET", self._generation_url(ref))

    def _status_from(
        self, ref: JobRef, response: HttpResponse, op: Operation
    ) -> tuple[JobStatus, dict[str, Any]]:
        data, raw, state = self.status_body(
            ref, response, op, states=_STATES, noun="generation", expected=_EXPECTED
        )
        error = data.get("error_message") or data.get("error")
        status = JobStatus(
            request_id=ref.request_id,
            state=state,
            raw_status=raw,
            error=str(error) if error and state is not JobState.SUCCEEDED else None,
        )
        return status, data

    def parse_status(self, ref: JobRef, response: HttpResponse) -> JobStatus:
        return self._status_from(ref, response, Operation.STATUS)[0]

    # -- result (the same GET) -----------------------------------------------------------
    def build_result(self, ref: JobRef) -> HttpRequest:
        return HttpRequest("GET", self._generation_url(ref))

    def parse_result(self, ref: JobRef, response: HttpResponse) -> JobResult:
        status, data = self._status_from(ref, response, Operation.RESULT)
        return self.video_result(ref, status, response, data.get("result_url"), data.get("seed"))

    # -- cancel --------------------------------------------------------------------------
    def build_cancel(self, ref: JobRef) -> HttpRequest:
        return HttpRequest("DELETE", self._generation_url(ref))

    def parse_cancel(self, ref: JobRef, response: HttpResponse) -> CancelOutcome:
        if 200 <= response.status_code < 300:
            data = response.json_or_none()
            if isinstance(data, dict) and data.get("status") not in (None, "success"):
                raise SeedanceProtocolError(
                    f"Oxen.ai answered the cancel of generation {ref.request_id} with HTTP "
                    f"{response.status_code} but not success: {response.excerpt()!r}",
                    status_code=response.status_code,
                )
            return CancelOutcome.REQUESTED
        if response.status_code == 404:
            return CancelOutcome.NOT_FOUND
        raise self.error_from_response(Operation.CANCEL, response)

    # -- probe ---------------------------------------------------------------------------
    def build_probe(self) -> HttpRequest:
        """The status of an all-zero generation id: 404 with a good key, 401 with a bad one."""
        return HttpRequest("GET", self._generation_url(JobRef(platform=self.name, request_id=_PROBE_ID)))

    # -- errors --------------------------------------------------------------------------
    def error_details(self, response: HttpResponse) -> tuple[str | None, str | None]:
        """``{"error": {"type", "title"}, "status": "error", "status_message"}`` and variants."""
        data = response.json_or_none()
        if not isinstance(data, dict):
            return None, None
        detail: str | None = None
        error_type: str | None = None
        error = data.get("error")
        if isinstance(error, dict):
            detail = first_text(error, "title", "message", "detail")
            if isinstance(error.get("type"), str):
                error_type = error["type"]
        elif isinstance(error, str) and error:
            detail = error
        if detail is None:
            detail = first_text(data, "message", "detail", "error_message")
        if error_type is None and isinstance(data.get("status_message"), str):
            error_type = data["status_message"]
        return detail, error_type
