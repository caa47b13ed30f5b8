"""The Airflow layer: connections and Variables read by Airflow, the guard's hook points."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_seedance.client.models import JobRef, ReferenceToVideoRequest, TextToVideoRequest
from airflow_provider_seedance.client.pricing import estimate_cost
from airflow_provider_seedance.ledger.airflow import (
    BudgetWindowWait,
    LedgerGuard,
    get_ledger,
    ledger_url_from_connection,
    read_budgets,
)
from airflow_provider_seedance.ledger.store import RELEASED, RESERVED, SUBMITTED, SUCCEEDED, UNKNOWN

REQUEST = ReferenceToVideoRequest(prompt="a kite", duration=15, tier="fast", resolution="720p")
ESTIMATE = estimate_cost(REQUEST)  # $3.6288


def context(map_index: int = 0, try_number: int = 1) -> dict:
    ti = SimpleNamespace(
        dag_id="grid", run_id="manual__1", task_id="render", map_index=map_index, try_number=try_number
    )
    return {"ti": ti}


@pytest.fixture
def fal_conn(seedance_connection) -> str:
    return seedance_connection(
        conn_id="seedance_fal",
        budgets={"fal-daily": {"limit_usd": 8, "period": "day", "timezone": "Europe/Paris"}},
    )


def test_connection_urls() -> None:
    def conn(**kw: object) -> SimpleNamespace:
        base = {
            "extra_dejson": {"fail_open": True},
            "host": "db.internal",
            "conn_type": "postgres",
            "login": "u",
            "password": "p@ss",
            "port": 5432,
            "schema": "ledger",
            "get_uri": lambda: "mysql://x",
        }
        return SimpleNamespace(**{**base, **kw})

    # A postgres connection: from its fields, the extra's options not in the URL.
    assert ledger_url_from_connection(conn()) == "postgresql+psycopg2://u:p%40ss@db.internal:5432/ledger"
    assert ledger_url_from_connection(conn(host="sqlite:////data/l.db")) == "sqlite:////data/l.db"
    assert ledger_url_from_connection(conn(conn_type="sqlite", host="/data/l.db")) == "sqlite:////data/l.db"
    assert ledger_url_from_connection(conn(extra_dejson={"sqlalchemy_url": "mysql://x"})) == "mysql://x"
    assert ledger_url_from_connection(conn(conn_type="mysql")) == "mysql://x"


def test_budgets_from_the_connection_are_scoped_to_it_and_the_variable_is_global(
    fal_conn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_VAR_SEEDANCE_BUDGETS",
        json.dumps({"spring": {"limit_usd": 50, "period": "total", "campaign": "spring"}}),
    )
    budgets = {b.name: b for b in read_budgets(fal_conn)}
    assert budgets["fal-daily"].account == ("seedance_fal",)
    assert budgets["fal-daily"].timezone == "Europe/Paris"
    assert budgets["spring"].account == ()
    assert budgets["spring"].campaign == ("spring",)


def test_a_bad_budget_fails_naming_the_field(seedance_connection, ledger_conn: str) -> None:
    conn_id = seedance_connection(conn_id="seedance_bad", budgets={"x": {"limit_usd": -1, "period": "week"}})
    guard = LedgerGuard(seedance_conn_id=conn_id, platform="fal", ledger_conn_id=ledger_conn)
    with pytest.raises(AirflowFailException) as info:
        guard.reserve(context(), REQUEST, ESTIMATE)
    assert "connection seedance_bad extra budgets.x.limit_usd" in str(info.value)
    assert "budgets.x.period" in str(info.value)


def test_the_guard_walks_a_submit_through_the_ledger(fal_conn: str, ledger_conn: str) -> None:
    guard = LedgerGuard(
        seedance_conn_id=fal_conn, platform="fal", ledger_conn_id=ledger_conn, campaign="spring, q4"
    )
    ledger = get_ledger(ledger_conn)
    ctx = context()
    entry = guard.reserve(ctx, REQUEST, ESTIMATE)
    assert entry is not None
    assert entry.state == RESERVED
    assert entry.campaign == ("q4", "spring")
    # A retry before the submit reuses the reservation.
    again = guard.reserve(context(try_number=2), REQUEST, ESTIMATE)
    assert again is not None
    assert again.id == entry.id
    guard.before_send(ctx, REQUEST, ESTIMATE)
    ref = JobRef(platform="fal", request_id="req-9", tier="fast")
    guard.submitted(ctx, ref)
    assert ledger.get(entry.id).state == SUBMITTED
    guard.succeeded(ctx, ref)
    done = ledger.get(entry.id)
    assert done.state == SUCCEEDED
    assert done.cost_micros == round(ESTIMATE.usd * 1e6)
    # The second of two $3.63 jobs fits $8; the third does not.
    guard.reserve(context(1), REQUEST, ESTIMATE)
    with pytest.raises(
        AirflowFailException, match=r'budget "fal-daily" has \$0\.74 left, this job needs up to \$3\.63'
    ):
        guard.reserve(context(2), REQUEST, ESTIMATE)


def test_ambiguous_and_rejected_submits(fal_conn: str, ledger_conn: str) -> None:
    guard = LedgerGuard(seedance_conn_id=fal_conn, platform="fal", ledger_conn_id=ledger_conn)
    ledger = get_ledger(ledger_conn)
    guard.reserve(context(0), REQUEST, ESTIMATE)
    guard.before_send(context(0), REQUEST, ESTIMATE)
    guard.ambiguous(context(0), "read timeout after the request was sent")
    guard.reserve(context(1), REQUEST, ESTIMATE)
    guard.before_send(context(1), REQUEST, ESTIMATE)
    guard.not_submitted(context(1), "HTTP 422")
    states = sorted(e.state for e in ledger.entries())
    assert states == [RELEASED, UNKNOWN]


def test_waiting_for_the_next_window_is_offered(fal_conn: str, ledger_conn: str) -> None:
    guard = LedgerGuard(
        seedance_conn_id=fal_conn, platform="fal", ledger_conn_id=ledger_conn, wait_for_budget=True
    )
    guard.reserve(context(0), REQUEST, ESTIMATE)
    guard.reserve(context(1), REQUEST, ESTIMATE)
    with pytest.raises(BudgetWindowWait) as info:
        guard.reserve(context(2), REQUEST, ESTIMATE)
    assert info.value.next_window_at.tzinfo is not None


def test_an_unreachable_ledger_fails_closed_unless_fail_open(
    fal_conn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOWN_LEDGER",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": "127.0.0.1",
                "port": 9,
                "login": "postgres",
                "password": "pw-secret",
                "schema": "x",
            }
        ),
    )
    guard = LedgerGuard(seedance_conn_id=fal_conn, platform="fal", ledger_conn_id="down_ledger")
    with pytest.raises(AirflowException) as info:
        guard.reserve(context(), REQUEST, ESTIMATE)
    assert "unreachable" in str(info.value)
    assert "Nothing was submitted" in str(info.value)
    assert "pw-secret" not in str(info.value)
    open_guard = LedgerGuard(
        seedance_conn_id=fal_conn, platform="fal", ledger_conn_id="down_ledger", fail_open=True
    )
    assert open_guard.reserve(context(), REQUEST, ESTIMATE) is None
    open_guard.before_send(context(), REQUEST, ESTIMATE)  # no-op once disabled


def test_the_airflow_metadata_database_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from airflow.configuration import conf

    meta = conf.get("database", "sql_alchemy_conn")
    monkeypatch.setenv(
        "AIRFLOW_CONN_META_LEDGER", json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": meta}})
    )
    with pytest.raises(Exception, match="metadata database"):
        get_ledger("meta_ledger")


def test_a_standard_postgres_connection_names_the_ledger(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = pg_url.rsplit("/", 1)[1]
    monkeypatch.setenv(
        "AIRFLOW_CONN_PG_LEDGER",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": "127.0.0.1",
                "port": 5432,
                "login": "postgres",
                "schema": database,
                "extra": {"schema": "spend", "reservation_ttl_seconds": 60},
            }
        ),
    )
    ledger = get_ledger("pg_ledger")
    assert ledger.schema == "spend"
    assert ledger.reservation_ttl.total_seconds() == 60
    assert ledger.migrate() == 1
    ledger.dispose()


def test_the_entry_records_the_request_as_submitted(fal_conn: str, ledger_conn: str) -> None:
    """Every creative field of the request reaches its entry, the mode too (not a default)."""
    request = TextToVideoRequest(prompt="a kite", duration=5, resolution="480p", seed=7, aspect_ratio="9:16")
    guard = LedgerGuard(seedance_conn_id=fal_conn, platform="fal", ledger_conn_id=ledger_conn)
    entry = guard.reserve(context(), request, estimate_cost(request))
    assert entry is not None
    assert (entry.mode, entry.tier, entry.resolution, entry.duration) == (
        "text-to-video",
        "standard",
        "480p",
        "5",
    )
    assert (entry.seed, entry.aspect_ratio, entry.has_video_inputs) == (7, "9:16", False)
