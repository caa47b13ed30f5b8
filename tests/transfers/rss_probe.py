"""Run one SeedanceToGCSOperator transfer in a fresh process and report its peak memory growth.

Usage (environment as for a worker: AIRFLOW_CONN_SEEDANCE_DEFAULT, STORAGE_EMULATOR_HOST)::

    python -m tests.transfers.rss_probe '<video dict as JSON>' BUCKET OBJECT [CHUNK_SIZE]

Prints one JSON line: ``baseline_kb`` (RSS right before the transfer, after imports and a warm-up
GCS call), ``peak_kb`` (the highest RSS reached during the transfer), ``growth_kb``, ``seconds``,
``uri`` and ``method``. On Linux the kernel's high-water mark is reset just before the transfer
(``/proc/self/clear_refs``), so the peak is the transfer's own; elsewhere ``ru_maxrss`` is used,
which can only over-state the baseline. The /proc readings are the benchmarks' own
(``benchmarks.common``).
"""

from __future__ import annotations

import json
import resource
import sys
import time

from benchmarks.common import reset_peak_rss, status_kb


def main(argv: list[str]) -> None:
    video, bucket, object_name = json.loads(argv[0]), argv[1], argv[2]
    chunk_size = int(argv[3]) if len(argv) > 3 else 8 * 1024 * 1024

    from airflow_provider_seedance.transfers.seedance_to_gcs import SeedanceToGCSOperator

    op = SeedanceToGCSOperator(
        task_id="archive", video=video, bucket_name=bucket, object_name=object_name, chunk_size=chunk_size
    )
    # Warm up everything that is paid once per process (imports, HTTP pools, the connection).
    op.get_storage_client().bucket(bucket).get_blob("warm-up")
    _ = op.hook.platform
    import google_crc32c  # noqa: F401
    from google.cloud.storage import fileio  # noqa: F401

    if reset_peak_rss() and (baseline := status_kb("VmRSS")) is not None:
        method = "VmHWM after clear_refs"
    else:
        baseline, method = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "ru_maxrss"
    started = time.monotonic()
    uri = op.execute({"ti": None})  # type: ignore[arg-type]
    seconds = time.monotonic() - started
    peak = status_kb("VmHWM") if method != "ru_maxrss" else None
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = {
        "baseline_kb": baseline,
        "peak_kb": peak,
        "growth_kb": peak - baseline,
        "seconds": round(seconds, 2),
        "uri": uri,
        "method": method,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
