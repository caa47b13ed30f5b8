"""BytePlus ModelArk / Volcengine Ark content generation tasks (api-dialects §4).

Both regions' Seedance 2.0 model ids (``dreamina-…`` for BytePlus, ``doubao-…`` for Volcengine)
and ``ep-…`` endpoint ids are accepted. One model serves every mode; the content list's roles
say which: none (text only) is text-to-video, ``first_frame`` (+ ``last_frame``) image-to-video,
``reference_*`` reference-to-video. Mixing the frame roles with reference roles is refused
(``InvalidParameter``), as is a ``last_frame`` without a ``first_frame`` or a second one of either.

Quirk reproduced: ``DELETE`` cancels only a *queued*
task; it deletes a finished (succeeded/failed/expired) one and refuses a running or cancelled
one.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request  # noqa: TC002 - FastAPI resolves it at run time
from starlette.responses import JSONResponse  # noqa: TC002 - FastAPI resolves it at run time

from airflow_provider_seedance.emulator.auth import require_auth
from airflow_provider_seedance.emulator.incoming import find_job, submitted_body
from airflow_provider_seedance.emulator.jobs import create_job, media_url, random_token
from airflow_provider_seedance.emulator.references import reference_failure
from airflow_provider_seedance.emulator.responses import error_response, json_response
from airflow_provider_seedance.emulator.state import EmulatorState, Job, Phase, get_state
from airflow_provider_seedance.emulator.validation import (
    ADAPTIVE_ASPECT_RATIOS,
    DURATION_INTS,
    MAX_AUDIOS,
    MAX_FILES,
    MAX_IMAGES,
    MAX_PROMPT_CHARS,
    MAX_VIDEOS,
    Problem,
    check_bool,
    check_enum,
    check_seed,
    is_int,
)

if TYPE_CHECKING:
    from airflow_provider_seedance.emulator.routes import Handlers

MODELS = {
    "dreamina-seedance-2-0-260128": ("standard", "byteplus"),
    "dreamina-seedance-2-0-fast-260128": ("fast", "byteplus"),
    "doubao-seedance-2-0-260128": ("standard", "volcengine"),
    "doubao-seedance-2-0-fast-260128": ("fast", "volcengine"),
}
RESOLUTIONS = ("480p", "720p", "1080p")
MEDIA_ROLES = {
    "image_url": ("reference_image", "first_frame", "last_frame"),
    "video_url": ("reference_video",),
    "audio_url": ("reference_audio",),
}
DEFAULT_EXPIRES_AFTER = 172800
TOKENS_PER_SECOND = 10_000


FRAME_ROLES = ("first_frame", "last_frame")


def mode_of(roles: list[str]) -> str:
    """The mode a content list's media roles make: frames, references, or neither."""
    if any(role in FRAME_ROLES for role in roles):
        return "image-to-video"
    return "reference-to-video" if roles else "text-to-video"


def check_roles(roles: list[str]) -> list[Problem]:
    """Ark's scenarios are exclusive: frame roles never with reference roles; one of each frame."""
    problems: list[Problem] = []
    frames = [role for role in roles if role in FRAME_ROLES]
    if frames and len(frames) != len(roles):
        problems.append(
            Problem(
                "content",
                "first_frame/last_frame images cannot be combined with reference_image, "
                "reference_video or reference_audio content",
            )
        )
    for role in FRAME_ROLES:
        if frames.count(role) > 1:
            problems.append(Problem("content", f"at most one {role} image is allowed"))
    if "last_frame" in frames and "first_frame" not in frames:
        problems.append(Problem("content", "a last_frame image requires a first_frame image"))
    return problems


