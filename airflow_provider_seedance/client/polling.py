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

How long each :class:`Sleep` is (:meth:`Poller.sleep_for`): the fixed ``poll_interval`` unless
asked otherwise. A triggerer waiting for thousands of jobs wants :data:`SCALE_SCHEDULE`:

* ``jitter``: every sleep times U(1 - j, 1 + j), so triggers deferred together drift apart
  instead of polling in one burst per interval;
* ``first_poll_phase``: the first status call after U(0, 1) x ``poll_interval`` (a triggerer
  that picks up 10,000 triggers at once spreads them over one interval), after the adaptive
  delay when a minimal duration is known (no early polls that cannot see an end);
* ``adaptive``: sleep longer (up to ``max_interval``) while what the platform said rules out an
  early end: a queue position that drains at the observed rate, a progress percentage over the
  time the job has been running, or a minimal duration (``expected_seconds`` since
  ``started_at``, or the low quantile :class:`TypicalDurations` learned from earlier jobs of
  the kind). Queue and progress estimates are used at half, the minimal duration at 0.9, and
  near a possible end the sleep is ``poll_interval`` again, so detection lag stays within
  ``poll_interval`` x (1 + j).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_provider_seedance.client.errors import SeedanceError
from airflow_provider_seedance.client.events import EventStatus, JobEvent
from airflow_provider_seedance.client.models import JobRef, JobState, JobStatus

#: Failed status calls in a row tolerated before giving up. Each one already includes the
#: client's own bounded retries, and the poller backs off between them (up to 60 s).
DEFAULT_MAX_POLL_ERRORS = 10
#: Longest adaptive sleep: a job that fails or is cancelled early is still seen within a minute.
DEFAULT_MAX_INTERVAL = 60.0
#: Share of a job's minimal duration slept through before polling at ``poll_interval`` again.
TYPICAL_SHARE = 0.9


class TypicalDurations:
    """Observed submit-to-end seconds of finished jobs, per kind (e.g. platform, tier, resolution).

    :meth:`lower_bound` is a low quantile of the recent observations (None until ``min_samples``
    are known): few jobs of that kind end sooner, so a poller can sleep through most of it.
    """

    def __init__(self, *, window: int = 200, min_samples: int = 20, quantile: float = 0.05) -> None:
        self.window, self.min_samples, self.quantile = window, min_samples, quantile
        self._seen: dict[tuple[str, ...], deque[float]] = {}

    def observe(self, kind: tuple[str, ...], seconds: float) -> None:
        if seconds > 0:
            self._seen.setdefault(kind, deque(maxlen=self.window)).append(seconds)

    def lower_bound(self, kind: tuple[str, ...]) -> float | None:
        seen = self._seen.get(kind)
        if seen is None or len(seen) < self.min_samples:
            return None
        ordered = sorted(seen)
        return ordered[int(self.quantile * (len(ordered) - 1))]


