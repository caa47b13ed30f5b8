"""BytePlus ModelArk / Volcengine Ark task dialect: create, get, list, delete/cancel, errors."""

from __future__ import annotations

import re

import httpx
import pytest

from airflow_provider_seedance.emulator.testing import EmulatorHandle
from tests.emulator.conftest import ARK_TASKS


def _content(prompt: str = "A dog, like Image 1", images: int = 1, audios: int = 0) -> list[dict]:
    items: list[dict] = [{"type": "text", "text": prompt}]
    items += [
        {"type": "image_url", "image_url": {"url": f"https://x/{i}.png"}, "role": "reference_image"}
        for i in range(images)
    ]
    items += [
        {"type": "audio_url", "audio_url": {"url": f"https://x/{i}.mp3"}, "role": "reference_audio"}
        for i in range(audios)
    ]
    return items


def _create(client: httpx.Client, model: str = "dreamina-seedance-2-0-260128", **body: object) -> str:
    response = client.post(ARK_TASKS, json={"model": model, "content": _content(), **body})
    assert response.status_code == 200, response.text
    task_id = response.json()["id"]
    assert re.fullmatch(r"cgt-\d{14}-[a-z0-9]{5}", task_id)
    return str(task_id)


@pytest.mark.parametrize(
    ("model", "tier", "vendor"),
    [
        ("dreamina-seedance-2-0-260128", "standard", "byteplus"),
        ("dreamina-seedance-2-0-fast-260128", "fast", "byteplus"),
        ("doubao-seedance-2-0-260128", "standard", "volcengine"),
        ("doubao-seedance-2-0-fast-260128", "fast", "volcengine"),
        ("ep-20260101-abcde", "standard", "byteplus"),
    ],
)
def test_happy_path(emu: EmulatorHandle, bearer: httpx.Client, model: str, tier: str, vendor: str) -> None:
    task_id = _create(bearer, model, ratio="16:9", resolution="720p", duration=6, seed=99)
    assert bearer.get(f"{ARK_TASKS}/{task_id}").json()["status"] == "queued"
    emu.advance(15)
    assert bearer.get(f"{ARK_TASKS}/{task_id}").json()["status"] == "running"
    emu.advance(20)
    task = bearer.get(f"{ARK_TASKS}/{task_id}").json()
    assert task["status"] == "succeeded"
    assert task["error"] is None
    assert (task["seed"], task["ratio"], task["duration"], task["model"]) == (99, "16:9", 6, model)
    assert task["usage"]["total_tokens"] > 0
    served = httpx.get(task["content"]["video_url"])
    assert served.status_code == 200
    assert served.content == emu.video_bytes(task_id)
    [job] = emu.jobs()
    assert (job["platform"], job["dialect"], job["tier"], job["prompt"]) == (
        vendor,
        "ark",
        tier,
        "A dog, like Image 1",
    )


def test_failed_task(emu: EmulatorHandle, bearer: httpx.Client) -> None:
    emu.add_fault("ark.submit", "fail_job", error="OutputVideoSensitiveContentDetected")
    task_id = _create(bearer)
    emu.advance(60)
    task = bearer.get(f"{ARK_TASKS}/{task_id}").json()
    assert task["status"] == "failed"
    assert task["error"]["code"] == "OutputVideoSensitiveContentDetected"
    assert "content" not in task


def test_delete_only_cancels_queued(emu: EmulatorHandle, bearer: httpx.Client) -> None:
    queued = _create(bearer)
    assert bearer.delete(f"{ARK_TASKS}/{queued}").json() == {}
    assert bearer.get(f"{ARK_TASKS}/{queued}").json()["status"] == "cancelled"

    running = _create(bearer)
    emu.advance(15)
    refused = bearer.delete(f"{ARK_TASKS}/{running}")
    assert refused.status_code == 400
    assert refused.json()["error"]["type"] == "BadRequest"
    assert bearer.get(f"{ARK_TASKS}/{running}").json()["status"] == "running"
    assert bearer.delete(f"{ARK_TASKS}/{queued}").status_code == 400  # cancelled: not allowed

    emu.advance(60)
    assert bearer.delete(f"{ARK_TASKS}/{running}").json() == {}  # succeeded: record deleted
    gone = bearer.get(f"{ARK_TASKS}/{running}")
    assert gone.status_code == 404
    assert "Request id" in gone.json()["error"]["message"]


def test_list_with_filters(emu: EmulatorHandle, bearer: httpx.Client) -> None:
    first = _create(bearer)
    emu.advance(60)
    second = _create(bearer, model="doubao-seedance-2-0-fast-260128")
    listing = bearer.get(ARK_TASKS, params={"page_num": 1, "page_size": 10}).json()
    assert listing["total"] == 2
    assert [t["id"] for t in listing["items"]] == [second, first]  # newest first
    queued = bearer.get(ARK_TASKS, params={"filter.status": "queued"}).json()
    assert [t["id"] for t in queued["items"]] == [second]
    by_id = bearer.get(ARK_TASKS, params=[("filter.task_ids", first), ("filter.task_ids", "cgt-x")]).json()
    assert [t["id"] for t in by_id["items"]] == [first]


def test_expired_when_execution_window_passes(emu: EmulatorHandle, bearer: httpx.Client) -> None:
    emu.add_fault("ark.submit", "never_finish")
    task_id = _create(bearer, execution_expires_after=3600)
    emu.advance(3601)
    assert bearer.get(f"{ARK_TASKS}/{task_id}").json()["status"] == "expired"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"content": []}, "content"),
        ({"content": _content(images=10)}, "content"),
        ({"content": _content(images=0, audios=1)}, "content"),
        ({"content": _content(prompt="x" * 5001)}, "content.text"),
        (
            {"content": [{"type": "image_url", "image_url": {"url": "https://x/i.png"}, "role": "bogus"}]},
            None,
        ),
        ({"ratio": "2:1"}, "ratio"),
        ({"duration": 3}, "duration"),
        ({"resolution": "4k"}, "resolution"),
        ({"seed": "1"}, "seed"),
    ],
)
def test_validation_400(emu: EmulatorHandle, bearer: httpx.Client, body: dict, param: str | None) -> None:
    payload = {"model": "dreamina-seedance-2-0-260128", "content": _content(), **body}
    response = bearer.post(ARK_TASKS, json=payload)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] in ("InvalidParameter", "MissingParameter")
    assert error["type"] == "BadRequest"
    if param:
        assert error["param"] == param
    assert emu.jobs() == []


def test_unknown_model_and_missing_model(emu: EmulatorHandle, bearer: httpx.Client) -> None:
    unknown = bearer.post(ARK_TASKS, json={"model": "seedance-9", "content": _content()})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "InvalidEndpoint.NotFound"
    missing = bearer.post(ARK_TASKS, json={"content": _content()})
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "MissingParameter"


def test_auth(emu: EmulatorHandle) -> None:
    response = httpx.get(emu.base_url + ARK_TASKS + "/cgt-1", headers={"Authorization": "Key emulator-key"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationError"
    assert response.headers["x-request-id"]
