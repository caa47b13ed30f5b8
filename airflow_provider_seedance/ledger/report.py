"""The spend report: per day, platform, campaign and DAG, and the month's burn against each cap.

:func:`build_report` reads the ledger (no Airflow); :func:`render_png` draws it with matplotlib
(the ``ledger`` extra; imported inside the function, Agg backend); :func:`write_report` stores
``spend.csv``, ``budgets.csv`` and ``spend.png`` under ``gs://<bucket>/<prefix>/<YYYY-MM>/``
through a ``google.cloud.storage.Client``.

Spend is what settled entries cost (the platform's reported usage where it reports one, else
the estimate, counted in ``estimated_usd`` too); ``held_usd`` is what reserved, submitted and
unknown entries still hold.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from airflow_provider_seedance.ledger.budgets import Budget, to_usd
from airflow_provider_seedance.ledger.store import ESTIMATE_BASIS_PREFIX, HELD_STATES, SUCCEEDED, Ledger

if TYPE_CHECKING:
    from google.cloud import storage

SPEND_COLUMNS = ("day", "platform", "campaign", "dag_id", "jobs", "spent_usd", "estimated_usd", "held_usd")
BUDGET_COLUMNS = (
    "budget",
    "period",
    "window",
    "limit_usd",
    "window_spent_usd",
    "window_held_usd",
    "month_spent_usd",
    "month_cap_usd",
    "month_burn_pct",
)


@dataclass
class SpendReport:
    """Rows of the two CSV files, for one calendar month (in ``timezone``) up to ``as_of``."""

    month: str
    timezone: str
    as_of: datetime
    spend: list[dict[str, Any]] = field(default_factory=list)
    budgets: list[dict[str, Any]] = field(default_factory=list)

    def spend_csv(self) -> str:
        return _csv(SPEND_COLUMNS, self.spend)

    def budgets_csv(self) -> str:
        return _csv(BUDGET_COLUMNS, self.budgets)

    def daily_by_platform(self) -> dict[str, dict[str, float]]:
        """day -> platform -> spent USD."""
        out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for row in self.spend:
            out[row["day"]][row["platform"]] += row["spent_usd"]
        return {d: dict(p) for d, p in sorted(out.items())}


def _csv(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue()


def _month_bounds(as_of: datetime, tz: ZoneInfo) -> tuple[datetime, datetime, str]:
    local = as_of.astimezone(tz)
    start = datetime(local.year, local.month, 1, tzinfo=tz)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    end = datetime(year, month, 1, tzinfo=tz)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc), f"{local.year:04d}-{local.month:02d}"


def build_report(
    ledger: Ledger, budgets: Sequence[Budget], *, as_of: datetime | None = None, timezone_name: str = "UTC"
) -> SpendReport:
    """The month holding ``as_of`` (default: now), day by day, and each budget's burn."""
    tz = ZoneInfo(timezone_name)
    as_of = as_of or ledger.now()
    start, end, month = _month_bounds(as_of, tz)
    report = SpendReport(month=month, timezone=timezone_name, as_of=as_of)
    groups: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    month_entries = ledger.entries(since=start, until=end)
    for entry in month_entries:
        day = entry.reserved_at.astimezone(tz).date().isoformat()
        campaign = ",".join(entry.campaign) or "-"
        row = groups.setdefault(
            (day, entry.platform, campaign, entry.dag_id),
            {
                "day": day,
                "platform": entry.platform,
                "campaign": campaign,
                "dag_id": entry.dag_id,
                "jobs": 0,
                "spent_usd": 0.0,
                "estimated_usd": 0.0,
                "held_usd": 0.0,
            },
        )
        row["jobs"] += 1
        if entry.state in HELD_STATES:
            row["held_usd"] += entry.estimate_usd
        elif entry.cost_micros:
            row["spent_usd"] += to_usd(entry.cost_micros)
            if entry.state == SUCCEEDED and (entry.cost_basis or "").startswith(ESTIMATE_BASIS_PREFIX):
                row["estimated_usd"] += to_usd(entry.cost_micros)
    report.spend = [groups[k] for k in sorted(groups)]
    for budget in budgets:
        current = ledger.window(budget, as_of)
        # What the jobs this budget covers spent this month (settled entries of the month).
        month_spent = sum(
            e.cost_micros or 0
            for e in month_entries
            if e.state not in HELD_STATES
            and budget.covers(account=e.account, platform=e.platform, campaign=e.campaign, dag_id=e.dag_id)
        )
        cap = budget.limit_micros * budget.windows_in_month(as_of)
        report.budgets.append(
            {
                "budget": budget.name,
                "period": budget.period,
                "window": current.window,
                "limit_usd": budget.limit_usd,
                "window_spent_usd": to_usd(current.spent_micros),
                "window_held_usd": to_usd(current.reserved_micros),
                "month_spent_usd": to_usd(month_spent),
                "month_cap_usd": to_usd(cap),
                "month_burn_pct": round(100.0 * month_spent / cap, 1) if cap else 0.0,
            }
        )
    return report


