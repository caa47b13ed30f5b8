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

A 429 on submit is the platform saying it did not accept the job, so it is not bounded by
``max_attempts``: it is retried until ``submit_rate_limit_deadline`` seconds after the first
attempt (no submit lost to a busy account). Every wait after a ``Retry-After`` is that hint times
U(1, 1 + ``retry_after_jitter``): waiters told the same second come back spread over the window
instead of all at once (which is what made 27 % of 500 submits from 32 submitters fail, issue 13).
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenacity import RetryCallState, retry_if_exception

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
    :param retry_after_jitter: A ``Retry-After`` hint is waited times U(1, 1 + this).
    :param submit_rate_limit_deadline: A submit refused with 429 is retried (whatever
        ``max_attempts`` says) until this many seconds after its first attempt.
    """

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    max_elapsed: float = 300.0
    retry_after_jitter: float = 0.5
    submit_rate_limit_deadline: float = 900.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        # ``not >= 0`` also refuses NaN (``min(nan, ...) < 0`` is False); +inf stays allowed.
        delays = (
            self.base_delay,
            self.max_delay,
            self.max_retry_after,
            self.max_elapsed,
            self.retry_after_jitter,
            self.submit_rate_limit_deadline,
        )
        if not all(d >= 0 for d in delays):
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
            hint = min(float(retry_after), self.max_retry_after)
            if isinstance(exc, SeedanceRateLimitError) and hint <= 0:
                hint = self.base_delay  # "Retry-After: 0" from a limiter still needs a spread
            return hint * random.uniform(1.0, 1.0 + self.retry_after_jitter)
        if isinstance(exc, SeedanceRateLimitError) and attempt > self.max_attempts:
            attempt = self.max_attempts  # a long 429 streak on submit: keep the backoff bounded
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
        if not retryable or self.gives_up(exc, failures, elapsed):
            return None
        return self.delay_for(exc, failures)

    def gives_up(
        self, exc: BaseException | None, failures: int, elapsed: float, op: Operation | None = None
    ) -> bool:
        """Whether to stop after ``failures`` failed attempts taking ``elapsed`` seconds.

        A submit refused with 429 stops only at ``submit_rate_limit_deadline``; the rest at
        ``max_attempts`` or ``max_elapsed``, whichever comes first.
        """
        if op is Operation.SUBMIT and isinstance(exc, SeedanceRateLimitError):
            return elapsed >= self.submit_rate_limit_deadline
        return failures >= self.max_attempts or elapsed >= self.max_elapsed

    def tenacity_kwargs(self, op: Operation, label: str) -> dict[str, Any]:
        """Keyword arguments for ``tenacity.Retrying`` and ``tenacity.AsyncRetrying`` alike."""

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return self.delay_for(exc, state.attempt_number)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            log.warning(
                "%s %s failed (attempt %d of %s): %s; retrying in %.1f s",
                label,
                op.value,
                state.attempt_number,
                f"{self.submit_rate_limit_deadline:.0f} s"
                if op is Operation.SUBMIT and isinstance(exc, SeedanceRateLimitError)
                else self.max_attempts,
                exc,
                delay,
            )

        def stop(state: RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            elapsed = state.seconds_since_start or 0.0
            return self.gives_up(exc, state.attempt_number, elapsed, op)

        retry_predicate: Callable[[BaseException], bool] = lambda exc: self.is_retryable(exc, op)  # noqa: E731
        return {
            "stop": stop,
            "wait": wait,
            "retry": retry_if_exception(retry_predicate),
            "before_sleep": before_sleep,
            "reraise": True,
        }


#: The media download's policy (a transfer's ``max_download_attempts`` / ``download_retry_delay``
#: replace its first two fields).
DOWNLOAD_RETRY = RetryPolicy(
    max_attempts=3, base_delay=2.0, max_retry_after=30.0, max_elapsed=math.inf, retry_after_jitter=0.0
)
