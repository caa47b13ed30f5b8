"""The event that ends a wait for a job: :class:`EventStatus` and :class:`JobEvent`, built and validated here.

The trigger yields ``JobEvent.to_payload()`` (small, JSON only: no video bytes, no signed URL);
``execute_complete`` reads it back with :meth:`JobEvent.from_payload`, which is strict: a missing
or unknown payload is an error, never success. The sync wait produces the same :class:`JobEvent`.
"""

from __future__ import annotations

import enum
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from airflow_provider_seedance.client.models import JobRef, JobState


class EventStatus(str, enum.Enum):
    """How a wait for a job ended."""

    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"
    #: The deadline passed; the job may still be running.
    TIMEOUT = "timeout"
    #: Waiting failed (polls kept failing, a bug); the job may still be running.
    ERROR = "error"

    @property
    def is_success(self) -> bool:
        return self is EventStatus.SUCCESS

    @property
    def job_may_be_running(self) -> bool:
        """True when the wait ended without the job ending: its owner should cancel it."""
        return self in (EventStatus.TIMEOUT, EventStatus.ERROR)

    @classmethod
    def for_state(cls, state: JobState) -> EventStatus:
        """The event status a terminal job state ends the wait with."""
        return _STATE_TO_EVENT[state]


_STATE_TO_EVENT = {
    JobState.SUCCEEDED: EventStatus.SUCCESS,
    JobState.FAILED: EventStatus.FAILED,
    JobState.EXPIRED: EventStatus.FAILED,
    JobState.CANCELLED: EventStatus.CANCELLED,
}


class JobEvent(BaseModel):
    """The single event that ends a wait for one job."""

    model_config = ConfigDict(frozen=True)

    status: EventStatus
    job: JobRef
    message: str
    #: The platform's last status (or the last status line for a timeout), for logs.
    remote_state: str | None = None
    #: A failed job's :attr:`~.models.JobStatus.error_type` (``"content_rejected"``: the
    #: platform refused the inputs, so the owner fails without a retry), else None.
    error_type: str | None = None

    @property
    def request_id(self) -> str:
        return self.job.request_id

    def to_payload(self) -> dict[str, Any]:
        """The JSON dict a trigger yields."""
        return {
            "status": self.status.value,
            "request_id": self.job.request_id,
            "job": self.job.to_dict(),
            "message": self.message,
            "remote_state": self.remote_state,
            "error_type": self.error_type,
        }

    @classmethod
    def from_payload(cls, payload: object) -> JobEvent:
        """Read a trigger's payload strictly; raise ``ValueError`` for a missing or unknown one."""
        if not isinstance(payload, dict):
            raise ValueError(f"Seedance trigger returned no event payload: {payload!r}")
        status = payload.get("status")
        if status not in {s.value for s in EventStatus}:
            raise ValueError(f"Seedance trigger returned an unknown status {status!r}: {payload!r}")
        job = payload.get("job")
        if not isinstance(job, dict) or not job.get("request_id"):
            raise ValueError(f"Seedance trigger event has no job reference: {payload!r}")
        try:
            return cls.model_validate(
                {
                    "status": status,
                    "job": job,
                    "message": str(payload.get("message") or ""),
                    "remote_state": payload.get("remote_state"),
                    "error_type": payload.get("error_type"),
                }
            )
        except ValidationError as exc:
            raise ValueError(f"Seedance trigger returned a malformed event: {exc}") from None
