"""The emulator's ASGI application: every platform router behind one root."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.responses import JSONResponse

from airflow_provider_seedance.emulator.config import EmulatorConfig
from airflow_provider_seedance.emulator.errors import error_body
from airflow_provider_seedance.emulator.middleware import EmulatorMiddleware, classify
from airflow_provider_seedance.emulator.platforms import aihubmax, ark, fal, oxen
from airflow_provider_seedance.emulator.routes_control import router as control_router
from airflow_provider_seedance.emulator.routes_media import router as media_router
from airflow_provider_seedance.emulator.state import EmulatorState

if TYPE_CHECKING:
    from starlette.requests import Request


def create_fastapi(state: EmulatorState) -> FastAPI:
    """The FastAPI app (without the fault/recording middleware)."""
    app = FastAPI(
        title="Seedance emulator",
        description="Local fake of the Seedance 2.0 reference-to-video platform APIs.",
        docs_url="/_emulator/docs",
        redoc_url=None,
        openapi_url="/_emulator/openapi.json",
    )
    app.state.emulator = state
    for router in (fal.router, oxen.router, aihubmax.router, ark.router, media_router, control_router):
        app.include_router(router)

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        platform, _ = classify(request.method, request.url.path)
        status = getattr(exc, "status_code", 404)
        body, headers = error_body(platform, status, f"No route for {request.method} {request.url.path}")
        return JSONResponse(body, status_code=status, headers=headers)

    app.add_exception_handler(404, not_found)
    app.add_exception_handler(405, not_found)
    return app


def create_app(config: EmulatorConfig | None = None) -> Any:
    """Build the full ASGI app for ``config`` (defaults: see :class:`.EmulatorConfig`)."""
    state = EmulatorState(config or EmulatorConfig())
    return EmulatorMiddleware(create_fastapi(state), state)
