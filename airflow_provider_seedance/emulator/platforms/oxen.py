"""Oxen.ai async queue for ``bytedance-seedance-2-0[-fast]-<mode>`` (api-dialects §2).

Every mode on both tiers, one model id each; image-to-video takes ``input_image`` (required) and
``tail_image_url`` (the end frame), reference-to-video the ``input_*`` lists.

Quirk reproduced: enqueue only checks the model, ``num_generations`` and auth; parameter errors
surface later, when the generation would start, as ``status: "failed"`` with an
``error_message`` like ``Getting model response error: 422 - Value error, ...``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from starlette.requests import Request  # noqa: TC002 - FastAPI resolves it at run time
from starlette.responses import JSONResponse  # noqa: TC002 - FastAPI resolves it at run time

from airflow_provider_seedance.emulator.auth import require_auth
from airflow_provider_seedance.emulator.incoming import find_job, submitted_body
from airflow_provider_seedance.emulator.jobs import create_job, media_url
from airflow_provider_seedance.emulator.references import reference_failure
from airflow_provider_seedance.emulator.responses import error_response, json_response
from airflow_provider_seedance.emulator.state import EmulatorState, Failure, Job, Phase, get_state
from airflow_provider_seedance.emulator.validation import (
    ADAPTIVE_ASPECT_RATIOS,
    DURATION_INTS,
    DURATION_STRINGS,
    FAL_ASPECT_RATIOS,
    MODES,
    Problem,
    check_flat_body,
)

if TYPE_CHECKING:
    from airflow_provider_seedance.emulator.routes import Handlers

#: model id -> (tier, mode)
MODELS = {
    f"bytedance-seedance-2-0-{'fast-' if tier == 'fast' else ''}{mode}": (tier, mode)
    for mode in MODES
    for tier in ("standard", "fast")
}
RESOLUTIONS = ("480p", "720p", "1080p", "4k")
STATUS_NAMES = {
    Phase.QUEUED: "queued",
    Phase.RUNNING: "processing",
    Phase.SUCCEEDED: "succeeded",
    Phase.FAILED: "failed",
    Phase.CANCELLED: "cancelled",
}
ACTIVE = ("queued", "processing")
DEFAULT_FAILURE = "Getting model response error: 500 - Internal error while generating the video"


FAST_RESOLUTIONS = ("480p", "720p")


def validate(body: dict[str, Any], mode: str = "reference-to-video", tier: str = "standard") -> list[Problem]:
    # the schema changed: seed-era string durations and current integer durations both pass
    durations = DURATION_STRINGS if isinstance(body.get("duration"), str) else DURATION_INTS
    # so do both spellings of "the model chooses" (fal's "auto", ByteDance's "adaptive"); an
    # invalid ratio is reported against the current, "adaptive" list
    aspect_ratios = (
        FAL_ASPECT_RATIOS if body.get("aspect_ratio") in FAL_ASPECT_RATIOS else ADAPTIVE_ASPECT_RATIOS
    )
    return check_flat_body(
        body,
        ("input_images", "input_videos", "input_audios"),
        enums=(
            ("resolution", RESOLUTIONS if tier == "standard" else FAST_RESOLUTIONS),
            ("duration", durations),
            ("aspect_ratio", aspect_ratios),
        ),
        bools=("generate_audio", "watermark"),
        mode=mode,
        frames=("input_image", "tail_image_url"),
    )


async def submit(request: Request) -> JSONResponse:
    body = await submitted_body(request, "oxen")
    model = body.get("model")
    if model not in MODELS:
        return error_response("oxen", 404, f"Model not found: {model}")
    count = body.get("num_generations", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 4:
        return error_response("oxen", 400, "num_generations must be an integer between 1 and 4")
    tier, mode = MODELS[model]
    failure = None
    if problems := validate(body, mode, tier):
        detail = "; ".join(f"{p.field}: {p.message}" for p in problems)
        failure = Failure(
            code="model_error",
            message=f"Getting model response error: 422 - Value error, {detail}",
            at_start=True,
        )
    failure = failure or await reference_failure(request, "oxen", body)
    state = get_state(request)
    generations = []
    for _ in range(count):
        generation_id = str(uuid.uuid4())
        create_job(
            state,
            platform="oxen",
            request_id=generation_id,
            route="oxen.submit",
            tier=tier,
            model=model,
            body=body,
            failure=failure,
            extra={"namespace": body.get("target_namespace"), "mode": mode},
        )
        generations.append({"generation_id": generation_id, "status": "queued"})
    return json_response({"generations": generations})


def _view(request: Request, state: EmulatorState, job: Job) -> dict[str, Any]:
    now = state.now()
    phase = job.phase(now)
    ended = job.ended_at(now)
    params = {k: v for k, v in job.params.items() if k not in ("model", "prompt")}
    data: dict[str, Any] = {
        "generation_id": job.request_id,
        "model_name": job.model,
        "prompt": job.prompt,
        "media_type": "video",
        "status": STATUS_NAMES[phase],
        "result_url": media_url(request, job) if phase == Phase.SUCCEEDED else None,
        "error_message": None,
        "enqueued_at": state.clock.iso(job.submitted_at),
        "started_at": state.clock.iso(job.started_at)
        if now >= job.started_at and phase != Phase.CANCELLED
        else None,
        "completed_at": state.clock.iso(ended) if ended is not None else None,
        "namespace": job.extra.get("namespace"),
        "seed": job.seed,
        **params,
    }
    if phase == Phase.FAILED:
        failure = job.failure
        data["error_message"] = (failure.message if failure else None) or DEFAULT_FAILURE
    return data


def _not_found(generation_id: str) -> JSONResponse:
    """Oxen's 404, which does not name the generation."""
    return error_response(
        "oxen", 404, "The requested resource could not be found", error="resource_not_found"
    )


async def list_generations(request: Request) -> JSONResponse:
    require_auth(request, "oxen")
    state = get_state(request)
    wanted = request.query_params.get("status")
    model = request.query_params.get("model")
    items = []
    for job in state.jobs.values():
        if job.platform != "oxen" or (model and job.model != model):
            continue
        view = _view(request, state, job)
        if (wanted and view["status"] != wanted) or (not wanted and view["status"] not in ACTIVE):
            continue
        items.append(view)
    return json_response({"count": len(items), "generations": items})


async def get_generation(request: Request, generation_id: str) -> JSONResponse:
    job = find_job(request, "oxen", generation_id, _not_found)
    state = get_state(request)
    return json_response(_view(request, state, job))


async def cancel_generation(request: Request, generation_id: str) -> JSONResponse:
    job = find_job(request, "oxen", generation_id, _not_found)
    state = get_state(request)
    now = state.now()
    if job.phase(now) in (Phase.QUEUED, Phase.RUNNING):  # no effect once terminal
        job.cancelled_at = now
    return json_response({"status": "success", "generation_id": generation_id})


#: route name -> handler (see :data:`.routes.ROUTES`)
HANDLERS: Handlers = {
    "oxen.submit": submit,
    "oxen.list": list_generations,
    "oxen.status": get_generation,
    "oxen.cancel": cancel_generation,
}
