"""fal.ai queue dialect over real HTTP: happy path, failure, cancel, auth and validation."""

from __future__ import annotations

import httpx
import pytest

from airflow_provider_seedance.emulator.testing import EmulatorHandle
from tests.emulator.conftest import FAL_FAST, FAL_STANDARD


@pytest.mark.parametrize(("path", "tier"), [(FAL_STANDARD, "standard"), (FAL_FAST, "fast")])
def test_happy_path_both_tiers(emu: EmulatorHandle, fal: httpx.Client, path: str, tier: str) -> None:
    response = fal.post(path, json={"prompt": "A cat @Image1", "image_urls": ["https://x/a.png"], "seed": 42})
    assert response.status_code == 200
    sub = response.json()
    rid = sub["request_id"]
    assert response.headers["x-fal-request-id"] == rid
    # the returned URLs drop the "[fast/]reference-to-video" path segment, for both tiers
    root = f"{emu.base_url}/bytedance/seedance-2.0/requests/{rid}"
    assert sub["response_url"] == root
    assert sub["status_url"] == root + "/status"
    assert sub["cancel_url"] == root + "/cancel"
    assert sub["status"] == "IN_QUEUE"

    queued = fal.get(sub["status_url"], params={"logs": 1})
    assert queued.status_code == 202
    assert queued.json()["status"] == "IN_QUEUE"
    assert queued.json()["queue_position"] == 0

    early = fal.get(sub["response_url"])
    assert early.status_code == 400
    assert "in progress" in early.json()["detail"]

    emu.advance(15)
    running = fal.get(sub["status_url"], params={"logs": 1})
    assert running.status_code == 202
    assert running.json()["status"] == "IN_PROGRESS"
    assert running.json()["logs"]
    assert running.json()["logs"][0]["message"]
    assert fal.get(sub["status_url"]).json()["logs"] is None  # logs only with ?logs=1

    emu.advance(20)
    done = fal.get(sub["status_url"], params={"logs": "true"})
    assert done.status_code == 200
    body = done.json()
    assert body["status"] == "COMPLETED"
    assert "error" not in body
    assert body["metrics"]["inference_time"] == pytest.approx(20)

    result = fal.get(sub["response_url"])
    assert result.status_code == 200
    out = result.json()
    assert out["seed"] == 42
    video = out["video"]
    assert video["content_type"] == "video/mp4"
    assert video["file_name"].endswith(".mp4")
    served = httpx.get(video["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "video/mp4"
    assert len(served.content) == video["file_size"] == int(served.headers["content-length"])
    assert served.content == emu.video_bytes(rid)

    [job] = emu.jobs()
    assert job["platform"] == "fal"
    assert job["tier"] == tier
    assert job["state"] == "succeeded"
    assert job["seed"] == 42
    assert job["prompt"] == "A cat @Image1"
    assert len(emu.requests("fal.submit")) == 1


def test_random_seed_when_none_given(emu: EmulatorHandle, fal: httpx.Client) -> None:
    ids = [fal.post(FAL_STANDARD, json={"prompt": "p"}).json()["request_id"] for _ in range(2)]
    fal.post(FAL_STANDARD, json={"prompt": "p", "seed": -1})
    emu.advance(60)
    seeds = [fal.get(f"/bytedance/seedance-2.0/requests/{rid}").json()["seed"] for rid in ids]
    assert all(isinstance(s, int) and s >= 0 for s in seeds)
    assert seeds[0] != seeds[1]
    assert all(job["seed"] >= 0 for job in emu.jobs())


def test_queue_position_counts_jobs_ahead(emu: EmulatorHandle, fal: httpx.Client) -> None:
    subs = [fal.post(FAL_STANDARD, json={"prompt": f"p{i}"}).json() for i in range(3)]
    positions = [fal.get(s["status_url"]).json()["queue_position"] for s in subs]
    assert positions == [0, 1, 2]


def test_failed_job_is_completed_with_error(emu: EmulatorHandle, fal: httpx.Client) -> None:
    emu.add_fault("fal.submit", "fail_job")
    sub = fal.post(FAL_STANDARD, json={"prompt": "p"}).json()
    emu.advance(60)
    status = fal.get(sub["status_url"])
    assert status.status_code == 200
    assert status.json()["status"] == "COMPLETED"
    assert status.json()["error"] == "Runner disconnected"
    assert status.json()["error_type"] == "runner_disconnected"
    result = fal.get(sub["response_url"])
    assert result.status_code == 503
    assert result.json() == {"detail": "Runner disconnected", "error_type": "runner_disconnected"}
    assert result.headers["x-fal-error-type"] == "runner_disconnected"
    assert emu.jobs()[0]["state"] == "failed"


def test_failed_job_with_custom_error(emu: EmulatorHandle, fal: httpx.Client) -> None:
    emu.add_fault("fal.*", "fail_job", error="content_policy_violation", body="Flagged content", status=422)
    sub = fal.post(FAL_FAST, json={"prompt": "p"}).json()
    emu.advance(60)
    assert fal.get(sub["status_url"]).json()["error_type"] == "content_policy_violation"
    result = fal.get(sub["response_url"])
    assert result.status_code == 422
    assert result.json()["detail"] == "Flagged content"


def test_cancel_queued_running_and_completed(emu: EmulatorHandle, fal: httpx.Client) -> None:
    queued = fal.post(FAL_STANDARD, json={"prompt": "q"}).json()
    cancel = fal.put(queued["cancel_url"])
    assert cancel.status_code == 202
    assert cancel.json() == {"status": "CANCELLATION_REQUESTED"}
    status = fal.get(queued["status_url"]).json()
    assert status["status"] == "COMPLETED"
    assert status["error_type"] == "client_cancelled"
    assert fal.get(queued["response_url"]).status_code == 499
    assert fal.put(queued["cancel_url"]).json() == {"status": "ALREADY_COMPLETED"}

    running = fal.post(FAL_FAST, json={"prompt": "r"}).json()
    emu.advance(15)
    assert fal.get(running["status_url"]).json()["status"] == "IN_PROGRESS"
    assert fal.put(running["cancel_url"]).status_code == 202
    assert fal.get(running["status_url"]).json()["status"] == "COMPLETED"

    done = fal.post(FAL_STANDARD, json={"prompt": "d"}).json()
    emu.advance(60)
    late = fal.put(done["cancel_url"])
    assert late.status_code == 400
    assert late.json() == {"status": "ALREADY_COMPLETED"}
    assert [j["state"] for j in emu.jobs()] == ["cancelled", "cancelled", "succeeded"]

    missing = fal.put("/bytedance/seedance-2.0/requests/00000000-0000-0000-0000-000000000000/cancel")
    assert missing.status_code == 404


def test_full_endpoint_path_is_not_a_status_url(emu: EmulatorHandle, fal: httpx.Client) -> None:
    rid = fal.post(FAL_STANDARD, json={"prompt": "p"}).json()["request_id"]
    wrong = fal.get(f"{FAL_STANDARD}/requests/{rid}/status")
    assert wrong.status_code in (404, 405)
    assert "detail" in wrong.json()
    assert fal.get(f"/bytedance/seedance-2.0/requests/{rid}/status").status_code == 202
    assert fal.get("/bytedance/seedance-2.0/requests/nope/status").status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer emulator-key", "Key wrong-key", "Key", "emulator-key"],
)
def test_auth_is_rejected_like_fal(emu: EmulatorHandle, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.post(emu.base_url + FAL_STANDARD, json={"prompt": "p"}, headers=headers)
    assert response.status_code == 401
    assert "detail" in response.json()
    assert response.headers["x-fal-error-type"]
    assert emu.jobs() == []
    [entry] = emu.requests("fal.submit")
    assert "authorization" not in entry["headers"]
    assert "emulator-key" not in str(entry)


BAD_INPUTS = [
    ({}, "prompt"),
    ({"prompt": ""}, "prompt"),
    ({"prompt": "x" * 5001}, "prompt"),
    ({"prompt": "p", "image_urls": ["https://x/i.png"] * 10}, "image_urls"),
    ({"prompt": "p", "video_urls": ["https://x/v.mp4"] * 4}, "video_urls"),
    ({"prompt": "p", "image_urls": ["https://x/i.png"], "audio_urls": ["https://x/a.mp3"] * 4}, "audio_urls"),
    (
        {
            "prompt": "p",
            "image_urls": ["https://x/i.png"] * 9,
            "video_urls": ["https://x/v.mp4"] * 3,
            "audio_urls": ["https://x/a.mp3"],
        },
        "image_urls",
    ),
    ({"prompt": "p", "audio_urls": ["https://x/a.mp3"]}, "audio_urls"),
    ({"prompt": "p", "resolution": "1080p"}, "resolution"),
    ({"prompt": "p", "duration": 5}, "duration"),
    ({"prompt": "p", "duration": "3"}, "duration"),
    ({"prompt": "p", "duration": "16"}, "duration"),
    ({"prompt": "p", "aspect_ratio": "adaptive"}, "aspect_ratio"),
    ({"prompt": "p", "generate_audio": "yes"}, "generate_audio"),
    ({"prompt": "p", "seed": "42"}, "seed"),
]


@pytest.mark.parametrize(("body", "field"), BAD_INPUTS)
def test_validation_422_detail(emu: EmulatorHandle, fal: httpx.Client, body: dict, field: str) -> None:
    response = fal.post(FAL_STANDARD, json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    assert any(item["loc"][:2] == ["body", field] for item in detail), detail
    assert emu.jobs() == []


def test_limits_at_the_edge_are_accepted(emu: EmulatorHandle, fal: httpx.Client) -> None:
    body = {
        "prompt": "x" * 5000,
        "image_urls": ["https://x/i.png"] * 9,
        "video_urls": ["https://x/v.mp4"] * 2,
        "audio_urls": ["https://x/a.mp3"],
        "resolution": "480p",
        "duration": "15",
        "aspect_ratio": "21:9",
        "generate_audio": False,
        "end_user_id": "u1",
    }
    assert fal.post(FAL_STANDARD, json=body).status_code == 200
    assert (
        fal.post(FAL_FAST, json={"prompt": "p", "duration": "auto", "aspect_ratio": "auto"}).status_code
        == 200
    )
