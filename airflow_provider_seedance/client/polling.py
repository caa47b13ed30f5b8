"""Sans-I/O waiting logic shared by the worker's sync poll loop and the trigger's async one.

:class:`Poller` decides, from observations, whether to keep waiting, how long to sleep, when
to give up, and which single event ends the wait. The drivers only fetch statuses and sleep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow_provider_seedance.client.models import JobRef, JobState, JobStatus

#: Event statuses, the only values a wait can end with.
SUCCESS = "success"
FAILED = "failed"
CANCELLED = "cancelled"
TIMEOUT = "timeout"
ERROR = "error"
EVENT_STATUSES = frozenset({SUCCESS, FAILED, CANCELLED, TIMEOUT, ERROR})
#: Failed status calls in a row tolerated before giving up. Each one already includes the
#: client's own bounded retries, and the poller backs off between them (up to 60 s).
DEFAULT_MAX_POLL_ERRORS = 10

_STATE_TO_EVENT = {
    JobState.SUCCEEDED: SUCCESS,
    JobState.FAILED: FAILED,
    JobState.EXPIRED: FAILED,
    JobState.CANCELLED: CANCELLED,
}


def make_event(
    status: str, ref: JobRef, message: str, *, remote_state: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The one small, JSON-only payload that ends a wait. No video bytes, no signed URLs."""
    if status not in EVENT_STATUSES:
        raise ValueError(f"unknown event status {status!r}")
    return {
        "status": status,
        "request_id": ref.request_id,
        "job": ref.to_dict(),
        "message": message,
        "remote_state": remote_state,
        **extra,
    }


@dataclass
class Poller:
    """Decides how a wait for one job proceeds.

    :param ref: The job waited for.
    :param end_time: Wall-clock deadline (epoch seconds): survives serialization to another process.
    :param poll_interval: Seconds between status calls.
    :param max_consecutive_errors: Failed status calls in a row before giving up.
    """

    ref: JobRef
    end_time: float
    poll_interval: float
    max_consecutive_errors: int = DEFAULT_MAX_POLL_ERRORS
    consecutive_errors: int = 0
    last_line: str | None = None
    seen_logs: int = 0
    _backoff_cap: float = field(default=60.0, repr=False)

    def timed_out(self, now: float) -> bool:
        return now >= self.end_time

    def sleep_for(self, now: float) -> float:
        """Seconds to sleep before the next status call, never past the deadline."""
        delay = self.poll_interval
        if self.consecutive_errors:
            delay = min(self._backoff_cap, self.poll_interval * 2 ** (self.consecutive_errors - 1))
        return max(0.0, min(delay, self.end_time - now))

    def observe(self, status: JobStatus) -> tuple[list[str], dict[str, Any] | None]:
        """Record a status. Returns log lines worth printing and, when terminal, the final event."""
        self.consecutive_errors = 0
        lines: list[str] = []
        line = status.describe()
        if line != self.last_line:
            lines.append(f"Seedance job {self.ref.request_id}: {line}")
            self.last_line = line
        if len(status.logs) > self.seen_logs:
            lines.extend(
                f"Seedance job {self.ref.request_id} log: {msg}" for msg in status.logs[self.seen_logs :]
            )
            self.seen_logs = len(status.logs)
        if not status.is_terminal:
            return lines, None
        event_status = _STATE_TO_EVENT[status.state]
        message = f"Seedance job {self.ref.request_id} {status.state.value}"
        if status.error:
            message += f": {status.error}" + (f" ({status.error_type})" if status.error_type else "")
        return lines, make_event(event_status, self.ref, message, remote_state=status.raw_status)

    def observe_error(self, exc: BaseException) -> dict[str, Any] | None:
        """Record a failed status call. Returns the ``error`` event once the limit is reached."""
        self.consecutive_errors += 1
        if self.consecutive_errors < self.max_consecutive_errors:
            return None
        return make_event(
            ERROR,
            self.ref,
            f"Gave up polling Seedance job {self.ref.request_id} after {self.consecutive_errors} "
            f"consecutive errors; last: {type(exc).__name__}: {exc}",
        )

    def timeout_event(self, cancel_note: str) -> dict[str, Any]:
        return make_event(
            TIMEOUT,
            self.ref,
            f"Seedance job {self.ref.request_id} did not finish before the deadline; {cancel_note}",
            remote_state=self.last_line,
        )
