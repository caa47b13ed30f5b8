"""The budget cap on a distributed Airflow: CeleryExecutor with 2 workers x 4 slots, PostgreSQL for
Airflow and for the ledger. Ten mapped renders race for a daily cap that holds exactly four."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.stack import Stack
from tests.e2e.test_distributed import (
    _MISSING,
    PG_HOST,
    PG_PORT,
    PG_USER,
    REDIS_PORT,
    _admin_connection,
    _free_redis_db,
    celery_on,
)
from tests.support.grid_dag import kite_grid_dag

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
if _MISSING:
    pytestmark.append(pytest.mark.skip(reason=f"distributed e2e needs real services: {_MISSING}"))

REPO_ROOT = Path(__file__).resolve().parents[2]
TAKES = 10
FITS = 4
ESTIMATE = 1.2096  # fast tier, 5 s of 720p

DAG = kite_grid_dag(
    "capped_grid_distributed",
    list(range(TAKES)),
    poll_interval=1,
    ledger_conn_id="seedance_ledger",
    budgets={"fal-daily": {"limit_usd": ESTIMATE * FITS + 0.5, "period": "day"}},
    campaign="kites",
    pool="seedance",
)


@pytest.fixture(scope="module")
def databases() -> Iterator[tuple[str, str]]:
    admin = _admin_connection()
    names = (f"seedance_e2e_{uuid.uuid4().hex[:10]}", f"seedance_ledger_{uuid.uuid4().hex[:10]}")
    with admin.cursor() as cur:
        for name in names:
            cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield names
    finally:
        with admin.cursor() as cur:
            for name in names:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_ten_racing_renders_stop_at_a_cap_of_four_on_celery(
    tmp_path: Path, databases: tuple[str, str]
) -> None:
    import redis

    from airflow_provider_seedance.ledger.store import SUCCEEDED, Ledger

    airflow_db, ledger_db = databases
    ledger_url = f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{ledger_db}"
    dag_file = tmp_path / "capped_grid_distributed.py"
    dag_file.write_text(DAG)
    empty = tmp_path / "no-dags"
    empty.mkdir()
    redis_db = _free_redis_db()
    stack = Stack(
        tmp_path / "stack",
        dags_folder=empty,
        extra_dag_files=[dag_file],
        **celery_on(airflow_db, redis_db),
        celery_workers=2,
        celery_concurrency=4,
        parallelism=16,
        pools={"seedance": 16},
        queue_seconds=2,
        run_seconds=3,
        extra_env={
            "AIRFLOW_CONN_SEEDANCE_LEDGER": json.dumps(
                {"conn_type": "generic", "extra": {"sqlalchemy_url": ledger_url}}
            ),
            "PYTHONPATH": str(REPO_ROOT),
        },
    )
    try:
        stack.start(timeout=240)
        run_id = stack.trigger("capped_grid_distributed")
        result = stack.wait_for_run("capped_grid_distributed", run_id, timeout=400)
        states = Counter(ti["state"] for ti in result.task_instances)
        submits = stack.emulator.requests("fal.submit_fast") + stack.emulator.requests("fal.submit")
        logs = stack.task_logs_tail("capped_grid_distributed", lines=4000)
    except BaseException:
        print(stack.logs_tail(80))
        raise
    finally:
        stack.stop()
        redis.Redis(host="127.0.0.1", port=REDIS_PORT, db=redis_db).flushdb()

    assert states == {"success": FITS, "failed": TAKES - FITS}, result.task_instances
    assert len(submits) == FITS
    entries = Ledger(ledger_url).entries()
    assert sorted(e.state for e in entries) == [SUCCEEDED] * FITS
    window = Ledger(ledger_url).windows("fal-daily")[0]
    assert window.spent_micros == FITS * round(ESTIMATE * 1e6)
    assert window.reserved_micros == 0
    assert logs.count("this job needs up to $1.21; nothing was submitted.") >= TAKES - FITS
