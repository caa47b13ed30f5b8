"""SeedanceJobSensor: wait for a job submitted elsewhere, poke or deferred."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk import PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_provider_seedance.emulator.testing import EmulatorHandle
from airflow_provider_seedance.operators.seedance import SeedanceReferenceToVideoOperator
from airflow_provider_seedance.sensors.seedance import SeedanceJobSensor
from tests.support.tasks import first_event


def submit(context: dict[str, Any]) -> dict[str, Any]:
    op = SeedanceReferenceToVideoOperator(
        task_id="submit", prompt="A paper boat in the rain", duration=4, wait_for_completion=False
    )
    return op.execute(context)


def test_submit_without_waiting_returns_the_job_at_once(emulator: EmulatorHandle, context: dict) -> None:
    submitted = submit(context)
    assert submitted["status"] == "submitted"
    assert submitted["video"] is None
    assert len(emulator.requests("fal.submit")) == 1


def test_poke_returns_false_then_the_result(emulator: EmulatorHandle, context: dict) -> None:
    emulator.configure(manual_clock=True, queue_seconds=1, run_seconds=1)
    request_id = submit(context)["request_id"]
    sensor = SeedanceJobSensor(task_id="wait", request_id=request_id)

    assert sensor.poke(context) is False
    emulator.advance(5)
    done = sensor.poke(context)

    assert isinstance(done, PokeReturnValue)
    assert done.xcom_value["request_id"] == request_id
    assert done.xcom_value["video"]["file_size"] == len(emulator.video_bytes(request_id))


def test_poke_fails_without_retry_on_a_failed_job(emulator: EmulatorHandle, context: dict) -> None:
    emulator.add_fault("fal.submit", "fail_job", body="Content policy violation")
    emulator.configure(manual_clock=True)
    request_id = submit(context)["request_id"]
    emulator.advance(60)

    with pytest.raises(AirflowFailException, match="failed"):
        SeedanceJobSensor(task_id="wait", request_id=request_id).poke(context)


def test_deferrable_sensor_defers_and_never_cancels_a_job_it_does_not_own(
    emulator: EmulatorHandle, context: dict
) -> None:
    request_id = submit(context)["request_id"]
    sensor = SeedanceJobSensor(task_id="wait", request_id=request_id, deferrable=True, poke_interval=0.1)

    with pytest.raises(TaskDeferred) as info:
        sensor.execute(context)
    trigger = info.value.trigger
    assert trigger.cancel_on_kill is False

    result = sensor.execute_complete(context, first_event(trigger))
    assert result["request_id"] == request_id
    assert result["status"] == "succeeded"
