"""``import``: what a DAG file that uses our operators pays to parse, vs ``import airflow.sdk``.

Each sample is a fresh ``python -c`` process (ours and the baseline interleaved, after one
warm-up of each so the OS file cache and ``.pyc`` files are hot). Ours also reports whether
``google.cloud.storage`` (or the emulator) got imported: the operator modules must not pay for it.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

from benchmarks.common import BenchResult, Row, child_env

OURS_IMPORT = (
    "import airflow_provider_seedance.operators.seedance, airflow_provider_seedance.transfers.seedance_to_gcs"
)
BASELINE_IMPORT = "import airflow.sdk"
_PROBE = (
    "import json, sys; print(json.dumps({m: m in sys.modules for m in "
    "('google.cloud.storage', 'airflow_provider_seedance.emulator.app', 'fastapi', 'uvicorn')}))"
)


def _time_once(code: str) -> tuple[float, str]:
    env = child_env()
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - started, proc.stdout


def run(*, quick: bool, runs: int | None = None, warmup: bool = True) -> BenchResult:
    runs = runs or (5 if quick else 9)
    result = BenchResult(
        name="import",
        description="DAG-parse cost: import our operator + transfer modules vs `import airflow.sdk`",
        params={"runs": runs, "ours": OURS_IMPORT, "baseline": BASELINE_IMPORT},
    )
    started = time.monotonic()
    ours_code = f"{OURS_IMPORT}; {_PROBE}"  # the probe itself costs microseconds
    if warmup:
        _time_once(ours_code)
        _time_once(BASELINE_IMPORT)
    ours: list[float] = []
    base: list[float] = []
    stdout = ""
    for _ in range(runs):
        seconds, stdout = _time_once(ours_code)
        ours.append(seconds)
        base.append(_time_once(BASELINE_IMPORT)[0])
    imported = json.loads(stdout.strip().splitlines()[-1])
    ours_ms, base_ms = 1000 * statistics.median(ours), 1000 * statistics.median(base)
    result.rows.append(Row("python -c import", "median wall time", "ms", round(ours_ms), round(base_ms)))
    result.rows.append(
        Row("python -c import", "added over airflow.sdk", "ms", round(ours_ms - base_ms), None, "lower", "-")
    )
    result.raw = {
        "ours_ms": [round(1000 * s) for s in ours],
        "baseline_ms": [round(1000 * s) for s in base],
        "heavy_modules_imported_by_ours": imported,
    }
    heavy = [m for m, present in imported.items() if present]
    result.notes.append(
        "heavy modules imported by the operator modules: "
        + (", ".join(heavy) if heavy else "none")
        + " (checked: google.cloud.storage, the emulator app, fastapi, uvicorn)"
    )
    result.seconds = time.monotonic() - started
    return result
