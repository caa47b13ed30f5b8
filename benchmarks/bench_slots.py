"""``slots``: worker-slot seconds per job on real Airflow: deferrable vs sync vs ``fal_client.subscribe``.

The whole local stack of ``scripts/stack.py`` (the one the e2e tests and ``make demo`` use:
SQLite, LocalExecutor, scheduler, dag-processor, triggerer and api-server on 127.0.0.1, the
Seedance emulator) runs ``benchmarks/dags/seedance_bench_slots.py``. Each of its runs holds one
task per variant, and N runs are triggered at once, so the variants interleave on the same
executor slots:

* ``deferrable``: ``SeedanceTextToVideoOperator(deferrable=True)``;
* ``sync``: the same operator with ``deferrable=False`` (the worker polls);
* ``fal_subscribe``: a plain ``@task`` calling the unmodified ``fal_client.subscribe`` against a
  second emulator serving HTTPS (fal_client always speaks ``https://{FAL_QUEUE_RUN_HOST}``; the
  host comes from that variable, the throwaway CA from ``SSL_CERT_FILE``);
* ``noop``: a ``@task`` returning at once: what Airflow itself costs to run one task.

Every emulated job is queued ``queue_seconds`` and runs ``run_seconds`` (60 s in all by default).

Measured from Airflow's own records, per task instance:

* **worker-slot seconds**: the task supervisor's "Workload finished duration=..." line (logged by
  each LocalExecutor worker into the scheduler's log when ``supervise`` returns: the worker is
  busy for exactly that long), summed over the task's workloads (a deferred task has two:
  ``final_state=deferred`` and ``final_state=success``);
* **task-log span**: per worker phase of the task log (one JSON line per event; a deferred task's
  log holds one block per phase, each opening with ``::group::Pre Execute``), its last timestamp
  minus its first, summed;
* **execute**: inside each phase, from the end of ``Pre Execute`` (DAG bundle, DAG file parse) to
  the start of ``Post Execute`` (XCom push, deferral): the operator's own ``execute`` /
  ``execute_complete``, i.e. the provider's share. The rest of the slot is Airflow's task
  start-up and tear-down, compared with the no-op task's in the same run.

The task instance's ``duration`` (``end_date - start_date``) is kept in the raw records as a
cross-check (for a deferred task it spans the wait in the triggerer, so it is not slot time).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import REPO_ROOT, BenchResult, Row, ensure_airflow_home

DAG_FILE = REPO_ROOT / "benchmarks" / "dags" / "seedance_bench_slots.py"
DAG_ID = "seedance_bench_slots"
WARMUP_DAG_ID = "seedance_bench_slots_warmup"
VARIANTS = ("deferrable", "sync", "fal_subscribe", "noop")


def _ts(value: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def log_phases(path: Path) -> list[dict[str, float]]:
    """Per worker phase of one task log: its ``start``/``end`` and the ``execute`` seconds inside.

    A phase opens with ``::group::Pre Execute``; the first ``::endgroup::`` after it ends
    Airflow's start-up, ``::group::Post Execute`` starts its tear-down.
    """
    phases: list[dict[str, float]] = []
    current: dict[str, float] | None = None
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
            when = _ts(record["timestamp"])
        except (ValueError, KeyError, TypeError):
            continue
        event = str(record.get("event", ""))
        if event == "::group::Pre Execute" or current is None:
            current = {"start": when, "end": when}
            phases.append(current)
        current["end"] = when
        if event == "::endgroup::" and "startup_end" not in current:
            current["startup_end"] = when
        elif event == "::group::Post Execute" and "teardown_start" not in current:
            current["teardown_start"] = when
    for phase in phases:
        phase["slot"] = phase["end"] - phase["start"]
        if "startup_end" in phase and "teardown_start" in phase:
            phase["execute"] = max(0.0, phase["teardown_start"] - phase["startup_end"])
        else:
            phase["execute"] = 0.0
    return phases


_WORKLOAD = re.compile(
    r"Workload finished .*?duration=([0-9.]+) exit_code=(-?\d+) final_state=(\w+) .*?workload_id=([0-9a-f-]+)"
)


def supervisor_workloads(scheduler_log: Path) -> dict[str, list[tuple[float, str]]]:
    """Per task-instance id: ``(seconds, final_state)`` of each workload its supervisor ran.

    The LocalExecutor's worker runs one workload at a time and logs "Workload finished
    duration=..." when the task supervisor returns: the seconds the worker slot was busy.
    """
    workloads: dict[str, list[tuple[float, str]]] = {}
    for line in scheduler_log.read_text(errors="replace").splitlines():
        if match := _WORKLOAD.search(line):
            workloads.setdefault(match.group(4), []).append((float(match.group(1)), match.group(3)))
    return workloads


def _summary(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "median": None, "min": None, "max": None}
    return {
        "mean": round(statistics.fmean(values), 3),
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def collect(stack: Any, run_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Per variant, one record per task instance: phases from the log, TI dates, state."""
    per_variant: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    logs = stack.airflow_home / "logs" / f"dag_id={DAG_ID}"
    workloads = supervisor_workloads(stack.log_dir / "scheduler.log")
    for run_id in run_ids:
        for ti in stack.task_instances(DAG_ID, run_id):
            variant = ti["task_id"]
            if variant not in per_variant:
                continue
            path = logs / f"run_id={run_id}" / f"task_id={variant}" / f"attempt={ti['try_number']}.log"
            phases = log_phases(path) if path.exists() else []
            runs = workloads.get(str(ti["id"]), [])
            per_variant[variant].append(
                {
                    "run_id": run_id,
                    "state": ti["state"],
                    "try_number": ti["try_number"],
                    "ti_duration_s": ti["duration"],
                    "worker_slot_s": round(sum(seconds for seconds, _ in runs), 3),
                    "workloads": [[round(seconds, 3), state] for seconds, state in runs],
                    "phases": len(phases),
                    "log_span_s": round(sum(p["slot"] for p in phases), 3),
                    "execute_s": round(sum(p["execute"] for p in phases), 3),
                    "phase_log_span_s": [round(p["slot"], 3) for p in phases],
                    "phase_execute_s": [round(p["execute"], 3) for p in phases],
                }
            )
    return per_variant


