"""Fault injection: what can go wrong, where, and how many times.

A fault targets a *route name* of :data:`.routes.ROUTE_NAMES` (``fal.submit``, ``oxen.status``,
``media``, ...) or a glob of them (``*``, ``fal.*``). Each fault fires ``times`` times
(``-1`` = forever) and then disappears.

Transport kinds are applied to a matching HTTP request by :mod:`.middleware`:

* ``status``: answer ``status`` (default 503) with the platform's error body (``body``
  overrides it, ``error`` sets the platform error type/code) and ``Retry-After`` if given.
  The request is *not* processed (no job is created).
* ``delay``: process the request, then hold the response for ``delay`` seconds.
* ``drop``: process the request, then close the connection without answering.
* ``truncate``: process the request, send the headers (with the full ``Content-Length``) and
  only part of the body, then close the connection.
* ``garbage``: process the request, keep its status and headers, but replace the body with
  bytes that are neither JSON nor a video (``Content-Length`` adjusted): a 2xx nobody can parse.

Job kinds are consumed when a matching *submit* route creates a job:

* ``fail_job``: the job fails when it would have finished (``error`` = platform error
  type/code, ``body`` = a failure message, ``status`` = HTTP code of fal's result endpoint).
* ``never_finish``: the job stays running forever.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import asdict, dataclass, field
from itertools import count
from typing import Any

from airflow_provider_seedance.emulator.routes import ROUTE_NAMES

TRANSPORT_KINDS = ("status", "delay", "drop", "truncate", "garbage")
JOB_KINDS = ("fail_job", "never_finish")
KINDS = TRANSPORT_KINDS + JOB_KINDS

_ids = count(1)


@dataclass
class Fault:
    """One injected fault (see the module docstring for the meaning of each field)."""

    route: str
    kind: str
    times: int = 1
    status: int | None = None
    retry_after: float | None = None
    delay: float | None = None
    body: Any = None
    error: str | None = None
    id: int = field(default_factory=lambda: next(_ids))
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.route not in ROUTE_NAMES and not any(c in self.route for c in "*?["):
            raise ValueError(
                f"unknown route {self.route!r}; expected one of {', '.join(ROUTE_NAMES)} or a glob"
            )
        if isinstance(self.times, bool) or not isinstance(self.times, int) or self.times == 0:
            raise ValueError("times must be a positive integer (or -1 for forever)")
        if self.kind == "status":
            if self.status is None:
                self.status = 503
            if not 400 <= int(self.status) <= 599:
                raise ValueError("status must be an HTTP error code (400..599)")
        if self.kind == "delay" and (self.delay is None or self.delay < 0):
            raise ValueError("a delay fault needs delay=<seconds>")

    def matches(self, route: str) -> bool:
        return self.times != 0 and fnmatch.fnmatchcase(route, self.route)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultRegistry:
    """Thread-safe list of active faults; :meth:`take` consumes one occurrence."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.as_dict() for f in self._faults]

    def take(self, route: str, kinds: tuple[str, ...]) -> Fault | None:
        """Return (and count) the first active fault of ``kinds`` matching ``route``."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.matches(route):
                    fault.fired += 1
                    if fault.times > 0:
                        fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None


def parse_fault_spec(spec: str) -> Fault:
    """Parse a CLI fault spec ``ROUTE:KIND[:STATUS][:key=value...]``.

    Examples: ``fal.status:status:503:times=2``, ``*:status:429:retry_after=1``,
    ``media:truncate``, ``fal.submit:delay:delay=5``, ``ark.submit:fail_job:error=InternalError``.
    """
    parts = spec.split(":")
    if len(parts) < 2:
        raise ValueError(f"bad fault spec {spec!r}; expected ROUTE:KIND[:STATUS][:key=value...]")
    route, kind, *rest = parts
    kwargs: dict[str, Any] = {}
    for item in rest:
        if "=" not in item:
            if item.isdigit() and "status" not in kwargs:
                kwargs["status"] = int(item)
                continue
            raise ValueError(f"bad fault option {item!r} in {spec!r}")
        key, value = item.split("=", 1)
        key = key.strip().replace("-", "_")
        if key in ("times", "status"):
            kwargs[key] = int(value)
        elif key in ("retry_after", "delay"):
            kwargs[key] = float(value)
        elif key in ("error", "body"):
            kwargs[key] = value
        else:
            raise ValueError(f"unknown fault option {key!r} in {spec!r}")
    return Fault(route=route.strip(), kind=kind.strip(), **kwargs)
