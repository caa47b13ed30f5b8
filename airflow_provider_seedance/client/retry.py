"""The one retry policy: bounded attempts, jittered exponential backoff, capped ``Retry-After``.

:class:`RetryPolicy` makes every retry decision without I/O (:meth:`RetryPolicy.next_delay`);
the sync and the async transport drive it through tenacity, the media download
(:func:`~airflow_provider_seedance.client.media.run_download_attempts`) through a plain loop.
:func:`parse_retry_after` is the one parser of the ``Retry-After`` header.

Reads (status, result, cancel, probe) are idempotent: they retry transport errors, 408, 429 and
5xx with jittered exponential backoff, honouring ``Retry-After``. A media download retries what
:attr:`~airflow_provider_seedance.client.errors.SeedanceDownloadError.retryable` allows
(:data:`DOWNLOAD_RETRY`: 3 attempts, ``Retry-After`` capped at 30 s, no overall deadline, since
one attempt may stream a large video for minutes).

A submit creates a paid job, so it is retried **only** when the request provably never reached
the server (a connect error: :attr:`SeedanceTransportError.request_sent` is False) or on 429.
A read timeout, a dropped connection or a 5xx after the body was sent surfaces as
:class:`SeedanceAmbiguousSubmitError` and is never re-sent.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenacity import RetryCallState, retry_if_exception, stop_after_attempt, stop_after_delay

from airflow_provider_seedance.client.errors import (
    SeedanceAPIError,
    SeedanceRateLimitError,
    SeedanceTransportError,
)

# The header parser lives beside the HTTP value types in platforms/http.py (the dialects' error
# mapping needs it, and importing this module from there would be circular); re-exported here.
from airflow_provider_seedance.client.platforms.http import Operation, parse_retry_after

__all__ = ["DOWNLOAD_RETRY", "RetryPolicy", "parse_retry_after"]

log = logging.getLogger("airflow_provider_seedance.client")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with jittered exponential backoff.

    :param max_attempts: Attempts per call, the first included.
    :param base_delay: First backoff in seconds; doubles each attempt, times U(0.5, 1.5).
    :param max_delay: Cap of one computed backoff.
    :param max_retry_after: Cap of a server's ``Retry-After`` hint.
    :param max_elapsed: Give up once this many seconds have passed since the first attempt.
    """

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    max_elapsed: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        # ``not >= 0`` also refuses NaN (``min(nan, ...) < 0`` is False); +inf stays allowed.
        if not all(d >= 0 for d in (self.base_delay, self.max_delay, self.max_retry_after, self.max_elapsed)):
            raise ValueError("retry delays must not be negative")

    def is_retryable(self, exc: BaseException, op: Operation) -> bool:
        """Whether ``exc`` raised by an ``op`` call may be retried."""
        if op is Operation.SUBMIT:
            if isinstance(exc, SeedanceTransportError):
                return not exc.request_sent
            return isinstance(exc, SeedanceRateLimitError)
        if isinstance(exc, SeedanceTransportError):
            return True
        return isinstance(exc, SeedanceAPIError) and exc.retryable

    def delay_for(self, exc: BaseException | None, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float):
            return min(float(retry_after), self.max_retry_after)
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return backoff * random.uniform(0.5, 1.5)

    def next_delay(
        self, exc: BaseException, failures: int, *, retryable: bool, elapsed: float = 0.0
    ) -> float | None:
        """After ``failures`` failed attempts, seconds to wait before the next one; None: give up.

        :param exc: The last failure (its ``retry_after`` hint, if any, is honoured up to the cap).
        :param failures: Failed attempts so far, the last one included.
        :param retryable: Whether ``exc`` may be retried at all.
        :param elapsed: Seconds since the first attempt started.
        """
        if not retryable or failures >= self.max_attempts or elapsed >= self.max_elapsed:
            return None
        return self.delay_for(exc, failures)

    def tenacity_kwargs(self, op: Operation, label: str) -> dict[str, Any]:
        """Keyword arguments for ``tenacity.Retrying`` and ``tenacity.AsyncRetrying`` alike."""

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return self.delay_for(exc, state.attempt_number)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            log.warning(
                "%s %s failed (attempt %d of %d): %s; retrying in %.1f s",
                label,
                op.value,
                state.attempt_number,
                self.max_attempts,
                exc,
                delay,
            )

        retry_predicate: Callable[[BaseException], bool] = lambda exc: self.is_retryable(exc, op)  # noqa: E731
        return {
            "stop": stop_after_attempt(self.max_attempts) | stop_after_delay(self.max_elapsed),
            "wait": wait,
            "retry": retry_if_exception(retry_predicate),
            "before_sleep": before_sleep,
            "reraise": True,
        }


#: The media download's policy (a transfer's ``max_download_attempts`` / ``download_retry_delay``
#: replace its first two fields).
DOWNLOAD_RETRY = RetryPolicy(max_attempts=3, base_delay=2.0, max_retry_after=30.0, max_elapsed=math.inf)
