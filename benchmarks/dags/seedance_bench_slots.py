"""Benchmark-only DAG (``benchmarks/bench_slots.py``): one emulated job waited for four ways.

Each run holds one task per variant, so runs interleave the variants on the same executor:

* ``deferrable``: ``SeedanceTextToVideoOperator(deferrable=True)``: submit in the worker, wait in
  the triggerer, finish in the worker;
* ``sync``: the same operator with ``deferrable=False``: the worker waits;
* ``fal_subscribe``: a plain ``@task`` calling ``fal_client.subscribe`` (unmodified: its queue
  host comes from ``FAL_QUEUE_RUN_HOST``, its CA from ``SSL_CERT_FILE``, its key from ``FAL_KEY``);
* ``noop``: a ``@task`` that returns at once: Airflow's own cost of running a task.
"""

from __future__ import annotations

import os

from airflow.sdk import dag, task

from airflow_provider_seedance.operators.seedance import SeedanceTextToVideoOperator

POLL = float(os.environ.get("SEEDANCE_POLL_INTERVAL", "15"))
PROMPT = "bench slots: a paper boat drifts down a rainy street"


@dag(
    dag_id="seedance_bench_slots",
    schedule=None,
    catchup=False,
    max_active_runs=64,
    max_active_tasks=64,
    tags=["seedance", "benchmark"],
)
def seedance_bench_slots() -> None:
    SeedanceTextToVideoOperator(
        task_id="deferrable", prompt=PROMPT, duration=5, deferrable=True, poll_interval=POLL
    )
    SeedanceTextToVideoOperator(
        task_id="sync", prompt=PROMPT, duration=5, deferrable=False, poll_interval=POLL
    )

    @task
    def fal_subscribe() -> str:
        import fal_client

        result = fal_client.subscribe(
            "bytedance/seedance-2.0/text-to-video", arguments={"prompt": PROMPT, "duration": "5"}
        )
        return str(result["video"]["url"])

    @task
    def noop() -> None:
        return None

    fal_subscribe()
    noop()


seedance_bench_slots()


@dag(dag_id="seedance_bench_slots_warmup", schedule=None, catchup=False, tags=["seedance", "benchmark"])
def seedance_bench_slots_warmup() -> None:
    """No-op tasks run once before the measured runs: warms the api-server and the workers."""

    @task
    def warm(i: int) -> None:
        return None

    warm.expand(i=list(range(8)))


seedance_bench_slots_warmup()
