"""The ledger's life of a submit, on SQLite and on real PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_seedance.client.errors import SeedanceBudgetExceeded
from airflow_provider_seedance.ledger import schema
from airflow_provider_seedance.ledger.budgets import parse_budgets
from airflow_provider_seedance.ledger.store import (
    FAILED,
    RELEASED,
    RESERVED,
    SUBMITTED,
    SUCCEEDED,
    UNKNOWN,
    JobSpec,
    Ledger,
    LedgerUnavailableError,
    ReservationLostError,
    TaskIdentity,
)

T0 = datetime(2026, 12, 1, 22, 30, tzinfo=timezone.utc)  # 23:30 in Paris
SPEC = JobSpec(
    platform="fal", account="seedance_fal", estimate_usd=4.536, estimate_basis="fast tier, 720p, 15 s"
)
BUDGETS = parse_budgets(
    {
        "fal-daily": {
            "limit_usd": 10,
            "period": "day",
            "timezone": "Europe/Paris",
            "account": "seedance_fal",
        },
        "spring": {"limit_usd": 100, "period": "total", "campaign": "spring"},
    }
)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.value = now

    def __call__(self) -> datetime:
        return self.value


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def ledger(ledger_url: str, clock: Clock) -> Ledger:
    return Ledger(ledger_url, now=clock, reservation_ttl=timedelta(minutes=30))


def ti(n: int = 0) -> TaskIdentity:
    return TaskIdentity("grid", "scheduled__2026-12-01", "render", n)


def test_migrate_is_idempotent_and_records_the_version(ledger: Ledger) -> None:
    assert ledger.migrate() == schema.SCHEMA_VERSION
    assert ledger.migrate() == schema.SCHEMA_VERSION
    with ledger.engine.connect() as conn:
        assert schema.current_version(conn) == schema.SCHEMA_VERSION


def test_refusal_names_the_budget_what_is_left_and_what_is_needed(ledger: Ledger) -> None:
    ledger.reserve(ti(0), SPEC, BUDGETS)
    ledger.reserve(ti(1), SPEC, BUDGETS)
    with pytest.raises(SeedanceBudgetExceeded) as info:
        ledger.reserve(ti(2), SPEC, BUDGETS)
    assert str(info.value) == 'budget "fal-daily" has $0.93 left, this job needs up to $4.54'
    # The next window opens at midnight in Paris.
    assert info.value.next_window_at == datetime(2026, 12, 1, 23, 0, tzinfo=timezone.utc)
    assert ledger.latest(ti(2)) is None  # nothing was written


def test_a_retry_reuses_its_reservation_instead_of_reserving_twice(ledger: Ledger) -> None:
    first = ledger.reserve(ti(), SPEC, BUDGETS, try_number=1)
    again = ledger.reserve(ti(), SPEC, BUDGETS, try_number=2)
    assert again.reused
    assert again.entry.id == first.entry.id
    assert again.entry.try_number == 2
    assert ledger.window(BUDGETS[0], T0).reserved_micros == 4_536_000


def test_success_turns_the_hold_into_spend_once(ledger: Ledger) -> None:
    ledger.reserve(ti(), SPEC, BUDGETS)
    ledger.mark_sending(ti())
    assert ledger.mark_submitted(ti(), "req-1").state == SUBMITTED
    done = ledger.settle(ti(), succeeded=True)
    assert done.state == SUCCEEDED
    assert done.cost_micros == 4_536_000
    assert done.cost_basis is not None
    assert done.cost_basis.startswith("estimate")
    assert ledger.settle(ti(), succeeded=True, cost_usd=1.0).cost_micros == 4_536_000  # idempotent
    window = ledger.window(BUDGETS[0], T0)
    assert (window.reserved_micros, window.spent_micros) == (0, 4_536_000)


def test_release_and_unbilled_failure_return_the_estimate(ledger: Ledger) -> None:
    ledger.reserve(ti(0), SPEC, BUDGETS)
    ledger.reserve(ti(1), SPEC, BUDGETS)
    assert ledger.release(ti(0), "rejected with HTTP 422").state == RELEASED
    ledger.mark_sending(ti(1))
    ledger.mark_submitted(ti(1), "req-2")
    assert ledger.settle(ti(1), succeeded=False, cost_usd=0).state == FAILED
    window = ledger.window(BUDGETS[0], T0)
    assert (window.reserved_micros, window.spent_micros) == (0, 0)


def test_a_new_attempt_after_the_earlier_job_ended_is_a_new_row(ledger: Ledger) -> None:
    ledger.reserve(ti(), SPEC, BUDGETS)
    ledger.mark_sending(ti())
    ledger.mark_submitted(ti(), "req-1")
    second = ledger.reserve(ti(), SPEC, BUDGETS, try_number=2)
    assert not second.reused
    assert second.entry.attempt == 2
    first = ledger.get(second.entry.id - 1)
    assert first.state == FAILED
    assert first.request_id == "req-1"
    assert ledger.window(BUDGETS[0], T0).reserved_micros == 4_536_000


def test_expiry_releases_what_was_never_sent_and_holds_what_may_have_been(
    ledger: Ledger, clock: Clock
) -> None:
    ledger.reserve(ti(0), SPEC, BUDGETS)  # crashed before the POST
    ledger.reserve(ti(1), SPEC, BUDGETS)
    ledger.mark_sending(ti(1))  # crashed during the POST
    clock.value = T0 + timedelta(minutes=31)
    changed = {e.map_index: e.state for e in ledger.expire()}
    assert changed == {0: RELEASED, 1: UNKNOWN}
    assert ledger.window(BUDGETS[0], T0).reserved_micros == 4_536_000  # the unknown one stays held
    assert ledger.expire() == []
    with pytest.raises(ReservationLostError):
        ledger.mark_sending(ti(0))


def test_budgets_filter_by_account_and_campaign(ledger: Ledger) -> None:
    other = JobSpec(
        platform="fal", account="seedance_other", estimate_usd=4.536, estimate_basis="b", campaign=("spring",)
    )
    reservation = ledger.reserve(ti(), other, BUDGETS)
    assert reservation.budgets == ("spring",)
    assert ledger.window(BUDGETS[0], T0).reserved_micros == 0


def test_a_new_day_in_the_budgets_time_zone_is_a_new_window(ledger: Ledger, clock: Clock) -> None:
    ledger.reserve(ti(0), SPEC, BUDGETS)
    ledger.reserve(ti(1), SPEC, BUDGETS)
    clock.value = datetime(2026, 12, 1, 23, 0, 1, tzinfo=timezone.utc)  # 00:00:01 in Paris
    assert ledger.reserve(ti(2), SPEC, BUDGETS).entry.state == RESERVED


def test_an_unreachable_database_is_a_clear_error() -> None:
    ledger = Ledger("postgresql+psycopg2://postgres:s3cret@127.0.0.1:9/none")
    with pytest.raises(LedgerUnavailableError) as info:
        ledger.reserve(ti(), SPEC, BUDGETS)
    assert "unreachable" in str(info.value)
    assert "s3cret" not in str(info.value)


def test_the_cli_creates_the_database_and_migrates_it(
    postgres_available: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    import uuid

    from airflow_provider_seedance.ledger.__main__ import main
    from tests.ledger.conftest import PG_URL_BASE, _pg_admin

    name = f"seedance_ledger_cli_{uuid.uuid4().hex[:8]}"
    url = f"{PG_URL_BASE}/{name}"
    try:
        assert main(["migrate", "--url", url, "--create-database", "--schema", "spend"]) == 0
        assert main(["migrate", "--url", url, "--create-database", "--schema", "spend"]) == 0  # idempotent
        out = capsys.readouterr().out
        assert out.count("created database") == 1
        assert f"schema version {schema.SCHEMA_VERSION}" in out
        ledger = Ledger(url, schema="spend")
        ledger.reserve(ti(), SPEC, BUDGETS)
        with ledger.engine.connect() as conn:
            tables = (
                conn.exec_driver_sql(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'spend' ORDER BY 1"
                )
                .scalars()
                .all()
            )
        assert tables == [
            "seedance_budget_windows",
            "seedance_ledger_entries",
            "seedance_ledger_holds",
            "seedance_ledger_schema",
        ]
        ledger.dispose()
    finally:
        admin = _pg_admin()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
