"""``preflight``: time and peak memory of preflighting 15 references vs downloading them whole.

15 references (9 images of 5 MB, 3 videos of 15 MB, 3 audio files of 5 MB: 105 MB in all) are
served over HTTP on 127.0.0.1 by a server that honours ``Range``, like a CDN or a signed GCS URL.
OURS is :func:`airflow_provider_seedance.client.preflight.preflight`: ranged reads of container
and image headers, 8 references in parallel. The BASELINE is what a preflight without ranged
reads must do: download every reference whole into memory (``httpx.get(url).content``, one after
the other) and probe the bytes with the same PyAV / Pillow code. Each side runs in its own fresh
worker process (``python -m benchmarks.bench_preflight worker``), so peak RSS is its own.
"""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import BenchResult, Row, child_env, peak_rss_kb, run_json, worker_main

MB = 1_000_000


def _slice(data: bytes, start: int, end: int) -> bytes:
    return data[start:end]


def _make_media(directory: Path, *, quick: bool) -> list[tuple[str, str, Path, str]]:
    """``(field_kind, name, path, content_type)`` of 15 references (sizes by sparse padding)."""
    from tests.support.reference_media import make_audio, make_image, make_video

    image_mb, video_mb, audio_mb = (1, 3, 1) if quick else (5, 15, 5)
    kinds: list[tuple[str, int, str, str, Callable[[Path], Path]]] = [
        ("image", 9, "img{}.png", "image/png", lambda p: make_image(p, 1920, 1080, pad_to=image_mb * MB)),
        ("video", 3, "vid{}.mp4", "video/mp4", lambda p: make_video(p, 4.0, pad_to=video_mb * MB)),
        ("audio", 3, "aud{}.wav", "audio/wav", lambda p: make_audio(p, 4.0, pad_to=audio_mb * MB)),
    ]
    return [
        (kind, name, make(directory / name), content_type)
        for kind, count, pattern, content_type, make in kinds
        for name in (pattern.format(i) for i in range(count))
    ]


def worker(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="benchmarks.bench_preflight worker")
    parser.add_argument("mode", choices=("ours", "baseline"))
    parser.add_argument("inputs", help="JSON: {image_urls, video_urls, audio_urls}")
    args = parser.parse_args(argv)
    inputs = json.loads(args.inputs)

    import httpx

    from airflow_provider_seedance.client import preflight as pf
    from airflow_provider_seedance.client.references import parse_references

    refs = parse_references(inputs)
    rss_before = peak_rss_kb()
    started = time.perf_counter()
    if args.mode == "ours":
        report = pf.preflight(refs, platform="fal")
        seconds_in = report.input_video_seconds
        transferred = report.bytes_read
    else:
        infos = []
        transferred = 0
        with httpx.Client(timeout=60) as http:
            for ref in refs:
                assert ref.url is not None
                data = http.get(ref.url).content
                transferred += len(data)
                reader = pf._BlockReader(len(data), functools.partial(_slice, data))
                info = pf.MediaInfo(ref, size=len(data))
                pf._inspect(reader, info, pf.limits_for("fal"))
                assert not info.errors, info.errors
                infos.append(info)
                del data, reader
        seconds_in = sum(i.duration or 0 for i in infos if i.reference.kind.value == "video")
    elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "peak_rss_kb": peak_rss_kb(),
                "rss_before_kb": rss_before,
                "bytes_transferred": transferred,
                "input_video_seconds": seconds_in,
            }
        )
    )


def run(*, quick: bool, repeats: int | None = None) -> BenchResult:
    from tests.support.reference_server import ReferenceServer

    repeats = repeats or (1 if quick else 3)
    with tempfile.TemporaryDirectory(prefix="seedance-bench-preflight-") as tmp:
        media = _make_media(Path(tmp), quick=quick)
        server = ReferenceServer().start()
        try:
            inputs: dict[str, list[str]] = {"image_urls": [], "video_urls": [], "audio_urls": []}
            for kind, name, path, ctype in media:
                inputs[f"{kind}_urls"].append(server.add(name, path=path, content_type=ctype))
            total = sum(p.stat().st_size for _, _, p, _ in media)
            runs: dict[str, list[dict[str, float]]] = {"ours": [], "baseline": []}
            for _ in range(repeats):
                for mode in ("ours", "baseline"):
                    runs[mode].append(
                        run_json(
                            ["-m", "benchmarks.bench_preflight", "worker", mode, json.dumps(inputs)],
                            env=child_env(),
                            timeout=600,
                        )
                    )
        finally:
            server.stop()

    def best(mode: str, key: str) -> float:
        return min(r[key] for r in runs[mode])

    case = f"15 refs ({total / MB:.0f} MB)"
    result = BenchResult(
        name="preflight",
        description="9 images + 3 videos + 3 audio over HTTP: ranged header reads vs whole downloads",
        params={"references": 15, "total_bytes": total, "repeats": repeats, "quick": quick},
        raw={"runs": runs},
    )
    result.rows = [
        Row(
            case,
            "wall time",
            "s",
            best("ours", "seconds"),
            best("baseline", "seconds"),
            "lower",
            "download whole",
        ),
        Row(
            case,
            "peak RSS",
            "MB",
            best("ours", "peak_rss_kb") / 1024,
            best("baseline", "peak_rss_kb") / 1024,
            "lower",
            "download whole",
        ),
        Row(
            case,
            "bytes transferred",
            "MB",
            best("ours", "bytes_transferred") / MB,
            best("baseline", "bytes_transferred") / MB,
            "lower",
            "download whole",
        ),
    ]
    result.notes.append(
        "peak RSS includes the worker's imports (client, PyAV, Pillow, httpx), the same on both sides"
    )
    return result


if __name__ == "__main__":
    worker_main("bench_preflight", worker)
