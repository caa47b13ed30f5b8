"""Operators over the spend ledger: reconciliation with the platform, and the spend report.

Both import the ledger (SQLAlchemy, httpx, matplotlib, google-cloud-storage) inside ``execute``:
a DAG file using them parses fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

if TYPE_CHECKING:
    from airflow.sdk import Context


class SeedanceLedgerReconcileOperator(BaseOperator):
    """
    Reconcile one Seedance account's ledger entries with the platform's job list.

    Expires overdue reservations, settles finished jobs (Ark: at the usage it reports), links
    ambiguous submits to the job they created when the match is provable, and returns (XCom)
    the orphans (listed jobs the ledger does not know) and the unknown entries left.
    Platforms that cannot list (fal.ai, AIHubMax, Oxen for now) get expiry only, and their
    unknown entries in the report.

    .. seealso::
        ``docs/budgets.md`` in the project.

    :param seedance_conn_id: The Seedance connection (account) to reconcile.
    :param ledger_conn_id: The ledger connection (None: the local SQLite file).
    :param lookback_hours: How far back to list jobs (Ark keeps 7 days).
    :param fail_on_orphans: Fail the task when orphans or unresolved unknown entries remain.
    """

    template_fields: Sequence[str] = ("seedance_conn_id", "ledger_conn_id")
    ui_color = "#fff2cc"

    def __init__(
        self,
        *,
        seedance_conn_id: str = "seedance_default",
        ledger_conn_id: str | None = None,
        lookback_hours: float = 48.0,
        fail_on_orphans: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if lookback_hours <= 0:
            raise ValueError("lookback_hours must be positive")
        self.seedance_conn_id = seedance_conn_id
        self.ledger_conn_id = ledger_conn_id
        self.lookback_hours = lookback_hours
        self.fail_on_orphans = fail_on_orphans

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk import BaseHook

        from airflow_provider_seedance.ledger.airflow import get_ledger, ledger_settings
        from airflow_provider_seedance.ledger.reconcile import (
            ARK_DEFAULT_BASE_URLS,
            LISTABLE,
            ArkTaskLister,
            reconcile,
        )

        conn = BaseHook.get_connection(self.seedance_conn_id)
        platform = str((conn.extra_dejson or {}).get("platform") or "fal")
        lister = None
        if platform in LISTABLE:
            base_url = conn.host if conn.host and "://" in conn.host else ARK_DEFAULT_BASE_URLS[platform]
            lister = ArkTaskLister(base_url, conn.password or "")
        report = reconcile(
            get_ledger(self.ledger_conn_id),
            lister,
            platform=platform,
            account=self.seedance_conn_id,
            lookback=timedelta(hours=self.lookback_hours),
            pricing=ledger_settings(self.ledger_conn_id)["pricing"],
        )
        self.log.info(
            "Reconciled %s: %d listed, %d settled, %d linked, %d expired, %d orphan(s), %d unknown left%s",
            self.seedance_conn_id,
            report.listed,
            len(report.settled),
            len(report.linked),
            len(report.expired),
            len(report.orphans),
            len(report.unknown),
            f" ({report.note})" if report.note else "",
        )
        for orphan in report.orphans:
            self.log.warning("Job not in the ledger: %s", orphan)
        for unknown in report.unknown:
            self.log.warning("Unknown submit still held: %s", unknown)
        if self.fail_on_orphans and (report.orphans or report.unknown):
            raise AirflowException(
                f"{len(report.orphans)} job(s) not in the ledger and {len(report.unknown)} unknown submit(s) "
                "need a look: collect or cancel them (see the task log)"
            )
        return report.to_dict()


class SeedanceSpendReportOperator(BaseOperator):
    """
    Write the month's spend report (CSV per day/platform/campaign/DAG, budgets CSV, PNG) to GCS.

    .. seealso::
        ``docs/budgets.md`` in the project.

    :param bucket_name: The GCS bucket.
    :param prefix: Object prefix; objects go to ``<prefix>/<YYYY-MM>/``.
    :param ledger_conn_id: The ledger connection (None: the local SQLite file).
    :param seedance_conn_ids: Seedance connections whose ``budgets`` extras are reported.
    :param budgets_variable: The Airflow Variable holding global budgets.
    :param timezone: Days and months of the report.
    :param gcp_conn_id: The Google Cloud connection.
    """

    template_fields: Sequence[str] = ("bucket_name", "prefix", "ledger_conn_id")
    ui_color = "#fff2cc"

    def __init__(
        self,
        *,
        bucket_name: str,
        prefix: str = "seedance-spend",
        ledger_conn_id: str | None = None,
        seedance_conn_ids: Sequence[str] = (),
        budgets_variable: str | None = "seedance_budgets",
        timezone: str = "UTC",
        gcp_conn_id: str = "google_cloud_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        from airflow_provider_seedance.ledger.budgets import is_time_zone

        if not is_time_zone(timezone):
            raise ValueError(f"timezone must be an IANA time zone name, got {timezone!r}")
        self.bucket_name = bucket_name
        self.prefix = prefix
        self.ledger_conn_id = ledger_conn_id
        self.seedance_conn_ids = tuple(seedance_conn_ids)
        self.budgets_variable = budgets_variable
        self.timezone = timezone
        self.gcp_conn_id = gcp_conn_id

    def execute(self, context: Context) -> list[str]:
        from airflow_provider_seedance.hooks.gcs import make_storage_client
        from airflow_provider_seedance.ledger.airflow import get_ledger, read_budgets
        from airflow_provider_seedance.ledger.report import build_report, write_report

        budgets = {b.name: b for b in read_budgets(None, variable=self.budgets_variable)}
        for conn_id in self.seedance_conn_ids:
            for budget in read_budgets(conn_id, variable=None):
                budgets[budget.name] = budget
        ledger = get_ledger(self.ledger_conn_id)
        as_of = context.get("data_interval_end") or context.get("logical_date") or ledger.now()
        report = build_report(
            ledger, sorted(budgets.values(), key=lambda b: b.name), as_of=as_of, timezone_name=self.timezone
        )
        uris = write_report(
            report, make_storage_client(self.gcp_conn_id), bucket=self.bucket_name, prefix=self.prefix
        )
        for row in report.budgets:
            self.log.info(
                "Budget %s: $%.2f of $%.2f this month (%.1f%%)",
                row["budget"],
                row["month_spent_usd"],
                row["month_cap_usd"],
                row["month_burn_pct"],
            )
        self.log.info("Spend report written: %s", ", ".join(uris))
        return uris
