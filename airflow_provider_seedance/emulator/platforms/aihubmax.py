"""AIHubMax unified tasks (EvoLink dialect) for Seedance 2.0 reference-to-video and image-to-video.

(api-dialects §3.) AIHubMax documents those two modes, standard and fast; a model id it does not
list (``seedance-2.0-text-to-video``) is its 422 ``model_not_found``. Image-to-video takes
``image_url`` (required) and ``end_image_url``.

Quirk reproduced: once a task finishes, the first poll reports ``status: "completed"`` with
``results: null`` and ``progress`` < 100; the next poll carries the result URL. There is no
cancel endpoint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request  # noqa: TC002 - FastAPI resolves it at run time
from starlette.responses import JSONResponse

from airflow_provider_seedance.emulator.errors import error_body
from airflow_provider_seedance.emulator.incoming import find_job, submitted_body
from airflow_provider_seedance.emulator.jobs import create_job, media_url, random_token
from airflow_provider_seedance.emulator.references import reference_failure
from airflow_provider_seedance.emulator.responses import error_response, json_response
from airflow_provider_seedance.emulator.state import EmulatorState, Job, Phase, get_state
from airflow_provider_seedance.emulator.validation import (
    ADAPTIVE_ASPECT_RATIOS,
    DURATION_INTS,
    IMAGE_TO_VIDEO,
    REFERENCE_TO_VIDEO,
    Problem,
    check_flat_body,
)

if TYPE_CHECKING:
    from airflow_provider_seedance.emulator.routes import Handlers

#: model id -> (tier, mode): the modes AIHubMax documents
MODELS = {
    f"seedance-2.0-{'fast-' if tier == 'fast' else ''}{mode}": (tier, mode)
    for mode in (REFERENCE_TO_VIDEO, IMAGE_TO_VIDEO)
    for tier in ("standard", "fast")
}
RESOLUTIONS = ("480p", "720p")
STATUS_NAMES = {
    Phase.QUEUED: "pending",
    Phase.RUNNING: "processing",
    Phase.SUCCEEDED: "completed",
    Phase.FAILED: "failed",
    Phase.CANCELLED: "cancelled",
}
CREDITS_PER_SECOND = 10


def validate(body: dict[str, Any], mode: str = REFERENCE_TO_VIDEO) -> list[Problem]:
    return check_flat_body(
        body,
        ("image_urls", "video_urls", "audio_urls"),
        enums=(
            ("resolution", RESOLUTIONS),
            ("aspect_ratio", ADAPTIVE_ASPECT_RATIOS),
            ("duration", DURATION_INTS),
        ),
        mode=mode,
    )


def _task_id(now_unix: float) -> str:
    return f"task-unified-{int(now_unix)}-{random_token(8)}"


async def submit(request: Request) -> JSONResponse:
    body = await submitted_body(request, "aihubmax")
    model = body.get("model")
    if model not in MODELS:
        data, headers = error_body("aihubmax", 422, f"Model not found: {model}", param="model")
        data["error"]["code"] = "model_not_found"
        data["error"]["type"] = "validation_error"
        return JSONResponse(data, status_code=422, headers=headers)
    tier, mode = MODELS[model]
    if problems := validate(body, mode):
        first = problems[0]
        message = "; ".join(f"{p.field}: {p.message}" for p in problems)
        return error_response("aihubmax", 400, message, param=first.field.split("[")[0])
    state = get_state(request)
    task_id = _task_id(state.clock.wall())
    job = create_job(
        state,
        platform="aihubmax",
        request_id=task_id,
        route="aihubmax.submit",
        tier=tier,
        model=model,
        body=body,
        extra={"mode": mode},
        failure=await reference_failure(request, "aihubmax", body),
    )
    return json_response(_view(request, state, job, poll=False))


def _view(request: Request, state: EmulatorState, job: Job, *, poll: bool = True) -> dict[str, Any]:
    now = state.now()
    phase = job.phase(now)
    progress = job.progress(now)
    results: list[str] | None = None
    if phase == Phase.SUCCEEDED:
        if poll and job.completed_polls == 0:
            progress = 95  # quirk: "completed" before results are filled in
        else:
            results = [media_url(request, job)]
        if poll:
            job.completed_polls += 1
    data: dict[str, Any] = {
        "created": int(state.clock.wall(job.submitted_at)),
        "id": job.request_id,
        "model": job.model,
        "object": "video.generation.task",
        "progress": progress,
        "status": STATUS_NAMES[phase],
        "results": results,
        "error": None,
        "task_info": {
            "can_cancel": phase in (Phase.QUEUED, Phase.RUNNING),
            "estimated_time": int(job.queue_seconds + job.run_seconds) + 1,
            "video_duration": job.duration,
        },
        "type": "video",
        "usage": {
            "billing_rule": "per_second",
            "credits_reserved": CREDITS_PER_SECOND * job.duration,
            "user_group": "default",
        },
    }
    if phase == Phase.FAILED:
        failure = job.failure
        data["error"] = {
            "code": (failure.code if failure else None) or "generation_failed",
            "message": (failure.message if failure else None) or "Video generation failed upstream",
            "type": "task_error",
        }
    return data


def _not_found(task_id: str) -> JSONResponse:
    return error_response("aihubmax", 404, f"Task not found: {task_id}", param="task_id")


async def get_task(request: Request, task_id: str) -> JSONResponse:
    job = find_job(request, "aihubmax", task_id, _not_found)
    return json_response(_view(request, get_state(request), job))


#: route name -> handler (see :data:`.routes.ROUTES`)
HANDLERS: Handlers = {"aihubmax.submit": submit, "aihubmax.status": get_task}
