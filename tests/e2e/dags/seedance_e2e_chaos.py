"""E2E-only DAG: one deferrable render whose connection and prompt come from the run's conf.

``tests/e2e/test_chaos.py`` marks it failed, clears it, kills the triggerer under it and runs it
against failing platforms. The prompt makes each run's job easy to find in the emulator.
"""

from __future__ import annotations

import os
from datetime import timedelta

from airflow.sdk import Param, dag

from airflow_provider_seedance.operators.seedance import SeedanceReferenceToVideoOperator


@dag(
    dag_id="seedance_e2e_chaos",
    schedule=None,
    catchup=False,
    tags=["seedance", "e2e"],
    params={
        "conn_id": Param("seedance_default", type="string"),
        "prompt": Param("@Image1 spins slowly", type="string"),
    },
)
def seedance_e2e_chaos() -> None:
    SeedanceReferenceToVideoOperator(
        task_id="render",
        prompt="{{ params.prompt }}",
        seedance_conn_id="{{ params.conn_id }}",
        image_urls=[
            os.environ.get("SEEDANCE_REFERENCES", "gs://seedance-campaigns/references") + "/brand.png"
        ],
        duration=5,
        deferrable=True,
        poll_interval=float(os.environ.get("SEEDANCE_POLL_INTERVAL", "1")),
        timeout=600,
        retries=1,
        retry_delay=timedelta(seconds=1),
    )


seedance_e2e_chaos()
