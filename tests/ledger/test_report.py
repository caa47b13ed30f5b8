"""The spend report: CSV rows, the PNG checked as an image, and the objects in GCS (emulator)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from airflow_provider_seedance.ledger.budgets import parse_budgets
from airflow_provider_seedance.ledger.report import PLATFORM_COLOURS, build_report, render_png, write_report
from airflow_provider_seedance.ledger.store import JobSpec, Ledger, TaskIdentity

START = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)
BUDGETS = parse_budgets(
    {
        "fal-daily": {"limit_usd": 20, "period": "day", "account": "seedance_fal"},
        "ark-monthly": {"limit_usd": 300, "period": "month", "platform": "byteplus"},
    }
)


class Clock:
    value = START

    def __call__(self) -> datetime:
        return self.value


@pytest.fixture
def filled(tmp_path: Path) -> Ledger:
    clock = Clock()
    ledger = Ledger(f"sqlite:///{tmp_path / 'r.db'}", now=clock)
    jobs = [
        (0, "fal", "seedance_fal", 4.0, ("spring",), "succeed"),
        (0, "fal", "seedance_fal", 4.0, ("spring",), "succeed"),
        (1, "byteplus", "seedance_ark", 3.0, (), "succeed"),
        (1, "fal", "seedance_fal", 4.0, ("spring",), "fail"),
        (2, "byteplus", "seedance_ark", 3.0, ("autumn",), "hold"),
    ]
    for i, (day, platform, account, usd, tags, outcome) in enumerate(jobs):
        clock.value = START + timedelta(days=day, minutes=i)
        ident = TaskIdentity("grid" if platform == "fal" else "daily", f"run{day}", "render", i)
        spec = JobSpec(
            platform=platform, account=account, estimate_usd=usd, estimate_basis="b", campaign=tags
        )
        ledger.reserve(ident, spec, BUDGETS)
        ledger.mark_sending(ident)
        ledger.mark_submitted(ident, f"req-{i}")
        if outcome == "succeed":
            ledger.settle(ident, succeeded=True, cost_usd=usd / 2 if platform == "byteplus" else None)
        elif outcome == "fail":
            ledger.settle(ident, succeeded=False, cost_usd=0)
    clock.value = START + timedelta(days=2, hours=1)
    return ledger


def test_csv_rows_per_day_platform_campaign_and_dag(filled: Ledger) -> None:
    report = build_report(filled, BUDGETS)
    rows = list(csv.DictReader(io.StringIO(report.spend_csv())))
    assert [
        (r["day"], r["platform"], r["campaign"], r["dag_id"], r["jobs"], r["spent_usd"], r["held_usd"])
        for r in rows
    ] == [
        ("2026-12-03", "fal", "spring", "grid", "2", "8.0000", "0.0000"),
        ("2026-12-04", "byteplus", "-", "daily", "1", "1.5000", "0.0000"),
        ("2026-12-04", "fal", "spring", "grid", "1", "0.0000", "0.0000"),
        ("2026-12-05", "byteplus", "autumn", "daily", "1", "0.0000", "3.0000"),
    ]
    assert rows[0]["estimated_usd"] == "8.0000"  # fal reports no cost: the estimate, labelled
    burn = {b["budget"]: b for b in csv.DictReader(io.StringIO(report.budgets_csv()))}
    assert burn["fal-daily"]["month_spent_usd"] == "8.0000"
    assert burn["fal-daily"]["month_cap_usd"] == "620.0000"  # $20 x 31 days
    assert burn["ark-monthly"]["month_spent_usd"] == "1.5000"
    assert burn["ark-monthly"]["window_held_usd"] == "3.0000"
    assert burn["ark-monthly"]["month_burn_pct"] == "0.5000"


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def test_png_is_an_image_with_bars(filled: Ledger) -> None:
    png = render_png(build_report(filled, BUDGETS), width_px=1200, height_px=900)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (1200, 900)
    rgb = image.convert("RGB")
    colours = rgb.getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 20  # not blank
    counts = {c: n for n, c in colours}
    assert counts.get(_rgb(PLATFORM_COLOURS["fal"]), 0) > 500  # fal's daily bars
    assert counts.get(_rgb(PLATFORM_COLOURS["byteplus"]), 0) > 100  # Ark's daily bar
    assert counts.get(_rgb("#e377c2"), 0) > 100  # the month's burn bars


def test_an_empty_month_still_renders(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'empty.db'}", now=lambda: START)
    image = Image.open(io.BytesIO(render_png(build_report(ledger, []))))
    assert image.size == (1200, 900)


def test_report_objects_land_in_gcs(filled: Ledger, gcs_emulator, gcs_bucket: str) -> None:
    client = gcs_emulator.client()
    uris = write_report(build_report(filled, BUDGETS), client, bucket=gcs_bucket, prefix="spend")
    assert uris == [f"gs://{gcs_bucket}/spend/2026-12/{n}" for n in ("spend.csv", "budgets.csv", "spend.png")]
    blob = client.bucket(gcs_bucket).get_blob("spend/2026-12/spend.png")
    assert blob is not None
    assert blob.content_type == "image/png"
    assert Image.open(io.BytesIO(blob.download_as_bytes())).size == (1200, 900)
