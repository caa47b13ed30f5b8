"""SeedanceReferenceToVideoOperator against the emulator over HTTP: submit once, wait, resume."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, TaskDeferred
from pytest_mock import MockerFixture

from airflow_provider_seedance.client.errors import SeedanceValidationError
from airflow_provider_seedance.client.platforms.base import Dialect
from airflow_provider_seedance.emulator.testing import EmulatorHandle
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.operators import seedance as operator_module
from airflow_provider_seedance.operators.seedance import (
    STATE_KEY,
    XCOM_JOB_KEY,
    SeedanceReferenceToVideoOperator,
)
from airflow_provider_seedance.triggers.seedance import SeedanceJobTrigger
from tests.support.tasks import FakeTaskStateStore, first_event

INPUTS: dict[str, Any] = {
    "prompt": "A corgi surfs a wave at golden hour, styled like @Image1",
    "image_urls": ["https://cdn.example.com/brand/style.png"],
    # A CDN that does not exist: these tests are about submitting once, not reference media.
    "preflight": False,
    "duration": 5,
    "aspect_ratio": "16:9",
    "seed": 7,
}


def make_operator(**overrides: Any) -> SeedanceReferenceToVideoOperator:
    kwargs: dict[str, Any] = {
        "task_id": "clip",
        "poll_interval": 0.1,
        "deferrable": True,
        **INPUTS,
        **overrides,
    }
    return SeedanceReferenceToVideoOperator(**kwargs)


def defer(op: SeedanceReferenceToVideoOperator, context: dict[str, Any]) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as info:
        op.execute(context)
    return info.value


def assert_result_dict(result: dict[str, Any], emulator: EmulatorHandle) -> None:
    assert result["platform"] == "fal"
    assert result["status"] == "succeeded"
    assert result["seed"] == 7
    assert result["estimated_cost_usd"] == pytest.approx(1.512)
    video = result["video"]
    assert set(video) >= {"url", "content_type", "file_name", "file_size"}
    assert video["content_type"] == "video/mp4"
    assert video["file_size"] == len(emulator.video_bytes(result["request_id"]))
    json.dumps(result)  # XCom-safe


def test_deferrable_execute_defers_after_exactly_one_submit(emulator: EmulatorHandle, context: dict) -> None:
    deferred = defer(make_operator(), context)

    assert len(emulator.requests("fal.submit")) == 1
    assert isinstance(deferred.trigger, SeedanceJobTrigger)
    assert deferred.method_name == "execute_complete"
    submitted = emulator.requests("fal.submit")[0]["json"]
    assert submitted["prompt"] == INPUTS["prompt"]
    assert submitted["duration"] == "5"
    # The job id is in XCom and in the task state store before waiting.
    (key, job), *_ = context["ti"].pushed
    assert key == XCOM_JOB_KEY
    assert context["task_state_store"].data[STATE_KEY]["job"] == job
    assert deferred.trigger.job["request_id"] == job["request_id"]


def test_trigger_event_resumes_to_the_result_dict(emulator: EmulatorHandle, context: dict) -> None:
    op = make_operator()
    deferred = defer(op, context)
    event = first_event(deferred.trigger)
    assert event["status"] == "success"

    result = make_operator().execute_complete(context, event)  # a fresh instance, as on a worker

    assert_result_dict(result, emulator)
    assert result["request_id"] == deferred.trigger.job["request_id"]
    assert len(emulator.requests("fal.submit")) == 1


def test_deferral_backstop_is_beyond_the_trigger_deadline(emulator: EmulatorHandle, context: dict) -> None:
    deferred = defer(make_operator(timeout=600, poll_interval=5), context)
    remaining = deferred.trigger.end_time - time.time()
    assert deferred.timeout is not None
    assert 590 < remaining <= 600
    assert deferred.timeout.total_seconds() > remaining + 5


def test_retry_after_crash_following_submit_reconnects_without_submitting(
    emulator: EmulatorHandle, context: dict
) -> None:
    first = defer(make_operator(), context)  # the worker "dies" here, after deferring
    request_id = first.trigger.job["request_id"]

    second = defer(make_operator(), context)  # the retry, same task instance store

    assert second.trigger.job["request_id"] == request_id
    assert len(emulator.requests("fal.submit")) == 1
    result = make_operator().execute_complete(context, first_event(second.trigger))
    assert result["request_id"] == request_id


def test_retry_after_success_returns_the_same_result_without_submitting(
    emulator: EmulatorHandle, context: dict
) -> None:
    result = make_operator(deferrable=False).execute(context)

    again = make_operator(deferrable=False).execute(context)

    assert again["request_id"] == result["request_id"]
    assert again["video"] == result["video"]
    assert len(emulator.requests("fal.submit")) == 1


def test_sync_mode_polls_to_the_result(emulator: EmulatorHandle, context: dict) -> None:
    result = make_operator(deferrable=False).execute(context)
    assert_result_dict(result, emulator)


def test_failed_job_fails_the_task_and_the_retry_submits_a_new_job(
    emulator: EmulatorHandle, context: dict
) -> None:
    emulator.add_fault("fal.submit", "fail_job", error="runner_disconnected", body="Runner disconnected")
    op = make_operator()
    event = first_event(defer(op, context).trigger)
    assert event["status"] == "failed"
    with pytest.raises(AirflowException, match="failed"):
        make_operator().execute_complete(context, event)

    retry = defer(make_operator(), context)

    assert len(emulator.requests("fal.submit")) == 2
    assert retry.trigger.job["request_id"] != event["request_id"]


def test_cancelled_job_is_never_success(emulator: EmulatorHandle, context: dict) -> None:
    emulator.add_fault("fal.submit", "never_finish")
    deferred = defer(make_operator(), context)
    cancel_url = deferred.trigger.job["cancel_url"]
    response = httpx.put(cancel_url, headers={"Authorization": f"Key {emulator.api_key}"})
    assert response.status_code == 202

    event = first_event(deferred.trigger)

    assert event["status"] == "cancelled"
    with pytest.raises(AirflowException, match="cancelled"):
        make_operator().execute_complete(context, event)


def test_deadline_passed_cancels_the_remote_job_exactly_once(emulator: EmulatorHandle, context: dict) -> None:
    emulator.add_fault("fal.submit", "never_finish")
    deferred = defer(make_operator(timeout=0.5), context)
    event = first_event(deferred.trigger)

    with pytest.raises(AirflowException, match=r"timeout: .*; cancel: requested"):
        make_operator().execute_complete(context, event)

    assert event["status"] == "timeout"
    assert emulator.job(event["request_id"])["state"] == "cancelled"
    assert len(emulator.requests("fal.cancel")) == 1


def test_sync_deadline_passed_cancels_the_remote_job_exactly_once(
    emulator: EmulatorHandle, context: dict
) -> None:
    emulator.add_fault("fal.submit", "never_finish")
    with pytest.raises(AirflowException, match=r"timeout: .*; cancel: requested"):
        make_operator(deferrable=False, timeout=0.5).execute(context)
    (job,) = emulator.jobs()
    assert job["state"] == "cancelled"
    assert len(emulator.requests("fal.cancel")) == 1


def test_one_execute_validates_and_estimates_the_request_once(
    emulator: EmulatorHandle, context: dict, mocker: MockerFixture
) -> None:
    check = mocker.spy(Dialect, "check")
    build = mocker.spy(SeedanceHook, "build_request")
    estimate = mocker.spy(operator_module, "estimate_cost")

    result = make_operator(deferrable=False).execute(context)

    assert_result_dict(result, emulator)
    assert (check.call_count, build.call_count, estimate.call_count) == (1, 1, 1)


def test_sync_on_kill_cancels_the_remote_job(emulator: EmulatorHandle, context: dict) -> None:
    emulator.add_fault("fal.submit", "never_finish")
    op = make_operator(deferrable=False, timeout=30)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            op.execute(context)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    deadline = time.time() + 10
    while not emulator.requests("fal.status") and time.time() < deadline:
        time.sleep(0.05)

    op.on_kill()

    worker.join(timeout=10)
    (job,) = emulator.jobs()
    assert job["state"] == "cancelled"
    assert errors
    assert "cancelled" in str(errors[0])


def test_poll_faults_during_waiting_do_not_lose_the_job(emulator: EmulatorHandle, context: dict) -> None:
    emulator.add_fault("fal.status", "status", status=429, retry_after=0.1, times=2)
    emulator.add_fault("fal.status", "status", status=503, times=1)
    emulator.add_fault("fal.status", "drop", times=1)
    emulator.add_fault("fal.result", "status", status=502, times=1)

    result = make_operator().execute_complete(context, first_event(defer(make_operator(), context).trigger))

    assert_result_dict(result, emulator)
    assert len(emulator.requests("fal.submit")) == 1


def test_budget_guard_refuses_to_submit_over_the_limit(emulator: EmulatorHandle, context: dict) -> None:
    with pytest.raises(AirflowFailException) as info:
        make_operator(max_cost_usd=1.0).execute(context)

    assert "$1.5120" in str(info.value)
    assert "above the budget $1.0000" in str(info.value)
    assert "nothing was submitted" in str(info.value)
    assert emulator.requests() == []


def test_ambiguous_submit_fails_once_and_is_never_resent(
    emulator: EmulatorHandle, context: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_SEEDANCE_DEFAULT",
        json.dumps({**emulator.connection_dict("fal"), "extra": {"platform": "fal", "timeout": 1}}),
    )
    emulator.add_fault("fal.submit", "delay", delay=3)

    with pytest.raises(AirflowFailException, match="check the platform"):
        make_operator().execute(context)
    with pytest.raises(AirflowFailException, match="outcome is unknown"):
        make_operator().execute(context)  # a retry

    assert len(emulator.requests("fal.submit")) == 1


def test_literal_bad_input_fails_at_dag_parse_time() -> None:
    with pytest.raises(SeedanceValidationError) as info:
        make_operator(prompt="@Image2 only one image", duration=30)
    assert "prompt" in str(info.value)
    assert "duration" in str(info.value)


def test_templated_bad_input_fails_before_any_request(emulator: EmulatorHandle, context: dict) -> None:
    op = make_operator(prompt="{{ params.prompt }}")
    op.prompt = "x" * 5001  # what rendering produced

    with pytest.raises(AirflowFailException, match="prompt: must be at most 5000 characters"):
        op.execute(context)
    assert emulator.requests() == []


def test_no_store_still_works_but_warns(emulator: EmulatorHandle) -> None:
    from tests.support.tasks import FakeTI

    result = make_operator(deferrable=False).execute({"ti": FakeTI()})
    assert result["status"] == "succeeded"


def test_mapped_task_instances_keep_their_own_jobs(emulator: EmulatorHandle) -> None:
    stores = [FakeTaskStateStore(), FakeTaskStateStore()]
    from tests.support.tasks import FakeTI

    ids = [
        make_operator(deferrable=False, seed=i).execute({"ti": FakeTI(), "task_state_store": store})[
            "request_id"
        ]
        for i, store in enumerate(stores)
    ]
    # Retrying map index 1 reconnects to its own job only.
    again = make_operator(deferrable=False, seed=1).execute({"ti": FakeTI(), "task_state_store": stores[1]})

    assert len(set(ids)) == 2
    assert again["request_id"] == ids[1]
    assert len(emulator.requests("fal.submit")) == 2
