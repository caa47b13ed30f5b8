"""What route handlers answer: JSON, the platform's error shape, and :class:`Refusal`.

A helper that finds the call must not proceed (bad key, unknown job, body not JSON) raises
:class:`Refusal` with the answer to send; the app (:func:`.app.create_fastapi`) sends it, so
handlers need no "did the helper refuse?" check after every call.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from airflow_provider_seedance.emulator.errors import error_body


class Refusal(Exception):
    """Stop handling this call and send :attr:`response` instead."""

    def __init__(self, response: JSONResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=headers)


def error_response(
    dialect: str | None,
    status: int,
    message: str | None = None,
    *,
    error: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """HTTP ``status`` in ``dialect``'s error shape (see :func:`.errors.error_body`)."""
    body, extra = error_body(dialect, status, message, error=error, param=param)
    return JSONResponse(body, status_code=status, headers={**extra, **(headers or {})})
