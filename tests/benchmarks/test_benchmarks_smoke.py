"""Smoke tests for ``python -m benchmarks``: each benchmark runs in a tiny configuration.

They prove the benchmark code works end to end (emulators, worker subprocesses, result files).
They assert nothing about speed: timings are only ever compared as ratios, in benchmarks/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import bench_import, bench_transfer, bench_triggers, bench_validation
from benchmarks.__main__ import main
from benchmarks.common import BenchResult, write_results

pytestmark = pytest.mark.slow


def _complete(result: BenchResult) -> None:
    assert result.rows, result
    for row in result.rows:
        assert row.ours is not None, row


def test_triggers_tiny() -> None:
    result = bench_triggers.run(
        quick=True, sizes=[20], poll=0.5, queue=(0.0, 0.5), finish=(1.0, 2.0), budget=30
    )
    _complete(result)
    assert set(result.raw) == {"ours@20", "today@20", "client-per-poll@20", "fal-client@20"}
    for report in result.raw.values():
        assert report["events"] == 20, report
        assert report["statuses"] == {"success": 20}, report
        assert report["polls"] >= 20, report
        assert report["lag_max_s"] is not None, report
        assert report["lag_max_s"] >= 0, report
    assert result.raw["today@20"]["sockets_max"] == 20  # one client per trigger
    assert result.raw["ours@20"]["sockets_max"] <= 64  # the pool's bound
    assert {row.baseline_name for row in result.rows} == {"today", "client-per-poll", "fal-client"}


def test_polls_tiny() -> None:
    from benchmarks import bench_polls

    result = bench_polls.run(quick=True, seeds=3)
    _complete(result)
    assert result.raw["15 min job"]["fal_client.subscribe"]["calls"] > 1000


def test_submit_tiny() -> None:
    from benchmarks import bench_submit

    result = bench_submit.run(quick=True, n=30, concurrencies=[8])
    _complete(result)
    ours = result.raw["ours@8"]
    assert (ours["lost"], ours["duplicates"], ours["jobs_created"]) == (0, 0, 30), ours


def test_transfer_tiny() -> None:
    result = bench_transfer.run(quick=True, size_mb=5, repeats=1)
    _complete(result)
    assert [r["stored_bytes"] for r in result.raw["ours"] + result.raw["baseline"]] == [5_000_000] * 2


def test_import_tiny() -> None:
    result = bench_import.run(quick=True, runs=1, warmup=False, dags=False)
    _complete(result)
    assert result.raw["heavy_modules_imported_by_ours"]["google.cloud.storage"] is False


def test_validation_and_result_files(tmp_path: Path) -> None:
    result = bench_validation.run(quick=True, seconds=0.05)
    _complete(result)
    assert result.rows[0].ratio is not None
    path = write_results([result], quick=True, out_dir=tmp_path)
    payload = json.loads(path.read_text())
    assert payload["benchmarks"][0]["name"] == "validation"
    assert "| validation |" in (tmp_path / "latest.md").read_text()


def test_cli_rejects_unknown_names() -> None:
    with pytest.raises(SystemExit):
        main(["nope", "--no-save"])


def test_cli_runs_one_benchmark(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validation", "--quick", "--out", str(tmp_path)]) == 0
    assert "validations per second" in capsys.readouterr().out
    assert (tmp_path / "latest.json").exists()


def test_preflight_tiny() -> None:
    from benchmarks import bench_preflight

    result = bench_preflight.run(quick=True, repeats=1)
    assert {row.metric for row in result.rows} == {"wall time", "peak RSS", "bytes transferred"}
    assert all(r["input_video_seconds"] == 12.0 for runs in result.raw["runs"].values() for r in runs)


@pytest.mark.e2e
def test_slots_tiny() -> None:
    """One run of each variant on real Airflow (the local stack), 9 s jobs.

    Jobs of a few seconds race Airflow 3.3 (the trigger fires before the deferring workload's
    supervisor returns and the scheduler fails the task): see docs/benchmarks.md, finding 5.
    """
    from benchmarks import bench_slots

    result = bench_slots.run(quick=True, jobs=1, queue_seconds=1.0, run_seconds=8.0, parallelism=4)
    _complete(result)
    records = result.raw["records"]
    assert {v: len(rows) for v, rows in records.items()} == dict.fromkeys(bench_slots.VARIANTS, 1)
    for variant, (record,) in records.items():
        assert record["state"] == "success", record
        assert record["complete"], record
        assert record["worker_slot_s"] > 0, record
        assert record["phases"] == (2 if variant == "deferrable" else 1), record
    assert [state for _, state in records["deferrable"][0]["workloads"]] == ["deferred", "success"]
    assert records["sync"][0]["execute_s"] >= 2.0  # the worker waited for the job
    assert records["deferrable"][0]["execute_s"] < records["sync"][0]["execute_s"]


def test_http2_tiny() -> None:
    pytest.importorskip("h2")
    pytest.importorskip("hypercorn")
    from benchmarks import bench_http2

    result = bench_http2.run(quick=True, pollers=20, polls=2, poll=0.2, repeats=1)
    _complete(result)
    runs = result.raw["runs"]
    assert runs["http1"][0]["http_versions"] == {"HTTP/1.1": 40}
    assert runs["http2"][0]["http_versions"] == {"HTTP/2": 40}
    assert runs["http2-1x16"][0]["server"]["connections"] == 1  # one h2 connection, many streams
    assert all(run[0]["errors"] == 0 for run in runs.values())


def test_http2_skips_without_h2(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import bench_http2

    monkeypatch.setattr(bench_http2, "h2_available", lambda: False)
    result = bench_http2.run(quick=True)
    assert result.rows == []
    assert "skipped" in result.notes[0]


def test_cli_keeps_a_skipped_benchmarks_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import bench_http2

    monkeypatch.setattr(bench_http2, "h2_available", lambda: False)
    (tmp_path / "http2.md").write_text("committed\n")
    assert main(["http2", "--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "http2.md").read_text() == "committed\n"
    assert not (tmp_path / "latest.json").exists()
