"""Submit a Seedance job in one task and wait for it in another, with a deferrable sensor.

The docs' sensor how-to includes this file by its ``[START ...]`` / ``[END ...]`` markers, and
``tests/docs/test_examples.py`` runs it with ``airflow dags test`` against the emulator, so the
snippet on the page is code that CI runs.

Why split submit and wait: a downstream team may own the wait (and its timeout), or the job may
be submitted by another system and only its request id reaches Airflow (``dag_run.conf``).
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import dag

from airflow_provider_seedance.operators.seedance import SeedanceReferenceToVideoOperator
from airflow_provider_seedance.sensors.seedance import SeedanceJobSensor

CONN_ID = os.environ.get("SEEDANCE_CONN_ID", "seedance_default")
POKE_INTERVAL = float(os.environ.get("SEEDANCE_POLL_INTERVAL", "15"))


@dag(
    dag_id="seedance_submit_then_wait",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["seedance", "example"],
)
def seedance_submit_then_wait() -> None:
    # [START howto_sensor_seedance_job]
    submit = SeedanceReferenceToVideoOperator(
        task_id="submit",
        seedance_conn_id=CONN_ID,
        prompt="@Image1 turns slowly on a pedestal, soft studio light",
        image_urls=["https://assets.example.com/brand/product-hero.png"],
        duration=4,
        tier="fast",
        wait_for_completion=False,  # return right after the submit: the job id, no video yet
    )
    wait = SeedanceJobSensor(
        task_id="wait",
        seedance_conn_id=CONN_ID,
        request_id="{{ ti.xcom_pull(task_ids='submit')['request_id'] }}",
        tier="fast",
        deferrable=True,  # the triggerer waits; no worker slot is held
        poke_interval=POKE_INTERVAL,
        timeout=3600,
    )
    submit >> wait
    # [END howto_sensor_seedance_job]


seedance_submit_then_wait()
