"""Poller: the sans-I/O wait logic shared by the sync path and the trigger."""

from __future__ import annotations

import json

import pytest

from airflow_provider_seedance.client.models import JobRef, JobState, JobStatus
from airflow_provider_seedance.client.polling import Poller, make_event

REF = JobRef(platform="fal", request_id="req-1", tier="fast")


def status(state: JobState, raw: str = "X", **kwargs: object) -> JobStatus:
    return JobStatus(request_id="req-1", state=state, raw_status=raw, **kwargs)  # type: ignore[arg-type]


def test_non_terminal_status_keeps_waiting_and_logs_changes_once() -> None:
    poller = Poller(ref=REF, end_time=100.0, poll_interval=5.0)

    lines, event = poller.observe(status(JobState.QUEUED, queue_position=3))
    again, _ = poller.observe(status(JobState.QUEUED, queue_position=3))
    moved, _ = poller.observe(status(JobState.QUEUED, queue_position=1))

    assert event is None
    assert lines == ["Seedance job req-1: queued, queue position 3"]
    assert again == []
    assert moved == ["Seedance job req-1: queued, queue position 1"]


def test_new_platform_log_lines_are_logged_once() -> None:
    poller = Poller(ref=REF, end_time=100.0, poll_interval=5.0)
    poller.observe(status(JobState.RUNNING, logs=("loading model",)))
    lines, _ = poller.observe(status(JobState.RUNNING, logs=("loading model", "rendering 50%")))
    assert lines == ["Seedance job req-1 log: rendering 50%"]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (JobState.SUCCEEDED, "success"),
        (JobState.FAILED, "failed"),
        (JobState.EXPIRED, "failed"),
        (JobState.CANCELLED, "cancelled"),
    ],
)
def test_terminal_states_end_with_one_event(state: JobState, expected: str) -> None:
    poller = Poller(ref=REF, end_time=100.0, poll_interval=5.0)
    _, event = poller.observe(
        status(state, raw="COMPLETED", error="boom" if state is JobState.FAILED else None)
    )
    assert event is not None
    assert event["status"] == expected
    assert event["job"] == REF.to_dict()
    assert event["remote_state"] == "COMPLETED"
    json.dumps(event)


def test_failure_message_carries_the_platform_error() -> None:
    poller = Poller(ref=REF, end_time=100.0, poll_interval=5.0)
    _, event = poller.observe(
        status(JobState.FAILED, error="Runner disconnected", error_type="runner_disconnected")
    )
    assert event is not None
    assert event["message"] == "Seedance job req-1 failed: Runner disconnected (runner_disconnected)"


def test_errors_back_off_and_give_up_at_the_limit() -> None:
    poller = Poller(ref=REF, end_time=1000.0, poll_interval=2.0, max_consecutive_errors=3)

    assert poller.observe_error(RuntimeError("a")) is None
    first = poller.sleep_for(0.0)
    assert poller.observe_error(RuntimeError("b")) is None
    second = poller.sleep_for(0.0)
    event = poller.observe_error(RuntimeError("c"))

    assert (first, second) == (2.0, 4.0)
    assert event is not None
    assert event["status"] == "error"
    assert "3 consecutive errors" in event["message"]
    assert "RuntimeError: c" in event["message"]


def test_a_good_status_resets_the_error_count() -> None:
    poller = Poller(ref=REF, end_time=1000.0, poll_interval=2.0, max_consecutive_errors=2)
    poller.observe_error(RuntimeError("a"))
    poller.observe(status(JobState.RUNNING))
    assert poller.observe_error(RuntimeError("b")) is None
    assert poller.sleep_for(0.0) == 2.0


def test_sleep_never_passes_the_deadline() -> None:
    poller = Poller(ref=REF, end_time=10.0, poll_interval=5.0)
    assert poller.sleep_for(8.0) == 2.0
    assert poller.sleep_for(11.0) == 0.0
    assert poller.timed_out(10.0)
    assert not poller.timed_out(9.9)


def test_timeout_event() -> None:
    event = Poller(ref=REF, end_time=1.0, poll_interval=1.0).timeout_event("cancel: requested")
    assert event["status"] == "timeout"
    assert "cancel: requested" in event["message"]


def test_make_event_rejects_unknown_statuses() -> None:
    with pytest.raises(ValueError, match="unknown event status"):
        make_event("done", REF, "x")
