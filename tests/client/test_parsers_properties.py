"""Property-based: every dialect's parsers turn ANY answer into a model or one of our errors.

A platform (or a proxy, or an attacker on the path) may answer anything: deeply nested JSON,
huge bodies, wrong types in every field, unicode, random bytes, any status code. Whatever it
sends, ``parse_submit`` / ``parse_status`` / ``parse_result`` / ``parse_cancel`` /
``parse_probe`` / ``error_details`` / the cancel plan's steps must either return or raise a
:class:`SeedanceError` (defect 8 of issue 10: a ``RecursionError`` or ``TypeError`` escaping
here crashed the poll instead of counting as a tolerated poll error).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_seedance.client.errors import SeedanceError, SeedanceProtocolError
from airflow_provider_seedance.client.models import JobRef
from airflow_provider_seedance.client.platforms import DIALECTS, get_dialect
from airflow_provider_seedance.client.platforms.base import Dialect
from airflow_provider_seedance.client.platforms.fal import FalDialect
from airflow_provider_seedance.client.platforms.http import HttpResponse, Operation
from tests.client.helpers import REQUEST_ID, STATUS_URL, ClientFacade, simple_request

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Keys every dialect reads somewhere, so random objects hit the parsers' branches.
_KEYS = st.sampled_from(
    [
        *("status", "request_id", "id", "logs", "error", "error_type", "detail", "video", "url"),
        *("seed", "queue_position", "results", "progress", "content", "video_url", "result_url"),
        *("generations", "generation_id", "error_message", "message", "code", "type", "param"),
        *("title", "status_message", "loc", "msg", "file_size", "content_type", "file_name"),
        *("items", "total", "count", "task_info"),
    ]
)
_STATUSES = st.sampled_from(
    [
        *("IN_QUEUE", "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELLED", "NOT_FOUND"),
        *("queued", "processing", "running", "succeeded", "failed", "completed", "pending"),
        *("expired", "cancelled", "success", "ALREADY_COMPLETED"),
    ]
)
_SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30) | _STATUSES
)
_JSON: st.SearchStrategy[Any] = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_KEYS | st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=30,
)
_OBJECTS = st.dictionaries(_KEYS, _JSON, max_size=8)


def _nested(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"status":' * depth + b"1" + b"}" * depth


#: Hand-picked answers that broke (or could break) a parser; each runs on every dialect.
_SAMPLES = [
    b"",
    b"null",
    b"<html><body>502 Bad Gateway</body></html>",
    b'{"detail":"Not Found"}',
    b'{"status": "IN_PROGRESS", "logs": 5}',
    b'{"status": "IN_PROGRESS", "logs": [5, null, {"message": [1]}]}',
    b'{"status": "COMPLETED", "error": {"a": 1}, "error_type": []}',
    b'{"video": {"url": "https://x/v.mp4", "file_name": 5, "content_type": []}, "seed": 1e400}',
    b'{"status": "succeeded", "content": {"video_url": 5}, "seed": "x"}',
    b'{"status": "failed", "error": {"code": {"x": 1}, "message": [1, 2]}}',
    b'{"generations": [{"generation_id": 7}]}',
    b'{"error": {"message": {"a": 1}, "param": [], "code": 1.5}}',
    b'{"detail": [{"loc": 5, "msg": {"x": []}, "type": 1}]}',
    b'{"status": "pending", "progress": 1e400}',
    b"\xef\xbb\xbf{}",
    b'"' + b"x" * 1_000_000 + b'"',
]

_BODIES = st.one_of(
    _OBJECTS.map(lambda obj: json.dumps(obj).encode()),
    _JSON.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=200),
    st.text(max_size=100).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.builds(_nested, st.sampled_from([100, 5_000, 200_000]), st.sampled_from(["list", "dict"])),
    st.sampled_from(_SAMPLES),
)
_STATUS_CODES = st.one_of(
    st.sampled_from([200, 201, 202, 204, 400, 401, 404, 409, 422, 429, 500, 503]), st.integers(100, 599)
)
_HEADERS = st.one_of(
    st.just({}),
    st.dictionaries(
        st.sampled_from(["retry-after", "x-fal-error-type", "x-fal-retryable", "content-type"]),
        st.text(max_size=40),
        max_size=3,
    ),
)


def _refs(dialect: Dialect) -> list[JobRef]:
    return [
        JobRef(platform=dialect.name, request_id="0f4a5a1e-2b7c-4d8e-9f00-1234567890ab"),
        JobRef(platform=dialect.name, request_id="task-unified-1757165031-uyujaw3d", tier="fast"),
        JobRef(platform=dialect.name, request_id="cgt-20260405024433-sbj8r"),
    ]


def _exercise(dialect: Dialect, response: HttpResponse) -> None:
    request = simple_request()
    calls = [
        lambda: dialect.parse_submit(request, response),
        lambda: dialect.parse_probe(response),
        lambda: dialect.error_details(response),
        lambda: dialect.error_from_response(Operation.STATUS, response),
    ]
    for ref in _refs(dialect):
        calls += [
            lambda ref=ref: dialect.parse_status(ref, response),
            lambda ref=ref: dialect.parse_result(ref, response),
            lambda ref=ref: dialect.parse_cancel(ref, response),
            *(lambda step=step: step.decide(response) for step in dialect.plan_cancel(ref).steps),
        ]
    for call in calls:
        with contextlib.suppress(SeedanceError):
            call()


@pytest.mark.parametrize("platform", sorted(DIALECTS))
@SETTINGS
@given(body=_BODIES, status=_STATUS_CODES, headers=_HEADERS)
def test_any_answer_parses_or_raises_a_seedance_error(
    platform: str, body: bytes, status: int, headers: dict[str, str]
) -> None:
    _exercise(get_dialect(platform), HttpResponse(status_code=status, headers=headers, content=body))


@pytest.mark.parametrize("platform", sorted(DIALECTS))
@pytest.mark.parametrize("body", _SAMPLES, ids=range(len(_SAMPLES)))
def test_hand_picked_answers_parse_or_raise_a_seedance_error(platform: str, body: bytes) -> None:
    for status in (200, 202, 400, 404, 422, 500):
        _exercise(get_dialect(platform), HttpResponse(status, {"retry-after": "soon"}, body))


@pytest.mark.parametrize("platform", sorted(DIALECTS))
@pytest.mark.parametrize("kind", ["list", "dict"])
def test_deeply_nested_json_is_a_protocol_error_not_a_recursion_error(platform: str, kind: str) -> None:
    """The exact reproducer of defect 8: nesting beyond the interpreter's recursion limit."""
    for status in (200, 202, 400, 404, 500):
        _exercise(get_dialect(platform), HttpResponse(status, {}, _nested(200_000, kind)))


def test_fal_status_with_logs_not_a_list_is_read_without_crashing() -> None:
    """The other reproducer of defect 8: ``"logs": 5`` raised TypeError."""
    dialect = get_dialect("fal")
    ref = JobRef(platform=dialect.name, request_id="0f4a5a1e-2b7c-4d8e-9f00-1234567890ab")
    status = dialect.parse_status(ref, HttpResponse(202, {}, b'{"status": "IN_PROGRESS", "logs": 5}'))
    assert status.logs == ()


def test_the_transport_turns_a_parser_crash_into_a_protocol_error(
    client: ClientFacade, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last guard: a parser bug on some unforeseen body is still one of our errors."""

    def crash(self: Dialect, ref: JobRef, response: HttpResponse) -> None:
        raise TypeError("unforeseen")

    monkeypatch.setattr(FalDialect, "parse_status", crash)
    with respx.mock() as router:
        router.get(STATUS_URL).respond(202, json={"status": "IN_PROGRESS"})
        with pytest.raises(SeedanceProtocolError, match="cannot read") as caught:
            client.status(client.job_ref(REQUEST_ID))
    assert caught.value.status_code == 202
