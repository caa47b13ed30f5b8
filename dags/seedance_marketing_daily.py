"""Daily campaign clips: one Seedance 2.0 video per channel, archived to GCS under the day's date.

Every day this DAG renders the campaign prompt (which refers to the brand's reference images
as ``@Image1``, ``@Image2``...) once per channel, each in the channel's aspect ratio, and
archives every clip to ``gs://<bucket>/<prefix>/<ds>/<channel>.mp4`` before the platform's
download link expires. The campaign lives in the DAG's ``params`` (edit them in the trigger
form, pass ``conf`` through the REST API, or change the defaults below).

* The renders are deferrable: while the platform works, the triggerer waits and no worker
  slot is held.
* The ``seedance`` pool caps how many jobs run at once (create it with
  ``airflow pools set seedance 4 "Seedance jobs" --include-deferred``; ``--include-deferred``
  makes waiting jobs count, so the cap is the number of jobs on the platform).
* The archive task declares ``Asset("gs://<bucket>/<prefix>/")`` as its outlet, so downstream
  DAGs can be scheduled on fresh clips.
* Next to the channel renders, ``product_loop`` animates the product photo with image-to-video:
  the photo is both the first and the last frame, so the 5 s clip loops cleanly; it is archived
  as ``<prefix>/<ds>/product-loop.mp4``.
* References come from where brand assets live: the product photo from a private GCS bucket
  (``gs://``, signed for the platform for a few hours, never made public) and the logo from a
  file next to this DAG (``assets/logo.png``, relative to the DAG folder). Every reference is
  checked against the documented limits before anything is paid for.

Deployment settings come from the environment (read at parse time, no I/O):
``SEEDANCE_BUCKET`` (default ``seedance-campaigns``), ``SEEDANCE_MARKETING_PREFIX``,
``SEEDANCE_POOL``, ``SEEDANCE_POLL_INTERVAL`` (seconds between status checks, default 15),
``SEEDANCE_CONN_ID`` and ``SEEDANCE_REFERENCES`` (where the brand's reference media live,
default ``gs://<bucket>/references``; ``scripts/stack.py`` uploads ``tests/data/references/``
there in the GCS emulator).
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, CronTriggerTimetable, Param, dag, task

from airflow_provider_seedance.operators.seedance import (
    SeedanceImageToVideoOperator,
    SeedanceReferenceToVideoOperator,
)
from airflow_provider_seedance.transfers.seedance_to_gcs import SeedanceToGCSOperator

BUCKET = os.environ.get("SEEDANCE_BUCKET", "seedance-campaigns")
PREFIX = os.environ.get("SEEDANCE_MARKETING_PREFIX", "campaigns/marketing-daily").strip("/")
POOL = os.environ.get("SEEDANCE_POOL", "seedance")
POLL_INTERVAL = float(os.environ.get("SEEDANCE_POLL_INTERVAL", "15"))
CONN_ID = os.environ.get("SEEDANCE_CONN_ID", "seedance_default")
REFERENCES = os.environ.get("SEEDANCE_REFERENCES", f"gs://{BUCKET}/references").rstrip("/")
#: The product photo: the reference of the channel renders and both frames of the loop.
PRODUCT_PHOTO = f"{REFERENCES}/brand.png"
#: The loop's archive object: ``<prefix>/<ds>/product-loop.mp4`` (runs without a logical date
#: use their ``run_after`` date, as :func:`run_date` does for the channel clips).
LOOP_OBJECT = (
    "{{ params.prefix.strip('/') }}/{{ ds or dag_run.run_after.date().isoformat() }}/product-loop.mp4"
)

#: Every day at midnight UTC. ``run_immediately=timedelta(0)`` and no ``start_date``: unpausing
#: the DAG does not start (and pay for) a run at once; the first one starts at the next midnight.
DAILY = CronTriggerTimetable("@daily", timezone="UTC", run_immediately=timedelta(0))

#: The archive, as an Asset other DAGs can be scheduled on.
CAMPAIGN_ASSET = Asset(f"gs://{BUCKET}/{PREFIX}/")

DEFAULT_CHANNELS = [
    {"name": "youtube", "aspect_ratio": "16:9"},
    {"name": "tiktok", "aspect_ratio": "9:16"},
    {"name": "instagram", "aspect_ratio": "1:1"},
]


def run_date(ds: str | None, dag_run: Any) -> str:
    """``{{ ds }}``, or the run's date for runs triggered without a logical date."""
    if ds:
        return ds
    return str(dag_run.run_after.date().isoformat())


