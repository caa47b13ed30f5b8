"""Chaos on real Airflow 3.3 (SQLite + LocalExecutor) against the emulator, and a secret scan.

One stack serves the whole module. Its emulator accepts only a unique marker key, used by a
fal connection (environment) and an Oxen connection (metadata DB, Bearer auth), so the secret
scan at the end can look for any 8-character run of that key everywhere Airflow writes.

* Marking a deferred task failed cancels the paid remote job within ``CANCEL_TIMEOUT``.
* Clearing a deferred task does not cancel it: the next try reconnects, nothing is paid twice.
* SIGKILLing the only triggerer mid-wait and starting another: the job completes, once.
  (The two-triggerer hand-over on PostgreSQL + Celery is ``test_distributed.py``; the SIGKILLed
  task process is ``test_local_stack.py::test_killed_worker_retry_reconnects_to_the_submitted_job``.
  ``make chaos`` runs those two as well.)
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import string
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_seedance.triggers.seedance import CANCEL_TIMEOUT
from scripts.stack import Stack
from tests.e2e.conftest import E2E_DAGS, e2e_timeout

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

DAG_ID = "seedance_e2e_chaos"
TASK_ID = "render"
OXEN_CONN_ID = "seedance_oxen"
CONN_IDS = {"fal": "seedance_default", "oxen": OXEN_CONN_ID}
SUBMIT_ROUTES = {"fal": ("fal.submit", "fal.submit_fast"), "oxen": ("oxen.submit",)}
CANCEL_ROUTES = {"fal": "fal.cancel", "oxen": "oxen.cancel"}
# Mixed-case letters and digits: a chance 8-character match in megabytes of logs is ~1e-7.
MARKER_KEY = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))
RUN_SECONDS = 25.0  # long enough to act on a running job, short enough to wait for one


@pytest.fixture(scope="module")
def chaos_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(
        tmp_path_factory.mktemp("chaos-stack"),
        extra_dag_files=[E2E_DAGS / f"{DAG_ID}.py"],
        queue_seconds=1,
        run_seconds=RUN_SECONDS,
        poll_interval=1,
        api_key=MARKER_KEY,
    )
    try:
        stack.start()
        # The Bearer platform's connection lives in the metadata DB (encrypted), fal's in the env.
        conn = stack.emulator.connection_dict("oxen")
        body = {
            "connection_id": OXEN_CONN_ID,
            "conn_type": conn["conn_type"],
            "host": conn["host"],
            "password": conn["password"],
            "extra": json.dumps(conn["extra"]),
        }
        stack.api("POST", "/api/v2/connections", json=body, ok=(201,))
        yield stack
    except BaseException:
        print(stack.logs_tail(80))
        raise
    finally:
        stack.stop()


def _start(stack: Stack, platform: str, label: str) -> tuple[str, str]:
    """Trigger one render on ``platform``; return (run id, its unique prompt)."""
    prompt = f"@Image1 {label} {uuid.uuid4().hex[:8]}"
    run_id = stack.trigger(DAG_ID, conf={"conn_id": CONN_IDS[platform], "prompt": prompt})
    return run_id, prompt


def _job(stack: Stack, prompt: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + e2e_timeout(timeout)
    while True:
        jobs = [j for j in stack.emulator.jobs() if j.get("prompt") == prompt]
        if jobs:
            assert len(jobs) == 1, jobs
            return jobs[0]
        assert time.monotonic() < deadline, f"no job for {prompt!r}:\n{stack.logs_tail()}"
        time.sleep(0.25)


def _jobs(stack: Stack, prompt: str) -> list[dict[str, Any]]:
    return [j for j in stack.emulator.jobs() if j.get("prompt") == prompt]


def _submits(stack: Stack, platform: str, prompt: str) -> int:
    found = [r for route in SUBMIT_ROUTES[platform] for r in stack.emulator.requests(route)]
    return len([r for r in found if json.dumps(r.get("json") or {}).find(prompt) >= 0])


def _cancels(stack: Stack, platform: str, request_id: str) -> list[dict[str, Any]]:
    return [r for r in stack.emulator.requests(CANCEL_ROUTES[platform]) if request_id in r["path"]]


def _wait_polled_in_triggerer(stack: Stack, run_id: str, request_id: str) -> None:
    """Wait until the task is deferred and its trigger has polled the job at least once."""
    stack.wait_for_task_state(DAG_ID, run_id, TASK_ID, ["deferred"], timeout=e2e_timeout(90))
    deadline = time.monotonic() + e2e_timeout(60)
    while True:
        polls = [r for r in stack.emulator.requests() if request_id in r["path"] and r["method"] == "GET"]
        if polls and _trigger_log(stack, run_id):
            return
        assert time.monotonic() < deadline, f"trigger never polled {request_id}"
        time.sleep(0.25)


def _trigger_log(stack: Stack, run_id: str) -> str:
    paths = sorted((stack.airflow_home / "logs").glob(f"dag_id={DAG_ID}/run_id={run_id}/**/*.trigger.*"))
    return "\n".join(p.read_text(errors="replace") for p in paths)


@pytest.mark.parametrize("platform", ["fal", "oxen"])
def test_marking_a_deferred_task_failed_cancels_the_remote_job(chaos_stack: Stack, platform: str) -> None:
    stack = chaos_stack
    run_id, prompt = _start(stack, platform, f"mark-failed-{platform}")
    job = _job(stack, prompt)
    _wait_polled_in_triggerer(stack, run_id, job["request_id"])

    marked = time.monotonic()
    stack.set_task_state(DAG_ID, run_id, TASK_ID, "failed")
    deadline = marked + e2e_timeout(CANCEL_TIMEOUT)
    while not _cancels(stack, platform, job["request_id"]):
        assert time.monotonic() < deadline, (
            f"no cancel for {platform} job {job['request_id']} within {CANCEL_TIMEOUT:.0f} s of "
            f"marking the task failed; trigger log:\n{_trigger_log(stack, run_id)[-4000:]}\n"
            + stack.logs_tail(30)
        )
        time.sleep(0.2)
    print(f"{platform}: cancel {time.monotonic() - marked:.1f} s after the PATCH")
    assert stack.emulator.job(job["request_id"])["state"] == "cancelled"
    assert stack.task_instance(DAG_ID, run_id, TASK_ID)["state"] == "failed"
    assert _submits(stack, platform, prompt) == 1


def test_clearing_a_deferred_task_reconnects_and_never_cancels(chaos_stack: Stack) -> None:
    stack = chaos_stack
    run_id, prompt = _start(stack, "fal", "clear")
    job = _job(stack, prompt)
    _wait_polled_in_triggerer(stack, run_id, job["request_id"])

    stack.clear_task(DAG_ID, run_id, TASK_ID)
    result = stack.wait_for_run(DAG_ID, run_id, timeout=e2e_timeout(180))
    assert result.state == "success", (result.task_instances, _trigger_log(stack, run_id)[-4000:])
    (ti,) = result.task_instances
    assert ti["try_number"] >= 2, ti
    assert not _cancels(stack, "fal", job["request_id"]), _trigger_log(stack, run_id)[-4000:]
    assert _submits(stack, "fal", prompt) == 1
    assert [j["request_id"] for j in _jobs(stack, prompt)] == [job["request_id"]]
    assert stack.xcom(DAG_ID, run_id, TASK_ID)["request_id"] == job["request_id"]
    assert stack.emulator.job(job["request_id"])["state"] == "succeeded"


def test_killed_triggerer_replaced_mid_wait_completes_the_job_once(chaos_stack: Stack) -> None:
    stack = chaos_stack
    run_id, prompt = _start(stack, "oxen", "triggerer-restart")
    job = _job(stack, prompt)
    _wait_polled_in_triggerer(stack, run_id, job["request_id"])

    victim = next(c for c in stack.components if c.name.startswith("triggerer") and c.running())
    victim.kill()
    number = 1 + max(
        int(c.name.rsplit("-", 1)[1]) for c in stack.components if c.name.startswith("triggerer-")
    )
    stack.start_triggerer(number)

    result = stack.wait_for_run(DAG_ID, run_id, timeout=e2e_timeout(180))
    assert result.state == "success", (result.task_instances, stack.logs_tail(40))
    assert not _cancels(stack, "oxen", job["request_id"])
    assert _submits(stack, "oxen", prompt) == 1
    assert stack.xcom(DAG_ID, run_id, TASK_ID)["request_id"] == job["request_id"]
    # The replacement did the rest of the waiting.
    assert "Trigger fired event" in _trigger_log(stack, run_id)


# -- secret scan ---------------------------------------------------------------------------------


def _key_runs(key: str, width: int = 8) -> list[str]:
    return sorted({key[i : i + width] for i in range(len(key) - width + 1)})


def _find_runs(text: str, runs: list[str]) -> list[str]:
    return [run for run in runs if run in text]


def _scan_files(root: Path, runs: list[str], skip: set[str]) -> dict[str, list[str]]:
    leaks: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.name in skip:
            continue
        text = path.read_bytes().decode("latin-1")
        found = _find_runs(text, runs)
        if found:
            index = text.find(found[0])
            leaks[str(path.relative_to(root))] = [*found[:3], repr(text[max(0, index - 200) : index + 60])]
    return leaks


def _scan_database(db: Path, runs: list[str]) -> dict[str, list[str]]:
    leaks: dict[str, list[str]] = {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    if value is None or isinstance(value, int | float):
                        continue
                    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                    found = _find_runs(text, runs)
                    if found:
                        index = text.find(found[0])
                        leaks.setdefault(f"{table}.{column}", []).append(
                            repr(text[max(0, index - 160) : index + 60])
                        )
    finally:
        conn.close()
    return leaks


def test_secret_scan_finds_no_run_of_the_key_anywhere(chaos_stack: Stack) -> None:
    """Successful and failing runs on fal and Oxen, error bodies echoing the key, then a scan."""
    stack = chaos_stack
    emu = stack.emulator
    key = MARKER_KEY
    echo = {"detail": f"Invalid credentials for key {key}", "key": key}
    partial = {"detail": f"Invalid credentials for key {key[:12]}..."}  # platforms often do this
    emu.configure(run_seconds=3)
    try:
        # Poll errors that echo the key (tolerated, then the job succeeds) and jobs that fail
        # with a message echoing it, on both platforms; they run in parallel.
        emu.add_fault("fal.status", "status", status=500, body=echo, times=2)
        emu.add_fault("oxen.status", "status", status=500, body=partial, times=2)
        emu.add_fault("fal.submit", "fail_job", body=f"content refused for {key}", error="bad_key", times=1)
        emu.add_fault("oxen.submit", "fail_job", body=f"generation failed: key {key}", times=1)
        runs = [_start(stack, p, f"scan-{p}-{n}") for p in ("fal", "oxen") for n in (1, 2)]
        results = [stack.wait_for_run(DAG_ID, run_id, timeout=e2e_timeout(180)) for run_id, _ in runs]
        # A submit refused with a body echoing the key, on each platform.
        for platform in ("fal", "oxen"):
            emu.add_fault(f"{platform}.submit", "status", status=401, body=echo, times=1)
            run_id, _ = _start(stack, platform, f"scan-{platform}-refused")
            results.append(stack.wait_for_run(DAG_ID, run_id, timeout=e2e_timeout(120)))
    finally:
        emu.clear_faults()
        emu.configure(run_seconds=RUN_SECONDS)
    states = [r.state for r in results]
    assert "failed" in states, states
    assert "success" in states, states
    fired = [r for r in emu.requests() if r.get("fault")]
    assert len(fired) >= 6, fired

    runs8 = _key_runs(key)
    # The emulator stands in for the platform: its own log is not Airflow's to keep clean.
    skip = {"seedance-emulator.log", "gcs-emulator.log"}
    file_leaks = _scan_files(stack.home, runs8, skip)
    db_leaks = _scan_database(stack.airflow_home / "airflow.db", runs8)
    leaks = {"files": file_leaks, "metadata tables": db_leaks}
    assert not any(leaks.values()), f"8-character runs of the key leaked: {json.dumps(leaks, indent=1)}"
