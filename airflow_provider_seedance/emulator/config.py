"""Run-time configuration of the emulator (mutable through ``POST /_emulator/config``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from airflow_provider_seedance.emulator import DEFAULT_API_KEY

#: Fields that ``/_emulator/config`` may change at run time (the API key is fixed at start).
MUTABLE_FIELDS = (
    "queue_seconds",
    "run_seconds",
    "video_ttl_seconds",
    "video_size_bytes",
    "manual_clock",
    "render_videos",
    "fetch_references",
)
#: The account limits of :mod:`.limits`, also changeable at run time (not command-line flags).
LIMIT_FIELDS = (
    "rate_limit_rps",
    "rate_limit_burst",
    "rate_limit_scope",
    "ark_max_queued_tasks",
    "fal_max_running",
)


@dataclass
class EmulatorConfig:
    """Settings of one emulator process.

    ``queue_seconds`` / ``run_seconds`` are the time a job spends queued and running on the
    emulator clock; ``manual_clock`` freezes that clock so only ``/_emulator/clock/advance`` moves
    it. ``video_ttl_seconds`` is the lifetime of each minted media URL. ``video_size_bytes`` pads
    every finished job's MP4 (with an MP4 ``free`` box) up to that many bytes; ``0`` serves the
    small natural clip. ``render_videos`` makes jobs created from then on serve a take drawn for
    the request (seed, prompt, aspect ratio, audio: :mod:`.render`) instead of the sample clip.
    ``rate_limit_*``, ``ark_max_queued_tasks`` and ``fal_max_running`` are the account limits
    of :mod:`.limits` (0: none).
    """

    api_key: str = DEFAULT_API_KEY
    queue_seconds: float = 0.5
    run_seconds: float = 1.0
    video_ttl_seconds: float = 24 * 3600.0
    video_size_bytes: int = 0
    manual_clock: bool = False
    render_videos: bool = False
    fetch_references: bool = True  # platforms fetch loopback reference URLs (see references.py)
    rate_limit_rps: float = 0.0
    rate_limit_burst: int = 0
    rate_limit_scope: str = "submit"
    ark_max_queued_tasks: int = 0
    fal_max_running: int = 0

    def public(self) -> dict[str, Any]:
        """The configuration without the API key (safe to return over HTTP)."""
        data = asdict(self)
        data.pop("api_key")
        return data

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a subset of :data:`MUTABLE_FIELDS`; raise ``ValueError`` on bad input."""
        types = {f.name: f.type for f in fields(self)}
        for name, value in changes.items():
            if name not in MUTABLE_FIELDS and name not in LIMIT_FIELDS:
                raise ValueError(f"unknown or immutable config field {name!r}")
            if value is None:
                continue
            kind = types[name]
            if kind == "str":
                if value not in ("submit", "all"):
                    raise ValueError(f"{name} must be 'submit' or 'all'")
            elif kind == "bool":
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be a boolean")
            elif kind == "int":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"{name} must be a non-negative integer")
            else:
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ValueError(f"{name} must be a non-negative number")
                value = float(value)
            setattr(self, name, value)
