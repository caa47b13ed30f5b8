"""Account limits, as each platform documents them (issue 13).

Three kinds, each off unless configured (``EmulatorConfig`` fields, also through
``POST /_emulator/config``):

* ``rate_limit_rps`` / ``rate_limit_burst`` / ``rate_limit_scope``: a token bucket per platform
  (the account). A request with no token left is answered 429 with ``Retry-After`` (whole seconds,
  rounded up, as RFC 9110 writes it) in the platform's error shape, before the app sees it: the
  request was provably not accepted. ``rate_limit_scope`` is ``"submit"`` (submit routes only,
  the default) or ``"all"`` (every platform route).
* ``ark_max_queued_tasks``: Ark refuses a new task with 429 while the account already has this
  many tasks queued or running (ModelArk documents 120 queued tasks per account).
* ``fal_max_running``: fal counts only *running* requests toward an account's concurrency and
  never rejects a queued one: with this set, a submit is always accepted and waits in the queue
  until one of the account's ``fal_max_running`` slots frees (first come, first served).

:class:`AccountLimits` holds the buckets and slots; :meth:`AccountLimits.refusal` is called by the
middleware for each request, :meth:`AccountLimits.admit` by the state for each new job.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_seedance.emulator.state import EmulatorState, Job

#: What ``rate_limit_scope`` may be.
SCOPES = ("submit", "all")


@dataclass
class Refusal:
    """A 429 to send instead of the app's answer."""

    retry_after: float
    message: str
    error: str = "rate_limited"


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class AccountLimits:
    """The limiter state of one emulator (per platform: one account per emulator)."""

    buckets: dict[str, _Bucket] = field(default_factory=dict)
    fal_slots: list[float] = field(default_factory=list)  # end times of the running fal jobs (heap)
    refused: int = 0

    def reset(self) -> None:
        self.buckets.clear()
        self.fal_slots.clear()
        self.refused = 0

    # -- per request (middleware) --------------------------------------------------------
    def refusal(self, platform: str | None, route: str, state: EmulatorState, now: float) -> Refusal | None:
        """Whether this request is refused by an account limit (and consumes a token if not)."""
        if platform is None:
            return None
        cfg = state.config
        is_submit = route.endswith(".submit")
        if is_submit and platform == "ark" and cfg.ark_max_queued_tasks:
            active = sum(
                1
                for job in state.jobs.values()
                if job.platform == "ark" and job.phase(state.now()) in ("queued", "running")
            )
            if active >= cfg.ark_max_queued_tasks:
                self.refused += 1
                return Refusal(
                    retry_after=1.0,
                    message=f"The account has {active} queued or running tasks (limit "
                    f"{cfg.ark_max_queued_tasks}); retry later",
                    error="ServerOverloaded",
                )
        if cfg.rate_limit_rps <= 0 or (cfg.rate_limit_scope == "submit" and not is_submit):
            return None
        burst = float(cfg.rate_limit_burst or max(1, math.ceil(cfg.rate_limit_rps)))
        bucket = self.buckets.get(platform)
        if bucket is None:
            bucket = self.buckets[platform] = _Bucket(tokens=burst, updated=now)
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * cfg.rate_limit_rps)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        self.refused += 1
        wait = (1.0 - bucket.tokens) / cfg.rate_limit_rps
        return Refusal(
            retry_after=float(max(1, math.ceil(wait))),
            message=f"Rate limit of {cfg.rate_limit_rps:g} requests per second exceeded",
        )

    # -- per job (state) -----------------------------------------------------------------
    def admit(self, job: Job, state: EmulatorState) -> None:
        """Queue a new fal job until one of the account's running slots frees (never refuse it)."""
        limit = state.config.fal_max_running
        if job.platform != "fal" or not limit:
            return
        slots = self.fal_slots
        start = job.submitted_at + job.queue_seconds
        while len(slots) >= limit:
            start = max(start, heapq.heappop(slots))
        job.queue_seconds = start - job.submitted_at
        heapq.heappush(slots, start + job.run_seconds)
