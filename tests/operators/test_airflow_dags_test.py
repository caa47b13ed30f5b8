"""One deferrable task through ``airflow dags test`` against the emulator: real task runner, real trigger."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from airflow_provider_seedance.emulator.testing import EmulatorHandle
from tests.support.airflow_cli import airflow_env, dags_test

DAG = textwrap.dedent(
    """
    from __future__ import annotations

    import pendulum
    from airflow.sdk import dag

    from airflow_provider_seedance.operators.seedance import SeedanceReferenceToVideoOperator


    @dag(
        dag_id="seedance_one_clip",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
    )
    def seedance_one_clip():
        SeedanceReferenceToVideoOperator(
            task_id="clip",
            prompt="A red kite over green hills, in the style of @Image1",
            image_urls=["https://cdn.example.com/style.jpg"],
            preflight=False,
            duration=4,
            tier="fast",
            deferrable=True,
            poll_interval=0.2,
        )


    seedance_one_clip()
    """
)


@pytest.mark.slow
def test_deferrable_task_runs_through_airflow_dags_test(
    seedance_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    seedance_emulator.configure(queue_seconds=0.3, run_seconds=0.5)
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "seedance_one_clip.py").write_text(DAG)
    env = airflow_env(
        tmp_path / "home", dags, AIRFLOW_CONN_SEEDANCE_DEFAULT=seedance_emulator.connection_json("fal")
    )

    returncode, output = dags_test(env, "seedance_one_clip")

    assert returncode == 0, output[-4000:]
    assert "state=success" in output, output[-4000:]
    assert "running trigger in line" in output  # the task deferred and the trigger did the waiting
    assert len(seedance_emulator.requests("fal.submit")) == 1
    assert seedance_emulator.requests("fal.submit")[0]["path"].endswith("/fast/reference-to-video")
    assert seedance_emulator.api_key not in output
