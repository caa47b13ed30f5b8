"""E2E-only DAG: one render that waits in the worker (sync mode), so the test can kill its process.

With ``retries=1`` the second try must reconnect to the job the first try submitted (the job id
is in the task state store), never submit again.
"""

from __future__ import annotations

import os
from datetime import timedelta

from airflow.sdk import dag

from airflow_provider_seedance.operators.seedance import SeedanceReferenceToVideoOperator


@dag(dag_id="seedance_e2e_worker_crash", schedule=None, catchup=False, tags=["seedance", "e2e"])
def seedance_e2e_worker_crash() -> None:
    SeedanceReferenceToVideoOperator(
        task_id="render",
        prompt="@Image1 on a turntable, one slow revolution",
        image_urls=[
            os.environ.get("SEEDANCE_REFERENCES", "gs://seedance-campaigns/references") + "/brand.png"
        ],
        duration=5,
        deferrable=False,
        poll_interval=float(os.environ.get("SEEDANCE_POLL_INTERVAL", "1")),
        retries=1,
        retry_delay=timedelta(seconds=1),
    )


seedance_e2e_worker_crash()
