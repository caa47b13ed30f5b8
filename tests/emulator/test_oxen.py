"""Oxen.ai async queue dialect: enqueue, poll, late parameter failures, cancel, auth."""

from __future__ import annotations

import httpx
import pytest

from airflow_provider_seedance.emulator.testing import EmulatorHandle
from tests.emulator.conftest import OXEN_MODEL


def _enqueue(client: httpx.Client, **body: object) -> str:
    response = client.post("/api/ai/queue", json={"model": OXEN_MODEL, "prompt": "p", **body})
    assert response.status_code == 200, response.text
    [generation] = response.json()["generations"]
    assert generation["status"] == "queued"
    return str(generation["generation_id"])


def test_happy_path(emu: EmulatorHandle, bearer: httpx.Client) -> None:
    gid = _enqueue(bearer, input_images=["https://x/i.png"], duration="8", seed=7)
    view = bearer.get(f"/api/ai/queue/{gid}").json()
    assert view["status"] == "queued"
    assert view["result_url"] is None
    assert view["model_name"] == OXEN_MODEL
    emu.advance(15)
    assert bearer.get(f"/api/ai/queue/{gid}").json()["status"] == "processing"
    emu.advance(20)
    done = bearer.get(f"/api/ai/queue/{gid}").json()
    assert done["status"] == "succeeded"
    assert done["error_message"] is None
    assert done["seed"] == 7
    assert done["completed_at"]
    assert done["started_at"]
    assert done["enqueued_at"]
    video = httpx.get(done["result_url"])
    assert video.status_code == 200
    assert video.content == emu.video_bytes(gid)
    [job] = emu.jobs()
    assert (job["platform"], job["tier"], job["state"]) == ("oxen", "standard", "succeeded")


def test_num_generations_and_fast_model(emu: EmulatorHandle, bearer: httpx.Client) -> None:
    response = bearer.post(
        "/api/ai/queue",
        json={"model": "bytedance-seedance-2-0-fast-reference-to-video", "prompt": "p", "num_generations": 3},
    )
    assert len(response.json()["generations"]) == 3
    assert [j["tier"] for j in emu.jobs()] == ["fast"] * 3
    listed = bearer.get("/api/ai/queue").json()
    assert listed["count"] == 3
    emu.advance(60)
    assert bearer.get("/api/ai/queue").json()["count"] == 0  # only active ones by default
    assert bearer.get("/api/ai/queue", params={"status": "succeeded"}).json()["count"] == 3


def test_parameter_errors_surface_later_as_failed(emu: EmulatorHandle, bearer: httpx.Client) -> None:
    gid = _enqueue(bearer, input_audios=["https://x/a.mp3"], resolution="8k")
    assert bearer.get(f"/api/ai/queue/{gid}").json()["status"] == "queued"
    emu.advance(15)
    failed = bearer.get(f"/api/ai/queue/{gid}").json()
    assert failed["status"] == "failed"
    assert failed["error_message"].startswith("Getting model response error: 422 - Value error")
    assert "resolution" in failed["error_message"]
    assert "input_audios" in failed["error_message"]
    assert failed["result_url"] is None


def test_fail_job_fault(emu: EmulatorHandle, bearer: httpx.Client) -> None:
    emu.add_fault("oxen.submit", "fail_job", body="Upstream provider error")
    gid = _enqueue(bearer)
    emu.advance(60)
    view = bearer.get(f"/api/ai/queue/{gid}").json()
    assert (view["status"], view["error_message"]) == ("failed", "Upstream provider error")


def test_enqueue_checks_model_and_count(emu: EmulatorHandle, bearer: httpx.Client) -> None:
    unknown = bearer.post("/api/ai/queue", json={"model": "nope", "prompt": "p"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["title"] == "Model not found: nope"
    assert unknown.json()["status"] == "error"
    bad = bearer.post("/api/ai/queue", json={"model": OXEN_MODEL, "prompt": "p", "num_generations": 5})
    assert bad.status_code == 400
    assert "num_generations" in bad.json()["error"]["title"]
    missing = bearer.get("/api/ai/queue/does-not-exist")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "resource_not_found"
    assert emu.jobs() == []


def test_cancel(emu: EmulatorHandle, bearer: httpx.Client) -> None:
    queued = _enqueue(bearer)
    response = bearer.delete(f"/api/ai/queue/{queued}")
    assert response.json() == {"status": "success", "generation_id": queued}
    assert bearer.get(f"/api/ai/queue/{queued}").json()["status"] == "cancelled"

    processing = _enqueue(bearer)
    emu.advance(15)
    bearer.delete(f"/api/ai/queue/{processing}")
    assert bearer.get(f"/api/ai/queue/{processing}").json()["status"] == "cancelled"

    done = _enqueue(bearer)
    emu.advance(60)
    assert bearer.delete(f"/api/ai/queue/{done}").status_code == 200
    assert bearer.get(f"/api/ai/queue/{done}").json()["status"] == "succeeded"  # no effect once terminal
    assert bearer.delete("/api/ai/queue/unknown").status_code == 404


@pytest.mark.parametrize("authorization", [None, "Key emulator-key", "Bearer nope"])
def test_auth(emu: EmulatorHandle, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.post(
        emu.base_url + "/api/ai/queue", json={"model": OXEN_MODEL, "prompt": "p"}, headers=headers
    )
    assert response.status_code == 401
    assert response.json()["status"] == "error"
    assert response.json()["error"]["type"] == "unauthorized"
