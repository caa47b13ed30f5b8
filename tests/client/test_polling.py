"""Poller: the sans-I/O poll loop shared by the sync path and the trigger."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from airflow_provider_seedance.client.errors import SeedanceServerError, SeedanceTransportError
from airflow_provider_seedance.client.events import EventStatus, JobEvent
from airflow_provider_seedance.client.models import JobRef, JobState, JobStatus
from airflow_provider_seedance.client.polling import Fetch, Poller, Sleep, wait_async, wait_sync

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


@pytest.mark.parametrize("state", [s for s in JobState if s.is_terminal])
def test_terminal_states_end_with_one_event(state: JobState) -> None:
    poller = Poller(ref=REF, end_time=100.0, poll_interval=5.0)
    _, event = poller.observe(
        status(state, raw="COMPLETED", error="boom" if state is JobState.FAILED else None)
    )
    assert event is not None
    assert event.status is EventStatus.for_state(state)
    assert event.job == REF
    assert event.remote_state == "COMPLETED"
    json.dumps(event.to_payload())


def test_failure_message_carries_the_platform_error() -> None:
    poller = Poller(ref=REF, end_time=100.0, poll_interval=5.0)
    _, event = poller.observe(
        status(JobState.FAILED, error="Runner disconnected", error_type="runner_disconnected")
    )
    assert event is not None
    assert event.message == "Seedance job req-1 failed: Runner disconnected (runner_disconnected)"


def test_errors_back_off_and_give_up_at_the_limit() -> None:
    poller = Poller(ref=REF, end_time=1000.0, poll_interval=2.0, max_consecutive_errors=3)

    assert poller.observe_error(RuntimeError("a")) is None
    first = poller.sleep_for(0.0)
    assert poller.observe_error(RuntimeError("b")) is None
    second = poller.sleep_for(0.0)
    event = poller.observe_error(RuntimeError("c"))

    assert (first, second) == (2.0, 4.0)
    assert event is not None
    assert event.status is EventStatus.ERROR
    assert "3 consecutive errors" in event.message
    assert "RuntimeError: c" in event.message


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
    event = Poller(ref=REF, end_time=1.0, poll_interval=1.0).timeout_event()
    assert event.status is EventStatus.TIMEOUT
    assert event.message == "Seedance job req-1 did not finish before the deadline"


# -- the loop, driven step by step ------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_loop_fetches_sleeps_and_ends_with_the_terminal_event() -> None:
    clock = Clock()
    poller = Poller(ref=REF, end_time=100.0, poll_interval=5.0, clock=clock)

    assert poller.step() == Fetch()
    assert poller.step(status(JobState.RUNNING)) == Sleep(5.0)
    clock.now = 5.0
    assert poller.step() == Fetch()
    event = poller.step(status(JobState.SUCCEEDED, raw="COMPLETED"))

    assert isinstance(event, JobEvent)
    assert event.status is EventStatus.SUCCESS
    assert poller.step() is event  # the wait stays ended


def test_the_loop_ends_with_a_timeout_before_fetching_past_the_deadline() -> None:
    clock = Clock()
    poller = Poller(ref=REF, end_time=10.0, poll_interval=8.0, clock=clock)
    assert poller.step() == Fetch()
    clock.now = 4.0
    assert poller.step(status(JobState.QUEUED)) == Sleep(6.0)
    clock.now = 10.0

    event = poller.step()

    assert isinstance(event, JobEvent)
    assert event.status is EventStatus.TIMEOUT
    assert event.remote_state == "queued"


def test_the_loop_tolerates_seedance_errors_with_backoff_and_logs_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    poller = Poller(
        ref=REF,
        end_time=1000.0,
        poll_interval=1.0,
        max_consecutive_errors=2,
        log=logging.getLogger("poll"),
        clock=Clock(),
    )
    poller.step()

    assert poller.step(SeedanceServerError("HTTP 503", status_code=503)) == Sleep(1.0)
    poller.step()
    event = poller.step(SeedanceTransportError("dropped", request_sent=True))

    assert isinstance(event, JobEvent)
    assert event.status is EventStatus.ERROR
    assert caplog.messages == [
        "Polling Seedance job req-1 failed: HTTP 503",
        "Polling Seedance job req-1 failed: dropped",
    ]


def test_the_loop_logs_status_changes() -> None:
    lines: list[str] = []

    class Log:
        def info(self, event: object, *args: object) -> None:
            lines.append(str(event) % args)

        def warning(self, event: object, *args: object) -> None:
            lines.append("warning: " + str(event) % args)

    poller = Poller(ref=REF, end_time=1000.0, poll_interval=1.0, log=Log(), clock=Clock())
    poller.step()
    poller.step(status(JobState.QUEUED, queue_position=2))
    assert lines == ["Seedance job req-1: queued, queue position 2"]


def test_a_fetch_step_needs_a_status_or_a_seedance_error() -> None:
    poller = Poller(ref=REF, end_time=1000.0, poll_interval=1.0, clock=Clock())
    poller.step()
    with pytest.raises(TypeError, match="JobStatus or a SeedanceError"):
        poller.step(None)


# -- the two drivers --------------------------------------------------------------------------------
def scripted(*replies: JobStatus | Exception) -> list[JobStatus | Exception]:
    return list(replies)


def test_both_drivers_run_the_same_loop_to_the_same_event() -> None:
    def run_sync() -> tuple[JobEvent, list[float]]:
        replies = scripted(
            SeedanceServerError("503", status_code=503), status(JobState.RUNNING), status(JobState.SUCCEEDED)
        )
        slept: list[float] = []

        def get(ref: JobRef) -> JobStatus:
            reply = replies.pop(0)
            if isinstance(reply, Exception):
                raise reply
            return reply

        poller = Poller(ref=REF, end_time=1000.0, poll_interval=2.0, clock=Clock())
        return wait_sync(poller, get, sleep=slept.append), slept

    async def run_async() -> tuple[JobEvent, list[float]]:
        replies = scripted(
            SeedanceServerError("503", status_code=503), status(JobState.RUNNING), status(JobState.SUCCEEDED)
        )
        slept: list[float] = []

        async def get(ref: JobRef) -> JobStatus:
            reply = replies.pop(0)
            if isinstance(reply, Exception):
                raise reply
            return reply

        async def sleep(seconds: float) -> None:
            slept.append(seconds)

        poller = Poller(ref=REF, end_time=1000.0, poll_interval=2.0, clock=Clock())
        return await wait_async(poller, get, sleep=sleep), slept

    sync_event, sync_sleeps = run_sync()
    async_event, async_sleeps = asyncio.run(run_async())

    assert sync_event == async_event
    assert sync_event.status is EventStatus.SUCCESS
    assert sync_sleeps == async_sleeps == [2.0, 2.0]


def test_an_error_that_is_not_a_seedance_error_is_a_bug_and_propagates() -> None:
    def get(ref: JobRef) -> JobStatus:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        wait_sync(
            Poller(ref=REF, end_time=1000.0, poll_interval=1.0, clock=Clock()), get, sleep=lambda s: None
        )
