"""Render a grid of takes (prompts x seeds x aspect ratios) to pick the best one; backfill-friendly.

1. ``plan_grid`` expands the grid from ``params``, validates every request, logs each take's and
   the grid's total estimated cost, and **fails without submitting anything** when the total is
   above ``max_total_cost_usd``.
2. ``render`` is one mapped, deferrable Seedance task per take (fast tier by default). The
   ``seedance`` pool caps how many run at once: size it to the account's concurrency.
3. ``archive`` stores every take as ``gs://<bucket>/<prefix>/<ds>/<prompt#>-<ratio>-seed<seed>.mp4``.
4. ``write_manifest`` writes ``gs://<bucket>/<prefix>/<ds>/manifest.json``: one entry per take
   (prompt, seed, aspect ratio, gs:// URI, estimated cost, request id) for the team to choose.
5. ``wants_review`` (param ``review``, default true) skips steps 6-8 for runs nobody reviews
   (e.g. a long backfill: review the dates you care about by clearing their ``wants_review``).
6. ``contact_sheet`` writes a poster per take and paged contact sheets beside the manifest
   (see the DAG run's "Takes" tab in the Airflow UI).
7. ``review`` asks a person (Airflow's "Required actions") to choose one take. Nobody answered
   within ``SEEDANCE_REVIEW_TIMEOUT_HOURS`` (default 72) -> the task fails, or is skipped with
   ``SEEDANCE_REVIEW_ON_TIMEOUT=skip``; nothing is chosen for the reviewer.
8. ``publish`` copies the chosen take to ``gs://<bucket>/published/<prefix>/<ds>/...`` exactly
   once, with the choice in its metadata, and updates the Asset
   ``gs://<bucket>/published/<prefix>/`` (schedule downstream DAGs on ``PUBLISHED_ASSET``).

Object names include ``{{ ds }}``, so backfilling a date range gives one set of takes per date::

    airflow backfill create --dag-id seedance_seed_grid_backfill \\
        --from-date 2026-03-01 --to-date 2026-03-03 --dag-run-conf '{"seeds": [7, 8]}'

Note: with ``catchup=False``, once a backfill has created runs Airflow also schedules the DAG's
latest interval (today's run, with the default ``params``, within the budget guard).

Deployment settings come from the environment (read at parse time, no I/O):
``SEEDANCE_BUCKET``, ``SEEDANCE_GRID_PREFIX``, ``SEEDANCE_POOL``, ``SEEDANCE_POLL_INTERVAL``,
``SEEDANCE_CONN_ID``, ``SEEDANCE_REVIEW_TIMEOUT_HOURS``, ``SEEDANCE_REVIEW_ON_TIMEOUT``,
``SEEDANCE_REFERENCES`` (the reference images, default ``gs://<bucket>/references``).
"""

from __future__ import annotations

import itertools
import json
import os
from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, CronTriggerTimetable, Param, dag, task

from airflow_provider_seedance.operators.seedance import SeedanceReferenceToVideoOperator
from airflow_provider_seedance.review.operators import (
    SeedanceContactSheetOperator,
    SeedancePublishTakeOperator,
    SeedanceTakeReviewOperator,
)
from airflow_provider_seedance.transfers.seedance_to_gcs import SeedanceToGCSOperator

BUCKET = os.environ.get("SEEDANCE_BUCKET", "seedance-campaigns")
REFERENCES = os.environ.get("SEEDANCE_REFERENCES", f"gs://{BUCKET}/references").rstrip("/")
PREFIX = os.environ.get("SEEDANCE_GRID_PREFIX", "seed-grid").strip("/")
POOL = os.environ.get("SEEDANCE_POOL", "seedance")
POLL_INTERVAL = float(os.environ.get("SEEDANCE_POLL_INTERVAL", "15"))
CONN_ID = os.environ.get("SEEDANCE_CONN_ID", "seedance_default")
REVIEW_TIMEOUT = timedelta(hours=float(os.environ.get("SEEDANCE_REVIEW_TIMEOUT_HOURS", "72")))
REVIEW_ON_TIMEOUT = os.environ.get("SEEDANCE_REVIEW_ON_TIMEOUT", "fail")

