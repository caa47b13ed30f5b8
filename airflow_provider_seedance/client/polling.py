"""The wait for one job: the poll loop written once as sans-I/O logic, and its two drivers.

:meth:`Poller.step` is the whole loop (deadline, status, error tolerance with backoff, log
lines, the single final :class:`~.events.JobEvent`). It never does I/O: it answers with a
:class:`Fetch` (get the job's status and hand it back, or the :class:`~.errors.SeedanceError`
the call raised) or a :class:`Sleep`, until it answers with the event. :func:`wait_sync` (the
operator's wait in the worker) and :func:`wait_async` (the trigger's) drive it, and differ only
in the lines that do I/O, like the clients' ``_run``.

A :class:`~.errors.SeedanceError` from a status call is a failed poll, tolerated up to
``max_consecutive_errors`` in a row; any other exception is a bug and propagates (the trigger
turns it into its one ``error`` event). The loop never cancels: the job's owner decides that
from the event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_provider_seedance.client.errors import SeedanceError
from airflow_provider_seedance.client.events import EventStatus, JobEvent
from airflow_provider_seedance.client.models import JobRef, JobStatus

#: Failed status calls in a row tolerated before giving up. Each one already includes the
#: client's own bounded retries, and the poller backs off between them (up to 60 s).
DEFAULT_MAX_POLL_ERRORS = 10


class _Log(Protocol):
    """A logger: the stdlib's, or the structlog one Airflow gives operators and triggers."""

    def info(self, event: Any, *args: Any) -> Any: ...

    def warning(self, event: Any, *args: Any) -> Any: ...


@dataclass(frozen=True)
class Fetch:
    """Get the job's status; pass the :class:`JobStatus` (or the ``SeedanceError``) to the next step."""


@dataclass(frozen=True)
class Sleep:
    """Sleep this many seconds, then take the next step."""

    seconds: float


#: What a driver hands to :meth:`Poller.step`: nothing, a status, or the error a status call raised.
PollReply = JobStatus | SeedanceError | None


@dataclass
class Poller:
    """Decides how a wait for one job proceeds.

    :param ref: The job waited for.
    :param end_time: Wall-clock deadline (epoch seconds): survives serialization to another process.
    :param poll_interval: Seconds between status calls.
    :param max_consecutive_errors: Failed status calls in a row before giving up.
    :param log: Where status changes and failed polls are logged (None: nowhere).
    :param clock: The wall clock (epoch seconds).
    """

    ref: JobRef
    end_time: float
    poll_interval: float
    max_consecutive_errors: int = DEFAULT_MAX_POLL_ERRORS
    log: _Log | None = field(default=None, repr=False)
    clock: Callable[[], float] = field(default=time.time, repr=False)
    consecutive_errors: int = 0
    last_line: str | None = None
    seen_logs: int = 0
    _backoff_cap: float = field(default=60.0, repr=False)
    _loop: Generator[Fetch | Sleep, PollReply, JobEvent] | None = field(default=None, repr=False)
    _event: JobEvent | None = field(default=None, repr=False)

    # -- the loop --------------------------------------------------------------------------
    def step(self, reply: PollReply = None) -> Fetch | Sleep | JobEvent:
        """Advance the wait: hand in what the previous step asked for; get the next step or the event."""
        if self._event is not None:
            return self._event
        if self._loop is None:
            self._loop = self._steps()
        try:
            return self._loop.send(reply)
        except StopIteration as done:
            self._event = done.value
            return done.value

    def _steps(self) -> Generator[Fetch | Sleep, PollReply, JobEvent]:
        while True:
            if self.timed_out(self.clock()):
                return self.timeout_event()
            reply = yield Fetch()
            if isinstance(reply, SeedanceError):
                if self.log is not None:
                    self.log.warning("Polling Seedance job %s failed: %s", self.ref.request_id, reply)
                event = self.observe_error(reply)
            elif isinstance(reply, JobStatus):
                lines, event = self.observe(reply)
                if self.log is not None:
                    for line in lines:
                        self.log.info(line)
            else:
                raise TypeError(f"a Fetch step needs a JobStatus or a SeedanceError, got {reply!r}")
            if event is not None:
                return event
            yield Sleep(self.sleep_for(self.clock()))

    # -- the decisions ---------------------------------------------------------------------
    def timed_out(self, now: float) -> bool:
        return now >= self.end_time

    def sleep_for(self, now: float) -> float:
        """Seconds to sleep before the next status call, never past the deadline."""
        delay = self.poll_interval
        if self.consecutive_errors:
            delay = min(self._backoff_cap, self.poll_interval * 2 ** (self.consecutive_errors - 1))
        return max(0.0, min(delay, self.end_time - now))

    def observe(self, status: JobStatus) -> tuple[list[str], JobEvent | None]:
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
        message = f"Seedance job {self.ref.request_id} {status.state.value}"
        if status.error:
            message += f": {status.error}" + (f" ({status.error_type})" if status.error_type else "")
        event = JobEvent(
            status=EventStatus.for_state(status.state),
            job=self.ref,
            message=message,
            remote_state=status.raw_status,
            error_type=status.error_type,
        )
        return lines, event

    def observe_error(self, exc: BaseException) -> JobEvent | None:
        """Record a failed status call. Returns the ``error`` event once the limit is reached."""
        self.consecutive_errors += 1
        if self.consecutive_errors < self.max_consecutive_errors:
            return None
        return JobEvent(
            status=EventStatus.ERROR,
            job=self.ref,
            message=f"Gave up polling Seedance job {self.ref.request_id} after {self.consecutive_errors} "
            f"consecutive errors; last: {type(exc).__name__}: {exc}",
        )

    def timeout_event(self) -> JobEvent:
        return JobEvent(
            status=EventStatus.TIMEOUT,
            job=self.ref,
            message=f"Seedance job {self.ref.request_id} did not finish before the deadline",
            remote_state=self.last_line,
        )


def wait_sync(
    poller: Poller, status: Callable[[JobRef], JobStatus], *, sleep: Callable[[float], object] = time.sleep
) -> JobEvent:
    """Run the wait in this thread: ``status`` is a blocking status call (``SeedanceClient.status``)."""
    reply: PollReply = None
    while not isinstance(step := poller.step(reply), JobEvent):
        reply = None
        if isinstance(step, Sleep):
            sleep(step.seconds)
            continue
        try:
            reply = status(poller.ref)
        except SeedanceError as exc:
            reply = exc
    return step


async def wait_async(
    poller: Poller,
    status: Callable[[JobRef], Awaitable[JobStatus]],
    *,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> JobEvent:
    """Run the wait on the event loop: ``status`` is an async status call (``AsyncSeedanceClient.status``)."""
    reply: PollReply = None
    while not isinstance(step := poller.step(reply), JobEvent):
        reply = None
        if isinstance(step, Sleep):
            await sleep(step.seconds)
            continue
        try:
            reply = await status(poller.ref)
        except SeedanceError as exc:
            reply = exc
    return step
