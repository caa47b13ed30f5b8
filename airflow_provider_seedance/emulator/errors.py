"""Each platform's error body shape (api-dialects.md §1.6, §2, §3, §4).

:func:`error_body` returns ``(body, headers)`` for an HTTP error on a platform; route handlers,
the auth check and injected ``status`` faults all use it, so every error a client sees from the
emulator has that platform's shape.
"""

from __future__ import annotations

import secrets
import time
import uuid
from http import HTTPStatus
from typing import Any

FAL_ERROR_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    408: "request_timeout",
    422: "validation_error",
    429: "rate_limited",
    499: "client_cancelled",
    500: "internal_error",
    502: "runner_incomplete_response",
    503: "runner_scheduling_failure",
    504: "request_timeout",
}
_OXEN_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    402: "insufficient_credits",
    403: "forbidden",
    404: "resource_not_found",
    429: "too_many_requests",
    500: "internal_server_error",
    502: "upstream",
    503: "service_unavailable",
    504: "gateway_timeout",
}
_AIHUBMAX_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large_error",
    422: "validation_error",
    429: "rate_limit_error",
    500: "internal_server_error",
    502: "upstream_error",
    503: "service_unavailable_error",
}
_ARK_CODES = {
    400: ("InvalidParameter", "BadRequest"),
    401: ("AuthenticationError", "Unauthorized"),
    403: ("AccessDenied", "Forbidden"),
    404: ("InvalidEndpoint.NotFound", "NotFound"),
    429: ("RateLimitExceeded.EndpointRPMExceeded", "TooManyRequests"),
    500: ("InternalServiceError", "InternalServerError"),
    502: ("InternalServiceError", "BadGateway"),
    503: ("ServiceUnavailable", "ServiceUnavailable"),
    504: ("RequestTimeout", "GatewayTimeout"),
}
_HINTS = {429: "retry after 60 seconds", 503: "retry after 30 seconds"}


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Client Closed Request" if status == 499 else "Error"


def ark_request_id() -> str:
    return time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(10)


def error_body(
    platform: str | None,
    status: int,
    message: str | None = None,
    *,
    error: str | None = None,
    param: str | None = None,
) -> tuple[Any, dict[str, str]]:
    """The platform's JSON error body and headers for HTTP ``status``."""
    message = message or reason(status)
    headers: dict[str, str] = {}
    if platform == "fal":
        error_type = error or FAL_ERROR_TYPES.get(
            status, "internal_error" if status >= 500 else "bad_request"
        )
        headers["X-Fal-Error-Type"] = error_type
        headers["x-fal-request-id"] = str(uuid.uuid4())
        return {"detail": message, "error_type": error_type}, headers
    if platform == "oxen":
        error_type = error or _OXEN_TYPES.get(status, "error")
        return (
            {
                "error": {"type": error_type, "title": message},
                "status": "error",
                "status_message": error_type,
            },
            headers,
        )
    if platform == "aihubmax":
        error_type = error or _AIHUBMAX_TYPES.get(status, "internal_server_error")
        hint = _HINTS.get(status)
        body: dict[str, Any] = {"code": status, "message": f"{message} ({hint})" if hint else message}
        body["type"] = error_type
        if param:
            body["param"] = param
        return {"error": body}, headers
    if platform == "ark":
        request_id = ark_request_id()
        code, kind = _ARK_CODES.get(status, ("InternalServiceError", "InternalServerError"))
        headers["X-Request-Id"] = request_id
        return (
            {
                "error": {
                    "code": error or code,
                    "message": f"{message} Request id: {request_id}",
                    "param": param or "",
                    "type": kind,
                }
            },
            headers,
        )
    # media / unknown: a storage-style error
    return {"error": {"code": status, "message": message, "type": error or reason(status)}}, headers