#: One colour per platform, stable across reports.
PLATFORM_COLOURS = {
    "fal": "#1f77b4",
    "oxen": "#2ca02c",
    "aihubmax": "#9467bd",
    "byteplus": "#d62728",
    "volcengine": "#ff7f0e",
}


def render_png(report: SpendReport, *, width_px: int = 1200, height_px: int = 900, dpi: int = 100) -> bytes:
    """A PNG: stacked daily spend by platform, then each budget's month burn against its cap."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    top, bottom = fig.subplots(2, 1, gridspec_kw={"height_ratios": [3, 2]})
    first = date.fromisoformat(f"{report.month}-01")
    days = [
        (first + timedelta(days=i)) for i in range(31) if (first + timedelta(days=i)).month == first.month
    ]
    daily = report.daily_by_platform()
    platforms = sorted({p for per in daily.values() for p in per})
    base = [0.0] * len(days)
    labels = [d.day for d in days]
    for platform in platforms:
        values = [daily.get(d.isoformat(), {}).get(platform, 0.0) for d in days]
        top.bar(labels, values, bottom=base, label=platform, color=PLATFORM_COLOURS.get(platform, "#7f7f7f"))
        base = [b + v for b, v in zip(base, values, strict=True)]
    top.set_title(f"Seedance spend per day, {report.month} ({report.timezone})")
    top.set_xlabel("day of month")
    top.set_ylabel("USD")
    if platforms:
        top.legend(loc="upper left")
    names = [b["budget"] for b in report.budgets]
    spent = [b["month_spent_usd"] for b in report.budgets]
    caps = [b["month_cap_usd"] for b in report.budgets]
    if names:
        bottom.barh(names, caps, color="#dddddd", label="month cap")
        bottom.barh(names, spent, color="#e377c2", label="spent this month")
        for i, row in enumerate(report.budgets):
            bottom.text(row["month_spent_usd"], i, f" {row['month_burn_pct']:.0f}%", va="center")
        bottom.legend(loc="lower right")
    else:
        bottom.text(0.5, 0.5, "no budgets configured", ha="center", va="center", transform=bottom.transAxes)
    bottom.set_title("Month's burn against each cap")
    bottom.set_xlabel("USD")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def write_report(
    report: SpendReport, client: storage.Client, *, bucket: str, prefix: str = "seedance-spend"
) -> list[str]:
    """Upload the CSV files and the PNG; return their ``gs://`` URIs. A rerun replaces them."""
    folder = f"{prefix.strip('/')}/{report.month}".lstrip("/")
    objects = [
        (f"{folder}/spend.csv", report.spend_csv().encode(), "text/csv"),
        (f"{folder}/budgets.csv", report.budgets_csv().encode(), "text/csv"),
        (f"{folder}/spend.png", render_png(report), "image/png"),
    ]
    target = client.bucket(bucket)
    uris = []
    for name, data, content_type in objects:
        target.blob(name).upload_from_string(data, content_type=content_type)
        uris.append(f"gs://{bucket}/{name}")
    return uris
