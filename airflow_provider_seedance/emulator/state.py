"""Emulator state: the clock, jobs (whose phase is computed lazily from the clock) and the
request log, and :func:`get_state` to reach it from a request. Everything lives on the server's
event loop; nothing runs in the background."""

from __future__ import annotations

import bisect
import datetime as dt
import random
import time
from collections import deque
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from airflow_provider_seedance.emulator.config import EmulatorConfig
from airflow_provider_seedance.emulator.faults import Fault, FaultRegistry
from airflow_provider_seedance.emulator.limits import AccountLimits

if TYPE_CHECKING:
    from starlette.requests import Request


class Phase(StrEnum):
    """Where an emulated job is on the clock; each platform module maps it to its own status names."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED})

#: Keep at most this many request-log entries (oldest dropped first).
MAX_REQUEST_LOG = 200_000

#: Header names whose values are never recorded.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "x-fal-key"})


class Clock:
    """Seconds since the last reset; real time by default, frozen in manual mode.

    :meth:`advance` moves it forward in both modes, so tests can jump past queue/run times or
    URL lifetimes without sleeping.
    """

    def __init__(self, manual: bool = False) -> None:
        self._base = 0.0
        self._mark = time.monotonic()
        self._manual = manual
        self.wall_origin = time.time()

    @property
    def manual(self) -> bool:
        return self._manual

    def now(self) -> float:
        if self._manual:
            return self._base
        return self._base + (time.monotonic() - self._mark)

    def wall(self, t: float | None = None) -> float:
        """Unix time for emulator time ``t`` (default: now)."""
        return self.wall_origin + (self.now() if t is None else t)

    def iso(self, t: float) -> str:
        """Emulator time ``t`` as RFC 3339 (UTC, milliseconds), e.g. ``2026-01-28T10:00:00.000Z``."""
        moment = dt.datetime.fromtimestamp(self.wall(t), tz=dt.timezone.utc)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def set_manual(self, manual: bool) -> None:
        if manual != self._manual:
            self._base = self.now()
            self._mark = time.monotonic()
            self._manual = manual

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._base += seconds
        return self.now()


@dataclass
class Failure:
    """Why a job failed: platform error type/code, message and (fal) result HTTP status."""

    code: str | None = None
    message: str | None = None
    http_status: int | None = None
    at_start: bool = False  # fail when the job would start (Oxen parameter errors)


@dataclass
class Job:
    """One generation job. Its phase is a pure function of the clock (see :meth:`phase`)."""

    platform: str
    request_id: str
    tier: str
    model: str
    prompt: str
    params: dict[str, Any]
    seed: int
    submitted_at: float
    queue_seconds: float
    run_seconds: float
    video_size: int
    duration: int = 5
    failure: Failure | None = None
    never_finish: bool = False
    cancelled_at: float | None = None
    deleted: bool = False
    completed_polls: int = 0
    seq: int = 0  # index among the platform's jobs, in submission order
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def started_at(self) -> float:
        return self.submitted_at + self.queue_seconds

    @property
    def finished_at(self) -> float:
        if self.failure is not None and self.failure.at_start:
            return self.started_at
        return self.started_at + self.run_seconds

    def phase(self, now: float) -> Phase:
        if self.cancelled_at is not None:
            return Phase.CANCELLED
        if now < self.started_at:
            return Phase.QUEUED
        if self.failure is not None and self.failure.at_start:
            return Phase.FAILED
        if self.never_finish or now < self.finished_at:
            return Phase.RUNNING
        return Phase.FAILED if self.failure is not None else Phase.SUCCEEDED

    def ended_at(self, now: float) -> float | None:
        """Emulator time the job reached a terminal phase, or None."""
        phase = self.phase(now)
        if phase == Phase.CANCELLED:
            return self.cancelled_at
        if phase in TERMINAL:
            return self.finished_at
        return None

    def progress(self, now: float) -> int:
        """0..100 for the running phase (100 when finished)."""
        phase = self.phase(now)
        if phase in (Phase.SUCCEEDED, Phase.FAILED):
            return 100
        if phase != Phase.RUNNING or self.never_finish or self.run_seconds <= 0:
            return 0 if phase == Phase.QUEUED else 50
        return max(1, min(99, int(100 * (now - self.started_at) / self.run_seconds)))

    def summary(self, now: float) -> dict[str, Any]:
        return {
            "platform": self.extra.get("vendor", self.platform),
            "dialect": self.platform,
            "request_id": self.request_id,
            "tier": self.tier,
            "mode": self.extra.get("mode", "reference-to-video"),
            "model": self.model,
            "state": self.phase(now),
            "seed": self.seed,
            "prompt": self.prompt,
            "params": self.params,
            "submitted_at": self.submitted_at,
            "queue_seconds": self.queue_seconds,
            "run_seconds": self.run_seconds,
            "video_size": self.video_size,
            "failure": None if self.failure is None else vars(self.failure),
            "never_finish": self.never_finish,
            "cancelled_at": self.cancelled_at,
            "deleted": self.deleted,
        }


class EmulatorState:
    """All mutable state of one emulator process."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.initial = EmulatorConfig(**vars(config))
        self.faults = FaultRegistry()
        self.initial_faults: list[Fault] = []
        self.clock = Clock(manual=config.manual_clock)
        self.jobs: dict[str, Job] = {}
        self.requests: deque[dict[str, Any]] = deque(maxlen=MAX_REQUEST_LOG)
        self.rng = random.Random(0x5EED)
        self._seq = 0
        self._submit_times: dict[str, list[float]] = {}
        self.limits = AccountLimits()
        self.extensions: dict[str, Any] = {}  # per-feature state (fal storage, ...); reset clears it

    def add_initial_fault(self, fault: Fault) -> None:
        """Register a start-up fault (``--fault``); :meth:`reset` re-arms it."""
        self.initial_faults.append(replace(fault))
        self.faults.add(fault)

    def reset(self) -> None:
        """Forget jobs, requests and run-time faults; restore the start-up config, faults and clock."""
        self.config.__dict__.update(vars(self.initial))
        self.faults.clear()
        for fault in self.initial_faults:
            self.faults.add(replace(fault))
        self.clock = Clock(manual=self.config.manual_clock)
        self.jobs.clear()
        self.requests.clear()
        self.rng = random.Random(0x5EED)
        self._seq = 0
        self._submit_times.clear()
        self.limits.reset()
        self.extensions.clear()

    def now(self) -> float:
        return self.clock.now()

    # -- jobs ---------------------------------------------------------------------------------
    def random_seed(self) -> int:
        return self.rng.randint(0, 2**31 - 1)

    def add_job(self, job: Job) -> Job:
        self.limits.admit(job, self)
        self.jobs[job.request_id] = job
        times = self._submit_times.setdefault(job.platform, [])
        job.seq = len(times)
        times.append(job.submitted_at)
        return job

    def get_job(self, platform: str, request_id: str) -> Job | None:
        job = self.jobs.get(request_id)
        if job is None or job.platform != platform or job.deleted:
            return None
        return job

    def queue_position(self, job: Job, now: float) -> int:
        """Approximate 0-based count of same-platform jobs queued ahead of ``job``."""
        times = self._submit_times.get(job.platform, [])
        mine = job.seq
        first_queued = bisect.bisect_right(times, now - job.queue_seconds)
        return max(0, mine - first_queued)

    # -- request log --------------------------------------------------------------------------
    def log_request(self, entry: dict[str, Any]) -> dict[str, Any]:
        self._seq += 1
        entry["seq"] = self._seq
        entry["clock"] = self.now()
        entry["time"] = time.time()
        self.requests.append(entry)
        return entry


def get_state(request: Request) -> EmulatorState:
    """The state of the emulator app serving ``request``."""
    state: EmulatorState = request.app.state.emulator
    return state
