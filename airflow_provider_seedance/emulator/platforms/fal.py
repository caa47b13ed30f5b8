"""fal.ai queue API for ``bytedance/seedance-2.0[/fast]/{text,image,reference}-to-video`` (api-dialects §1).

Every mode on both tiers: the submit path names the model; each mode's schema is validated
(text-to-video: the prompt; image-to-video: ``image_url`` required, ``end_image_url``; reference
lists only on reference-to-video), 1080p only on the standard image-to-video endpoint.

Quirks reproduced: the returned ``status_url`` / ``response_url`` / ``cancel_url`` drop the
``[fast/]reference-to-video`` path (``/bytedance/seedance-2.0/requests/{id}``); status answers 202
while queued/running and 200 when ``COMPLETED``; a failed job is ``COMPLETED`` with ``error`` and
``error_type`` and its result is an HTTP error; cancel answers 202 ``CANCELLATION_REQUESTED``,
400 ``ALREADY_COMPLETED`` or 404.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request  # noqa: TC002 - FastAPI resolves it at run time
from starlette.responses import JSONResponse

from airflow_provider_seedance.emulator.errors import FAL_ERROR_TYPES
from airflow_provider_seedance.emulator.incoming import find_job, root_url, submitted_body
from airflow_provider_seedance.emulator.jobs import create_job, media_url
from airflow_provider_seedance.emulator.references import reference_failure
from airflow_provider_seedance.emulator.responses import error_response, json_response
from airflow_provider_seedance.emulator.routes import FAL_APP, Handlers
from airflow_provider_seedance.emulator.state import Job, Phase, get_state
from airflow_provider_seedance.emulator.validation import (
    DURATION_STRINGS,
    FAL_ASPECT_RATIOS,
    IMAGE_TO_VIDEO,
    MODES,
    REFERENCE_TO_VIDEO,
    Problem,
    check_flat_body,
)

RESOLUTIONS = ("480p", "720p")
#: fal sells 1080p on the standard image-to-video endpoint only.
RESOLUTIONS_1080 = ("480p", "720p", "1080p")
DEFAULT_FAILURE = ("runner_disconnected", "Runner disconnected")


def _headers(request_id: str) -> dict[str, str]:
    return {"x-fal-request-id": request_id}


def endpoint(path: str) -> tuple[str, str]:
    """``(mode, tier)`` of a submit path ``/bytedance/seedance-2.0[/fast]/<mode>``."""
    rest = path.strip("/").removeprefix(FAL_APP.strip("/") + "/")
    tier = "fast" if rest.startswith("fast/") else "standard"
    mode = rest.removeprefix("fast/").rstrip("/")
    return (mode if mode in MODES else REFERENCE_TO_VIDEO), tier


def validate(body: dict[str, Any], mode: str = REFERENCE_TO_VIDEO, tier: str = "standard") -> list[Problem]:
    resolutions = RESOLUTIONS_1080 if (mode, tier) == (IMAGE_TO_VIDEO, "standard") else RESOLUTIONS
    problems = check_flat_body(
        body,
        ("image_urls", "video_urls", "audio_urls"),
        enums=(
            ("resolution", resolutions),
            ("duration", DURATION_STRINGS),
            ("aspect_ratio", FAL_ASPECT_RATIOS),
        ),
        mode=mode,
    )
    if "end_user_id" in body and body["end_user_id"] is not None and not isinstance(body["end_user_id"], str):
        problems.append(Problem("end_user_id", "Input should be a valid string", "string_type"))
    return problems


def _validation_error(problems: list[Problem]) -> JSONResponse:
    detail = [
        {
            "loc": ["body", *p.field.replace("]", "").split("[")],
            "msg": p.message,
            "type": p.type,
            "input": p.value,
            "url": f"https://docs.fal.ai/errors#{p.type}",
        }
        for p in problems
    ]
    return JSONResponse({"detail": detail}, status_code=422, headers={"X-Fal-Retryable": "false"})


def _bad_body(message: str) -> JSONResponse:
    return JSONResponse(
        {"detail": [{"loc": ["body"], "msg": message, "type": "json_invalid"}]}, status_code=422
    )


def _urls(request: Request, request_id: str) -> dict[str, str]:
    base = f"{root_url(request)}{FAL_APP}/requests/{request_id}"
    return {"response_url": base, "status_url": f"{base}/status", "cancel_url": f"{base}/cancel"}


async def submit(request: Request) -> JSONResponse:
    """Every mode's and tier's submit: the path names the model (``bytedance/seedance-2.0[/fast]/…``)."""
    body = await submitted_body(request, "fal", _bad_body)
    mode, tier = endpoint(request.url.path)
    if problems := validate(body, mode, tier):
        return _validation_error(problems)
    state = get_state(request)
    request_id = str(uuid.uuid4())
    model = request.url.path.strip("/")
    job = create_job(
        state,
        platform="fal",
        request_id=request_id,
        route="fal.submit",
        tier=tier,
        model=model,
        body=body,  # duration "auto": 5 s
        extra={"webhook": request.query_params.get("fal_webhook"), "mode": mode},
        failure=await reference_failure(request, "fal", body),
    )
    data = {
        "status": "IN_QUEUE",
        "request_id": request_id,
        **_urls(request, request_id),
        "queue_position": state.queue_position(job, state.now()),
    }
    return json_response(data, headers=_headers(request_id))


def _not_found(request_id: str) -> JSONResponse:
    return JSONResponse(
        {"status": "NOT_FOUND", "detail": f"Request {request_id} not found"},
        status_code=404,
        headers=_headers(request_id),
    )


def _failure(job: Job) -> tuple[str, str, int]:
    """(error_type, message, result HTTP status) of a failed or cancelled job."""
    if job.cancelled_at is not None:
        return "client_cancelled", "Request was cancelled by the client", 499
    failure = job.failure
    assert failure is not None
    error_type = failure.code or DEFAULT_FAILURE[0]
    message = failure.message or (DEFAULT_FAILURE[1] if error_type == DEFAULT_FAILURE[0] else error_type)
    status = failure.http_status or _FAL_TYPES_STATUS.get(error_type, 500)
    return error_type, message, status


_FAL_TYPES_STATUS = {v: k for k, v in FAL_ERROR_TYPES.items()} | {
    "startup_timeout": 504,
    "runner_connection_timeout": 503,
    "runner_disconnected": 503,
    "runner_connection_refused": 503,
    "runner_connection_error": 503,
    "runner_server_error": 500,
    "client_disconnected": 499,
    "internal_error": 500,
    "request_timeout": 504,
}


def _logs(request: Request, job: Job, now: float, with_logs: bool) -> list[dict[str, Any]] | None:
    if not with_logs:
        return None
    entries: list[tuple[str, float]] = []
    if now >= job.started_at:
        mode = job.extra.get("mode", REFERENCE_TO_VIDEO)
        entries.append((f"Starting Seedance 2.0 {mode} generation", job.started_at))
    if job.phase(now) == Phase.SUCCEEDED:
        entries.append(("Video generated", job.finished_at))
    clock = get_state(request).clock
    return [
        {"message": msg, "level": "INFO", "source": "user", "timestamp": clock.iso(t)} for msg, t in entries
    ]


async def status(request: Request, request_id: str) -> JSONResponse:
    job = find_job(request, "fal", request_id, _not_found)
    state = get_state(request)
    now = state.now()
    phase = job.phase(now)
    with_logs = request.query_params.get("logs", "").lower() in ("1", "true", "yes")
    data: dict[str, Any] = {"request_id": request_id, **_urls(request, request_id)}
    if phase == Phase.QUEUED:
        data |= {"status": "IN_QUEUE", "queue_position": state.queue_position(job, now), "logs": None}
        return json_response(data, 202, _headers(request_id))
    if phase == Phase.RUNNING:
        data |= {"status": "IN_PROGRESS", "logs": _logs(request, job, now, with_logs)}
        return json_response(data, 202, _headers(request_id))
    ended = job.ended_at(now) or now
    data |= {
        "status": "COMPLETED",
        "logs": _logs(request, job, now, with_logs),
        "metrics": {"inference_time": round(max(0.0, ended - job.started_at), 3)}
        if phase != Phase.CANCELLED
        else {},
    }
    if phase in (Phase.FAILED, Phase.CANCELLED):
        error_type, message, _ = _failure(job)
        data |= {"error": message, "error_type": error_type}
    return json_response(data, 200, _headers(request_id))


async def result(request: Request, request_id: str) -> JSONResponse:
    job = find_job(request, "fal", request_id, _not_found)
    state = get_state(request)
    phase = job.phase(state.now())
    if phase in (Phase.QUEUED, Phase.RUNNING):
        return error_response(
            "fal",
            400,
            f"Request {request_id} is still in progress",
            error="request_in_progress",
            headers=_headers(request_id),
        )
    if phase in (Phase.FAILED, Phase.CANCELLED):
        error_type, message, http_status = _failure(job)
        return error_response("fal", http_status, message, error=error_type, headers=_headers(request_id))
    assert phase == Phase.SUCCEEDED
    data = {
        "video": {
            "url": media_url(request, job),
            "content_type": "video/mp4",
            "file_name": f"{request_id}.mp4",
            "file_size": job.video_size,
        },
        "seed": job.seed,
    }
    return json_response(data, 200, _headers(request_id))


async def cancel(request: Request, request_id: str) -> JSONResponse:
    job = find_job(request, "fal", request_id, _not_found)
    state = get_state(request)
    now = state.now()
    if job.phase(now) in (Phase.QUEUED, Phase.RUNNING):
        job.cancelled_at = now
        return json_response({"status": "CANCELLATION_REQUESTED"}, 202, _headers(request_id))
    return json_response({"status": "ALREADY_COMPLETED"}, 400, _headers(request_id))


#: route name -> handler (see :data:`.routes.ROUTES`)
HANDLERS: Handlers = {"fal.submit": submit, "fal.status": status, "fal.result": result, "fal.cancel": cancel}
