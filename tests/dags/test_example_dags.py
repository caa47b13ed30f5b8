"""The example DAGs import cleanly, cheaply, and have the structure the docs promise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGS = REPO_ROOT / "dags"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_dags_import_without_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {
        "seedance_marketing_daily",
        "seedance_seed_grid_backfill",
        "seedance_spend_report",
    }


def test_parsing_imports_neither_gcs_nor_the_emulator_nor_opens_sockets(tmp_path: Path) -> None:
    """What the dag-processor pays for: no google-cloud-storage, no emulator, no network."""
    code = f"""
import socket, sys, json
def no_network(*a, **k):
    raise AssertionError("network at parse time")
socket.socket.connect = no_network
socket.create_connection = no_network
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={str(DAGS)!r})
heavy = [m for m in ("google.cloud.storage", "airflow_provider_seedance.emulator.app", "uvicorn",
                     "matplotlib", "airflow_provider_seedance.ledger.store")
         if m in sys.modules]
print(json.dumps({{"errors": {{k: str(v) for k, v in bag.import_errors.items()}}, "heavy": heavy,
                  "dags": sorted(bag.dag_ids)}}))
"""
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {
        "errors": {},
        "heavy": [],
        "dags": ["seedance_marketing_daily", "seedance_seed_grid_backfill", "seedance_spend_report"],
    }


def test_marketing_daily_structure(dagbag) -> None:
    dag = dagbag.dags["seedance_marketing_daily"]
    assert dag.timetable.expression == "0 0 * * *"
    assert dag.catchup is False
    assert set(dag.task_ids) == {"plan_channels", "render", "archive", "product_loop", "archive_loop"}
    render, archive = dag.get_task("render"), dag.get_task("archive")
    assert render.partial_kwargs["pool"] == "seedance"
    assert render.partial_kwargs["deferrable"] is True
    assert render.operator_name == "SeedanceReferenceToVideoOperator"
    assert archive.operator_name == "SeedanceToGCSOperator"
    assert [a.uri for a in archive.partial_kwargs["outlets"]] == [
        "gs://seedance-campaigns/campaigns/marketing-daily"
    ]
    assert render.upstream_task_ids == {"plan_channels"}
    assert archive.upstream_task_ids == {"render", "plan_channels"}
    params = dag.params.dump()
    assert [c["aspect_ratio"] for c in params["channels"]] == ["16:9", "9:16", "1:1"]
    assert "@Image1" in params["prompt"]
    assert params["bucket"] == "seedance-campaigns"
    # A private GCS object and a file next to the DAG, both resolved before the submit.
    assert params["image_urls"] == ["gs://seedance-campaigns/references/brand.png", "assets/logo.png"]
    assert (DAGS / "assets" / "logo.png").is_file()
    loop = dag.get_task("product_loop")
    assert loop.operator_name == "SeedanceImageToVideoOperator"
    assert (loop.image_url, loop.end_image_url, loop.duration) == (
        "{{ params.product_photo }}",
        "{{ params.product_photo }}",
        5,
    )
    assert params["product_photo"] == "gs://seedance-campaigns/references/brand.png"
    assert dag.get_task("archive_loop").upstream_task_ids == {"product_loop"}


def test_seed_grid_structure(dagbag) -> None:
    dag = dagbag.dags["seedance_seed_grid_backfill"]
    assert set(dag.task_ids) == {
        "plan_grid",
        "render",
        "archive",
        "write_manifest",
        "wants_review",
        "contact_sheet",
        "review",
        "publish",
    }
    assert dag.get_task("contact_sheet").upstream_task_ids == {"write_manifest", "wants_review"}
    assert dag.get_task("review").upstream_task_ids == {"contact_sheet"}
    assert dag.get_task("review").retries == 0
    assert dag.get_task("publish").upstream_task_ids == {"contact_sheet", "review"}
    assert [a.uri for a in dag.get_task("publish").outlets] == ["gs://seedance-campaigns/published/seed-grid"]
    render = dag.get_task("render")
    assert render.partial_kwargs["pool"] == "seedance"
    assert dag.get_task("write_manifest").upstream_task_ids == {"plan_grid", "render", "archive"}
    assert [a.uri for a in dag.get_task("write_manifest").outlets] == ["gs://seedance-campaigns/seed-grid"]
    params = dag.params.dump()
    assert params["tier"] == "fast"
    assert params["max_total_cost_usd"] > 0
    assert {"prompts", "seeds", "aspect_ratios", "bucket", "prefix"} <= set(params)


def test_unpausing_does_not_start_a_paid_run_at_once(dagbag) -> None:
    """No start_date and run_immediately=timedelta(0): the first run waits for the next midnight."""
    for dag in dagbag.dags.values():
        assert dag.start_date is None
        assert dag.timetable.run_immediately.total_seconds() == 0


@pytest.mark.parametrize(
    ("module", "plan"),
    [("seedance_marketing_daily", "plan_channels"), ("seedance_seed_grid_backfill", "plan_grid")],
)
def test_plan_tasks_build_dated_object_names(module: str, plan: str, dagbag, monkeypatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_SEEDANCE_DEFAULT",
        json.dumps({"conn_type": "seedance", "password": "k", "extra": {"platform": "fal"}}),
    )
    dag = dagbag.dags[module]
    fn = dag.get_task(plan).python_callable
    items = fn(params=dag.params.dump(), ds="2026-03-01")
    assert items
    assert all(item["object_name"].split("/")[-2] == "2026-03-01" for item in items)
    assert len({item["object_name"] for item in items}) == len(items)


def test_seed_grid_refuses_to_start_above_budget(dagbag, monkeypatch) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.setenv(
        "AIRFLOW_CONN_SEEDANCE_DEFAULT",
        json.dumps({"conn_type": "seedance", "password": "k", "extra": {"platform": "fal"}}),
    )
    dag = dagbag.dags["seedance_seed_grid_backfill"]
    params = {**dag.params.dump(), "max_total_cost_usd": 0.5}
    with pytest.raises(AirflowFailException, match="above max_total_cost_usd"):
        dag.get_task("plan_grid").python_callable(params=params, ds="2026-03-01")
