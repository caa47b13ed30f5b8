"""Account limits of the emulator (emulator/limits.py): rate limit, Ark's queued-task cap, fal's
running slots. Against the real emulator over HTTP."""

from __future__ import annotations

import httpx
import pytest

from airflow_provider_seedance.emulator.testing import EmulatorHandle
from tests.emulator.conftest import ARK_TASKS, FAL_STANDARD
from tests.emulator.test_ark import _content

FAL_BODY = {"prompt": "A dog, like @Image1", "image_urls": ["https://example.com/a.png"], "duration": "5"}


def _limits(emu: EmulatorHandle, **fields: object) -> dict:
    response = httpx.post(f"{emu.base_url}/_emulator/config", json=fields)
    assert response.status_code == 200, response.text
    return response.json()


def test_rate_limit_answers_429_with_retry_after_and_creates_no_job(
    emu: EmulatorHandle, fal: httpx.Client
) -> None:
    _limits(emu, rate_limit_rps=1, rate_limit_burst=2)
    answers = [fal.post(FAL_STANDARD, json=FAL_BODY) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 429, 429]
    refused = answers[2]
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error_type"] == "rate_limited"
    assert len(emu.jobs()) == 2  # a refused submit created nothing
    # status calls are not limited with the default scope "submit"
    status_url = answers[0].json()["status_url"]
    assert all(fal.get(status_url).status_code in (200, 202) for _ in range(5))


def test_rate_limit_scope_all_limits_status_calls(emu: EmulatorHandle, fal: httpx.Client) -> None:
    submitted = fal.post(FAL_STANDARD, json=FAL_BODY).json()
    _limits(emu, rate_limit_rps=1, rate_limit_burst=1, rate_limit_scope="all")
    codes = [fal.get(submitted["status_url"]).status_code for _ in range(3)]
    assert codes[0] in (200, 202)
    assert codes[1:] == [429, 429]


def test_limit_config_is_validated_and_reset(emu: EmulatorHandle) -> None:
    bad = httpx.post(f"{emu.base_url}/_emulator/config", json={"rate_limit_scope": "everything"})
    assert bad.status_code == 400
    assert "rate_limit_scope" in bad.text
    assert _limits(emu, ark_max_queued_tasks=3)["ark_max_queued_tasks"] == 3
    emu.reset()
    assert emu.config()["ark_max_queued_tasks"] == 0


def test_ark_refuses_past_the_queued_task_cap(emu: EmulatorHandle, bearer: httpx.Client) -> None:
    _limits(emu, ark_max_queued_tasks=2)
    body = {"model": "dreamina-seedance-2-0-260128", "content": _content()}
    codes = [bearer.post(ARK_TASKS, json=body).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    emu.advance(10 + 20 + 1)  # both tasks end: room again
    assert bearer.post(ARK_TASKS, json=body).status_code == 200


def test_fal_queues_past_the_running_slots_and_never_refuses(emu: EmulatorHandle, fal: httpx.Client) -> None:
    _limits(emu, fal_max_running=2)
    ids = []
    for _ in range(5):
        answer = fal.post(FAL_STANDARD, json=FAL_BODY)
        assert answer.status_code == 200  # queued requests never count toward the limit
        ids.append(answer.json()["request_id"])
    emu.advance(10.5)  # queue_seconds=10: two start, three wait for a slot
    states = [emu.job(i)["state"] for i in ids]
    assert states == ["running", "running", "queued", "queued", "queued"]
    emu.advance(20)  # the first two end (run_seconds=20), the next two start
    assert [emu.job(i)["state"] for i in ids] == ["succeeded", "succeeded", "running", "running", "queued"]


@pytest.mark.parametrize("value", [-1, "x", True])
def test_limit_numbers_are_validated(emu: EmulatorHandle, value: object) -> None:
    response = httpx.post(f"{emu.base_url}/_emulator/config", json={"rate_limit_rps": value})
    assert response.status_code == 400
