"""SeedanceToGCSOperator end to end: the Seedance emulator over HTTP, the strict GCS emulator.

Every test calls ``op.execute(context)`` with a small context dict and an env-var connection,
as a worker would after rendering templates.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import types
from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk import Asset
from airflow.sdk.exceptions import AirflowFailException
from google.cloud import storage

from airflow_provider_seedance.client.errors import (
    ChecksumMismatchError,
    SeedanceDownloadError,
    SeedanceIncompleteDownloadError,
)
from airflow_provider_seedance.client.models import JobOutput, JobState, OutputStatus
from airflow_provider_seedance.client.pricing import estimate_cost
from airflow_provider_seedance.emulator.gcs import GCSEmulator
from airflow_provider_seedance.emulator.testing import EmulatorHandle
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.transfers.seedance_to_gcs import SeedanceToGCSOperator
from tests.support.openlineage import install_fake_openlineage

PROMPT = "@Image1 runs along the beach at golden hour, slow dolly-in, brand colours"
OBJECT = "campaigns/2026-11-22/3-42.mp4"


def make_context(op: SeedanceToGCSOperator | None = None) -> dict[str, Any]:
    ti = types.SimpleNamespace(
        dag_id="seedance_marketing_daily", task_id="archive", run_id="scheduled__2026-11-22", map_index=3
    )
    dag_run = types.SimpleNamespace(dag_id="seedance_marketing_daily", run_id="scheduled__2026-11-22")
    return {"ti": ti, "dag_run": dag_run, "task": op}


@pytest.fixture
def emulator(seedance_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> EmulatorHandle:
    """The Seedance emulator with instant jobs, as the ``seedance_default`` connection."""
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DEFAULT", seedance_emulator.connection_json("fal"))
    seedance_emulator.configure(queue_seconds=0, run_seconds=0)
    return seedance_emulator


@pytest.fixture
def finished_clip(emulator: EmulatorHandle) -> Callable[..., dict[str, Any]]:
    """Run a generation on the emulator; return exactly what the generation operator returns."""

    def run(seed: int = 42, tier: str = "standard") -> dict[str, Any]:
        hook = SeedanceHook()
        request = hook.build_request(
            prompt=PROMPT,
            image_urls=["https://cdn.example.com/brand/model.png"],
            resolution="720p",
            duration="5",
            aspect_ratio="16:9",
            seed=seed,
            tier=tier,
        )
        ref = hook.submit(request)
        for _ in range(50):
            if hook.get_status(ref).state is JobState.SUCCEEDED:
                break
        result = hook.get_result(ref)
        hook.close()
        return JobOutput.from_job(
            ref,
            result,
            status=OutputStatus.SUCCEEDED,
            request=request,
            estimated_cost_usd=estimate_cost(request, platform=ref.platform).usd,
        ).to_xcom()

    return run


@dataclasses.dataclass
class Bucket:
    """A fresh bucket in the strict GCS emulator and a client for it."""

    client: storage.Client
    name: str

    def blob(self, name: str = OBJECT) -> storage.Blob:
        return self.client.bucket(self.name).blob(name)

    def stored(self, name: str = OBJECT) -> storage.Blob | None:
        """The object as GCS has it now, or None."""
        return self.client.bucket(self.name).get_blob(name)


@pytest.fixture
def bucket(gcs_client: storage.Client, gcs_bucket: str) -> Bucket:
    return Bucket(gcs_client, gcs_bucket)


def transfer(bucket: str, **kwargs: Any) -> SeedanceToGCSOperator:
    kwargs.setdefault("object_name", OBJECT)
    kwargs.setdefault("chunk_size", 256 * 1024)
    kwargs.setdefault("download_retry_delay", 0.01)
    return SeedanceToGCSOperator(task_id="archive", bucket_name=bucket, **kwargs)


def media_statuses(emulator: EmulatorHandle) -> list[int]:
    return [r["status_code"] for r in emulator.requests("media") if r["method"] == "GET"]


# -- the happy path -----------------------------------------------------------------------------


def test_video_from_the_generation_operator_is_archived_with_metadata(
    emulator: EmulatorHandle, finished_clip: Callable[..., dict[str, Any]], bucket: Bucket
) -> None:
    clip = finished_clip()
    op = transfer(bucket.name, video=clip)

    uri = op.execute(make_context(op))

    assert uri == f"gs://{bucket.name}/{OBJECT}"
    blob = bucket.stored()
    assert blob.download_as_bytes() == emulator.video_bytes(clip["request_id"])
    assert blob.content_type == "video/mp4"
    assert blob.metadata == {
        "seedance-platform": "fal",
        "seedance-request-id": clip["request_id"],
        "seedance-tier": "standard",
        "seedance-seed": "42",
        "seedance-mode": "reference-to-video",
        "seedance-prompt": PROMPT,
        "seedance-resolution": "720p",
        "seedance-duration": "5",
        "seedance-aspect-ratio": "16:9",
        "seedance-generate-audio": "true",
        "seedance-estimated-cost-usd": str(clip["estimated_cost_usd"]),
        "airflow-dag-id": "seedance_marketing_daily",
        "airflow-run-id": "scheduled__2026-11-22",
        "airflow-task-id": "archive",
        "airflow-map-index": "3",
        "seedance-crc32c": blob.crc32c,
    }


def test_bare_request_id_fetches_the_result_through_the_hook(
    emulator: EmulatorHandle, finished_clip: Callable[..., dict[str, Any]], bucket: Bucket
) -> None:
    clip = finished_clip(tier="fast")
    op = transfer(bucket.name, request_id=clip["request_id"], tier="fast")

    assert op.execute(make_context(op)) == f"gs://{bucket.name}/{OBJECT}"

    blob = bucket.stored()
    assert blob.download_as_bytes() == emulator.video_bytes(clip["request_id"])
    assert blob.metadata["seedance-seed"] == "42"
    assert blob.metadata["seedance-tier"] == "fast"
    assert len(emulator.requests("fal.result")) >= 1


def test_templated_object_name_renders_ds_map_index_and_params(gcs_bucket: str) -> None:
    op = transfer(
        gcs_bucket,
        request_id="{{ params.request_id }}",
        object_name="campaigns/{{ ds }}/{{ ti.map_index }}-{{ params.seed }}.mp4",
        seedance_conn_id="seedance_{{ params.platform }}",
    )
    context = {
        **make_context(op),
        "ds": "2026-11-22",
        "params": {"seed": 42, "request_id": "abc", "platform": "oxen"},
    }
    op.render_template_fields(context)  # type: ignore[arg-type]
    assert op.object_name == "campaigns/2026-11-22/3-42.mp4"
    assert op.request_id == "abc"
    assert op.seedance_conn_id == "seedance_oxen"


# -- exactly once ---------------------------------------------------------------------------------


def test_retry_after_success_returns_the_same_uri_without_a_second_upload(
    emulator: EmulatorHandle,
    finished_clip: Callable[..., dict[str, Any]],
    bucket: Bucket,
    gcs_emulator: GCSEmulator,
) -> None:
    clip = finished_clip()
    first = transfer(bucket.name, video=clip).execute(make_context())
    generation = bucket.stored().generation
    stats, media = gcs_emulator.stats(), media_statuses(emulator)

    second = transfer(bucket.name, video=clip).execute(make_context())

    assert second == first
    assert bucket.stored().generation == generation
    assert gcs_emulator.stats()["resumable_sessions"] == stats["resumable_sessions"]
    assert media_statuses(emulator) == media  # not even downloaded again


def test_existing_different_object_fails_the_task_and_is_left_untouched(
    finished_clip: Callable[..., dict[str, Any]], bucket: Bucket
) -> None:
    bucket.blob().upload_from_string(b"last week's hero take", if_generation_match=0)
    before = bucket.stored()

    with pytest.raises(AirflowFailException, match="already exists with different content"):
        transfer(bucket.name, video=finished_clip()).execute(make_context())

    after = bucket.stored()
    assert (after.generation, after.download_as_bytes()) == (before.generation, b"last week's hero take")


def test_replace_true_overwrites_a_different_object(
    emulator: EmulatorHandle, finished_clip: Callable[..., dict[str, Any]], bucket: Bucket
) -> None:
    bucket.blob().upload_from_string(b"old take", if_generation_match=0)
    clip = finished_clip()

    transfer(bucket.name, video=clip, replace=True).execute(make_context())

    blob = bucket.stored()
    assert blob.download_as_bytes() == emulator.video_bytes(clip["request_id"])
    assert blob.metadata["seedance-request-id"] == clip["request_id"]


# -- failures leave nothing behind ------------------------------------------------------------------


def test_truncated_download_fails_and_leaves_no_object(
    emulator: EmulatorHandle, finished_clip: Callable[..., dict[str, Any]], bucket: Bucket
) -> None:
    emulator.configure(video_size_bytes=3 * 1024 * 1024)
    clip = finished_clip()
    emulator.add_fault("media", "truncate", times=2)

    with pytest.raises(SeedanceIncompleteDownloadError):
        transfer(bucket.name, video=clip, max_download_attempts=2).execute(make_context())

    assert bucket.stored() is None


def test_truncated_download_is_retried_and_then_archived(
    emulator: EmulatorHandle, finished_clip: Callable[..., dict[str, Any]], bucket: Bucket
) -> None:
    emulator.configure(video_size_bytes=3 * 1024 * 1024)
    clip = finished_clip()
    emulator.add_fault("media", "truncate")

    transfer(bucket.name, video=clip).execute(make_context())

    assert bucket.blob().download_as_bytes() == emulator.video_bytes(clip["request_id"])


def test_server_error_mid_transfer_is_retried_a_bounded_number_of_times(
    emulator: EmulatorHandle, finished_clip: Callable[..., dict[str, Any]], bucket: Bucket
) -> None:
    clip = finished_clip()
    emulator.add_fault("media", "status", status=503, times=1)
    transfer(bucket.name, video=clip).execute(make_context())
    assert media_statuses(emulator) == [503, 200]

    emulator.add_fault("media", "status", status=500, times=10)
    with pytest.raises(SeedanceDownloadError, match="HTTP 500"):
        transfer(bucket.name, video=clip, object_name="other.mp4", max_download_attempts=3).execute(
            make_context()
        )
    assert media_statuses(emulator)[2:] == [500, 500, 500]
    assert bucket.stored("other.mp4") is None


def test_checksum_mismatch_in_gcs_fails_and_leaves_no_object(
    finished_clip: Callable[..., dict[str, Any]], bucket: Bucket, gcs_emulator: GCSEmulator
) -> None:
    gcs_emulator.add_fault("corrupt_upload")
    with pytest.raises(ChecksumMismatchError, match=r"(?i)crc32c.*corrupt object was deleted"):
        transfer(bucket.name, video=finished_clip()).execute(make_context())
    assert bucket.stored() is None


def test_expired_link_is_replaced_by_a_fresh_one_from_the_platform(
    emulator: EmulatorHandle, finished_clip: Callable[..., dict[str, Any]], bucket: Bucket
) -> None:
    emulator.configure(manual_clock=True, video_ttl_seconds=24 * 3600)
    clip = finished_clip()
    emulator.advance(25 * 3600)  # the next morning's DAG run finds yesterday's link dead
    results_before = len(emulator.requests("fal.result"))

    transfer(bucket.name, video=clip).execute(make_context())

    assert media_statuses(emulator) == [403, 200]
    assert len(emulator.requests("fal.result")) == results_before + 1
    assert bucket.blob().download_as_bytes() == emulator.video_bytes(clip["request_id"])


# -- input validation, imports, lineage, assets ------------------------------------------------------


def test_incomplete_video_input_names_the_fields_before_any_download(
    emulator: EmulatorHandle, gcs_bucket: str
) -> None:
    bad = {"platform": "fal", "video": {"file_size": 10}, "status": "succeeded"}
    with pytest.raises(AirflowFailException) as info:
        transfer(gcs_bucket, video=bad).execute(make_context())
    message = str(info.value)
    assert "video.request_id: is required" in message
    assert "video.video.url: must be an http(s) URL" in message
    assert emulator.requests("media") == []


def test_unfinished_job_is_rejected(gcs_bucket: str) -> None:
    video = {"platform": "fal", "request_id": "r1", "status": "running", "video": {"url": "https://x/y.mp4"}}
    with pytest.raises(AirflowFailException, match=r"video.status: must be 'succeeded'"):
        transfer(gcs_bucket, video=video).execute(make_context())


def test_video_or_request_id_is_required_but_not_both() -> None:
    with pytest.raises(ValueError, match=r"video= .* or request_id="):
        SeedanceToGCSOperator(task_id="t", bucket_name="b", object_name="o.mp4")
    with pytest.raises(ValueError, match="not both"):
        SeedanceToGCSOperator(task_id="t", bucket_name="b", object_name="o.mp4", video={}, request_id="r")


def test_template_fields() -> None:
    assert {"object_name", "bucket_name", "request_id", "video", "gcp_conn_id"} <= set(
        SeedanceToGCSOperator.template_fields
    )


def test_importing_the_operator_does_not_import_google_cloud_storage() -> None:
    code = (
        "import sys\n"
        "import airflow_provider_seedance.transfers.seedance_to_gcs\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('google.cloud.storage', 'google_crc32c')))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_asset_outlet_for_a_gcs_prefix_is_accepted() -> None:
    from airflow.sdk import DAG

    campaign = Asset("gs://brand-archive/campaigns/")
    with DAG("archive_campaign", schedule=None) as dag:
        SeedanceToGCSOperator(
            task_id="archive",
            request_id="r1",
            bucket_name="brand-archive",
            object_name="campaigns/x.mp4",
            outlets=[campaign],
        )
    with DAG("publish_campaign", schedule=[Asset("gs://brand-archive/campaigns/")]) as downstream:
        pass

    assert dag.get_task("archive").outlets == [campaign]
    assert campaign.uri.startswith("gs://brand-archive/campaigns")
    assert downstream.timetable.asset_condition.objects == (campaign,)  # type: ignore[attr-defined]


def test_lineage_is_none_without_the_openlineage_provider() -> None:
    op = transfer("b", request_id="r1")
    op._lineage_platform, op._lineage_request_id = "fal", "r1"
    assert op.get_openlineage_facets_on_complete(None) is None


def test_lineage_names_the_seedance_job_and_the_gcs_object(monkeypatch: pytest.MonkeyPatch) -> None:
    install_fake_openlineage(monkeypatch)
    op = transfer("brand-archive", request_id="r1", object_name="campaigns/x.mp4")
    op._lineage_platform, op._lineage_request_id = "fal", "r1"

    lineage = op.get_openlineage_facets_on_complete(None)

    assert [(d.namespace, d.name) for d in lineage.inputs] == [("seedance://fal", "jobs/r1")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("gs://brand-archive", "campaigns/x.mp4")]


def test_references_reach_the_archive_metadata_and_gs_ones_the_lineage(
    emulator: EmulatorHandle,
    finished_clip: Callable[..., dict[str, Any]],
    bucket: Bucket,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    references = {"image_urls": ["gs://brand-assets/shots/hero.png", "https://cdn.example.com/logo.png"]}
    clip = {
        **finished_clip(),
        "references": references,
        "reference_media": [
            {"field": "image_urls[0]", "reference": "gs://brand-assets/shots/hero.png", "method": "signed"},
            {"field": "image_urls[1]", "reference": "https://cdn.example.com/logo.png", "method": "as-given"},
        ],
    }
    op = transfer(bucket.name, video=clip)
    op.execute(make_context(op))

    blob = bucket.stored()
    assert json.loads(blob.metadata["seedance-references"]) == references
    assert [(o.bucket, o.name) for o in op._lineage_gcs_inputs] == [("brand-assets", "shots/hero.png")]


def test_video_given_as_json_text_is_accepted() -> None:
    video = {"platform": "fal", "request_id": "r1", "video": {"url": "https://x/y.mp4", "file_size": 3}}
    assert JobOutput.from_xcom(json.dumps(video)) == JobOutput.from_xcom(video)
    assert JobOutput.from_xcom(repr(video)).video.file_size == 3


# -- constant memory -------------------------------------------------------------------------------

VIDEO_200_MB = 200 * 1000 * 1000


@pytest.mark.slow
def test_a_200_mb_video_streams_in_constant_memory(
    emulator: EmulatorHandle,
    finished_clip: Callable[..., dict[str, Any]],
    bucket: Bucket,
    gcs_emulator: GCSEmulator,
) -> None:
    """The transfer runs in its own process; its peak RSS may grow by a few chunks, not 200 MB."""
    import os

    emulator.configure(video_size_bytes=VIDEO_200_MB)
    clip = finished_clip()
    assert clip["video"]["file_size"] == VIDEO_200_MB
    env = {
        **os.environ,
        "STORAGE_EMULATOR_HOST": gcs_emulator.url,
        "GOOGLE_CLOUD_PROJECT": gcs_emulator.project,
    }

    proc = subprocess.run(
        [sys.executable, "-m", "tests.transfers.rss_probe", json.dumps(clip), bucket.name, "big/clip.mp4"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )

    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"200 MB transfer: {report}")
    blob = bucket.stored("big/clip.mp4")
    try:
        assert blob.size == VIDEO_200_MB
        assert blob.crc32c == blob.metadata["seedance-crc32c"]
        assert report["growth_kb"] < 64 * 1024, report  # 8 MiB chunks: well below the 200 MB video
    finally:
        blob.delete()


# -- media URL policy (defect 10) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://cdn.example.com/v/clip.mp4", "must use https"),
        ("https://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token", "link-local"),
        ("https://10.20.30.40/v/clip.mp4", "private"),
        ("https://127.0.0.1/v/clip.mp4", "loopback"),
    ],
)
def test_media_url_off_the_policy_fails_the_task_before_any_request(
    seedance_connection: Callable[..., str], bucket: Bucket, url: str, why: str
) -> None:
    """A public platform connection (no host override): the video's URL must be public https."""
    import respx

    seedance_connection(host=None, platform="fal")
    video = {"platform": "fal", "request_id": "r1", "status": "succeeded", "video": {"url": url}}
    with respx.mock(assert_all_called=False) as router, pytest.raises(AirflowFailException) as info:
        transfer(bucket.name, video=video).execute(make_context())
    assert str(info.value).startswith("video.url: ")
    assert why in str(info.value)
    assert not router.calls  # nothing fetched, not even the platform
    assert bucket.stored() is None


def test_media_url_policy_is_local_only_for_a_local_connection(
    seedance_connection: Callable[..., str], emulator: EmulatorHandle
) -> None:
    assert transfer("b", request_id="r1")._media_url_policy().allow_local  # the emulator on 127.0.0.1
    seedance_connection(host="https://queue.fal.run", platform="fal")
    assert not transfer("b", request_id="r1")._media_url_policy().allow_local
