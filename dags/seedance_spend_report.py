"""Every morning: reconcile the Seedance accounts with their platforms, then write the spend report.

1. ``reconcile`` (one mapped task per account in ``SEEDANCE_LEDGER_ACCOUNTS``) expires overdue
   budget reservations, settles finished jobs at the usage the platform reports (Ark), links
   ambiguous submits to the job they created when the match is provable, and lists the jobs the
   ledger does not know (collect or cancel them).
2. ``report`` writes ``gs://<bucket>/<prefix>/<YYYY-MM>/spend.csv``, ``budgets.csv`` and
   ``spend.png``: the month's spend per day, platform, campaign and DAG, and each budget's burn.

Deployment settings come from the environment (read at parse time, no I/O):
``SEEDANCE_BUCKET``, ``SEEDANCE_SPEND_PREFIX``, ``SEEDANCE_LEDGER_CONN_ID``,
``SEEDANCE_LEDGER_ACCOUNTS`` (comma-separated Seedance connection ids), ``SEEDANCE_SPEND_TZ``.
"""

from __future__ import annotations

import os
from datetime import timedelta

from airflow.sdk import CronTriggerTimetable, dag

from airflow_provider_seedance.operators.ledger import (
    SeedanceLedgerReconcileOperator,
    SeedanceSpendReportOperator,
)

BUCKET = os.environ.get("SEEDANCE_BUCKET", "seedance-campaigns")
PREFIX = os.environ.get("SEEDANCE_SPEND_PREFIX", "seedance-spend").strip("/")
LEDGER_CONN_ID = os.environ.get("SEEDANCE_LEDGER_CONN_ID") or None
ACCOUNTS = [
    a.strip() for a in os.environ.get("SEEDANCE_LEDGER_ACCOUNTS", "seedance_default").split(",") if a.strip()
]
TIMEZONE = os.environ.get("SEEDANCE_SPEND_TZ", "UTC")


@dag(
    dag_id="seedance_spend_report",
    schedule=CronTriggerTimetable("30 6 * * *", timezone=TIMEZONE, run_immediately=timedelta(0)),
    catchup=False,
    tags=["seedance", "budget"],
    doc_md=__doc__,
)
def seedance_spend_report() -> None:
    reconcile = SeedanceLedgerReconcileOperator.partial(
        task_id="reconcile", ledger_conn_id=LEDGER_CONN_ID, retries=2, retry_delay=timedelta(minutes=5)
    ).expand(seedance_conn_id=ACCOUNTS)
    report = SeedanceSpendReportOperator(
        task_id="report",
        bucket_name=BUCKET,
        prefix=PREFIX,
        ledger_conn_id=LEDGER_CONN_ID,
        seedance_conn_ids=ACCOUNTS,
        timezone=TIMEZONE,
        trigger_rule="all_done",
    )
    reconcile >> report


seedance_spend_report()