#: Every day at midnight UTC. ``run_immediately=timedelta(0)`` and no ``start_date``: unpausing
#: the DAG does not start (and pay for) a run at once; the first one starts at the next midnight.
DAILY = CronTriggerTimetable("@daily", timezone="UTC", run_immediately=timedelta(0))

GRID_ASSET = Asset(f"gs://{BUCKET}/{PREFIX}/")
#: Updated when a reviewer's chosen take is published; its event's ``extra`` names the take.
PUBLISHED_ASSET = Asset(f"gs://{BUCKET}/published/{PREFIX}/")
MANIFEST_NAME = "manifest.json"


def run_date(ds: str | None, dag_run: Any) -> str:
    """``{{ ds }}``, or the run's date for runs triggered without a logical date."""
    if ds:
        return ds
    return str(dag_run.run_after.date().isoformat())


@task
def plan_grid(
    params: dict[str, Any] | None = None, ds: str | None = None, dag_run: Any = None
) -> list[dict[str, Any]]:
    """Expand and price the grid; refuse (fail, nothing submitted) above ``max_total_cost_usd``."""
    from airflow.sdk.exceptions import AirflowFailException

    from airflow_provider_seedance.client.models import ReferenceToVideoRequest
    from airflow_provider_seedance.client.pricing import estimate_cost
    from airflow_provider_seedance.hooks.seedance import SeedanceHook

    assert params is not None
    ds = run_date(ds, dag_run)
    platform = SeedanceHook(seedance_conn_id=CONN_ID).platform
    prefix = str(params["prefix"]).strip("/")
    takes: list[dict[str, Any]] = []
    total = 0.0
    grid = itertools.product(enumerate(params["prompts"], 1), params["seeds"], params["aspect_ratios"])
    for (number, prompt), seed, ratio in grid:
        inputs = {
            "prompt": prompt,
            "image_urls": list(params["image_urls"]),
            "seed": int(seed),
            "aspect_ratio": ratio,
            "resolution": params["resolution"],
            "duration": params["duration"],
            "tier": params["tier"],
        }
        estimate = estimate_cost(ReferenceToVideoRequest(**inputs), platform=platform)
        total += estimate.usd
        name = f"p{number}-{ratio.replace(':', 'x')}-seed{seed}.mp4"
        takes.append(
            {"inputs": inputs, "object_name": f"{prefix}/{ds}/{name}", "estimated_cost_usd": estimate.usd}
        )
        print(f"take {name}: at most ${estimate.usd:.4f}")
    # [START howto_budget_guard_grid]
    limit = float(params["max_total_cost_usd"])
    print(f"grid of {len(takes)} takes on {platform}: estimated at most ${total:.2f} (limit ${limit:.2f})")
    if not takes:
        raise AirflowFailException("The grid is empty: give at least one prompt, seed and aspect ratio")
    if total > limit:
        raise AirflowFailException(
            f"The grid's estimated cost ${total:.2f} is above max_total_cost_usd=${limit:.2f}; "
            "nothing was submitted. Shrink the grid or raise the limit."
        )
    # [END howto_budget_guard_grid]
    return takes


def render_kwargs(take: dict[str, Any]) -> dict[str, Any]:
    """The generation operator's inputs for one take."""
    return dict(take["inputs"])


