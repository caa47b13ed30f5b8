"""Running one DAG through real ``airflow dags test`` in a subprocess: its environment and the run.

(``tests/docs/test_examples.py`` spells this out on purpose: the emulator guide includes it.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def airflow_env(home: Path, dags: Path, **variables: str) -> dict[str, str]:
    """This process's environment with an own Airflow home, the DAGs folder and no examples."""
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        **variables,
    }


def dags_test(
    env: dict[str, str], dag_id: str, *, timeout: float = 300, cwd: Path | None = None
) -> tuple[int, str]:
    """``airflow db migrate``, then ``airflow dags test dag_id``: its exit status and its output
    (stdout, then stderr)."""
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=180)
    run = subprocess.run(
        [AIRFLOW, "dags", "test", dag_id], env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd
    )
    return run.returncode, run.stdout + run.stderr
