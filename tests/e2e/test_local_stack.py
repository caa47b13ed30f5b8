"""Both example DAGs on real Airflow (SQLite + LocalExecutor) against the emulators."""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import psutil
import pytest

from scripts.stack import Stack
from tests.e2e.conftest import e2e_timeout

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SUBMIT_ROUTES = ("fal.submit", "fal.submit_fast")


def submits(stack: Stack, prompt: str) -> list[dict[str, Any]]:
    """The submit requests (standard and fast tier) the emulator received for ``prompt``.

    Filtering by prompt keeps other runs out of the count: e.g. after a backfill Airflow also
    schedules the DAG's latest interval (``catchup=False``), with the default params.
    """
    found = [r for route in SUBMIT_ROUTES for r in stack.emulator.requests(route)]
    return [r for r in found if (r.get("json") or {}).get("prompt") == prompt]


def mapped(result: Any, task_id: str) -> list[dict[str, Any]]:
    tis = [t for t in result.task_instances if t["task_id"] == task_id]
    return sorted(tis, key=lambda t: t["map_index"])


def test_marketing_daily_renders_defers_and_archives_every_channel(local_stack: Stack, gcs: Any) -> None:
    prompt = "@Image1 on a sunlit e2e table, the logo from @Image2 fades in"
    before = len(submits(local_stack, prompt))
    prefix = "e2e/marketing"
    run_id = local_stack.trigger("seedance_marketing_daily", conf={"prefix": prefix, "prompt": prompt})
    result = local_stack.wait_for_run("seedance_marketing_daily", run_id, timeout=e2e_timeout(240))
    assert result.state == "success", result.task_instances

    renders = mapped(result, "render")
    assert [t["map_index"] for t in renders] == [0, 1, 2]
    # Every render waited in the triggerer (deferred), not in a worker slot.
    for ti in renders:
        assert "deferred" in result.seen_states[("render", ti["map_index"])], result.seen_states
    # Exactly one paid job per channel. (Airflow 3.3's supervisor can take ~5 s to notice a
    # deferred task's process exit; a trigger firing inside that window makes the scheduler see
    # "executor: success, TI: queued" and retry the task. The jobs here run 8 s to stay clear of
    # it, and should it happen anyway the retry must reconnect, which this count proves.)
    assert len(submits(local_stack, prompt)) - before == 3
    assert all(ti["try_number"] in (1, 2) for ti in renders), renders

    clips = [local_stack.xcom("seedance_marketing_daily", run_id, "render", i) for i in range(3)]
    uris = [local_stack.xcom("seedance_marketing_daily", run_id, "archive", i) for i in range(3)]
    ds = run_id.split("__", 1)[1][:10]
    assert uris == [
        f"gs://seedance-campaigns/{prefix}/{ds}/{channel}.mp4"
        for channel in ("youtube", "tiktok", "instagram")
    ]
    assert [c["request"]["aspect_ratio"] for c in clips] == ["16:9", "9:16", "1:1"]
    for clip, uri in zip(clips, uris, strict=True):
        bucket, _, name = uri.removeprefix("gs://").partition("/")
        blob = gcs.bucket(bucket).get_blob(name)
        assert blob.metadata["seedance-request-id"] == clip["request_id"]
        # Byte for byte what the platform served.
        assert blob.download_as_bytes() == local_stack.emulator.video_bytes(clip["request_id"])
    # The triggerer did the waiting: each render has a trigger log that ends with the fired event.
    logs = local_stack.airflow_home / "logs" / "dag_id=seedance_marketing_daily" / f"run_id={run_id}"
    for ti in renders:
        (trigger_log,) = (logs / "task_id=render" / f"map_index={ti['map_index']}").glob(
            "attempt=1.log.trigger.*"
        )
        text = trigger_log.read_text(errors="replace")
        assert "SeedanceJobTrigger" in text
        assert "Trigger fired event" in text
    # The provider's job-link XCom is there at defer and finalize (the emulator has no job page:
    # an empty link), so no task log carries Airflow's "XCom not found" error for it.
    worker_output = (local_stack.log_dir / "scheduler.log").read_text(errors="replace").splitlines()
    for path, lines in [("scheduler.log", worker_output)] + [
        (str(task_log), task_log.read_text(errors="replace").splitlines())
        for task_log in logs.glob("task_id=render/**/attempt=*.log")
    ]:
        missing = [line for line in lines if "XCom not found" in line and run_id in line]
        assert not missing, (path, missing[:1])