def validate(body: dict[str, Any]) -> tuple[list[Problem], str]:
    """Check an Ark create body; return problems and the prompt text (``body["_mode"]`` aside)."""
    problems: list[Problem] = []
    content = body.get("content")
    prompt = ""
    if not isinstance(content, list) or not content:
        return [
            Problem("content", "The parameter `content` must be a non-empty list", "MissingParameter")
        ], ""
    counts = {"image_url": 0, "video_url": 0, "audio_url": 0}
    roles: list[str] = []
    texts = 0
    for i, item in enumerate(content):
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "text":
            texts += 1
            text = item.get("text")
            if not isinstance(text, str):
                problems.append(Problem(f"content[{i}].text", "must be a string"))
            elif len(text) > MAX_PROMPT_CHARS:
                problems.append(Problem("content.text", f"must be at most {MAX_PROMPT_CHARS} characters"))
            else:
                prompt = text
        elif kind in counts:
            assert isinstance(item, dict)
            counts[kind] += 1
            ref = item.get(kind)
            if not isinstance(ref, dict) or not isinstance(ref.get("url"), str) or not ref["url"].strip():
                problems.append(Problem(f"content[{i}].{kind}.url", "must be a non-empty URL string"))
            role = item.get("role")
            if kind == "image_url" and role is None:
                role = "first_frame"  # an image without a role is the first frame (image-to-video)
            if isinstance(role, str):
                roles.append(role)
            if role is not None and role not in MEDIA_ROLES[kind]:
                problems.append(
                    Problem(f"content[{i}].role", f"must be one of {', '.join(MEDIA_ROLES[kind])}")
                )
        else:
            problems.append(
                Problem(f"content[{i}].type", "must be one of text, image_url, video_url, audio_url")
            )
    if texts > 1:
        problems.append(Problem("content", "at most one text item is allowed"))
    for kind, limit in (("image_url", MAX_IMAGES), ("video_url", MAX_VIDEOS), ("audio_url", MAX_AUDIOS)):
        if counts[kind] > limit:
            problems.append(
                Problem("content", f"at most {limit} {kind} items are allowed, got {counts[kind]}")
            )
    if sum(counts.values()) > MAX_FILES:
        problems.append(Problem("content", f"at most {MAX_FILES} reference files in total are allowed"))
    if counts["audio_url"] and not counts["image_url"] and not counts["video_url"]:
        problems.append(Problem("content", "audio input requires at least one reference image or video"))
    problems += check_roles(roles)
    problems += check_enum(body, "ratio", ADAPTIVE_ASPECT_RATIOS)
    problems += check_enum(body, "resolution", RESOLUTIONS)
    problems += check_enum(body, "duration", DURATION_INTS)
    problems += check_seed(body)
    for name in ("generate_audio", "watermark", "return_last_frame", "camera_fixed"):
        problems += check_bool(body, name)
    problems += check_enum(body, "service_tier", ("default", "flex"))
    expires = body.get("execution_expires_after")
    if expires is not None and (not is_int(expires) or not 3600 <= expires <= 259200):
        problems.append(Problem("execution_expires_after", "must be an integer between 3600 and 259200"))
    return problems, prompt


def _roles(body: dict[str, Any]) -> list[str]:
    content = body.get("content")
    items = content if isinstance(content, list) else []
    return [
        str(item.get("role") or "first_frame")
        for item in items
        if isinstance(item, dict) and item.get("type") in ("image_url", "video_url", "audio_url")
    ]


def _task_id() -> str:
    return f"cgt-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{random_token(5)}"


def _bad_body(message: str) -> JSONResponse:
    return error_response("ark", 400, message, param="body")


def _resolve_model(model: Any) -> tuple[str, str] | None:
    if model in MODELS:
        return MODELS[model]
    if isinstance(model, str) and model.startswith("ep-") and len(model) > 3:
        return ("fast" if "fast" in model else "standard", "byteplus")
    return None


async def create_task(request: Request) -> JSONResponse:
    body = await submitted_body(request, "ark", _bad_body)
    model = body.get("model")
    if not model:
        return error_response(
            "ark", 400, "The request failed because it is missing one or multiple required parameters.",
            error="MissingParameter", param="model",
        )  # fmt: skip
    resolved = _resolve_model(model)
    if resolved is None:
        return error_response(
            "ark", 404, f"The model or endpoint {model} does not exist or you do not have access to it."
        )
    problems, prompt = validate(body)
    if problems:
        first = problems[0]
        error = "MissingParameter" if first.type == "MissingParameter" else "InvalidParameter"
        message = f"The parameter `{first.field}` specified in the request is not valid: {first.message}."
        return error_response("ark", 400, message, error=error, param=first.field)
    tier, vendor = resolved
    state = get_state(request)
    task_id = _task_id()
    create_job(
        state,
        platform="ark",
        request_id=task_id,
        route="ark.submit",
        tier=tier,
        model=model,
        body=body,
        prompt=prompt,
        extra={"vendor": vendor, "mode": mode_of(_roles(body))},
        failure=await reference_failure(request, "ark", body),
    )
    return json_response({"id": task_id})


