"""Emulated platforms fetch referenced media like real ones: an expired GCS signed URL, a missing
object or an unreachable file fails the job (or fal's result) naming the input; files uploaded to
the emulated fal storage work. Everything over HTTP on 127.0.0.1: the Seedance emulator, the strict
GCS emulator (through google-cloud-storage) and the provider's own FalStorage."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from airflow_provider_seedance.client.gcs import GCSObject, signed_url
from airflow_provider_seedance.client.reference_storage import FalStorage
from airflow_provider_seedance.client.references import (
    ReferenceResolver,
    _emulator_signer,
    prepare_references,
)
from airflow_provider_seedance.emulator.testing import EmulatorHandle
from tests.emulator.conftest import ARK_TASKS, FAL_STANDARD, OXEN_MODEL
from tests.support.reference_media import committed

if TYPE_CHECKING:
    from google.cloud import storage

ARK_MODEL = "dreamina-seedance-2-0-260128"
QUEUE, RUN = 10, 20


@pytest.fixture
def png(gcs_client: storage.Client, gcs_bucket: str) -> GCSObject:
    obj = GCSObject(gcs_bucket, "brand/hero.png")
    blob = gcs_client.bucket(gcs_bucket).blob(obj.name)
    blob.upload_from_string(committed("brand.png").read_bytes(), content_type="image/png")
    return obj


def sign(client: storage.Client, obj: GCSObject, seconds: float) -> str:
    return signed_url(client, obj, expires_in=timedelta(seconds=seconds), credentials=_emulator_signer())


def expired_url(client: storage.Client, obj: GCSObject) -> str:
    url = sign(client, obj, 1)
    time.sleep(2.1)  # X-Goog-Date has whole seconds: past date + 1 s for sure
    assert httpx.get(url).status_code == 400  # the GCS emulator refuses it now
    return url


def ark_submit(bearer: httpx.Client, url: str, kind: str = "image_url") -> str:
    role = {"image_url": "reference_image", "video_url": "reference_video", "audio_url": "reference_audio"}
    content = [
        {"type": "text", "text": "A product shot"},
        {"type": kind, kind: {"url": url}, "role": role[kind]},
    ]
    resp = bearer.post(ARK_TASKS, json={"model": ARK_MODEL, "content": content})
    assert resp.status_code == 200, resp.text  # Ark accepts the task; the fetch fails it later
    task_id: str = resp.json()["id"]
    return task_id


def ark_task(bearer: httpx.Client, emu: EmulatorHandle, task_id: str) -> dict[str, Any]:
    assert bearer.get(f"{ARK_TASKS}/{task_id}").json()["status"] == "queued"
    emu.advance(QUEUE + RUN)
    task: dict[str, Any] = bearer.get(f"{ARK_TASKS}/{task_id}").json()
    return task


def fal_submit(fal: httpx.Client, **body: Any) -> str:
    resp = fal.post(FAL_STANDARD, json={"prompt": "A product shot", **body})
    assert resp.status_code == 200, resp.text
    request_id: str = resp.json()["request_id"]
    return request_id


def fal_outcome(
    fal: httpx.Client, emu: EmulatorHandle, request_id: str
) -> tuple[dict[str, Any], httpx.Response]:
    emu.advance(QUEUE + RUN)
    base = f"/bytedance/seedance-2.0/requests/{request_id}"
    return fal.get(f"{base}/status").json(), fal.get(base)


def test_ark_fails_the_task_for_an_expired_gcs_signed_url(
    emu: EmulatorHandle, bearer: httpx.Client, gcs_client: storage.Client, png: GCSObject
) -> None:
    url = expired_url(gcs_client, png)
    task = ark_task(bearer, emu, ark_submit(bearer, url))
    assert task["status"] == "failed"
    assert task["error"]["code"] == "InvalidParameter"
    message = task["error"]["message"]
    assert "content[1].image_url.url" in message
    assert f"/{png.bucket}/brand/hero.png" in message
    assert "HTTP 400 ExpiredToken" in message
    assert "X-Goog-Signature" not in message  # the signed query never lands in an error
    assert "content" not in task

    fresh = ark_task(bearer, emu, ark_submit(bearer, sign(gcs_client, png, 3600)))
    assert fresh["status"] == "succeeded"
    fetches = [
        r for r in emu.requests() if r["headers"].get("user-agent", "").startswith("seedance-emulator")
    ]
    assert fetches == []  # the GCS emulator was fetched, not the Seedance emulator


def test_fal_refuses_the_result_for_an_expired_gcs_signed_url(
    emu: EmulatorHandle, fal: httpx.Client, gcs_client: storage.Client, png: GCSObject
) -> None:
    request_id = fal_submit(fal, image_urls=["https://cdn.example.com/ok.png", expired_url(gcs_client, png)])
    status, result = fal_outcome(fal, emu, request_id)
    assert status["status"] == "COMPLETED"
    assert status["error_type"] == "file_download_error"
    assert "image_urls[1]" in status["error"]
    assert "image_urls[0]" not in status["error"]  # other hosts are never fetched: reachable
    assert result.status_code == 422
    assert result.headers["X-Fal-Error-Type"] == "file_download_error"
    assert "ExpiredToken" in result.json()["detail"]


def test_a_local_file_uploaded_through_fal_storage_is_a_working_reference(
    emu: EmulatorHandle, fal: httpx.Client, tmp_path: Path
) -> None:
    src = tmp_path / "logo.png"
    src.write_bytes(committed("brand.png").read_bytes())
    with httpx.Client() as http:
        url, _ = FalStorage(api_key=emu.api_key, http=http, rest_url=emu.base_url).upload(
            src, min_lifetime=timedelta(hours=1)
        )
    request_id = fal_submit(fal, image_urls=[url])
    status, result = fal_outcome(fal, emu, request_id)
    assert status["status"] == "COMPLETED"
    assert "error" not in status
    assert result.status_code == 200
    assert httpx.get(result.json()["video"]["url"]).content == emu.video_bytes(request_id)
    [fetch] = emu.requests("fal.storage_file")
    assert fetch["headers"]["range"] == "bytes=0-0"  # one ranged read, not the whole file
    assert fetch["headers"]["user-agent"].startswith("seedance-emulator-reference-fetch")


def test_a_missing_fal_file_or_gcs_object_fails_the_job(
    emu: EmulatorHandle, fal: httpx.Client, bearer: httpx.Client, gcs_client: storage.Client, gcs_bucket: str
) -> None:
    missing = sign(gcs_client, GCSObject(gcs_bucket, "brand/missing.mp4"), 3600)
    gone = f"{emu.base_url}/fal-cdn/files/0123abcd/voice.wav"
    request_id = fal_submit(
        fal, image_urls=["https://cdn.example.com/a.png"], video_urls=[missing], audio_urls=[gone]
    )
    status, result = fal_outcome(fal, emu, request_id)
    assert status["error_type"] == "file_download_error"
    assert "video_urls[0]" in status["error"]
    assert "NoSuchKey" in status["error"]
    assert "audio_urls[0]" in status["error"]
    assert result.status_code == 422

    task = ark_task(bearer, emu, ark_submit(bearer, missing, "video_url"))
    assert task["status"] == "failed"
    assert "content[1].video_url.url" in task["error"]["message"]
    assert "HTTP 404" in task["error"]["message"]


def test_oxen_and_aihubmax_fail_the_generation_naming_the_input(
    emu: EmulatorHandle, bearer: httpx.Client, gcs_client: storage.Client, gcs_bucket: str
) -> None:
    missing = sign(gcs_client, GCSObject(gcs_bucket, "nope.png"), 3600)
    resp = bearer.post("/api/ai/queue", json={"model": OXEN_MODEL, "prompt": "p", "input_images": [missing]})
    assert resp.status_code == 200, resp.text
    generation_id = resp.json()["generations"][0]["generation_id"]
    resp = bearer.post(
        "/v1/videos/generations",
        json={"model": "seedance-2.0-reference-to-video", "prompt": "p", "image_urls": [missing]},
    )
    assert resp.status_code == 200, resp.text
    task_id = resp.json()["id"]
    emu.advance(QUEUE)  # both fail when they would start

    generation = bearer.get(f"/api/ai/queue/{generation_id}").json()
    assert generation["status"] == "failed"
    assert generation["error_message"].startswith("Getting model response error: 422 - Failed to download")
    assert "input_images[0]" in generation["error_message"]
    task = bearer.get(f"/v1/tasks/{task_id}").json()
    assert task["status"] == "failed"
    assert task["error"]["code"] == "invalid_image_url"
    assert "image_urls[0]" in task["error"]["message"]


def test_unreachable_empty_and_soon_expired_loopback_urls(
    emu: EmulatorHandle, fal: httpx.Client, gcs_client: storage.Client, png: GCSObject, gcs_bucket: str
) -> None:
    gcs_client.bucket(gcs_bucket).blob("empty.png").upload_from_string(b"", content_type="image/png")
    short = sign(gcs_client, png, 5)  # valid now, expired before the job leaves the 10 s queue
    request_id = fal_submit(
        fal,
        image_urls=[
            "http://127.0.0.1:9/nothing-listens-here.png",
            sign(gcs_client, GCSObject(gcs_bucket, "empty.png"), 3600),
            short,
        ],
    )
    status, _ = fal_outcome(fal, emu, request_id)
    error = status["error"]
    assert "image_urls[0] (http://127.0.0.1:9/nothing-listens-here.png): unreachable" in error
    assert "image_urls[1]" in error
    assert "empty" in error
    assert "image_urls[2]" in error
    assert "expires before the job starts" in error


def test_the_emulators_own_expired_media_url_as_a_reference(emu: EmulatorHandle, fal: httpx.Client) -> None:
    first = fal_submit(fal)
    fal_outcome(fal, emu, first)
    video = emu.video_url(first)
    ok = fal_submit(fal, video_urls=[video])
    assert fal_outcome(fal, emu, ok)[0].get("error") is None
    emu.configure(video_ttl_seconds=60)
    short = emu.video_url(first)
    emu.advance(61)
    failed = fal_submit(fal, video_urls=[short])
    status, _ = fal_outcome(fal, emu, failed)
    assert "video_urls[0]" in status["error"]
    assert "ExpiredToken" in status["error"]


def test_fetching_can_be_turned_off(
    emu: EmulatorHandle, bearer: httpx.Client, gcs_client: storage.Client, png: GCSObject
) -> None:
    url = expired_url(gcs_client, png)
    emu.configure(fetch_references=False)
    assert emu.config()["fetch_references"] is False
    assert ark_task(bearer, emu, ark_submit(bearer, url))["status"] == "succeeded"
    emu.reset()
    assert emu.config()["fetch_references"] is True


def test_non_http_references_fail_without_any_fetch(emu: EmulatorHandle, bearer: httpx.Client) -> None:
    task = ark_task(bearer, emu, ark_submit(bearer, "gs://bucket/private.png"))
    assert task["status"] == "failed"
    assert "not an http(s) URL" in task["error"]["message"]


def test_prepared_gs_and_local_references_work_end_to_end_on_fal(
    emu: EmulatorHandle, fal: httpx.Client, gcs_client: storage.Client, png: GCSObject, tmp_path: Path
) -> None:
    """The provider's whole reference path: parse, preflight (ranged reads), sign / upload to the
    emulated fal storage; the emulated platform then fetches both and the job succeeds."""
    (tmp_path / "logo.png").write_bytes(committed("brand.png").read_bytes())
    with httpx.Client() as http:
        resolver = ReferenceResolver(
            storage_client=gcs_client,
            platform_storage=FalStorage(api_key=emu.api_key, http=http, rest_url=emu.base_url),
        )
        prepared = prepare_references(
            {"prompt": "p", "image_urls": [png.uri, "logo.png"]},
            platform="fal",
            resolver=resolver,
            local_base=tmp_path,
            http=http,
        )
    signed, uploaded = prepared.inputs["image_urls"]
    assert "X-Goog-Signature" in signed
    assert uploaded.startswith(f"{emu.base_url}/fal-cdn/files/")
    request_id = fal_submit(fal, image_urls=[signed, uploaded])
    status, result = fal_outcome(fal, emu, request_id)
    assert "error" not in status
    assert result.status_code == 200


def test_image_to_video_frames_are_fetched_too(
    emu: EmulatorHandle, fal: httpx.Client, bearer: httpx.Client, gcs_client: storage.Client, png: GCSObject
) -> None:
    good, gone = sign(gcs_client, png, 3600), sign(gcs_client, GCSObject(png.bucket, "gone.png"), 3600)
    resp = fal.post(
        "/bytedance/seedance-2.0/image-to-video",
        json={"prompt": "p", "image_url": good, "end_image_url": gone},
    )
    assert resp.status_code == 200, resp.text
    status, _ = fal_outcome(fal, emu, resp.json()["request_id"])
    assert "end_image_url (" in status["error"]
    assert "image_url (" not in status["error"].replace("end_image_url (", "")

    oxen = bearer.post(
        "/api/ai/queue",
        json={"model": "bytedance-seedance-2-0-image-to-video", "prompt": "p", "input_image": gone},
    )
    assert oxen.status_code == 200, oxen.text
    emu.advance(QUEUE)
    generation = bearer.get(f"/api/ai/queue/{oxen.json()['generations'][0]['generation_id']}").json()
    assert generation["status"] == "failed"
    assert "input_image (" in generation["error_message"]