@task
def plan_channels(
    params: dict[str, Any] | None = None, ds: str | None = None, dag_run: Any = None
) -> list[dict[str, Any]]:
    """Validate the campaign and return, per channel, the render inputs and the archive object."""
    from airflow_provider_seedance.client.models import ReferenceToVideoRequest
    from airflow_provider_seedance.client.pricing import estimate_cost

    assert params is not None
    ds = run_date(ds, dag_run)
    prefix = str(params["prefix"]).strip("/")
    plan = []
    total = 0.0
    for channel in params["channels"]:
        name = str(channel["name"])
        inputs = {
            "prompt": params["prompt"],
            "image_urls": list(params["image_urls"]),
            "aspect_ratio": channel["aspect_ratio"],
            "resolution": params["resolution"],
            "duration": params["duration"],
            "tier": params["tier"],
        }
        # [START howto_estimate_cost]
        cost = estimate_cost(ReferenceToVideoRequest(**inputs)).usd  # raises naming a bad field
        # [END howto_estimate_cost]
        total += cost
        plan.append({"channel": name, "inputs": inputs, "object_name": f"{prefix}/{ds}/{name}.mp4"})
        print(f"{name}: {channel['aspect_ratio']}, estimated at most ${cost:.2f}")
    print(f"{len(plan)} clips, estimated at most ${total:.2f} in total")
    return plan


def render_kwargs(item: dict[str, Any]) -> dict[str, Any]:
    """The generation operator's inputs for one channel."""
    return dict(item["inputs"])


def archive_kwargs(pair: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    """The transfer's inputs for one finished clip: its result and its channel's object name."""
    clip, item = pair
    return {"video": clip, "object_name": item["object_name"]}


@dag(
    dag_id="seedance_marketing_daily",
    description="Daily campaign clips per channel with Seedance 2.0, archived to GCS",
    schedule=DAILY,
    catchup=False,
    max_active_runs=1,
    tags=["seedance", "example"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    params={
        "prompt": Param(
            "@Image1 glides across a sunlit studio table, the camera orbits slowly; "
            "the logo from @Image2 fades in at the end",
            type="string",
            description="Campaign prompt; refer to the reference images as @Image1, @Image2...",
        ),
        "image_urls": Param(
            [PRODUCT_PHOTO, "assets/logo.png"],
            type="array",
            description=(
                "Brand reference images (JPEG/PNG/WebP): https:// URLs, gs://bucket/object or "
                "paths relative to the DAG folder"
            ),
        ),
        "product_photo": Param(PRODUCT_PHOTO, type="string", description="The photo the loop animates"),
        "loop_prompt": Param(
            "The product turns slowly on a sunlit studio table, soft shadows, seamless loop",
            type="string",
            description="Prompt of the 5 s product loop (image-to-video)",
        ),
        "channels": Param(DEFAULT_CHANNELS, type="array", description="One clip per channel"),
        "resolution": Param("720p", enum=["480p", "720p"]),
        "duration": Param(5, type="integer", minimum=4, maximum=15, description="Seconds"),
        "tier": Param("standard", enum=["standard", "fast"]),
        "bucket": Param(BUCKET, type="string", description="GCS bucket of the archive"),
        "prefix": Param(PREFIX, type="string", description="Object prefix; the date is appended"),
    },
    doc_md=__doc__,
)
def seedance_marketing_daily() -> None:
    plan = plan_channels()
    # [START howto_operator_seedance_reference_to_video]
    clips = SeedanceReferenceToVideoOperator.partial(
        task_id="render",
        seedance_conn_id=CONN_ID,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        pool=POOL,
    ).expand_kwargs(plan.map(render_kwargs))
    # [END howto_operator_seedance_reference_to_video]
    # [START howto_transfer_seedance_to_gcs]
    SeedanceToGCSOperator.partial(
        task_id="archive",
        bucket_name="{{ params.bucket }}",
        seedance_conn_id=CONN_ID,
        outlets=[CAMPAIGN_ASSET],
    ).expand_kwargs(clips.output.zip(plan).map(archive_kwargs))
    # [END howto_transfer_seedance_to_gcs]

    # The product photo as a 5 s loop: the same photo as the first and the last frame.
    loop = SeedanceImageToVideoOperator(
        task_id="product_loop",
        prompt="{{ params.loop_prompt }}",
        image_url="{{ params.product_photo }}",
        end_image_url="{{ params.product_photo }}",
        duration=5,
        resolution="{{ params.resolution }}",
        tier="{{ params.tier }}",
        seedance_conn_id=CONN_ID,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        pool=POOL,
    )
    SeedanceToGCSOperator(
        task_id="archive_loop",
        video=loop.output,
        bucket_name="{{ params.bucket }}",
        object_name=LOOP_OBJECT,
        seedance_conn_id=CONN_ID,
        outlets=[CAMPAIGN_ASSET],
    )


seedance_marketing_daily()
