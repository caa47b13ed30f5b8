"""Oxen.ai inference API dialect (``bytedance-seedance-2-0[-fast]-{text,image,reference}-to-video``).

Submit is ``POST {base}/api/ai/queue`` with the model id (:data:`MODELS`, one per mode and
tier), the seed-era inputs (``input_images`` / ``input_videos`` / ``input_audios`` for
reference-to-video, ``input_image`` and ``tail_image_url`` for image-to-video, string
``duration`` ``"auto"`` or ``"4"``..``"15"``, ``aspect_ratio`` including ``auto``) and
``num_generations: 1``; the answer
is ``{"generations": [{"generation_id": ..., "status": "queued"}]}``. Status and result are the
same ``GET {base}/api/ai/queue/{id}`` (``queued`` / ``processing`` / ``succeeded`` / ``failed``
/ ``cancelled``, ``result_url``, ``error_message``); cancel is ``DELETE`` on that URL.

Quirks: enqueue checks only the model, ``num_generations`` and credits, so parameter errors
show up later as ``failed`` with an ``error_message`` (``Getting model response error: 422 -
...``), mapped to FAILED with that message. Cancel answers ``{"status": "success"}`` whether
or not the generation was still active (it has no effect once terminal), so its outcome is
REQUESTED either way. Oxen sells 480p/720p/1080p for the standard models; the fast models are
documented at 480p/720p. The file size is not reported.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from airflow_provider_seedance.client.errors import SeedanceProtocolError
from airflow_provider_seedance.client.models import (
    RESOLUTIONS,
    CancelOutcome,
    JobRef,
    JobState,
    JobStatus,
    Mode,
    SeedanceRequest,
)
from airflow_provider_seedance.client.platforms.base import Catalog, every_mode
from airflow_provider_seedance.client.platforms.http import HttpRequest, HttpResponse, Operation
from airflow_provider_seedance.client.platforms.json_fields import first_text
from airflow_provider_seedance.client.platforms.task import TaskDialect, task_states

#: (mode, tier) -> model id, from Oxen's model reference pages (docs/platforms.md).
MODELS: dict[tuple[Mode, str], str] = {
    (mode, tier): f"bytedance-seedance-2-0-{'fast-' if tier == 'fast' else ''}{mode.value}"
    for mode in Mode
    for tier in ("standard", "fast")
}
QUEUE_PATH = "/api/ai/queue"
#: Our media inputs -> Oxen's names (``tail_image_url`` is its image-to-video end frame).
_MEDIA_FIELDS = {
    "image_urls": "input_images",
    "video_urls": "input_videos",
    "audio_urls": "input_audios",
    "image_url": "input_image",
    "end_image_url": "tail_image_url",
}


class OxenDialect(TaskDialect):
    """Oxen.ai async queue."""

    name: ClassVar[str] = "oxen"
    label: ClassVar[str] = "Oxen.ai"
    default_base_url: ClassVar[str] = "https://hub.oxen.ai"
    catalog: ClassVar[Catalog] = every_mode({"standard": RESOLUTIONS, "fast": ("480p", "720p")})
    task_path: ClassVar[str] = QUEUE_PATH
    states, expected_states = task_states(
        "queued", "processing", "succeeded", "failed", cancelled=JobState.CANCELLED
    )
    noun: ClassVar[str] = "generation"
    job_list: ClassVar[str] = "the Oxen.ai queue"
    probe_id: ClassVar[str] = "00000000-0000-0000-0000-000000000000"
    #: The docs' base is ``https://hub.oxen.ai/api``; this dialect adds ``/api/ai/...`` itself.
    sdk_base_suffixes: ClassVar[tuple[str, ...]] = ("/api",)
    #: Generation ids are UUIDs (hex and dashes); any letters/digits/dashes are accepted.
    request_id_pattern: ClassVar[re.Pattern[str]] = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,127}")
    request_id_shape: ClassVar[str] = "a generation id like 5b0d4c8e-2f1a-4d6b-9c3e-7a8f9e0d1c2b"

    # -- submit --------------------------------------------------------------------------
    def build_submit(self, request: SeedanceRequest) -> HttpRequest:
        body: dict[str, Any] = {
            "model": MODELS[request.mode, request.tier],
            "prompt": self.wire_prompt(request.prompt),
        }
        for ours, value in request.media_inputs().items():
            body[_MEDIA_FIELDS[ours]] = value
        body["resolution"] = request.resolution
        body["duration"] = self.wire_duration(request.duration)  # a string, "auto" or "4".."15"
        body["aspect_ratio"] = self.wire_aspect_ratio(request.aspect_ratio)
        body["generate_audio"] = request.generate_audio
        if request.seed is not None and request.seed != -1:  # unset = random
            body["seed"] = request.seed
        body["num_generations"] = 1
        return HttpRequest("POST", f"{self.base_url}{QUEUE_PATH}", json=body)

    def parse_submit(self, request: SeedanceRequest, response: HttpResponse) -> JobRef:
        data = self.submitted_data(response)
        generations = data.get("generations")
        first = generations[0] if isinstance(generations, list) and generations else None
        generation_id = self.require_job_id(
            first.get("generation_id") if isinstance(first, dict) else None,
            response,
            field="generation_id",
            where=self.job_list,
        )
        return JobRef(platform=self.name, request_id=generation_id, tier=request.tier)

    # -- status and result (the same GET) ------------------------------------------------
    def task_status(self, ref: JobRef, data: dict[str, Any], raw: str, state: JobState) -> JobStatus:
        raw_error = data.get("error_message") or data.get("error")
        error = str(raw_error) if raw_error and state is not JobState.SUCCEEDED else None
        error_type = None
        if state is JobState.FAILED:
            # Parameter errors and moderation refusals both arrive late, as a failed generation.
            error, error_type = self.failure(error, None)
        return JobStatus(
            request_id=ref.request_id, state=state, raw_status=raw, error=error, error_type=error_type
        )

    def video_url(self, data: dict[str, Any]) -> object:
        return data.get("result_url")

    # -- cancel (DELETE on the generation) -----------------------------------------------
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
        """List the active generations: 200 ``{"count", "generations"}`` with a good key, 401
        with a bad one; creates nothing. (Oxen's 404 for an unknown generation is its generic
        "resource could not be found", which a wrong path answers too: not a usable probe.)"""
        return HttpRequest("GET", f"{self.base_url}{QUEUE_PATH}", params={"status": "queued"})

    def probe_answer_ok(self, data: object) -> bool:
        return isinstance(data, dict) and isinstance(data.get("generations"), list)

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
