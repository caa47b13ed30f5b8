"""Shared plumbing for the benchmarks: environment, process metrics, subprocesses, result files.

Every benchmark runs OUR implementation and a BASELINE side by side in the same run and reports
``ours / baseline`` ratios next to the raw numbers. Absolute numbers depend on the machine; the
ratios are what the benchmarks are for.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"


# -- environment ------------------------------------------------------------------------------


def ensure_airflow_home() -> str:
    """Point ``AIRFLOW_HOME`` at a throwaway directory (Airflow writes airflow.cfg on import).

    Called before anything imports Airflow; subprocesses inherit it through ``os.environ``.
    A directory we create is removed at exit.
    """
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    home = os.environ.get("AIRFLOW_HOME")
    if home:
        return home
    home = tempfile.mkdtemp(prefix="seedance-bench-airflow-")
    os.environ["AIRFLOW_HOME"] = home
    atexit.register(shutil.rmtree, home, True)
    return home


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a benchmark subprocess: ours, plus the repo on ``PYTHONPATH``."""
    ensure_airflow_home()
    env = {**os.environ, **extra, "PYTHONUNBUFFERED": "1"}
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + path if path else "")
    return env


# -- process metrics (Linux /proc, with portable fallbacks) ------------------------------------


def status_kb(field_name: str, pid: int | str = "self") -> int | None:
    """A ``/proc/<pid>/status`` field in KiB (``VmRSS``, ``VmHWM``), or None off Linux."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset this process's RSS high-water mark (``VmHWM``) to the current RSS (Linux only)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_kb() -> int:
    """The peak RSS of this process in KiB (since the last :func:`reset_peak_rss`, on Linux)."""
    hwm = status_kb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (all threads) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of another process (e.g. an emulator), or None if unknown."""
    try:
        import psutil

        times = psutil.Process(pid).cpu_times()
    except Exception:
        return None
    return float(times.user + times.system)


# -- subprocesses -----------------------------------------------------------------------------


class BenchmarkError(RuntimeError):
    """A benchmark subprocess failed."""


def run_json(args: list[str], *, env: dict[str, str] | None = None, timeout: float = 600) -> dict[str, Any]:
    """Run ``python args...`` from the repo root; return the JSON object on its last stdout line."""
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=env or child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchmarkError(
            f"{' '.join(args[:3])} exited with {proc.returncode}:\n{proc.stderr[-4000:]}{proc.stdout[-2000:]}"
        )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise BenchmarkError(f"{' '.join(args[:3])} printed no JSON:\n{proc.stdout[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# -- results ----------------------------------------------------------------------------------


def ratio(ours: float | None, baseline: float | None) -> float | None:
    """``ours / baseline`` rounded to 3 significant digits; None when undefined."""
    if ours is None or baseline is None or baseline == 0:
        return None
    return float(f"{ours / baseline:.3g}")


@dataclass
class Row:
    """One compared metric: the numbers for ours and the baseline, and their ratio."""

    case: str
    metric: str
    unit: str
    ours: float | None
    baseline: float | None
    better: str = "lower"  # which direction is better for ours
    baseline_name: str = "baseline"

    @property
    def ratio(self) -> float | None:
        return ratio(self.ours, self.baseline)

    def as_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "metric": self.metric,
            "unit": self.unit,
            "ours": self.ours,
            "baseline": self.baseline,
            "baseline_name": self.baseline_name,
            "ratio_ours_over_baseline": self.ratio,
            "better": self.better,
        }


@dataclass
class BenchResult:
    """What one sub-benchmark reports."""

    name: str
    description: str
    params: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "params": self.params,
            "seconds": round(self.seconds, 1),
            "rows": [row.as_dict() for row in self.rows],
            "raw": self.raw,
            "notes": self.notes,
        }


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def print_result(result: BenchResult) -> None:
    print(f"\n== {result.name} ({result.seconds:.0f} s): {result.description}")
    print(f"   params: {json.dumps(result.params)}")
    width = max([len(r.case) for r in result.rows] + [4])
    for row in result.rows:
        print(
            f"   {row.case:<{width}}  {row.metric:<24} ours {_fmt(row.ours):>10} {row.unit:<6}"
            f" {row.baseline_name} {_fmt(row.baseline):>10}  ratio {_fmt(row.ratio):>7}"
            f"  ({row.better} is better)"
        )
    for note in result.notes:
        print(f"   note: {note}")
    sys.stdout.flush()


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE", ""),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    for dist in ("apache-airflow", "httpx", "pydantic", "google-cloud-storage"):
        try:
            from importlib.metadata import version

            info[dist] = version(dist)
        except Exception:
            info[dist] = None
    with contextlib.suppress(OSError):
        info["git_commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    return info


def write_results(
    results: list[BenchResult], *, quick: bool, out_dir: Path = RESULTS_DIR, stem: str = "latest"
) -> Path:
    """Write ``<stem>.json`` and ``<stem>.md`` (default ``latest``) into ``out_dir``; return the JSON path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quick": quick,
        "machine": machine_info(),
        "benchmarks": [r.as_dict() for r in results],
    }
    json_path = out_dir / f"{stem}.json"
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    json_path.with_suffix(".md").write_text(markdown_table(payload))
    return json_path


def markdown_table(payload: dict[str, Any]) -> str:
    machine = payload["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Generated {payload['generated_at']} by `python -m benchmarks"
        f"{' --quick' if payload['quick'] else ''}` at commit `{machine.get('git_commit', '?')}`.",
        "",
        f"Machine: {machine.get('cpus')} CPUs ({machine.get('cpu_model', 'unknown CPU')}), "
        f"{machine.get('memory_gib', '?')} GiB RAM, Python {machine.get('python')}, "
        f"Airflow {machine.get('apache-airflow')}, httpx {machine.get('httpx')}.",
        "",
        "Ratio = ours / baseline, measured side by side in the same run. Below 1 is better where "
        "lower is better (time, CPU, memory, lag, requests); above 1 where higher is better.",
        "",
        "| benchmark | case | metric | ours | baseline | ratio | better |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for bench in payload["benchmarks"]:
        for row in bench["rows"]:
            unit = f" {row['unit']}" if row["unit"] else ""
            ours, base = _fmt(row["ours"]), _fmt(row["baseline"])
            ratio_text = _fmt(row["ratio_ours_over_baseline"])
            lines.append(
                f"| {bench['name']} | {row['case']} | {row['metric']} | {ours}{unit} | "
                f"{base}{unit} ({row['baseline_name']}) | **{ratio_text}** | {row['better']} |"
            )
    for bench in payload["benchmarks"]:
        if bench["notes"]:
            lines += ["", f"**{bench['name']}** notes:", ""]
            lines += [f"- {note}" for note in bench["notes"]]
    return "\n".join(lines) + "\n"
