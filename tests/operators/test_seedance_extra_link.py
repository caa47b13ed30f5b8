"""The operator extra link: pushed to XCom before waiting, read back at finalize."""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx
from airflow.sdk.exceptions import TaskDeferred
from pytest_mock import MockerFixture

from airflow_provider_seedance.operators.seedance import (
    XCOM_JOB_KEY,
    XCOM_JOB_URL_KEY,
    SeedanceJobLink,
    SeedanceReferenceToVideoOperator,
)


def test_job_url_is_pushed_before_deferring_for_the_real_platform(
    monkeypatch: pytest.MonkeyPatch, context: dict[str, Any]
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_SEEDANCE_DEFAULT",
        json.dumps({"conn_type": "seedance", "password": "sk-live-key-123456", "extra": {"platform": "fal"}}),
    )
    with respx.mock(assert_all_called=False) as router:
        router.post("https://queue.fal.run/bytedance/seedance-2.0/reference-to-video").respond(
            200, json={"request_id": "abc-123"}
        )
        op = SeedanceReferenceToVideoOperator(
            task_id="clip", prompt="A lighthouse", duration=4, deferrable=True
        )
        with pytest.raises(TaskDeferred):
            op.execute(context)

    keys = [key for key, _ in context["ti"].pushed]
    assert keys == [XCOM_JOB_KEY, XCOM_JOB_URL_KEY]
    url = dict(context["ti"].pushed)[XCOM_JOB_URL_KEY]
    assert url.startswith("https://fal.ai/")


def test_an_empty_link_for_a_custom_base_url(emulator: Any, context: dict[str, Any]) -> None:
    """No job page, but the key is there: Airflow reads it at defer and finalize (a 404 is an
    error line in the task log)."""
    op = SeedanceReferenceToVideoOperator(task_id="clip", prompt="A lighthouse", duration=4, deferrable=True)
    with pytest.raises(TaskDeferred):
        op.execute(context)
    assert context["ti"].pushed[1:] == [(XCOM_JOB_URL_KEY, "")]


def test_link_reads_the_pushed_url(mocker: MockerFixture) -> None:
    get = mocker.patch("airflow.sdk.execution_time.xcom.XCom.get_value", return_value="https://fal.ai/x")
    link = SeedanceJobLink().get_link(mocker.Mock(), ti_key=mocker.sentinel.key)
    assert link == "https://fal.ai/x"
    get.assert_called_once_with(key=XCOM_JOB_URL_KEY, ti_key=mocker.sentinel.key)


def test_link_is_empty_without_a_url(mocker: MockerFixture) -> None:
    mocker.patch("airflow.sdk.execution_time.xcom.XCom.get_value", return_value=None)
    assert SeedanceJobLink().get_link(mocker.Mock(), ti_key=mocker.sentinel.key) == ""