def archive_kwargs(pair: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    """The transfer's inputs for one finished take."""
    clip, take = pair
    return {"video": clip, "object_name": take["object_name"]}


@task(outlets=[GRID_ASSET])
def write_manifest(
    takes: list[dict[str, Any]],
    clips: list[dict[str, Any]],
    uris: list[str],
    params: dict[str, Any] | None = None,
    ds: str | None = None,
    dag_run: Any = None,
) -> str:
    """Write the manifest JSON next to the takes; return its gs:// URI."""
    from airflow_provider_seedance.hooks.gcs import make_storage_client

    assert params is not None
    ds = run_date(ds, dag_run)
    entries = []
    for take, clip, uri in zip(takes, clips, uris, strict=True):
        inputs = take["inputs"]
        entries.append(
            {
                "prompt": inputs["prompt"],
                "seed": clip.get("seed", inputs["seed"]),
                "requested_seed": inputs["seed"],
                "aspect_ratio": inputs["aspect_ratio"],
                "uri": uri,
                "estimated_cost_usd": clip.get("estimated_cost_usd", take["estimated_cost_usd"]),
                "tier": clip.get("tier"),
                "platform": clip.get("platform"),
                "request_id": clip.get("request_id"),
            }
        )
    manifest = {
        "ds": ds,
        "takes": entries,
        "estimated_total_cost_usd": round(sum(e["estimated_cost_usd"] or 0 for e in entries), 4),
    }
    bucket = str(params["bucket"])
    name = f"{str(params['prefix']).strip('/')}/{ds}/{MANIFEST_NAME}"
    blob = make_storage_client().bucket(bucket).blob(name)
    blob.upload_from_string(json.dumps(manifest, indent=2), content_type="application/json")
    uri = f"gs://{bucket}/{name}"
    print(f"Wrote {uri} ({len(entries)} takes)")
    return uri


@task.short_circuit
def wants_review(params: dict[str, Any] | None = None) -> bool:
    """Go on to the contact sheet and the reviewer's choice unless ``params.review`` is false."""
    assert params is not None
    return bool(params.get("review", True))


@dag(
    dag_id="seedance_seed_grid_backfill",
    description="Prompts x seeds x aspect ratios with Seedance 2.0 (fast tier): archive, contact sheet, "
    "a reviewer's choice, publish",
    schedule=DAILY,
    catchup=False,
    max_active_runs=2,
    tags=["seedance", "example"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    params={
        "prompts": Param(
            [
                "@Image1 spins slowly on a marble pedestal, soft studio light",
                "@Image1 in a rainy neon street at night, handheld camera",
            ],
            type="array",
            description="Prompts to try; refer to the reference images as @Image1...",
        ),
        "seeds": Param([11, 42], type="array", description="Seeds to try (integers)"),
        "aspect_ratios": Param(["16:9", "9:16"], type="array"),
        "image_urls": Param([f"{REFERENCES}/brand.png"], type="array"),
        "resolution": Param("720p", enum=["480p", "720p"]),
        "duration": Param(5, type="integer", minimum=4, maximum=15),
        "tier": Param("fast", enum=["standard", "fast"]),
        "max_total_cost_usd": Param(
            20.0, type="number", minimum=0, description="Refuse to start when the grid's estimate is above"
        ),
        "bucket": Param(BUCKET, type="string"),
        "prefix": Param(PREFIX, type="string"),
        "review": Param(
            True, type="boolean", description="Contact sheet, a reviewer's choice and publishing"
        ),
    },
    doc_md=__doc__,
)
def seedance_seed_grid_backfill() -> None:
    takes = plan_grid()
    clips = SeedanceReferenceToVideoOperator.partial(
        task_id="render",
        seedance_conn_id=CONN_ID,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        pool=POOL,
    ).expand_kwargs(takes.map(render_kwargs))
    uris = SeedanceToGCSOperator.partial(
        task_id="archive",
        bucket_name="{{ params.bucket }}",
        seedance_conn_id=CONN_ID,
    ).expand_kwargs(clips.output.zip(takes).map(archive_kwargs))
    manifest = write_manifest(takes, clips.output, uris.output)
    sheet = SeedanceContactSheetOperator(task_id="contact_sheet", manifest_uri=manifest)
    manifest >> wants_review() >> sheet
    choice = SeedanceTakeReviewOperator(
        task_id="review",
        review=sheet.output,
        response_timeout=REVIEW_TIMEOUT,
        on_timeout=REVIEW_ON_TIMEOUT,
        retries=0,  # a retry would ask the reviewer again
    )
    SeedancePublishTakeOperator(
        task_id="publish", review=sheet.output, choice=choice.output, outlets=[PUBLISHED_ASSET]
    )


seedance_seed_grid_backfill()
