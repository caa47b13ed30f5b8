"""Creating jobs for the platform routes: ids, the requested duration, start-up job faults, and
the signed media URL a finished job hands out."""

from __future__ import annotations

import secrets
import string
from typing import TYPE_CHECKING, Any

from airflow_provider_seedance.emulator import media, render
from airflow_provider_seedance.emulator.faults import JOB_KINDS
from airflow_provider_seedance.emulator.incoming import root_url
from airflow_provider_seedance.emulator.state import EmulatorState, Failure, Job, get_state
from airflow_provider_seedance.emulator.validation import seed_for

if TYPE_CHECKING:
    from starlette.requests import Request

_TOKEN_ALPHABET = string.ascii_lowercase + string.digits


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
    body: dict[str, Any],
    prompt: Any = None,
    failure: Failure | None = None,
    extra: dict[str, Any] | None = None,
) -> Job:
    """Create and store a job for submit ``body`` with the current timing config.

    The seed and duration come from the body's ``seed`` and ``duration``; ``prompt`` defaults to
    the body's ``prompt``. Any job fault for ``route`` applies to the new job. With
    ``render_videos`` on, the job's video is a take rendered for the request (:mod:`.render`).
    """
    cfg = state.config
    chosen_seed = seed_for(body.get("seed"))
    if chosen_seed is None:
        chosen_seed = state.random_seed()
    prompt = body.get("prompt") if prompt is None else prompt
    if cfg.render_videos:
        spec = render.spec_from_params(chosen_seed, prompt if isinstance(prompt, str) else "", body)
        render.register_job(request_id, spec)
    size = media.video_layout(request_id, chosen_seed, cfg.video_size_bytes).size
    job = Job(
        platform=platform,
        request_id=request_id,
        tier=tier,
        model=model,
        prompt=prompt if isinstance(prompt, str) else "",
        params=body,
        seed=chosen_seed,
        submitted_at=state.now(),
        queue_seconds=cfg.queue_seconds,
        run_seconds=cfg.run_seconds,
        video_size=size,
        duration=job_duration(body.get("duration")),
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


def signed_media_url(request: Request, request_id: str) -> tuple[str, int]:
    """A freshly signed media URL for job ``request_id`` and its expiry (Unix time, configured TTL)."""
    state = get_state(request)
    expires = int(state.clock.wall() + state.config.video_ttl_seconds)
    return root_url(request) + media.media_path(request_id, expires), expires


def media_url(request: Request, job: Job) -> str:
    """A freshly signed media URL for ``job``."""
    return signed_media_url(request, job.request_id)[0]
