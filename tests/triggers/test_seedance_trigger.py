"""SeedanceJobTrigger: serialization, secrets, error tolerance, the deadline, on_kill (emulator over HTTP)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx
import pytest
from airflow.sdk._shared.module_loading import import_string
from airflow.sdk.exceptions import TaskDeferred
from pytest_mock import MockerFixture

from airflow_provider_seedance.client.events import EventStatus, JobEvent
from airflow_provider_seedance.client.pool import DEFAULT_MAX_CONNECTIONS, DEFAULT_SHARD_SIZE
from airflow_provider_seedance.client.retry import RetryPolicy
from airflow_provider_seedance.emulator.testing import EmulatorHandle
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.operators.seedance import SeedanceReferenceToVideoOperator
from airflow_provider_seedance.triggers.seedance import SeedanceJobTrigger
from tests.support.retry import NO_WAIT
from tests.support.tasks import first_event


def submit_job(emulator: EmulatorHandle, context: dict[str, Any], **overrides: Any) -> SeedanceJobTrigger:
    op = SeedanceReferenceToVideoOperator(
        task_id="clip",
        prompt="A lighthouse in a storm",
        duration=4,
        poll_interval=0.1,
        deferrable=True,
        **overrides,
    )
    with pytest.raises(TaskDeferred) as info:
        op.execute(context)
    trigger = info.value.trigger
    assert isinstance(trigger, SeedanceJobTrigger)
    return trigger


def test_serialize_round_trip_is_json_only(emulator: EmulatorHandle, context: dict) -> None:
    before = time.time()
    trigger = submit_job(emulator, context)

    classpath, kwargs = trigger.serialize()
    rebuilt = import_string(classpath)(**json.loads(json.dumps(kwargs)))

    assert rebuilt.serialize() == (classpath, kwargs)
    assert set(kwargs) == {
        "job",
        "seedance_conn_id",
        "end_time",
        "poll_interval",
        "max_consecutive_errors",
        "cancel_on_kill",
        "submitted_at",
        "expected_seconds",
    }
    assert all(isinstance(v, str | int | float | bool | dict | None) for v in kwargs.values())
    # the operator says when it submitted (the poller's adaptive schedule counts from it)
    assert before <= kwargs["submitted_at"] <= time.time()
    assert kwargs["expected_seconds"] is None


def test_no_api_key_in_kwargs_repr_event_xcom_or_logs(
    emulator: EmulatorHandle,
    context: dict,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator.add_fault(
        "fal.status", "status", status=401, times=1
    )  # an auth error message passes through logs
    trigger = submit_job(emulator, context)
    event = first_event(trigger)
    result = SeedanceReferenceToVideoOperator(
        task_id="clip", prompt="A lighthouse in a storm", duration=4
    ).execute_complete(context, event)

    key = emulator.api_key
    out = capsys.readouterr()
    for text in (
        json.dumps(trigger.serialize()),
        repr(trigger),
        json.dumps(event),
        json.dumps(context["ti"].pushed),
        json.dumps(result),
        caplog.text,
        out.out,
        out.err,
        repr(SeedanceHook()),
        repr(SeedanceHook().config),
        repr(SeedanceHook().client),
    ):
        assert key not in text


def test_transient_poll_errors_below_the_limit_recover(
    emulator: EmulatorHandle, context: dict, mocker: MockerFixture
) -> None:
    trigger = submit_job(emulator, context)
    emulator.add_fault("fal.status", "status", status=500, times=4)
    mocker.patch.object(SeedanceJobTrigger, "_hook", return_value=SeedanceHook(retry_policy=NO_WAIT))
    event = first_event(trigger)
    assert event["status"] == "success"


def test_five_consecutive_failed_polls_are_tolerated_and_the_job_completes(
    emulator: EmulatorHandle, context: dict, mocker: MockerFixture
) -> None:
    trigger = submit_job(emulator, context)
    # One HTTP attempt per poll, so each injected 503 is one failed poll.
    hook = SeedanceHook(retry_policy=RetryPolicy(max_attempts=1, base_delay=0.0, max_delay=0.0))
    emulator.add_fault("fal.status", "status", status=503, times=5)
    mocker.patch.object(SeedanceJobTrigger, "_hook", return_value=hook)
    event = first_event(trigger)

    assert event["status"] == "success"
    assert len(emulator.requests("fal.status")) >= 6
    assert len(emulator.requests("fal.submit")) == 1


def test_consecutive_poll_errors_end_with_an_error_event(
    emulator: EmulatorHandle, context: dict, mocker: MockerFixture
) -> None:
    trigger = submit_job(emulator, context)
    trigger.max_consecutive_errors = 5
    emulator.add_fault("fal.status", "status", status=503, times=-1)
    mocker.patch.object(SeedanceJobTrigger, "_hook", return_value=SeedanceHook(retry_policy=NO_WAIT))
    event = first_event(trigger)

    assert event["status"] == "error"
    assert "5 consecutive errors" in event["message"]
    assert JobEvent.from_payload(event).status is EventStatus.ERROR


def test_on_kill_cancels_the_remote_job(emulator: EmulatorHandle, context: dict) -> None:
    emulator.add_fault("fal.submit", "never_finish")
    trigger = submit_job(emulator, context)

    asyncio.run(trigger.on_kill())

    (job,) = emulator.jobs()
    assert job["state"] == "cancelled"


def test_on_kill_skips_a_reassigned_trigger_whose_task_is_still_deferred(
    emulator: EmulatorHandle, context: dict, mocker: MockerFixture
) -> None:
    emulator.add_fault("fal.submit", "never_finish")
    trigger = submit_job(emulator, context)
    trigger.task_instance = mocker.Mock(dag_id="d", task_id="clip", run_id="r1", map_index=-1, task=None)
    mocker.patch(
        "airflow.sdk.execution_time.task_runner.RuntimeTaskInstance.get_task_states",
        return_value={"r1": {"clip": "deferred"}},
    )
    asyncio.run(trigger.on_kill())

    assert emulator.requests("fal.cancel") == []
    (job,) = emulator.jobs()
    assert job["state"] != "cancelled"


def test_on_kill_does_nothing_after_the_event_fired(emulator: EmulatorHandle, context: dict) -> None:
    trigger = submit_job(emulator, context)
    first_event(trigger)
    asyncio.run(trigger.on_kill())
    assert emulator.requests("fal.cancel") == []


def test_cancel_failures_in_on_kill_are_swallowed(
    emulator: EmulatorHandle, context: dict, mocker: MockerFixture
) -> None:
    emulator.add_fault("fal.submit", "never_finish")
    trigger = submit_job(emulator, context)
    emulator.add_fault("fal.cancel", "status", status=500, times=-1)
    mocker.patch.object(SeedanceJobTrigger, "_hook", return_value=SeedanceHook(retry_policy=NO_WAIT))
    asyncio.run(trigger.on_kill())  # does not raise


def test_cancelled_error_propagates_out_of_run(emulator: EmulatorHandle, context: dict) -> None:
    emulator.add_fault("fal.submit", "never_finish")
    trigger = submit_job(emulator, context)

    async def scenario() -> None:
        async def consume() -> None:
            async for _ in trigger.run():
                pass

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.5)
        task.cancel()
        await task

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(scenario())


def test_the_run_polls_over_the_shared_pool_not_a_client_per_poll(
    emulator: EmulatorHandle, context: dict, mocker: MockerFixture
) -> None:
    trigger = submit_job(emulator, context)
    created: list[httpx.AsyncClient] = []
    real = httpx.AsyncClient

    def tracking(*args: Any, **kwargs: Any) -> httpx.AsyncClient:
        client = real(*args, **kwargs)
        created.append(client)
        return client

    mocker.patch("airflow_provider_seedance.client.pool.httpx.AsyncClient", side_effect=tracking)
    mocker.patch("airflow_provider_seedance.client.transport.httpx.AsyncClient", side_effect=tracking)
    event = first_event(trigger)

    assert event["status"] == "success"
    assert len(emulator.requests("fal.status")) >= 2
    # The connection's pool: one client per shard, however many polls the run made.
    assert len(created) == DEFAULT_MAX_CONNECTIONS // DEFAULT_SHARD_SIZE


def test_wrong_platform_connection_yields_an_error_event(
    emulator: EmulatorHandle, context: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    trigger = submit_job(emulator, context)
    trigger.job = {**trigger.job, "platform": "oxen"}
    event = first_event(trigger)
    assert event["status"] == "error"
    assert "platform" in event["message"]


def test_the_deadline_ends_with_a_timeout_event_and_never_cancels(
    emulator: EmulatorHandle, context: dict
) -> None:
    emulator.add_fault("fal.submit", "never_finish")
    trigger = submit_job(emulator, context, timeout=0.5)

    event = first_event(trigger)

    assert event["status"] == "timeout"
    assert emulator.requests("fal.cancel") == []  # the operator's execute_complete owns the cancel


def test_a_trigger_serialized_with_cancel_on_timeout_still_loads() -> None:
    trigger = SeedanceJobTrigger(
        job={"platform": "fal", "request_id": "r"}, end_time=time.time(), cancel_on_timeout=True
    )
    assert "cancel_on_timeout" not in trigger.serialize()[1]


def test_a_bug_while_polling_ends_with_exactly_one_error_event(
    emulator: EmulatorHandle, context: dict, mocker: MockerFixture
) -> None:
    trigger = submit_job(emulator, context)
    mocker.patch(
        "airflow_provider_seedance.client.transport.AsyncSeedanceClient.status",
        side_effect=RuntimeError("bug"),
    )

    async def events() -> list[dict[str, Any]]:
        return [dict(e.payload) async for e in trigger.run()]

    (event,) = asyncio.run(events())
    assert event["status"] == "error"
    assert event["message"] == "RuntimeError: bug"


@pytest.mark.parametrize(
    ("job", "problem"),
    [
        ({"platform": "fal"}, "request_id"),
        ({"request_id": "r"}, "platform"),
        ({"platform": "fal", "request_id": ""}, "request_id"),
        ({"platform": "fal", "request_id": "r", "tier": "turbo"}, "tier"),
        ({"platform": "fal", "request_id": "r", "secret": "x"}, "secret"),
    ],
)
def test_invalid_job_kwargs_fail_before_serialization_naming_the_field(
    job: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        SeedanceJobTrigger(job=job, end_time=time.time())


def test_invalid_kwargs_fail_before_serialization() -> None:
    with pytest.raises(ValueError, match="poll_interval"):
        SeedanceJobTrigger(job={"platform": "fal", "request_id": "r"}, end_time=time.time(), poll_interval=0)