def test_killed_worker_retry_reconnects_to_the_submitted_job(local_stack: Stack) -> None:
    """SIGKILL the task process after the submit: the retry reconnects, nothing is paid twice."""
    dag_id = "seedance_e2e_worker_crash"
    prompt = "@Image1 on a turntable, one slow revolution"
    before = len(submits(local_stack, prompt))
    jobs_before = len(local_stack.emulator.jobs())
    local_stack.emulator.configure(run_seconds=8)
    try:
        run_id = local_stack.trigger(dag_id)
        deadline = time.monotonic() + e2e_timeout(90)
        while len(submits(local_stack, prompt)) == before:
            assert time.monotonic() < deadline, "the task never submitted"
            time.sleep(0.2)
        (ti,) = local_stack.task_instances(dag_id, run_id)
        assert ti["state"] == "running"
        assert ti["try_number"] == 1
        title = f"airflow worker -- {ti['id']}"
        victims = [p for p in psutil.process_iter(["cmdline"]) if title in " ".join(p.info["cmdline"] or [])]
        assert len(victims) == 1, f"task process for {ti['id']} not found"
        victims[0].send_signal(signal.SIGKILL)

        result = local_stack.wait_for_run(dag_id, run_id, timeout=e2e_timeout(120))
    finally:
        local_stack.emulator.configure(run_seconds=6)
    assert result.state == "success", result.task_instances
    (ti,) = result.task_instances
    assert ti["try_number"] == 2
    new = submits(local_stack, prompt)[before:]
    assert len(new) == 1, new
    output = local_stack.xcom(dag_id, run_id, "render")
    assert output["status"] == "succeeded"
    # The retry finished the very job the killed try submitted.
    new_jobs = [
        j["request_id"] for j in local_stack.emulator.jobs()[jobs_before:] if j.get("prompt") == prompt
    ]
    assert new_jobs == [output["request_id"]]
    retry_log = next(
        (local_stack.airflow_home / "logs").glob(f"dag_id={dag_id}/run_id={run_id}/**/attempt=2.log")
    )
    text = retry_log.read_text(errors="replace")
    assert "Reconnecting to Seedance job" in text or "not submitting again" in text


def test_seed_grid_backfill_gives_one_set_of_takes_per_date(local_stack: Stack, gcs: Any) -> None:
    dag_id = "seedance_seed_grid_backfill"
    prompt = "@Image1 on a pedestal"
    before = len(submits(local_stack, prompt))
    prefix = "e2e/grid"
    conf = {"prompts": [prompt], "seeds": [7, 8], "aspect_ratios": ["1:1"], "prefix": prefix, "review": False}
    body = {
        "dag_id": dag_id,
        "from_date": "2026-03-01T00:00:00Z",
        "to_date": "2026-03-02T00:00:00Z",
        "dag_run_conf": conf,
        "max_active_runs": 2,
    }
    backfill = local_stack.api("POST", "/api/v2/backfills", json=body).json()
    deadline = time.monotonic() + e2e_timeout(60)
    runs: list[dict[str, Any]] = []
    while len(runs) < 2:
        assert time.monotonic() < deadline, f"backfill {backfill} created {runs}"
        runs = local_stack.api(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns", params={"run_type": "backfill"}
        ).json()["dag_runs"]
        time.sleep(0.5)
    results = [local_stack.wait_for_run(dag_id, r["dag_run_id"], timeout=e2e_timeout(300)) for r in runs]
    assert [r.state for r in results] == ["success", "success"], [r.task_instances for r in results]
    assert len(submits(local_stack, prompt)) - before == 4

    names = sorted(b.name for b in gcs.list_blobs("seedance-campaigns", prefix=prefix + "/"))
    assert names == [
        f"{prefix}/{ds}/{name}"
        for ds in ("2026-03-01", "2026-03-02")
        for name in ("manifest.json", "p1-1x1-seed7.mp4", "p1-1x1-seed8.mp4")
    ]
    for ds in ("2026-03-01", "2026-03-02"):
        manifest = json.loads(
            gcs.bucket("seedance-campaigns").blob(f"{prefix}/{ds}/manifest.json").download_as_bytes()
        )
        assert manifest["ds"] == ds
        assert [(t["requested_seed"], t["uri"]) for t in manifest["takes"]] == [
            (7, f"gs://seedance-campaigns/{prefix}/{ds}/p1-1x1-seed7.mp4"),
            (8, f"gs://seedance-campaigns/{prefix}/{ds}/p1-1x1-seed8.mp4"),
        ]
        for take in manifest["takes"]:
            assert take["estimated_cost_usd"] > 0
            assert take["tier"] == "fast"
            name = take["uri"].removeprefix("gs://seedance-campaigns/")
            data = gcs.bucket("seedance-campaigns").blob(name).download_as_bytes()
            assert data == local_stack.emulator.video_bytes(take["request_id"])
