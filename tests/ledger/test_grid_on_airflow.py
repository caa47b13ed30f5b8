"""A mapped seed grid with a daily cap through ``airflow dags test``: real task runner, real trigger,
the ledger on real PostgreSQL. It stops at the cap exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_seedance.emulator.testing import EmulatorHandle
from airflow_provider_seedance.ledger.store import SUCCEEDED, Ledger
from tests.support.airflow_cli import airflow_env, dags_test
from tests.support.grid_dag import kite_grid_dag

REPO_ROOT = Path(__file__).resolve().parents[2]

DAG = kite_grid_dag("capped_grid", [1, 2, 3, 4, 5], poll_interval=0.2, campaign="kites")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_seed_grid_with_a_daily_cap_stops_at_the_cap_on_real_airflow(
    seedance_emulator: EmulatorHandle, pg_url: str, tmp_path: Path
) -> None:
    seedance_emulator.configure(queue_seconds=0.2, run_seconds=0.3)
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "capped_grid.py").write_text(DAG)
    # fast tier, 5 s of 720p: $1.2096 each; $4 holds three.
    conn = seedance_emulator.connection_dict("fal")
    conn["extra"] = {
        "platform": "fal",
        "ledger_conn_id": "seedance_ledger",
        "budgets": {"fal-daily": {"limit_usd": 4, "period": "day", "timezone": "Europe/Paris"}},
    }
    env = airflow_env(
        tmp_path / "home",
        dags,
        AIRFLOW_CONN_SEEDANCE_DEFAULT=json.dumps(conn),
        AIRFLOW_CONN_SEEDANCE_LEDGER=json.dumps(
            {"conn_type": "generic", "extra": {"sqlalchemy_url": pg_url}}
        ),
        PYTHONPATH=str(REPO_ROOT),
    )

    _, output = dags_test(env, "capped_grid", timeout=400, cwd=REPO_ROOT)

    assert len(seedance_emulator.requests("fal.submit")) == 3, output[-4000:]
    assert output.count('budget "fal-daily" has $0.37 left, this job needs up to $1.21') >= 2, output[-4000:]
    entries = Ledger(pg_url).entries()
    assert sorted(e.state for e in entries) == [SUCCEEDED] * 3
    assert {e.map_index for e in entries} <= {0, 1, 2, 3, 4}
    assert all(e.campaign == ("kites",) for e in entries)
    assert seedance_emulator.api_key not in output
