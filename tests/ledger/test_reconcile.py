"""Reconciliation against Ark's task list: exact wire (respx) and the emulator over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
import respx

from airflow_provider_seedance.ledger.budgets import parse_budgets
from airflow_provider_seedance.ledger.reconcile import ArkTaskLister, matches, parse_ark_task, reconcile
from airflow_provider_seedance.ledger.store import (
    FAILED,
    SUCCEEDED,
    UNKNOWN,
    JobSpec,
    Ledger,
    TaskIdentity,
)

BASE = "https://ark.test"
KEY = "ark-secret-key-123"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
BUDGETS = parse_budgets({"ark-daily": {"limit_usd": 100}})


def spec(seed: int | None = 7, duration: str = "5") -> JobSpec:
    return JobSpec(
        platform="byteplus", account="seedance_ark", estimate_usd=1.512, estimate_basis="b",
        tier="standard", resolution="720p", duration=duration, aspect_ratio="16:9", seed=seed,
        generate_audio=True,
    )  # fmt: skip


def task(
    task_id: str, *, created: datetime, status: str = "succeeded", seed: int = 7, tokens: int | None = 87300
) -> dict:
    item = {
        "id": task_id, "model": "dreamina-seedance-2-0-260128", "status": status,
        "created_at": int(created.timestamp()), "seed": seed, "resolution": "720p", "ratio": "16:9",
        "duration": 5, "generate_audio": True,
    }  # fmt: skip
    if tokens is not None and status == "succeeded":
        item["usage"] = {"completion_tokens": tokens, "total_tokens": tokens}
    return item


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(f"sqlite:///{tmp_path / 'l.db'}", now=lambda: NOW)


def ti(n: int) -> TaskIdentity:
    return TaskIdentity("grid", "run", "render", n)


@respx.mock
def test_ark_listing_pages_newest_first_until_older_than_since() -> None:
    page1 = [task(f"cgt-{i}", created=NOW - timedelta(minutes=i)) for i in range(2)]
    page2 = [
        task("cgt-2", created=NOW - timedelta(hours=1)),
        task("cgt-old", created=NOW - timedelta(days=3)),
    ]
    route = respx.get(f"{BASE}/api/v3/contents/generations/tasks").mock(
        side_effect=[
            httpx.Response(200, json={"total": 4, "items": page1}),
            httpx.Response(200, json={"total": 4, "items": page2}),
        ]
    )
    jobs = ArkTaskLister(BASE, KEY, page_size=2).list_jobs(NOW - timedelta(days=1))
    assert [j.request_id for j in jobs] == ["cgt-0", "cgt-1", "cgt-2"]
    assert route.calls[0].request.headers["authorization"] == f"Bearer {KEY}"
    assert [dict(c.request.url.params) for c in route.calls] == [
        {"page_num": "1", "page_size": "2"},
        {"page_num": "2", "page_size": "2"},
    ]


@respx.mock
def test_ark_listing_error_keeps_the_key_out_of_the_message() -> None:
    respx.get(f"{BASE}/api/v3/contents/generations/tasks").mock(
        return_value=httpx.Response(
            401, json={"error": {"code": "AuthenticationError", "message": f"bad key {KEY}"}}
        )
    )
    with pytest.raises(Exception) as info:
        ArkTaskLister(BASE, KEY).list_jobs(NOW)
    assert "401" in str(info.value)
    assert KEY not in str(info.value)


@respx.mock
def test_reconcile_settles_links_the_provable_match_and_reports_orphans(ledger: Ledger) -> None:
    # 0: submitted, succeeded on Ark -> settled at its usage tokens.
    ledger.reserve(ti(0), spec(), BUDGETS)
    ledger.mark_sending(ti(0))
    ledger.mark_submitted(ti(0), "cgt-done")
    # 1: ambiguous submit (seed 8) -> exactly one unclaimed job matches -> linked.
    ledger.reserve(ti(1), spec(seed=8), BUDGETS)
    ledger.mark_sending(ti(1))
    ledger.mark_unknown(ti(1), "read timeout after sending")
    # 2: ambiguous submit (seed 9) with two matching jobs -> not provable, reported.
    ledger.reserve(ti(2), spec(seed=9), BUDGETS)
    ledger.mark_sending(ti(2))
    ledger.mark_unknown(ti(2), "dropped connection")
    # 3: submitted, failed on Ark -> released (Ark bills only successful videos).
    ledger.reserve(ti(3), spec(), BUDGETS)
    ledger.mark_sending(ti(3))
    ledger.mark_submitted(ti(3), "cgt-failed")
    items = [
        task("cgt-done", created=NOW),
        task("cgt-linked", created=NOW + timedelta(seconds=5), seed=8),
        task("cgt-twin-a", created=NOW + timedelta(seconds=5), seed=9),
        task("cgt-twin-b", created=NOW + timedelta(seconds=6), seed=9),
        task("cgt-failed", created=NOW, status="failed"),
        task("cgt-stranger", created=NOW - timedelta(hours=2), seed=1234),
    ]
    respx.get(f"{BASE}/api/v3/contents/generations/tasks").mock(
        return_value=httpx.Response(200, json={"total": len(items), "items": items})
    )
    report = reconcile(ledger, ArkTaskLister(BASE, KEY), platform="byteplus", account="seedance_ark")

    done = ledger.latest(ti(0))
    assert done is not None
    assert done.state == SUCCEEDED
    assert done.usage_tokens == 87300
    assert done.cost_usd == pytest.approx(87300 / 1e6 * 46 / 7, abs=1e-6)
    assert done.cost_basis is not None
    assert "87300 tokens" in done.cost_basis
    linked = ledger.latest(ti(1))
    assert linked is not None
    assert linked.request_id == "cgt-linked"
    assert linked.state == SUCCEEDED
    twin = ledger.latest(ti(2))
    assert twin is not None
    assert twin.state == UNKNOWN
    assert twin.request_id is None
    failed = ledger.latest(ti(3))
    assert failed is not None
    assert failed.state == FAILED
    assert failed.cost_micros == 0
    assert [u["entry_id"] for u in report.unknown] == [twin.id]
    assert sorted(c["request_id"] for c in report.unknown[0]["candidates"]) == ["cgt-twin-a", "cgt-twin-b"]
    assert sorted(o["request_id"] for o in report.orphans) == ["cgt-stranger", "cgt-twin-a", "cgt-twin-b"]
    assert [link["job"]["request_id"] for link in report.linked] == ["cgt-linked"]


def test_matching_needs_the_submit_window_and_the_fixed_parameters(ledger: Ledger) -> None:
    ledger.reserve(ti(0), spec(seed=8), BUDGETS)
    entry = ledger.mark_sending(ti(0))
    good = parse_ark_task(task("a", created=NOW + timedelta(seconds=3), seed=8))
    assert matches(entry, good)
    assert not matches(entry, parse_ark_task(task("b", created=NOW + timedelta(hours=1), seed=8)))
    assert not matches(entry, parse_ark_task(task("c", created=NOW, seed=9)))


def test_platforms_that_cannot_list_report_their_unknown_entries(ledger: Ledger) -> None:
    fal = JobSpec(platform="fal", account="seedance_fal", estimate_usd=1, estimate_basis="b")
    ledger.reserve(ti(0), fal, BUDGETS)
    ledger.mark_sending(ti(0))
    ledger.mark_unknown(ti(0), "timeout")
    report = reconcile(ledger, None, platform="fal", account="seedance_fal")
    assert not report.can_list
    assert "no request listing" in (report.note or "")
    assert [u["entry_id"] for u in report.unknown] == [1]


def test_reconcile_against_the_emulator_links_an_ambiguous_submit(seedance_emulator, tmp_path: Path) -> None:
    conn = seedance_emulator.connection_dict("byteplus")
    body = {
        "model": "dreamina-seedance-2-0-260128",
        "content": [{"type": "text", "text": "a red kite over dunes"}],
        "ratio": "16:9", "resolution": "720p", "duration": 5, "generate_audio": True, "seed": 4242,
        "watermark": False,
    }  # fmt: skip
    real_now = datetime.now(timezone.utc)
    ledger = Ledger(f"sqlite:///{tmp_path / 'e.db'}")
    ledger.reserve(ti(0), spec(seed=4242), BUDGETS)
    ledger.mark_sending(ti(0))
    response = httpx.post(
        f"{conn['host']}/api/v3/contents/generations/tasks",
        json=body,
        headers={"Authorization": f"Bearer {conn['password']}"},
    )
    assert response.status_code == 200
    ledger.mark_unknown(ti(0), "the answer was lost")  # as if the response never arrived
    seedance_emulator.advance(3600)
    report = reconcile(
        ledger, ArkTaskLister(conn["host"], conn["password"]), platform="byteplus", account="seedance_ark"
    )
    entry = ledger.latest(ti(0))
    assert entry is not None
    assert entry.request_id == response.json()["id"]
    assert entry.state == SUCCEEDED
    assert entry.usage_tokens == 50_000
    assert report.orphans == []
    assert report.unknown == []
    assert real_now <= entry.reserved_at
