"""One DAG with all three Seedance 2.0 modes on real Airflow (SQLite + LocalExecutor), on the emulators."""

from __future__ import annotations

import time
from typing import Any

import pytest

from scripts.stack import Stack
from tests.e2e.conftest import e2e_timeout

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

MODES = {
    "text": ("text_to_video", "text-to-video"),
    "image": ("image_to_video", "image-to-video"),
    "reference": ("reference_to_video", "reference-to-video"),
}


def test_every_mode_runs_once_and_is_archived(local_stack: Stack, gcs: Any) -> None:
    t0 = time.monotonic()
    run_id = local_stack.trigger("seedance_e2e_modes")
    result = local_stack.wait_for_run("seedance_e2e_modes", run_id, timeout=e2e_timeout(120))
    assert result.state == "success", result.task_instances

    jobs = {job["request_id"]: job for job in local_stack.emulator.jobs()}
    submits = [
        r
        for r in local_stack.emulator.requests()
        if r["route"].startswith("fal.submit") and "e2e modes:" in ((r.get("json") or {}).get("prompt") or "")
    ]
    assert len(submits) == 3  # exactly one paid job per mode, retries included
    for name, (task_id, mode) in MODES.items():
        clip = local_stack.xcom("seedance_e2e_modes", run_id, task_id)
        assert clip["status"] == "succeeded"
        assert clip["request"]["mode"] == mode
        job = jobs[clip["request_id"]]
        assert (job["mode"], job["state"]) == (mode, "succeeded")
        uri = local_stack.xcom("seedance_e2e_modes", run_id, f"archive_{name}")
        bucket, _, object_name = uri.removeprefix("gs://").partition("/")
        blob = gcs.bucket(bucket).get_blob(object_name)
        assert blob is not None, uri
        assert blob.download_as_bytes() == local_stack.emulator.video_bytes(clip["request_id"])
        assert blob.metadata["seedance-mode"] == mode
        assert "X-Goog-Signature" not in str(clip)
    reference = local_stack.xcom("seedance_e2e_modes", run_id, "reference_to_video")
    assert reference["references"]["image_urls"][0] == f"{local_stack.references_uri}/brand.png"
    assert reference["references"]["image_urls"][1].endswith("/assets/logo.png")  # the local file
    assert [r["method"] for r in reference["reference_media"]] == ["signed", "staged", "signed"]
    print(f"three modes end to end in {time.monotonic() - t0:.0f} s")
