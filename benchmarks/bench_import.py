"""``import``: what each provider module and example DAG file adds to a process that has ``airflow.sdk``.

Measured the way a DAG processor pays it:

* byte-compiled first (``compileall`` of the provider package, the example DAGs and the venv's
  site-packages; quick when already compiled), so no sample pays compilation: the committed
  +338 ms of the old benchmark was mostly a venv without ``.pyc`` files under
  ``PYTHONDONTWRITEBYTECODE=1``;
* every sample a fresh ``python -c`` process that imports ``airflow.sdk`` and then the module,
  timing each step with ``perf_counter`` inside the process (interpreter start-up is not
  counted in either); the baseline is ``airflow.sdk`` alone in the same kind of process;
* cases interleaved (each round runs every case once, in a shuffled order) after one warm-up
  round, so drift of the machine hits every case alike.

Rows: median milliseconds the module adds over ``import airflow.sdk`` (and its p90), plus the
whole process wall time of the operator modules vs ``airflow.sdk``.
"""

from __future__ import annotations

import compileall
import json
import random
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from benchmarks.common import REPO_ROOT, BenchResult, Row, child_env

MODULES = (
    "airflow_provider_seedance.hooks.seedance",
    "airflow_provider_seedance.triggers.seedance",
    "airflow_provider_seedance.sensors.seedance",
    "airflow_provider_seedance.operators.seedance",
    "airflow_provider_seedance.transfers.seedance_to_gcs",
)
BASELINE = "airflow.sdk"
_HEAVY = ("google.cloud.storage", "airflow_provider_seedance.emulator.app", "fastapi", "uvicorn")

_CODE = """
import json, sys, time
t0 = time.perf_counter()
import airflow.sdk
t1 = time.perf_counter()
target = {target!r}
if target.endswith(".py"):
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_dag", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
elif target:
    __import__(target)
t2 = time.perf_counter()
print(json.dumps({{"sdk_ms": 1000 * (t1 - t0), "added_ms": 1000 * (t2 - t1),
                  "heavy": {{m: m in sys.modules for m in {heavy!r}}}}}))
"""


def byte_compile() -> float:
    """Compile the package, the DAGs and site-packages (idempotent); return the seconds it took."""
    started = time.monotonic()
    paths = [
        REPO_ROOT / "airflow_provider_seedance",
        REPO_ROOT / "dags",
        Path(sysconfig.get_paths()["purelib"]),
    ]
    for path in paths:
        compileall.compile_dir(str(path), quiet=2, workers=0)
    return time.monotonic() - started


def _sample(target: str) -> dict[str, object]:
    code = _CODE.format(target=target, heavy=_HEAVY)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], env=child_env(), check=True, capture_output=True, text=True
    )
    sample: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    sample["wall_ms"] = 1000 * (time.perf_counter() - started)
    return sample


def run(*, quick: bool, runs: int | None = None, warmup: bool = True, dags: bool = True) -> BenchResult:
    runs = runs or (4 if quick else 10)
    dag_files = sorted(str(p) for p in (REPO_ROOT / "dags").glob("*.py")) if dags else []
    targets = ["", *MODULES, *dag_files]  # "" is the baseline: airflow.sdk alone
    result = BenchResult(
        name="import",
        description="+ms each provider module / example DAG adds over `import airflow.sdk` (byte-compiled)",
        params={"runs": runs, "baseline": BASELINE, "targets": [t or BASELINE for t in targets]},
    )
    started = time.monotonic()
    result.raw["compileall_seconds"] = round(byte_compile(), 1)
    if warmup:
        for target in targets:
            _sample(target)
    samples: dict[str, list[dict[str, object]]] = {t: [] for t in targets}
    rng = random.Random(13)
    for _ in range(runs):
        order = list(targets)
        rng.shuffle(order)
        for target in order:
            samples[target].append(_sample(target))

    def med(target: str, key: str) -> float:
        return statistics.median(float(s[key]) for s in samples[target])  # type: ignore[arg-type]

    def p90(target: str, key: str) -> float:
        values = sorted(float(s[key]) for s in samples[target])  # type: ignore[arg-type]
        return values[min(len(values) - 1, int(0.9 * len(values)))]

    sdk_ms = med("", "sdk_ms")
    result.rows.append(
        Row("import airflow.sdk", "median time in-process", "ms", round(sdk_ms), None, "lower", "-")
    )
    for target in targets[1:]:
        name = (
            Path(target).name
            if target.endswith(".py")
            else target.rsplit(".", 2)[-2] + "." + target.rsplit(".", 1)[-1]
        )
        result.rows.append(
            Row(
                f"+ {name}",
                "added over airflow.sdk (median)",
                "ms",
                round(med(target, "added_ms"), 1),
                round(sdk_ms),
                "lower",
                "airflow.sdk itself",
            )
        )
        result.rows.append(
            Row(
                f"+ {name}",
                "added over airflow.sdk (p90)",
                "ms",
                round(p90(target, "added_ms"), 1),
                None,
                "lower",
                "-",
            )
        )
    operators = "airflow_provider_seedance.operators.seedance"
    result.rows.append(
        Row(
            "python -c (whole process)",
            "wall: sdk + operators vs sdk",
            "ms",
            round(med(operators, "wall_ms")),
            round(med("", "wall_ms")),
            "lower",
            "airflow.sdk",
        )
    )
    result.raw["samples"] = {t or BASELINE: samples[t] for t in targets}
    heavy = sorted({m for t in MODULES for s in samples[t] for m, present in s["heavy"].items() if present})  # type: ignore[attr-defined]
    result.raw["heavy_modules_imported_by_ours"] = {m: m in heavy for m in _HEAVY}
    result.notes.append(
        "heavy modules imported by the provider modules: "
        + (", ".join(heavy) if heavy else "none")
        + f" (checked: {', '.join(_HEAVY)}); example DAG files include Airflow's own imports they trigger"
    )
    result.seconds = time.monotonic() - started
    return result
