"""The example DAG ``seedance_spend_report`` through ``airflow dags test``: reconcile against the Ark
emulator, then the report into the GCS emulator."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest
from PIL import Image

from airflow_provider_seedance.emulator.testing import EmulatorHandle
from airflow_provider_seedance.ledger.budgets import parse_budgets
from airflow_provider_seedance.ledger.store import SUCCEEDED, JobSpec, Ledger, TaskIdentity
from tests.support.airflow_cli import airflow_env, dags_test

REPO_ROOT = Path(__file__).resolve().parents[2]
BUDGETS = {"ark-monthly": {"limit_usd": 300, "period": "month", "platform": "byteplus"}}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_spend_report_dag_reconciles_and_writes_the_report(
    seedance_emulator: EmulatorHandle, gcs_emulator, gcs_bucket: str, tmp_path: Path
) -> None:
    seedance_emulator.configure(queue_seconds=0.1, run_seconds=0.2)
    conn = seedance_emulator.connection_dict("byteplus")
    ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = Ledger(ledger_url)
    ident = TaskIdentity("daily", "run1", "render", 0)
    spec = JobSpec(
        platform="byteplus", account="seedance_ark", estimate_usd=1.512, estimate_basis="b",
        duration="5", aspect_ratio="16:9", seed=99, generate_audio=True, campaign=("spring",),
    )  # fmt: skip
    ledger.reserve(ident, spec, parse_budgets(BUDGETS))
    ledger.mark_sending(ident)
    created = httpx.post(
        f"{conn['host']}/api/v3/contents/generations/tasks",
        headers={"Authorization": f"Bearer {conn['password']}"},
        json={
            "model": "dreamina-seedance-2-0-260128",
            "content": [{"type": "text", "text": "kites"}],
            "ratio": "16:9",
            "resolution": "720p",
            "duration": 5,
            "generate_audio": True,
            "seed": 99,
        },
    ).json()["id"]
    ledger.mark_unknown(ident, "the answer was lost")
    seedance_emulator.advance(60)

    env = airflow_env(
        tmp_path / "home",
        REPO_ROOT / "dags",
        AIRFLOW_CONN_SEEDANCE_ARK=json.dumps(conn),
        AIRFLOW_CONN_SEEDANCE_LEDGER=json.dumps(
            {"conn_type": "generic", "extra": {"sqlalchemy_url": ledger_url}}
        ),
        AIRFLOW_VAR_SEEDANCE_BUDGETS=json.dumps(BUDGETS),
        SEEDANCE_LEDGER_ACCOUNTS="seedance_ark",
        SEEDANCE_LEDGER_CONN_ID="seedance_ledger",
        SEEDANCE_BUCKET=gcs_bucket,
    )
    returncode, output = dags_test(env, "seedance_spend_report")
    assert returncode == 0, output[-4000:]

    entry = Ledger(ledger_url).latest(ident)
    assert entry is not None
    assert (entry.state, entry.request_id, entry.usage_tokens) == (SUCCEEDED, created, 50_000)
    bucket = gcs_emulator.client().bucket(gcs_bucket)
    names = sorted(b.name for b in bucket.list_blobs(prefix="seedance-spend/"))
    assert [n.rsplit("/", 1)[1] for n in names] == ["budgets.csv", "spend.csv", "spend.png"]
    spend = next(b for b in bucket.list_blobs(prefix="seedance-spend/") if b.name.endswith("spend.csv"))
    assert "byteplus,spring,daily,1," in spend.download_as_text()
    png = next(b for b in bucket.list_blobs(prefix="seedance-spend/") if b.name.endswith(".png"))
    assert Image.open(io.BytesIO(png.download_as_bytes())).size == (1200, 900)
    assert conn["password"] not in output
