"""JobEvent and EventStatus: the one event that ends a wait, built and read back strictly."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_seedance.client.events import EventStatus, JobEvent
from airflow_provider_seedance.client.models import JobRef, JobState

REF = JobRef(platform="fal", request_id="req-1", tier="fast", status_url="https://q/req-1/status")


def test_payload_round_trips_through_json() -> None:
    event = JobEvent(
        status=EventStatus.FAILED,
        job=REF,
        message="boom",
        remote_state="FAILED",
        error_type="content_rejected",
    )

    payload = json.loads(json.dumps(event.to_payload()))

    assert payload == {
        "status": "failed",
        "request_id": "req-1",
        "job": REF.to_dict(),
        "message": "boom",
        "remote_state": "FAILED",
        "error_type": "content_rejected",
    }
    assert JobEvent.from_payload(payload) == event


def test_a_payload_from_before_error_type_still_reads() -> None:
    payload = {"status": "failed", "request_id": "req-1", "job": REF.to_dict(), "message": "boom"}
    assert JobEvent.from_payload(payload).error_type is None


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {},
        {"status": "done"},
        {"status": "success"},
        "success",
        {"status": "success", "job": {"platform": "fal"}},
        {"status": "success", "job": {"request_id": "r"}},
    ],
)
def test_missing_unknown_or_malformed_payloads_are_errors_never_success(payload: Any) -> None:
    with pytest.raises(ValueError, match="Seedance trigger"):
        JobEvent.from_payload(payload)


@pytest.mark.parametrize(
    ("state", "status"),
    [
        (JobState.SUCCEEDED, EventStatus.SUCCESS),
        (JobState.FAILED, EventStatus.FAILED),
        (JobState.EXPIRED, EventStatus.FAILED),
        (JobState.CANCELLED, EventStatus.CANCELLED),
    ],
)
def test_each_terminal_state_has_one_event_status(state: JobState, status: EventStatus) -> None:
    assert EventStatus.for_state(state) is status


def test_only_success_is_success_and_only_timeout_and_error_leave_a_job_running() -> None:
    assert [s for s in EventStatus if s.is_success] == [EventStatus.SUCCESS]
    assert [s for s in EventStatus if s.job_may_be_running] == [EventStatus.TIMEOUT, EventStatus.ERROR]
