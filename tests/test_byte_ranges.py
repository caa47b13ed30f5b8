"""The one Range parser and response plan shared by the review plugin and the emulator's routes."""

from __future__ import annotations

import pytest

from airflow_provider_seedance.byte_ranges import parse_range, plan_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("items=0-5", None),
        ("bytes=0-1,4-5", None),
        ("bytes=0-", (0, 99)),
        ("bytes=10-19", (10, 19)),
        ("bytes=-5", (95, 99)),
        ("bytes=-500", (0, 99)),
        ("bytes=90-500", (90, 99)),
    ],
)
def test_ranges(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=20-10", "bytes=-0", "bytes=x-1"])
def test_unsatisfiable_or_malformed_range_raises(header: str) -> None:
    with pytest.raises(ValueError, match="range"):
        parse_range(header, 100)


def test_plan_for_a_whole_body() -> None:
    plan = plan_range(None, 100)
    assert (plan.status, plan.start, plan.end, plan.length) == (200, 0, 99, 100)
    assert plan.headers == {"Accept-Ranges": "bytes", "Content-Length": "100"}


def test_plan_for_a_slice() -> None:
    plan = plan_range("bytes=10-19", 100)
    assert (plan.status, plan.start, plan.end) == (206, 10, 19)
    assert plan.headers == {
        "Accept-Ranges": "bytes",
        "Content-Range": "bytes 10-19/100",
        "Content-Length": "10",
    }


def test_plan_for_an_unsatisfiable_range_is_416_with_the_size() -> None:
    plan = plan_range("bytes=100-", 100)
    assert not plan.satisfiable
    assert (plan.status, plan.headers) == (416, {"Content-Range": "bytes */100"})


def test_plan_for_an_empty_body() -> None:
    plan = plan_range(None, 0)
    assert (plan.status, plan.length, plan.headers["Content-Length"]) == (200, 0, "0")
