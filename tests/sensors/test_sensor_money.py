"""SeedanceJobSensor: numbers checked, ids named, content refusals never retried (issue 10)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_provider_seedance.client.errors import SeedanceValidationError
from airflow_provider_seedance.emulator.testing import EmulatorHandle
from airflow_provider_seedance.operators.seedance import SeedanceReferenceToVideoOperator
from airflow_provider_seedance.sensors.seedance import SeedanceJobSensor
from tests.support.tasks import first_event


def submit(context: dict[str, Any]) -> str:
    op = SeedanceReferenceToVideoOperator(
        task_id="submit", prompt="A paper boat in the rain", duration=4, wait_for_completion=False
    )
    return str(op.execute(context)["request_id"])


@pytest.mark.parametrize("name", ["poke_interval", "timeout"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0, 0, True, 1e12])
def test_a_bad_number_fails_at_construction_naming_it(name: str, value: object) -> None:
    with pytest.raises(SeedanceValidationError) as info:
        SeedanceJobSensor(task_id="wait", request_id="r", **{name: value})
    assert info.value.fields == [name]


@pytest.mark.parametrize("name", ["poke_interval", "timeout"])
def test_a_bad_number_set_later_fails_at_execute_before_any_request(
    emulator: EmulatorHandle, context: dict, name: str
) -> None:
    sensor = SeedanceJobSensor(task_id="wait", request_id="r", deferrable=True)
    setattr(sensor, name, math.nan)
    with pytest.raises(AirflowFailException, match=name):
        sensor.execute(context)
    assert emulator.requests() == []


def test_a_job_refused_for_its_content_at_result_time_fails_without_retry(
    emulator: EmulatorHandle, context: dict
) -> None:
    emulator.add_fault("fal.submit", "fail_job", error="content_policy_violation", status=422, body="flagged")
    emulator.configure(manual_clock=True)
    request_id = submit(context)
    emulator.advance(60)
    with pytest.raises(AirflowFailException):
        SeedanceJobSensor(task_id="wait", request_id=request_id).poke(context)


def test_a_content_rejected_event_fails_the_deferred_sensor_without_retry(
    emulator: EmulatorHandle, context: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DEFAULT", emulator.connection_json("byteplus"))
    emulator.add_fault("ark.submit", "fail_job", error="InputImageSensitiveContentDetected")
    request_id = submit(context)
    sensor = SeedanceJobSensor(task_id="wait", request_id=request_id, deferrable=True, poke_interval=0.05)
    with pytest.raises(TaskDeferred) as deferred:  # the job is still queued at the first poke
        sensor.execute(context)
    event = first_event(deferred.value.trigger)
    assert event["error_type"] == "content_rejected"
    with pytest.raises(AirflowFailException, match="image"):
        sensor.execute_complete(context, event)


@pytest.mark.parametrize("request_id", ["../../x?y", "a/b", "   "])
def test_a_request_id_that_cannot_be_a_job_fails_without_retry_before_any_request(
    emulator: EmulatorHandle, context: dict, request_id: str
) -> None:
    with pytest.raises(AirflowFailException):
        SeedanceJobSensor(task_id="wait", request_id=request_id).poke(context)
    assert emulator.requests() == []
