"""The ledger wired into the operator (as the integration steps say), against the emulator over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_provider_seedance.emulator.testing import EmulatorHandle
from airflow_provider_seedance.ledger.airflow import get_ledger
from airflow_provider_seedance.ledger.store import RELEASED, SUCCEEDED, UNKNOWN
from airflow_provider_seedance.operators.seedance import SeedanceReferenceToVideoOperator
from tests.support.tasks import FakeTaskStateStore

INPUTS: dict[str, Any] = {
    "prompt": "A corgi surfs at golden hour",
    "duration": 5,
    "aspect_ratio": "16:9",
    "seed": 7,
}
ESTIMATE_5S_720P = 1.512  # standard tier, 5 s of 720p


class TI:
    """The task instance fields the ledger keys on, plus XCom pushes."""

    def __init__(self, map_index: int = -1, try_number: int = 1) -> None:
        self.dag_id, self.run_id, self.task_id = "grid", "manual__2026-12-01", "render"
        self.map_index, self.try_number = map_index, try_number
        self.pushed: list[tuple[str, Any]] = []

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed.append((key, value))


def ctx(store: FakeTaskStateStore, map_index: int = -1, try_number: int = 1) -> dict[str, Any]:
    return {"ti": TI(map_index, try_number), "task_state_store": store}


@pytest.fixture
def fal(
    seedance_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, ledger_conn: str
) -> EmulatorHandle:
    """The emulator as ``seedance_default`` (fal), a $5 daily cap in its extra, the ledger named there."""
    seedance_emulator.configure(queue_seconds=0.1, run_seconds=0.2)
    conn = seedance_emulator.connection_dict("fal")
    conn["extra"] = {
        "platform": "fal",
        "ledger_conn_id": ledger_conn,
        "budgets": {"fal-daily": {"limit_usd": 5}},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DEFAULT", json.dumps(conn))
    return seedance_emulator


def op(**overrides: Any) -> SeedanceReferenceToVideoOperator:
    return SeedanceReferenceToVideoOperator(
        **{"task_id": "render", "poll_interval": 0.1, "deferrable": False, **INPUTS, **overrides}
    )


def test_a_mapped_grid_stops_at_the_cap_exactly(fal: EmulatorHandle, ledger_conn: str) -> None:
    outcomes = []
    for i in range(5):  # $5 holds three $1.512 jobs
        try:
            outcomes.append(op(seed=i).execute(ctx(FakeTaskStateStore(), map_index=i))["status"])
        except AirflowFailException as exc:
            outcomes.append(str(exc))
    assert outcomes[:3] == ["succeeded"] * 3
    assert (
        outcomes[3:]
        == ['budget "fal-daily" has $0.46 left, this job needs up to $1.51; nothing was submitted.'] * 2
    )
    assert len(fal.requests("fal.submit")) == 3
    entries = get_ledger(ledger_conn).entries()
    assert [e.state for e in entries] == [SUCCEEDED] * 3
    assert all(e.cost_basis and e.cost_basis.startswith("estimate") for e in entries)


def test_a_retry_that_reconnects_neither_reserves_nor_records_twice(
    fal: EmulatorHandle, ledger_conn: str
) -> None:
    store = FakeTaskStateStore()
    first = op().execute(ctx(store))
    again = op().execute(ctx(store, try_number=2))
    assert again["request_id"] == first["request_id"]
    entries = get_ledger(ledger_conn).entries()
    assert len(entries) == 1
    assert entries[0].cost_micros == round(ESTIMATE_5S_720P * 1e6)
    assert len(fal.requests("fal.submit")) == 1


def test_an_ambiguous_submit_stays_held_as_unknown(
    fal: EmulatorHandle, ledger_conn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = json.loads(__import__("os").environ["AIRFLOW_CONN_SEEDANCE_DEFAULT"])
    conn["extra"]["timeout"] = 1
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DEFAULT", json.dumps(conn))
    fal.add_fault("fal.submit", "delay", delay=3)
    with pytest.raises(AirflowFailException, match="check the platform"):
        op().execute(ctx(FakeTaskStateStore()))
    (entry,) = get_ledger(ledger_conn).entries()
    assert entry.state == UNKNOWN
    assert entry.sending_at is not None


def test_a_rejected_submit_releases_its_reservation(fal: EmulatorHandle, ledger_conn: str) -> None:
    fal.add_fault(
        "fal.submit",
        "status",
        status=422,
        body={"detail": [{"loc": ["body", "prompt"], "msg": "bad", "type": "x"}]},
    )
    with pytest.raises(AirflowFailException):
        op().execute(ctx(FakeTaskStateStore()))
    (entry,) = get_ledger(ledger_conn).entries()
    assert entry.state == RELEASED
    window = get_ledger(ledger_conn).windows("fal-daily")[0]
    assert window.reserved_micros == 0


def test_wait_for_budget_defers_to_the_next_window(fal: EmulatorHandle) -> None:
    for i in range(3):
        op(seed=i).execute(ctx(FakeTaskStateStore(), map_index=i))
    with pytest.raises(TaskDeferred) as info:
        op(wait_for_budget=True).execute(ctx(FakeTaskStateStore(), map_index=9))
    assert info.value.method_name == "execute_after_budget_wait"
    moment = info.value.trigger.moment
    assert (moment.hour, moment.minute) == (0, 0)  # midnight UTC, the default time zone
    assert len(fal.requests("fal.submit")) == 3


def test_without_ledger_settings_nothing_changes(
    seedance_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    seedance_emulator.configure(queue_seconds=0.1, run_seconds=0.2)
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DEFAULT", seedance_emulator.connection_json("fal"))
    operator = op()
    assert operator.execute(ctx(FakeTaskStateStore()))["status"] == "succeeded"
    assert operator.ledger_guard is None


def test_ark_success_is_settled_at_its_usage_tokens(
    seedance_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, ledger_conn: str
) -> None:
    seedance_emulator.configure(queue_seconds=0.1, run_seconds=0.2)
    conn = seedance_emulator.connection_dict("byteplus")
    conn["extra"] = {"platform": "byteplus", "ledger_conn_id": ledger_conn}
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DEFAULT", json.dumps(conn))
    op(campaign="spring").execute(ctx(FakeTaskStateStore()))
    (entry,) = get_ledger(ledger_conn).entries()
    assert entry.state == SUCCEEDED
    assert entry.usage_tokens == 50_000  # the emulator bills 10k tokens per second
    assert entry.cost_usd == pytest.approx(50_000 / 1e6 * 46 / 7, abs=1e-6)
    assert entry.campaign == ("spring",)
