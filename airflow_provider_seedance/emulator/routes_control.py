"""Control and inspection API under ``/_emulator/`` (no auth; loopback only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request  # noqa: TC002 - FastAPI resolves it at run time
from starlette.responses import JSONResponse, Response, StreamingResponse

from airflow_provider_seedance.emulator import media
from airflow_provider_seedance.emulator.dialects import EMULATED, served_platforms
from airflow_provider_seedance.emulator.faults import Fault
from airflow_provider_seedance.emulator.incoming import read_json_object
from airflow_provider_seedance.emulator.jobs import signed_media_url
from airflow_provider_seedance.emulator.responses import json_response
from airflow_provider_seedance.emulator.state import get_state

router = APIRouter(prefix="/_emulator")

FAULT_FIELDS = ("route", "kind", "times", "status", "retry_after", "delay", "body", "error")


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    state = get_state(request)
    return json_response(
        {
            "status": "ok",
            "platforms": list(served_platforms()),
            "dialects": list(EMULATED),
            "jobs": len(state.jobs),
        }
    )


@router.post("/reset")
async def reset(request: Request) -> JSONResponse:
    get_state(request).reset()
    return json_response({"status": "reset"})


@router.get("/config")
async def get_config(request: Request) -> JSONResponse:
    return json_response(get_state(request).config.public())


@router.post("/config")
async def set_config(request: Request) -> JSONResponse:
    state = get_state(request)
    try:
        changes = await read_json_object(request)
        state.config.update(changes)
    except ValueError as exc:
        return _bad(str(exc))
    state.clock.set_manual(state.config.manual_clock)
    return json_response(state.config.public())


@router.get("/faults")
async def list_faults(request: Request) -> JSONResponse:
    return json_response(get_state(request).faults.list())


@router.post("/faults")
async def add_fault(request: Request) -> JSONResponse:
    try:
        data = await read_json_object(request)
        unknown = set(data) - set(FAULT_FIELDS)
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        fault = Fault(**{k: v for k, v in data.items() if v is not None})
    except (ValueError, TypeError) as exc:
        return _bad(str(exc))
    return json_response(get_state(request).faults.add(fault).as_dict(), 201)


@router.delete("/faults")
async def clear_faults(request: Request) -> JSONResponse:
    get_state(request).faults.clear()
    return json_response({"status": "cleared"})


@router.get("/requests")
async def list_requests(request: Request) -> JSONResponse:
    route = request.query_params.get("route")
    entries: list[dict[str, Any]] = [
        e for e in get_state(request).requests if route is None or e.get("route") == route
    ]
    return json_response(entries)


@router.get("/jobs")
async def list_jobs(request: Request) -> JSONResponse:
    state = get_state(request)
    now = state.now()
    return json_response([job.summary(now) for job in state.jobs.values()])


@router.post("/clock/advance")
async def advance(request: Request) -> JSONResponse:
    state = get_state(request)
    try:
        data = await read_json_object(request)
        seconds = data.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ValueError("seconds must be a number")
        now = state.clock.advance(float(seconds))
    except ValueError as exc:
        return _bad(str(exc))
    return json_response({"now": now, "manual": state.clock.manual})


@router.get("/clock")
async def clock(request: Request) -> JSONResponse:
    state = get_state(request)
    return json_response({"now": state.now(), "wall": state.clock.wall(), "manual": state.clock.manual})


@router.get("/jobs/{request_id}/video")
async def job_video(request: Request, request_id: str) -> Response:
    """The exact bytes the job's media URL serves (whatever the job's phase)."""
    job = get_state(request).jobs.get(request_id)
    if job is None:
        return JSONResponse({"error": f"unknown job {request_id}"}, status_code=404)
    layout = media.video_layout(job.request_id, job.seed, job.video_size)
    return StreamingResponse(
        layout.aiter_bytes(),
        media_type=media.CONTENT_TYPE,
        headers={"Content-Length": str(layout.size)},
    )


@router.get("/jobs/{request_id}/video_url")
async def job_video_url(request: Request, request_id: str) -> JSONResponse:
    """A freshly signed media URL for the job (valid for the configured TTL)."""
    if request_id not in get_state(request).jobs:
        return JSONResponse({"error": f"unknown job {request_id}"}, status_code=404)
    url, expires = signed_media_url(request, request_id)
    return json_response({"url": url, "expires": expires})
