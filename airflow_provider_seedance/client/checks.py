"""Small shared checks of values a user sets: numbers (finite, in range) and API keys.

Every numeric parameter of the operator, sensor, trigger, transfer and connection goes through
:func:`number_problem` / :func:`check_numbers`, so ``nan``, ``inf``, a bool or a string that is not
a number is refused the same way everywhere, before any request, with the field named. An API
key goes through :func:`clean_api_key`: surrounding whitespace is stripped, a control or
non-ASCII character inside it is refused (httpx would refuse the header, or fail to encode it,
with the key in its message); the message never contains the key.
"""

from __future__ import annotations

import math
from typing import Any

from airflow_provider_seedance.client.errors import FieldError, SeedanceValidationError

#: The longest duration (seconds) any wait, timeout or delay may be: 366 days.
MAX_SECONDS = 366 * 24 * 3600.0


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def number_problem(
    field: str,
    value: Any,
    *,
    minimum: float | None = None,
    exclusive_minimum: bool = False,
    maximum: float | None = None,
    integer: bool = False,
) -> FieldError | None:
    """Why ``value`` is not an acceptable number for ``field`` (None: it is).

    Accepted: an ``int`` or ``float`` (never a ``bool``) that is finite and within
    ``[minimum, maximum]`` (``(minimum, maximum]`` with ``exclusive_minimum``); with ``integer``,
    a whole number.
    """
    kind = "an integer" if integer else "a number"
    if minimum is not None:
        bound = f"> {minimum:g}" if exclusive_minimum else f">= {minimum:g}"
        if maximum is not None:
            bound += f" and <= {maximum:g}"
        kind += f" {bound}"
    elif maximum is not None:
        kind += f" <= {maximum:g}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return FieldError(field, f"must be {kind}, got {type(value).__name__} {_describe(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        return FieldError(field, f"must be {kind} (finite), got {value!r}")
    if integer and not isinstance(value, int):
        return FieldError(field, f"must be {kind}, got {value!r}")
    too_low = minimum is not None and (value <= minimum if exclusive_minimum else value < minimum)
    if too_low or (maximum is not None and value > maximum):
        return FieldError(field, f"must be {kind}, got {value!r}")
    return None


def check_numbers(problems: list[FieldError | None]) -> None:
    """Raise one :class:`SeedanceValidationError` listing every problem found (None entries: fine)."""
    errors = [p for p in problems if p is not None]
    if errors:
        raise SeedanceValidationError(errors)


def seconds_problem(field: str, value: Any, *, allow_zero: bool = False) -> FieldError | None:
    """A duration in seconds: finite, positive (or >= 0 with ``allow_zero``), at most :data:`MAX_SECONDS`."""
    return number_problem(field, value, minimum=0.0, exclusive_minimum=not allow_zero, maximum=MAX_SECONDS)


def api_key_problem(key: str) -> str | None:
    """Why an (already stripped) key cannot be sent in a header; None when it can. Never quotes the key."""
    if not key:
        return "is empty"
    for position, char in enumerate(key, start=1):
        if not " " <= char <= "~":
            printable = char.isprintable() and not char.isascii()
            what = "a non-ASCII character" if printable else "a control character"
            return (
                f"contains {what} at position {position} of {len(key)} "
                "(a pasted line break or tab?); an API key is printable ASCII"
            )
    return None


def clean_api_key(key: str, field: str) -> str:
    """``key`` without surrounding whitespace; unusable: :class:`SeedanceValidationError` naming ``field``."""
    stripped = key.strip() if isinstance(key, str) else ""
    problem = api_key_problem(stripped) if isinstance(key, str) else "must be a string"
    if problem is not None:
        raise SeedanceValidationError([FieldError(field, problem)])
    return stripped
