"""The docs' example DAGs run, against the emulator, through real ``airflow dags test``.

The sensor how-to includes ``docs/examples/seedance_submit_then_wait.py`` and the emulator guide
includes the test below (between its ``[START ...]`` / ``[END ...]`` markers): both are code CI
runs, not prose.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_seedance.emulator.testing import EmulatorHandle

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


# [START howto_emulator_dags_test]
@pytest.mark.slow
def test_submit_then_wait_survives_flaky_polls_and_pays_once(
    seedance_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    emu = seedance_emulator  # the provider's pytest plugin: a fresh emulator per test
    emu.configure(queue_seconds=0.3, run_seconds=0.5)
    emu.add_fault("fal.status", "status", status=503, times=2)  # two failed polls on the way
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLES),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_SEEDANCE_DEFAULT": emu.connection_json("fal"),  # host = the emulator
        "SEEDANCE_POLL_INTERVAL": "0.2",
    }
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=180)

    run = subprocess.run(
        [AIRFLOW, "dags", "test", "seedance_submit_then_wait"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert "state=success" in output, output[-4000:]
    assert len(emu.requests("fal.submit")) == 1  # submitted once, never paid twice
    assert [job["state"] for job in emu.jobs()] == ["succeeded"]
    assert any(r["status_code"] == 503 for r in emu.requests("fal.status"))  # the faults were hit
    assert emu.api_key not in output  # the key never reaches the logs
    # [END howto_emulator_dags_test]