def _status(job: Job, now: float) -> str:
    phase = job.phase(now)
    if phase in (Phase.QUEUED, Phase.RUNNING):
        expires_after = job.params.get("execution_expires_after") or DEFAULT_EXPIRES_AFTER
        if now >= job.submitted_at + expires_after:
            return "expired"
    return phase  # queued | running | succeeded | failed | cancelled


def _view(request: Request, state: EmulatorState, job: Job) -> dict[str, Any]:
    now = state.now()
    status = _status(job, now)
    ended = job.ended_at(now)
    updated = ended if ended is not None else (job.started_at if now >= job.started_at else job.submitted_at)
    params = job.params
    data: dict[str, Any] = {
        "id": job.request_id,
        "model": job.model,
        "status": status,
        "error": None,
        "created_at": int(state.clock.wall(job.submitted_at)),
        "updated_at": int(state.clock.wall(updated)),
        "seed": job.seed,
        "resolution": params.get("resolution", "720p"),
        "ratio": params.get("ratio", "adaptive"),
        "duration": job.duration,
        "framespersecond": 24,
        "generate_audio": params.get("generate_audio", True),
        "draft": False,
        "service_tier": params.get("service_tier", "default"),
        "execution_expires_after": params.get("execution_expires_after", DEFAULT_EXPIRES_AFTER),
    }
    if status == Phase.SUCCEEDED:
        data["content"] = {"video_url": media_url(request, job)}
        tokens = TOKENS_PER_SECOND * job.duration
        data["usage"] = {"completion_tokens": tokens, "total_tokens": tokens}
    elif status == Phase.FAILED:
        failure = job.failure
        data["error"] = {
            "code": (failure.code if failure else None) or "InternalServiceError",
            "message": (failure.message if failure else None) or "The service encountered an internal error.",
        }
    elif status == "expired":
        data["error"] = {"code": "TaskExpired", "message": "The task exceeded execution_expires_after."}
    return data


def _not_found(task_id: str) -> JSONResponse:
    return error_response(
        "ark", 404, f"The specified task {task_id} is not found.", error="ResourceNotFound", param="id"
    )


async def list_tasks(request: Request) -> JSONResponse:
    require_auth(request, "ark")
    state = get_state(request)
    query = request.query_params
    try:
        page_num = max(1, int(query.get("page_num", "1")))
        page_size = max(1, min(500, int(query.get("page_size", "10"))))
    except ValueError:
        return error_response("ark", 400, "page_num and page_size must be integers", param="page_num")
    wanted_status = query.get("filter.status")
    wanted_model = query.get("filter.model")
    wanted_ids = set(query.getlist("filter.task_ids"))
    now = state.now()
    items = [
        job
        for job in reversed(list(state.jobs.values()))
        if job.platform == "ark"
        and not job.deleted
        and (not wanted_status or _status(job, now) == wanted_status)
        and (not wanted_model or job.model == wanted_model)
        and (not wanted_ids or job.request_id in wanted_ids)
    ]
    page = items[(page_num - 1) * page_size : page_num * page_size]
    return json_response({"total": len(items), "items": [_view(request, state, j) for j in page]})


async def get_task(request: Request, task_id: str) -> JSONResponse:
    job = find_job(request, "ark", task_id, _not_found)
    state = get_state(request)
    return json_response(_view(request, state, job))


async def delete_task(request: Request, task_id: str) -> JSONResponse:
    job = find_job(request, "ark", task_id, _not_found)
    state = get_state(request)
    now = state.now()
    status = _status(job, now)
    if status == Phase.QUEUED:
        job.cancelled_at = now
    elif status in (Phase.SUCCEEDED, Phase.FAILED, "expired"):
        job.deleted = True
    else:  # running or cancelled
        return error_response(
            "ark",
            400,
            f"The task {task_id} cannot be cancelled or deleted in status {status!r}.",
            error="InvalidParameter.TaskStatus",
            param="id",
        )
    return json_response({})


#: route name -> handler (see :data:`.routes.ROUTES`)
HANDLERS: Handlers = {
    "ark.submit": create_task,
    "ark.list": list_tasks,
    "ark.status": get_task,
    "ark.cancel": delete_task,
}
