"""``transfer``: archive one large emulator video into the strict GCS emulator.

Each run is a fresh worker process (``python -m benchmarks.bench_transfer worker``) that pays its
imports and a warm-up GCS call first, then resets its RSS high-water mark and archives the video:

* ``ours``: ``SeedanceToGCSOperator(video=...).execute()``, which streams the download into a
  resumable upload (constant memory) and verifies size and CRC32C.
* ``baseline``: the ``HttpToGCSOperator`` pattern, ``httpx.get(url).content`` then
  ``blob.upload_from_string(data)``: the whole video in memory.

Reported: peak RSS growth during the transfer (the ratio that matters) and throughput (MB/s).
Both servers run in their own processes, so what they hold never counts against the worker.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

from benchmarks.common import (
    BenchResult,
    Row,
    child_env,
    peak_rss_kb,
    reset_peak_rss,
    run_json,
    status_kb,
    worker_main,
)

MB = 1000 * 1000


# -- worker ------------------------------------------------------------------------------------


def worker(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="benchmarks.bench_transfer worker")
    parser.add_argument("--variant", choices=["ours", "baseline"], required=True)
    parser.add_argument("--video", required=True, help="the generation operator's result, as JSON")
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--object", required=True)
    args = parser.parse_args(argv)
    video: dict[str, Any] = json.loads(args.video)

    from airflow_provider_seedance.hooks.gcs import make_storage_client

    storage_client = make_storage_client(None)
    bucket = storage_client.bucket(args.bucket)
    bucket.get_blob("warm-up")  # pay the GCS client's first-request costs before measuring
    if args.variant == "ours":
        from airflow_provider_seedance.transfers.seedance_to_gcs import SeedanceToGCSOperator

        op = SeedanceToGCSOperator(
            task_id="archive", video=video, bucket_name=args.bucket, object_name=args.object
        )
        _ = op.hook.platform  # read the connection before measuring
        import google_crc32c  # noqa: F401
        from google.cloud.storage import fileio  # noqa: F401

        def transfer() -> None:
            op.execute({"ti": None})  # type: ignore[arg-type]

    else:
        import httpx

        def transfer() -> None:
            data = httpx.get(video["video"]["url"], timeout=600, follow_redirects=True).content
            bucket.blob(args.object).upload_from_string(data, content_type="video/mp4")

    before = status_kb("VmRSS") or 0
    if not reset_peak_rss():
        before = peak_rss_kb()
    started = time.monotonic()
    transfer()
    seconds = time.monotonic() - started
    peak = peak_rss_kb()
    blob = bucket.get_blob(args.object)
    print(
        json.dumps(
            {
                "variant": args.variant,
                "rss_before_mb": round(before / 1024, 1),
                "peak_rss_mb": round(peak / 1024, 1),
                "rss_growth_mb": round((peak - before) / 1024, 1),
                "seconds": round(seconds, 2),
                "stored_bytes": blob.size if blob is not None else None,
            }
        )
    )


# -- orchestrator ------------------------------------------------------------------------------


def _finished_clip(server: Any) -> dict[str, Any]:
    """Generate one clip on the emulator; return what the generation operator returns."""
    from airflow_provider_seedance.client.models import (
        JobOutput,
        JobState,
        OutputStatus,
        ReferenceToVideoRequest,
    )
    from airflow_provider_seedance.client.pricing import estimate_cost
    from airflow_provider_seedance.client.transport import SeedanceClient

    request = ReferenceToVideoRequest(prompt="benchmark clip", duration=5, seed=7)
    with SeedanceClient(api_key=server.api_key, platform="fal", base_url=server.base_url) as client:
        ref = client.submit(request)
        for _ in range(100):
            if client.status(ref).state is JobState.SUCCEEDED:
                break
            time.sleep(0.05)
        result = client.result(ref)
    estimate = estimate_cost(request, platform="fal")
    return JobOutput.from_job(
        ref, result, status=OutputStatus.SUCCEEDED, request=request, estimated_cost_usd=estimate.usd
    ).to_xcom()


def run(*, quick: bool, size_mb: int | None = None, repeats: int | None = None) -> BenchResult:
    from airflow_provider_seedance.emulator.gcs import start_emulator, stop_emulator
    from airflow_provider_seedance.emulator.testing import EmulatorServer

    size_mb = size_mb or (100 if quick else 500)
    repeats = repeats or (1 if quick else 2)
    size = size_mb * MB
    result = BenchResult(
        name="transfer",
        description="archive an emulator video to GCS: streaming SeedanceToGCSOperator vs "
        "httpx.get().content + upload_from_string",
        params={"video_mb": size_mb, "repeats": repeats},
    )
    started = time.monotonic()
    runs: dict[str, list[dict[str, Any]]] = {"ours": [], "baseline": []}
    gcs = start_emulator()
    try:
        with EmulatorServer(queue_seconds=0, run_seconds=0, video_size_bytes=size) as server:
            clip = _finished_clip(server)
            assert clip["video"]["file_size"] == size, clip["video"]
            bucket = gcs.create_bucket()
            gcs_client = gcs.client()
            env = child_env(
                AIRFLOW_CONN_SEEDANCE_DEFAULT=server.handle.connection_json("fal"),
                STORAGE_EMULATOR_HOST=gcs.url,
                GOOGLE_CLOUD_PROJECT=gcs.project,
            )
            for i in range(repeats):
                for variant in ("ours", "baseline"):  # interleaved
                    name = f"bench/{variant}-{i}.mp4"
                    print(f"   transfer: {variant} {size_mb} MB ...", file=sys.stderr, flush=True)
                    report = run_json(
                        [
                            "-m",
                            "benchmarks.bench_transfer",
                            "worker",
                            "--variant",
                            variant,
                            "--video",
                            json.dumps(clip),
                            "--bucket",
                            bucket,
                            "--object",
                            name,
                        ],
                        env=env,
                        timeout=900,
                    )
                    if report["stored_bytes"] != size:
                        raise RuntimeError(f"{variant} stored {report['stored_bytes']} bytes, not {size}")
                    report["throughput_mb_s"] = round(size_mb / report["seconds"], 1)
                    print(f"   -> {json.dumps(report)}", file=sys.stderr, flush=True)
                    runs[variant].append(report)
                    gcs_client.bucket(bucket).blob(name).delete()  # free the emulator's memory
    finally:
        assert gcs.process is not None
        stop_emulator(gcs.process)

    def median(variant: str, key: str) -> float:
        return float(statistics.median(r[key] for r in runs[variant]))

    case = f"{size_mb} MB video"
    for key, label, unit, better in [
        ("rss_growth_mb", "peak RSS growth", "MB", "lower"),
        ("peak_rss_mb", "peak RSS", "MB", "lower"),
        ("throughput_mb_s", "throughput", "MB/s", "higher"),
        ("seconds", "transfer time", "s", "lower"),
    ]:
        result.rows.append(
            Row(
                case,
                label,
                unit,
                median("ours", key),
                median("baseline", key),
                better,
                "get+upload_from_string",
            )
        )
    result.raw = runs
    result.notes.append(
        "ours also verifies size and CRC32C against GCS and writes with if_generation_match=0 "
        "(extra GCS calls the baseline does not make); both upload to the same in-memory emulator."
    )
    result.seconds = time.monotonic() - started
    return result


if __name__ == "__main__":
    worker_main("bench_transfer", worker)
