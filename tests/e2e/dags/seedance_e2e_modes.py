"""E2E-only DAG: one clip per Seedance 2.0 mode, each archived to GCS.

Text-to-video from the prompt alone; image-to-video from a gs:// photo (first and last frame);
reference-to-video from a gs:// image and video and a local file next to the DAG
(``assets/logo.png``, relative to the DAG folder). The test checks one submit per mode, each
job's mode, and each archive.
"""

from __future__ import annotations

import os

from airflow.sdk import dag

from airflow_provider_seedance.operators.seedance import (
    SeedanceImageToVideoOperator,
    SeedanceReferenceToVideoOperator,
    SeedanceTextToVideoOperator,
)
from airflow_provider_seedance.transfers.seedance_to_gcs import SeedanceToGCSOperator

BUCKET = os.environ.get("SEEDANCE_BUCKET", "seedance-campaigns")
REFERENCES = os.environ.get("SEEDANCE_REFERENCES", f"gs://{BUCKET}/references")
POLL = float(os.environ.get("SEEDANCE_POLL_INTERVAL", "1"))
COMMON = {"duration": 5, "deferrable": True, "poll_interval": POLL, "retries": 1}


@dag(dag_id="seedance_e2e_modes", schedule=None, catchup=False, tags=["seedance", "e2e"])
def seedance_e2e_modes() -> None:
    clips = {
        "text": SeedanceTextToVideoOperator(
            task_id="text_to_video", prompt="e2e modes: a paper boat drifts down a rainy street", **COMMON
        ),
        "image": SeedanceImageToVideoOperator(
            task_id="image_to_video",
            prompt="e2e modes: the product turns slowly, seamless loop",
            image_url=f"{REFERENCES}/brand.png",
            end_image_url=f"{REFERENCES}/brand.png",
            **COMMON,
        ),
        "reference": SeedanceReferenceToVideoOperator(
            task_id="reference_to_video",
            prompt="e2e modes: @Image1 moves like @Video1, the logo from @Image2 at the end",
            image_urls=[f"{REFERENCES}/brand.png", "assets/logo.png"],
            video_urls=[f"{REFERENCES}/motion.mp4"],
            **COMMON,
        ),
    }
    for name, clip in clips.items():
        SeedanceToGCSOperator(
            task_id=f"archive_{name}",
            video=clip.output,
            bucket_name=BUCKET,
            object_name=f"e2e/modes/{{{{ run_id }}}}/{name}.mp4",
        )


seedance_e2e_modes()
