"""The API-key check: each dialect's ``Authorization`` scheme and its 401 answer."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from airflow_provider_seedance.emulator.dialects import EMULATED
from airflow_provider_seedance.emulator.responses import Refusal, error_response
from airflow_provider_seedance.emulator.state import get_state

if TYPE_CHECKING:
    from starlette.requests import Request


def require_auth(request: Request, dialect: str) -> None:
    """Raise :class:`.Refusal` with the dialect's 401 unless ``Authorization`` carries the key."""
    scheme = EMULATED[dialect].auth_scheme
    header = request.headers.get("authorization", "")
    given_scheme, _, token = header.strip().partition(" ")
    key = get_state(request).config.api_key
    if given_scheme.lower() == scheme.lower() and hmac.compare_digest(token.strip().encode(), key.encode()):
        return
    if not header:
        message = f"Missing Authorization header; expected 'Authorization: {scheme} <key>'"
    elif given_scheme.lower() != scheme.lower():
        message = f"Unsupported authorization scheme; expected 'Authorization: {scheme} <key>'"
    else:
        message = "Invalid API key"
    if dialect == "ark":
        message = f"The API key or AK/SK in the request is missing or invalid. {message}."
    raise Refusal(error_response(dialect, 401, message))
