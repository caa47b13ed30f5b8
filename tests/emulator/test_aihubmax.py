"""AIHubMax unified-task dialect: create, poll (with the completed-before-results quirk), errors."""

from __future__ import annotations

import re

import httpx
import pytest

from airflow_provider_seedance.emulator.testing import EmulatorHandle

MODEL = "seedance-2.0-reference-to-video"


def _create(client: httpx.Client, **body: object) -> dict:
    response = client.post("/v1/videos/generations", json={"model": MODEL, "prompt": "p", **body})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_happy_path_with_results_quirk(emu: EmulatorHandle, bearer: httpx.Client) -> None:
    task = _create(bearer, duration=8, image_urls=["https://x/i.png"], aspect_ratio="adaptive", seed=-1)
    assert re.fullmatch(r"task-unified-\d+-[a-z0-9]{8}", task["id"])
    assert task["object"] == "video.generation.task"
    assert (task["status"], task["progress"], task["type"]) == ("pending", 0, "video")
    assert task["task_info"]["video_duration"] == 8
    assert task["usage"]["billing_rule"] == "per_second"

    url = f"/v1/tasks/{task['id']}"
    assert bearer.get(url).json()["status"] == "pending"
    emu.advance(15)
    processing = bearer.get(url).json()
    assert processing["status"] == "processing"
    assert 0 < processing["progress"] < 100
    emu.advance(20)
    first = bearer.get(url).json()
    assert first["status"] == "completed"
    assert first["results"] is None  # quirk: completed before results are filled
    assert first["progress"] < 100
    second = bearer.get(url).json()
    assert second["status"] == "completed"
    assert second["progress"] == 100
    [video_url] = second["results"]
    served = httpx.get(video_url)
    assert served.status_code == 200
    assert served.content == emu.video_bytes(task["id"])
    [job] = emu.jobs()
    assert (job["platform"], job["tier"]) == ("aihubmax", "standard")
    assert job["seed"] >= 0  # -1 means "pick one"


def test_failed_task(emu: EmulatorHandle, bearer: httpx.Client) -> None:
    emu.add_fault("aihubmax.submit", "fail_job", error="content_policy_violation", body="Content rejected")
    task = _create(bearer, model="seedance-2.0-fast-reference-to-video")
    emu.advance(60)
    view = bearer.get(f"/v1/tasks/{task['id']}").json()
    assert view["status"] == "failed"
    assert view["results"] is None
    assert view["error"]["code"] == "content_policy_violation"
    assert view["error"]["message"] == "Content rejected"
    assert emu.jobs()[0]["tier"] == "fast"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"duration": 3}, "duration"),
        ({"duration": "5"}, "duration"),
        ({"duration": 16}, "duration"),
        ({"aspect_ratio": "auto"}, "aspect_ratio"),
        ({"resolution": "1080p"}, "resolution"),
        ({"prompt": "x" * 5001}, "prompt"),
        ({"image_urls": ["https://x/i.png"] * 10}, "image_urls"),
        ({"audio_urls": ["https://x/a.mp3"]}, "audio_urls"),
        ({"video_urls": ["https://x/v.mp4"] * 4}, "video_urls"),
    ],
)
def test_validation_400(emu: EmulatorHandle, bearer: httpx.Client, body: dict, param: str) -> None:
    response = bearer.post("/v1/videos/generations", json={"model": MODEL, "prompt": "p", **body})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 400
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert emu.jobs() == []


def test_unknown_model_and_task(emu: EmulatorHandle, bearer: httpx.Client) -> None:
    response = bearer.post("/v1/videos/generations", json={"model": "seedance-1.0", "prompt": "p"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "model_not_found"
    missing = bearer.get("/v1/tasks/task-unified-1-aaaaaaaa")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found_error"


def test_auth(emu: EmulatorHandle) -> None:
    response = httpx.post(
        emu.base_url + "/v1/videos/generations",
        json={"model": MODEL, "prompt": "p"},
        headers={"Authorization": "Bearer wrong"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    assert response.json()["error"]["code"] == 401
