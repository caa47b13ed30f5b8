"""SeedanceToGCSOperator's numbers: finite, in range, named, before any request (issue 10, defect 4)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_seedance.client.errors import SeedanceValidationError
from airflow_provider_seedance.transfers.seedance_to_gcs import SeedanceToGCSOperator

BAD: list[tuple[str, object]] = [
    *[("chunk_size", v) for v in (math.nan, math.inf, 0, -262144, 1000, 262144.0, True, "262144")],
    *[("max_download_attempts", v) for v in (math.nan, 0, 2.5, True, "3")],
    *[("download_retry_delay", v) for v in (math.nan, math.inf, -1.0, True, "1")],
    *[("gcs_timeout", v) for v in (math.nan, math.inf, 0, -1.0, True, "60", 1e12)],
]


def make(**overrides: Any) -> SeedanceToGCSOperator:
    return SeedanceToGCSOperator(
        task_id="archive", bucket_name="b", object_name="o.mp4", request_id="r", **overrides
    )


@pytest.mark.parametrize(("name", "value"), BAD)
def test_a_bad_number_fails_at_construction_naming_it(name: str, value: object) -> None:
    with pytest.raises(SeedanceValidationError) as info:
        make(**{name: value})
    assert info.value.fields == [name]


@pytest.mark.parametrize(("name", "value"), BAD)
def test_a_bad_number_set_later_fails_at_execute_naming_it(name: str, value: object) -> None:
    op = make()
    setattr(op, name, value)
    with pytest.raises(AirflowFailException, match=name):
        op.execute({})  # fails before reading any connection


def test_a_zero_download_retry_delay_is_allowed() -> None:
    assert make(download_retry_delay=0).download_retry_delay == 0
