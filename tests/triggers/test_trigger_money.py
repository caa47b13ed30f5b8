"""SeedanceJobTrigger: one event on every path, numbers checked, job data named (issue 10).

Each run is drained to its end (not only the first event read): a trigger that yielded a
second event, or none, would make Airflow resume twice or hang.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import pytest
from pytest_mock import MockerFixture

from airflow_provider_seedance.client.errors import SeedanceServerError, SeedanceValidationError
from airflow_provider_seedance.emulator.testing import EmulatorHandle
from airflow_provider_seedance.triggers.seedance import SeedanceJobTrigger
from tests.triggers.test_seedance_trigger import submit_job

JOB = {"platform": "fal", "request_id": "80e732af-660e-45cd-bd63-580e4f2a94cc"}


def drain(trigger: SeedanceJobTrigger) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        return [dict(event.payload) async for event in trigger.run()]

    return asyncio.run(run())


def test_success_yields_exactly_one_event(emulator: EmulatorHandle, context: dict) -> None:
    events = drain(submit_job(emulator, context))
    assert [e["status"] for e in events] == ["success"]


def test_failure_yields_exactly_one_event_carrying_the_error_type(
    emulator: EmulatorHandle, context: dict
) -> None:
    emulator.add_fault("fal.submit", "fail_job", error="runner_disconnected", body="Runner disconnected")
    (event,) = drain(submit_job(emulator, context))
    assert event["status"] == "failed"
    assert event["error_type"] == "runner_disconnected"


def test_timeout_yields_exactly_one_event(emulator: EmulatorHandle, context: dict) -> None:
    emulator.add_fault("fal.submit", "never_finish")
    events = drain(submit_job(emulator, context, timeout=0.3))
    assert [e["status"] for e in events] == ["timeout"]


def test_poll_errors_yield_exactly_one_error_event(
    emulator: EmulatorHandle, context: dict, mocker: MockerFixture
) -> None:
    trigger = submit_job(emulator, context)
    trigger.max_consecutive_errors = 2
    mocker.patch(
        "airflow_provider_seedance.client.transport.AsyncSeedanceClient.status",
        side_effect=SeedanceServerError("down", status_code=503),
    )
    events = drain(trigger)
    assert [e["status"] for e in events] == ["error"]


def test_a_bug_yields_exactly_one_error_event(
    emulator: EmulatorHandle, context: dict, mocker: MockerFixture
) -> None:
    trigger = submit_job(emulator, context)
    mocker.patch(
        "airflow_provider_seedance.client.transport.AsyncSeedanceClient.status", side_effect=KeyError("bug")
    )
    events = drain(trigger)
    assert [e["status"] for e in events] == ["error"]


def test_a_content_rejected_job_event_says_so(
    emulator: EmulatorHandle, context: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DEFAULT", emulator.connection_json("byteplus"))
    emulator.add_fault("ark.submit", "fail_job", error="InputVideoSensitiveContentDetected")
    (event,) = drain(submit_job(emulator, context))
    assert (event["status"], event["error_type"]) == ("failed", "content_rejected")


# -- numbers and job data ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("end_time", math.nan),
        ("end_time", math.inf),
        ("end_time", "soon"),
        ("end_time", True),
        ("poll_interval", math.nan),
        ("poll_interval", math.inf),
        ("poll_interval", 0),
        ("poll_interval", -1),
        ("poll_interval", "5"),
        ("max_consecutive_errors", math.nan),
        ("max_consecutive_errors", 0),
        ("max_consecutive_errors", 2.5),
        ("max_consecutive_errors", True),
        ("max_consecutive_errors", "3"),
    ],
)
def test_a_bad_number_fails_before_serialization_naming_it(name: str, value: object) -> None:
    kwargs: dict[str, Any] = {"job": JOB, "end_time": time.time(), name: value}
    with pytest.raises(SeedanceValidationError) as info:
        SeedanceJobTrigger(**kwargs)
    assert info.value.fields == [name]


@pytest.mark.parametrize(
    ("job", "field"),
    [
        ({"platform": "fal"}, "job.request_id"),
        ({"platform": "fal", "request_id": "r", "tier": "turbo"}, "job.tier"),
        ({"platform": "fal", "request_id": "r", "secret": "x"}, "job.secret"),
        (["fal", "r"], "job"),
    ],
)
def test_bad_job_data_is_a_validation_error_naming_the_field(job: Any, field: str) -> None:
    with pytest.raises(SeedanceValidationError) as info:
        SeedanceJobTrigger(job=job, end_time=time.time())
    assert info.value.fields == [field]