def _settled_records(stack: Any, run_ids: list[str], wait: float = 90.0) -> dict[str, list[dict[str, Any]]]:
    """:func:`collect` once every workload's supervisor has returned and the scheduler has seen it.

    A run is marked successful before its last supervisor returns (it can linger seconds after
    the task's final state).
    """
    deadline = time.monotonic() + wait
    while True:
        records = collect(stack, run_ids)
        pending = [
            (variant, r["run_id"])
            for variant, rows in records.items()
            for r in rows
            if len(r["workloads"]) < r["phases"]
        ]
        if not pending or time.monotonic() > deadline:
            for variant, rows in records.items():
                for r in rows:
                    r["complete"] = (variant, r["run_id"]) not in pending
            return records
        time.sleep(1.0)


def measure(
    params: dict[str, Any], *, timeout: float, airflow_env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Start the stack, run ``params["jobs"]`` runs of the DAG at once, return the records.

    ``params``: ``jobs``, ``queue_seconds``, ``run_seconds``, ``poll_interval_s``, ``parallelism``.
    """
    queue_seconds, run_seconds = params["queue_seconds"], params["run_seconds"]
    from airflow_provider_seedance.emulator.testing import EmulatorServer
    from scripts.stack import Stack

    ensure_airflow_home()
    home = Path(tempfile.mkdtemp(prefix="seedance-bench-slots-"))
    empty = home / "no-dags"
    empty.mkdir()
    fal = EmulatorServer(tls=True, queue_seconds=queue_seconds, run_seconds=run_seconds)
    try:
        fal.start()
        assert fal.ca_path is not None
        assert fal.port is not None
        stack = Stack(
            home / "stack",
            dags_folder=empty,
            extra_dag_files=[DAG_FILE],
            queue_seconds=queue_seconds,
            run_seconds=run_seconds,
            poll_interval=params["poll_interval_s"],
            parallelism=params["parallelism"],
            pools={},
            extra_env={
                "FAL_QUEUE_RUN_HOST": f"localhost:{fal.port}",
                "SSL_CERT_FILE": fal.ca_path,
                "FAL_KEY": fal.api_key,
                **(airflow_env or {}),
            },
        )
        with stack:
            # Warm the api-server's execution API and the workers first (the first task
            # starts after a cold start are several seconds slower).
            warm = stack.trigger(WARMUP_DAG_ID)
            if stack.wait_for_run(WARMUP_DAG_ID, warm, timeout=timeout).state != "success":
                raise RuntimeError("the warm-up run failed:\n" + stack.task_logs_tail(WARMUP_DAG_ID))
            t0 = time.monotonic()
            run_ids = [stack.trigger(DAG_ID) for _ in range(params["jobs"])]
            states = {}
            for run_id in run_ids:
                left = max(10.0, timeout - (time.monotonic() - t0))
                states[run_id] = stack.wait_for_run(DAG_ID, run_id, timeout=left).state
            wall = time.monotonic() - t0
            records = _settled_records(stack, run_ids)
            failed = [r for v in records.values() for r in v if r["state"] != "success"]
            if failed:
                raise RuntimeError(
                    f"{len(failed)} task(s) did not succeed: {failed[:4]}\n" + stack.logs_tail(30)
                )
        return {"wall_s": round(wall, 1), "run_states": sorted(set(states.values())), "records": records}
    finally:
        fal.stop()
        shutil.rmtree(home, ignore_errors=True)


def run(
    *,
    quick: bool = False,
    jobs: int | None = None,
    queue_seconds: float | None = None,
    run_seconds: float | None = None,
    poll: float = 2.0,
    parallelism: int | None = None,
    airflow_env: dict[str, str] | None = None,
) -> BenchResult:
    jobs = jobs if jobs is not None else (3 if quick else 10)
    queue_seconds = queue_seconds if queue_seconds is not None else (1.0 if quick else 2.0)
    run_seconds = run_seconds if run_seconds is not None else (14.0 if quick else 58.0)
    parallelism = parallelism if parallelism is not None else (4 if quick else 8)
    job_seconds = queue_seconds + run_seconds
    timeout = 120 + 4 * jobs * (job_seconds + 20) / parallelism
    params = {
        "jobs": jobs,
        "queue_seconds": queue_seconds,
        "run_seconds": run_seconds,
        "poll_interval_s": poll,
        "parallelism": parallelism,
        "executor": "LocalExecutor",
        "database": "sqlite",
    }
    data = measure(params, timeout=timeout, airflow_env=airflow_env)
    return summarize(data, params)


def summarize(data: dict[str, Any], params: dict[str, Any]) -> BenchResult:
    """The rows and notes of one :func:`measure` (``data``: its ``wall_s`` and ``records``)."""
    records = data["records"]
    jobs, parallelism, poll = params["jobs"], params["parallelism"], params["poll_interval_s"]
    queue_seconds, run_seconds = params["queue_seconds"], params["run_seconds"]

    def stats(key: str) -> dict[str, dict[str, float | None]]:
        return {v: _summary([float(r[key]) for r in records[v]]) for v in VARIANTS}

    summaries = {key: stats(key) for key in ("worker_slot_s", "log_span_s", "execute_s", "phases")}
    mean = {key: {v: summary[v]["mean"] for v in VARIANTS} for key, summary in summaries.items()}
    slot, span, execute = mean["worker_slot_s"], mean["log_span_s"], mean["execute_s"]

    def minus(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round(a - b, 3)

    def times(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round(a * b, 3)

    fal, sync = "fal_client.subscribe", "sync (deferrable=False)"
    rows = [
        Row("deferrable vs sync", "worker-slot s per job", "s", slot["deferrable"], slot["sync"],
            baseline_name=sync),
        Row("deferrable vs fal_client", "worker-slot s per job", "s", slot["deferrable"],
            slot["fal_subscribe"], baseline_name=fal),
        Row("sync vs fal_client", "worker-slot s per job", "s", slot["sync"], slot["fal_subscribe"],
            baseline_name=fal),
        Row("deferrable vs fal_client", "task-log span s per job", "s", span["deferrable"],
            span["fal_subscribe"], baseline_name=fal),
        Row("deferrable: provider's share", "execute s per job", "s", execute["deferrable"],
            execute["fal_subscribe"], baseline_name=fal),
        Row("deferrable: Airflow's share", "slot s outside execute", "s",
            minus(slot["deferrable"], execute["deferrable"]),
            times(slot["noop"], mean["phases"]["deferrable"]), baseline_name="no-op task x phases"),
    ]  # fmt: skip
    incomplete = sum(1 for v in records.values() for r in v if not r["complete"])
    notes = [
        f"{jobs} runs x 4 tasks at once on LocalExecutor parallelism {parallelism} (SQLite); each "
        f"emulated job {queue_seconds:g} s queued + {run_seconds:g} s running; the operator polls "
        f"every {poll:g} s, fal_client.subscribe at its default 0.1 s (over HTTPS to a second "
        "emulator; ours over HTTP).",
        "worker-slot s: the task supervisor's own 'Workload finished duration=' per workload (the "
        "LocalExecutor worker is busy for exactly that), summed per task (a deferred task has 2).",
        "task-log span s: first to last line of each phase of the task log; execute s: the "
        "operator's own code, between Airflow's 'Pre Execute' and 'Post Execute' groups.",
        f"no-op @task, same run: {slot['noop']} worker-slot s, {span['noop']} task-log span s: "
        "Airflow's own task start-up and tear-down.",
    ]
    if incomplete:
        notes.append(f"{incomplete} task(s) had a supervisor workload missing from the scheduler's log.")
    return BenchResult(
        name="slots",
        description="worker-slot seconds per ~60 s job on real Airflow: deferrable vs sync vs fal_client",
        params=params,
        rows=rows,
        raw={"wall_s": data["wall_s"], **summaries, "records": records},
        notes=notes,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.bench_slots [--quick] [--out DIR]``: run it alone, write slots.{json,md}."""
    from benchmarks.common import RESULTS_DIR, print_result, write_results

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_slots")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--run-seconds", type=float)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    result = run(quick=args.quick, jobs=args.jobs, run_seconds=args.run_seconds)
    result.seconds = time.monotonic() - t0
    print_result(result)
    if not args.no_save:
        path = write_results([result], quick=args.quick, out_dir=args.out, stem="slots")
        print(f"results: {path} and {path.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
