"""Helpers shared by the platform routers: state access, auth, JSON answers, job creation and lookup."""

from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
import string
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse

from airflow_provider_seedance.emulator import media
from airflow_provider_seedance.emulator.errors import error_body
from airflow_provider_seedance.emulator.faults import JOB_KINDS
from airflow_provider_seedance.emulator.state import EmulatorState, Failure, Job
from airflow_provider_seedance.emulator.validation import seed_for

if TYPE_CHECKING:
    from starlette.requests import Request

AUTH_SCHEMES = {"fal": "Key", "oxen": "Bearer", "aihubmax": "Bearer", "ark": "Bearer"}
_TOKEN_ALPHABET = string.ascii_lowercase + string.digits


class BadBody(Exception):
    """The request body is not a JSON object."""


def get_state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def root_url(request: Request) -> str:
    """Scheme + host the client used (``http://127.0.0.1:8787``), for URLs we hand out."""
    return str(request.base_url).rstrip("/")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=headers)


def error_response(
    platform: str | None,
    status: int,
    message: str | None = None,
    *,
    error: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body, extra = error_body(platform, status, message, error=error, param=param)
    return JSONResponse(body, status_code=status, headers={**extra, **(headers or {})})


def check_auth(request: Request, platform: str) -> JSONResponse | None:
    """Return the platform's 401 answer unless the ``Authorization`` header carries the key."""
    scheme = AUTH_SCHEMES[platform]
    header = request.headers.get("authorization", "")
    given_scheme, _, token = header.strip().partition(" ")
    key = get_state(request).config.api_key
    if given_scheme.lower() == scheme.lower() and hmac.compare_digest(token.strip().encode(), key.encode()):
        return None
    if not header:
        message = f"Missing Authorization header; expected 'Authorization: {scheme} <key>'"
    elif given_scheme.lower() != scheme.lower():
        message = f"Unsupported authorization scheme; expected 'Authorization: {scheme} <key>'"
    else:
        message = "Invalid API key"
    if platform == "ark":
        message = f"The API key or AK/SK in the request is missing or invalid. {message}."
    return error_response(platform, 401, message)


async def read_json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = json.loads(raw or b"null")
    except ValueError as exc:
        raise BadBody(f"Request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadBody("Request body must be a JSON object")
    return data


async def submitted_body(
    request: Request, platform: str, bad_body: Callable[[str], JSONResponse] | None = None
) -> dict[str, Any] | JSONResponse:
    """Authenticate a submit and read its JSON object body.

    Returns the body, or the answer to send instead: the platform's 401, or for a body that is
    not a JSON object ``bad_body(message)`` (by default the platform's 400 with that message).
    """
    if (denied := check_auth(request, platform)) is not None:
        return denied
    try:
        return await read_json_object(request)
    except BadBody as exc:
        return error_response(platform, 400, str(exc)) if bad_body is None else bad_body(str(exc))


def find_job(
    request: Request, platform: str, job_id: str, not_found: Callable[[str], JSONResponse]
) -> Job | JSONResponse:
    """Authenticate a call about one job and look the job up.

    Returns the job, or the answer to send instead: the platform's 401, or ``not_found(job_id)``.
    """
    if (denied := check_auth(request, platform)) is not None:
        return denied
    job = get_state(request).get_job(platform, job_id)
    return not_found(job_id) if job is None else job


def random_token(length: int) -> str:
    """``length`` random lower-case letters and digits, for platform job ids."""
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(length))


def job_duration(value: Any) -> int:
    """The video length in seconds a request asks for: a digit string (fal, seed-era Oxen) or a
    positive integer; anything else (``"auto"``, -1, absent, invalid) gives 5."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return 5


def create_job(
    state: EmulatorState,
    *,
    platform: str,
    request_id: str,
    route: str,
    tier: str,
    model: str,
    prompt: Any,
    params: dict[str, Any],
    seed: Any,
    duration: int = 5,
    failure: Failure | None = None,
    extra: dict[str, Any] | None = None,
) -> Job:
    """Create and store a job with the current timing config; apply any job fault for ``route``."""
    cfg = state.config
    chosen_seed = seed_for(seed)
    if chosen_seed is None:
        chosen_seed = state.random_seed()
    size = media.video_layout(request_id, chosen_seed, cfg.video_size_bytes).size
    job = Job(
        platform=platform,
        request_id=request_id,
        tier=tier,
        model=model,
        prompt=prompt if isinstance(prompt, str) else "",
        params=params,
        seed=chosen_seed,
        submitted_at=state.now(),
        queue_seconds=cfg.queue_seconds,
        run_seconds=cfg.run_seconds,
        video_size=size,
        duration=duration,
        failure=failure,
        extra=extra or {},
    )
    fault = state.faults.take(route, JOB_KINDS)
    if fault is not None and job.failure is None:
        if fault.kind == "never_finish":
            job.never_finish = True
        else:
            job.failure = Failure(
                code=fault.error,
                message=fault.body if isinstance(fault.body, str) else None,
                http_status=fault.status,
            )
    return state.add_job(job)


def media_url(request: Request, job: Job) -> str:
    """A freshly signed media URL for ``job``, valid for the configured TTL."""
    state = get_state(request)
    expires = int(state.clock.wall() + state.config.video_ttl_seconds)
    return root_url(request) + media.media_path(job.request_id, expires)


def iso(ts: float | None) -> str | None:
    """Unix time to RFC 3339 (UTC, milliseconds)."""
    if ts is None:
        return None

    return (
        dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