#: The process-wide record the triggerer's pollers share (one triggerer: one record).
TYPICAL_DURATIONS = TypicalDurations()
#: The pollers' shared random source (seeding one per poller costs ~0.25 ms of CPU from urandom).
_RNG = random.Random()


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
    :param jitter: Each sleep is multiplied by U(1 - jitter, 1 + jitter) (0: exact sleeps).
    :param first_poll_phase: Sleep U(0, poll_interval) before the first status call.
    :param adaptive: Sleep longer while the platform's answers rule out an early end (module doc).
    :param max_interval: Cap of an adaptive sleep.
    :param started_at: When the job was submitted (epoch seconds), for ``expected_seconds`` and
        ``durations``; None: those hints are not used (the poller's start is not the submit).
    :param expected_seconds: Seconds from submit before which jobs like this one (almost) never
        end, if known (e.g. a low quantile of the durations seen for its resolution and length).
    :param durations: Learned typical durations: read for ``duration_kind``, fed when the job succeeds.
    :param duration_kind: What jobs this one is like (default: platform and tier).
    :param rng: The random source of jitter and phase.
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
    jitter: float = 0.0
    first_poll_phase: bool = False
    adaptive: bool = False
    max_interval: float = DEFAULT_MAX_INTERVAL
    started_at: float | None = None
    expected_seconds: float | None = None
    durations: TypicalDurations | None = field(default=None, repr=False)
    duration_kind: tuple[str, ...] | None = None
    rng: random.Random = field(default=_RNG, repr=False)
    polls: int = 0
    _last: JobStatus | None = field(default=None, repr=False)
    _last_at: float = field(default=0.0, repr=False)
    _running_since: float | None = field(default=None, repr=False)
    _queue_first: tuple[float, int] | None = field(default=None, repr=False)
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

    def __post_init__(self) -> None:
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        if self.duration_kind is None:
            self.duration_kind = (self.ref.platform, self.ref.tier)

    def _steps(self) -> Generator[Fetch | Sleep, PollReply, JobEvent]:
        if self.first_poll_phase:
            # after what rules out an early end (a minimal duration), spread over one interval
            now = self.clock()
            known = self.informed_delay(now) if self.adaptive else 0.0
            phase = known + self.rng.uniform(0, self.poll_interval)
            yield Sleep(max(0.0, min(phase, self.end_time - now)))
        while True:
            if self.timed_out(self.clock()):
                return self.timeout_event()
            reply = yield Fetch()
            self.polls += 1
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
        elif self.adaptive:
            delay = max(delay, self.informed_delay(now))
        if self.jitter:
            delay *= self.rng.uniform(1 - self.jitter, 1 + self.jitter)
        return max(0.0, min(delay, self.end_time - now))

    def informed_delay(self, now: float) -> float:
        """The longest sleep what is known rules out an end during (0: nothing known), capped."""
        status, candidates = self._last, [0.0]
        if (
            status is not None
            and status.state is JobState.QUEUED
            and status.queue_position
            and self._queue_first is not None
        ):
            t0, p0 = self._queue_first
            if p0 > status.queue_position and self._last_at > t0:
                rate = (p0 - status.queue_position) / (self._last_at - t0)
                candidates.append(0.5 * status.queue_position / rate - (now - self._last_at))
        if (
            status is not None
            and status.state is JobState.RUNNING
            and status.progress is not None
            and 0 < status.progress < 100
            and self._running_since is not None
        ):
            ran = self._last_at - self._running_since
            remaining = ran * (100 - status.progress) / status.progress
            candidates.append(0.5 * remaining - (now - self._last_at))
        if self.started_at is not None:
            typical = self.expected_seconds
            if typical is None and self.durations is not None and self.duration_kind is not None:
                typical = self.durations.lower_bound(self.duration_kind)
            if typical is not None:
                candidates.append(TYPICAL_SHARE * typical - (now - self.started_at))
        return min(self.max_interval, max(candidates))

    def observe(self, status: JobStatus) -> tuple[list[str], JobEvent | None]:
        """Record a status. Returns log lines worth printing and, when terminal, the final event."""
        self.consecutive_errors = 0
        now = self.clock()
        self._last, self._last_at = status, now
        if status.state is JobState.RUNNING and self._running_since is None:
            self._running_since = now
        if status.state is JobState.QUEUED and status.queue_position and self._queue_first is None:
            self._queue_first = (now, status.queue_position)
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
        if (
            status.state is JobState.SUCCEEDED
            and self.started_at is not None
            and self.durations is not None
            and self.duration_kind is not None
        ):
            self.durations.observe(self.duration_kind, now - self.started_at)
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


#: The schedule a triggerer running many jobs should use (``Poller(..., **SCALE_SCHEDULE)``).
SCALE_SCHEDULE: dict[str, Any] = {
    "jitter": 0.15,
    "first_poll_phase": True,
    "adaptive": True,
    "durations": TYPICAL_DURATIONS,
}


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
