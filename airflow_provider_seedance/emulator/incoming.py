"""Reading an incoming platform call: its root URL, its JSON object body, the job it names.

:func:`submitted_body` and :func:`find_job` also authenticate the call; like
:func:`.auth.require_auth` they raise :class:`.Refusal` with the dialect's answer when the call
must not proceed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow_provider_seedance.emulator.auth import require_auth
from airflow_provider_seedance.emulator.responses import Refusal, error_response
from airflow_provider_seedance.emulator.state import Job, get_state

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import JSONResponse


class BadBody(ValueError):
    """The request body is not a JSON object."""


def root_url(request: Request) -> str:
    """Scheme + host the client used (``http://127.0.0.1:8787``), for URLs we hand out."""
    return str(request.base_url).rstrip("/")


async def read_json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object; :class:`BadBody` if it is not one."""
    raw = await request.body()
    try:
        data = json.loads(raw or b"null")
    except ValueError as exc:
        raise BadBody(f"Request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadBody("Request body must be a JSON object")
    return data


async def submitted_body(
    request: Request, dialect: str, bad_body: Callable[[str], JSONResponse] | None = None
) -> dict[str, Any]:
    """Authenticate a submit and read its JSON object body.

    Refuses with the dialect's 401, or for a body that is not a JSON object with
    ``bad_body(message)`` (by default the dialect's 400 with that message).
    """
    require_auth(request, dialect)
    try:
        return await read_json_object(request)
    except BadBody as exc:
        raise Refusal(
            error_response(dialect, 400, str(exc)) if bad_body is None else bad_body(str(exc))
        ) from exc


def find_job(request: Request, dialect: str, job_id: str, not_found: Callable[[str], JSONResponse]) -> Job:
    """Authenticate a call about one job and look the job up.

    Refuses with the dialect's 401, or with ``not_found(job_id)`` for an unknown (or deleted) job.
    """
    require_auth(request, dialect)
    job = get_state(request).get_job(dialect, job_id)
    if job is None:
        raise Refusal(not_found(job_id))
    return job
