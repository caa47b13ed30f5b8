"""The emulator's ASGI application: every route of :data:`.routes.ROUTES` bound to its handler,
the control API, and the fault/recording middleware around them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from airflow_provider_seedance.emulator import platforms, routes_media
from airflow_provider_seedance.emulator.config import EmulatorConfig
from airflow_provider_seedance.emulator.middleware import EmulatorMiddleware
from airflow_provider_seedance.emulator.responses import Refusal, error_response
from airflow_provider_seedance.emulator.routes import ROUTES, classify
from airflow_provider_seedance.emulator.routes_control import router as control_router
from airflow_provider_seedance.emulator.state import EmulatorState

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response

#: route name -> handler, for every route of the table
HANDLERS = {**platforms.HANDLERS, **routes_media.HANDLERS}


def create_fastapi(state: EmulatorState) -> FastAPI:
    """The FastAPI app (without the fault/recording middleware)."""
    app = FastAPI(
        title="Seedance emulator",
        description="Local fake of the Seedance 2.0 platform APIs (every mode each platform sells).",
        docs_url="/_emulator/docs",
        redoc_url=None,
        openapi_url="/_emulator/openapi.json",
    )
    app.state.emulator = state
    for route in ROUTES:
        app.add_api_route(route.path, HANDLERS[route.name], methods=[route.method], name=route.name)
    app.include_router(control_router)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refusal)
        return exc.response

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        dialect, _ = classify(request.method, request.url.path)
        status = getattr(exc, "status_code", 404)
        return error_response(dialect, status, f"No route for {request.method} {request.url.path}")

    app.add_exception_handler(Refusal, refused)
    app.add_exception_handler(404, not_found)
    app.add_exception_handler(405, not_found)
    return app


def create_app(config: EmulatorConfig | None = None) -> Any:
    """Build the full ASGI app for ``config`` (defaults: see :class:`.EmulatorConfig`)."""
    state = EmulatorState(config or EmulatorConfig())
    return EmulatorMiddleware(create_fastapi(state), state)
