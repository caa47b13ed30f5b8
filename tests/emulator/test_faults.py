"""Fault injection over real HTTP: status (429/5xx), delay, drop, truncate, garbage, fail_job,
never_finish."""

from __future__ import annotations

import httpx
import pytest

from airflow_provider_seedance.emulator.faults import parse_fault_spec
from airflow_provider_seedance.emulator.testing import EmulatorError, EmulatorHandle
from tests.emulator.conftest import ARK_TASKS, FAL_STANDARD, OXEN_MODEL


def test_429_with_retry_after_then_recovers(emu: EmulatorHandle, fal: httpx.Client) -> None:
    emu.add_fault("fal.submit", "status", status=429, retry_after=2, times=2)
    for _ in range(2):
        limited = fal.post(FAL_STANDARD, json={"prompt": "p"})
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "2"
        assert limited.json()["error_type"]
    assert fal.post(FAL_STANDARD, json={"prompt": "p"}).status_code == 200
    submits = emu.requests("fal.submit")
    assert [r["status_code"] for r in submits] == [429, 429, 200]
    assert submits[0]["fault"]["kind"] == "status"
    assert len(emu.jobs()) == 1  # rejected requests create no job
    assert emu.faults() == []


@pytest.mark.parametrize(
    ("route", "method", "path", "check"),
    [
        ("fal.status", "GET", "/bytedance/seedance-2.0/requests/x/status", "fal"),
        ("oxen.status", "GET", "/api/ai/queue/x", "oxen"),
        ("aihubmax.status", "GET", "/v1/tasks/x", "aihubmax"),
        ("ark.status", "GET", ARK_TASKS + "/x", "ark"),
    ],
)
def test_5xx_in_platform_shape(emu: EmulatorHandle, route: str, method: str, path: str, check: str) -> None:
    emu.add_fault(route, "status", status=503)
    response = httpx.request(method, emu.base_url + path)
    assert response.status_code == 503
    body = response.json()
    if check == "fal":
        assert body["error_type"] == "runner_scheduling_failure"
        assert response.headers["x-fal-error-type"] == "runner_scheduling_failure"
        assert response.headers["x-fal-request-id"]
    elif check == "oxen":
        assert body["status"] == "error"
        assert body["error"]["type"] == "service_unavailable"
    elif check == "aihubmax":
        assert body["error"] == {
            "code": 503,
            "message": "Service Unavailable (retry after 30 seconds)",
            "type": "service_unavailable_error",
        }
    else:
        assert body["error"]["type"] == "ServiceUnavailable"
        assert "Request id" in body["error"]["message"]


def test_status_fault_with_custom_error_and_body(emu: EmulatorHandle, fal: httpx.Client) -> None:
    emu.add_fault("fal.result", "status", status=504, error="request_timeout")
    emu.add_fault("fal.result", "status", status=500, body={"custom": True})
    first = fal.get("/bytedance/seedance-2.0/requests/x")
    assert (first.status_code, first.json()["error_type"]) == (504, "request_timeout")
    second = fal.get("/bytedance/seedance-2.0/requests/x")
    assert (second.status_code, second.json()) == (500, {"custom": True})


def test_delay_triggers_client_timeout_but_job_exists(emu: EmulatorHandle, fal: httpx.Client) -> None:
    emu.add_fault("fal.submit", "delay", delay=1.0)
    with pytest.raises(httpx.ReadTimeout):
        fal.post(FAL_STANDARD, json={"prompt": "p"}, timeout=0.3)
    # the submit was processed: an ambiguous outcome, exactly one job
    [job] = emu.jobs()
    assert job["prompt"] == "p"
    assert len(emu.requests("fal.submit")) == 1


def test_drop_gives_transport_error(emu: EmulatorHandle, fal: httpx.Client) -> None:
    emu.add_fault("fal.submit", "drop")
    with pytest.raises(httpx.RemoteProtocolError):
        fal.post(FAL_STANDARD, json={"prompt": "p"})
    assert len(emu.jobs()) == 1
    # the next request works again on a fresh connection
    assert fal.post(FAL_STANDARD, json={"prompt": "p"}).status_code == 200


def test_truncated_json_body(emu: EmulatorHandle, bearer: httpx.Client) -> None:
    emu.add_fault("oxen.submit", "truncate")
    with pytest.raises(httpx.RemoteProtocolError):
        bearer.post("/api/ai/queue", json={"model": OXEN_MODEL, "prompt": "p"})


def test_garbage_body_keeps_the_status_and_still_creates_the_job(
    emu: EmulatorHandle, bearer: httpx.Client
) -> None:
    emu.add_fault("oxen.submit", "garbage")
    response = bearer.post("/api/ai/queue", json={"model": OXEN_MODEL, "prompt": "p"})
    assert response.status_code < 300
    with pytest.raises(ValueError):
        response.json()
    assert len(emu.jobs()) == 1  # processed: a job exists that the caller cannot know the id of
    assert emu.requests("oxen.submit")[0]["fault"]["kind"] == "garbage"


def test_fault_times_and_globs(emu: EmulatorHandle, fal: httpx.Client, bearer: httpx.Client) -> None:
    emu.add_fault("*", "status", status=500, times=3)
    codes = [
        fal.get("/bytedance/seedance-2.0/requests/x/status").status_code,
        bearer.get("/v1/tasks/x").status_code,
        bearer.get(ARK_TASKS + "/x").status_code,
        bearer.get(ARK_TASKS + "/x").status_code,
    ]
    assert codes == [500, 500, 500, 404]
    forever = emu.add_fault("ark.*", "status", status=502, times=-1)
    assert forever["times"] == -1
    assert all(bearer.get(ARK_TASKS + "/x").status_code == 502 for _ in range(3))
    assert emu.faults()[0]["fired"] == 3
    emu.clear_faults()
    assert bearer.get(ARK_TASKS + "/x").status_code == 404


def test_never_finish(emu: EmulatorHandle, fal: httpx.Client) -> None:
    emu.add_fault("fal.submit", "never_finish")
    sub = fal.post(FAL_STANDARD, json={"prompt": "p"}).json()
    emu.advance(10_000)
    assert fal.get(sub["status_url"]).json()["status"] == "IN_PROGRESS"
    assert emu.jobs()[0]["state"] == "running"
    assert fal.put(sub["cancel_url"]).status_code == 202


def test_control_api_rejects_bad_faults(emu: EmulatorHandle) -> None:
    with pytest.raises(EmulatorError, match="unknown fault kind"):
        emu.add_fault("fal.submit", "explode")
    with pytest.raises(EmulatorError, match="unknown route"):
        emu.add_fault("fal.sumbit", "drop")
    with pytest.raises(EmulatorError, match="delay"):
        emu.add_fault("fal.submit", "delay")


def test_parse_fault_spec() -> None:
    fault = parse_fault_spec("fal.status:status:503:times=2")
    assert (fault.route, fault.kind, fault.status, fault.times) == ("fal.status", "status", 503, 2)
    fault = parse_fault_spec("*:status:429:retry_after=1.5")
    assert (fault.route, fault.retry_after) == ("*", 1.5)
    assert parse_fault_spec("media:truncate").kind == "truncate"
    assert parse_fault_spec("fal.submit:delay:delay=5").delay == 5
    assert parse_fault_spec("ark.submit:fail_job:error=InternalError").error == "InternalError"
    with pytest.raises(ValueError, match="bad fault"):
        parse_fault_spec("nonsense")
    with pytest.raises(ValueError, match="unknown fault option"):
        parse_fault_spec("fal.submit:drop:bogus=1")
