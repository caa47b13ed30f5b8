"""``validation``: requests validated per second by ``ReferenceToVideoRequest`` vs plain pydantic.

The baseline is a plain pydantic model with the same fields and types and no custom checks,
validating the same dict: the ratio is the price of checking every documented limit (counts,
formats, ``@ImageN`` references, duration, ...) before any request is paid for. Even a large
ratio is harmless if the absolute rate stays far above what a DAG ever submits.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.common import BenchResult, Row

#: A realistic, valid request: several references, a prompt that mentions them.
REQUEST: dict[str, Any] = {
    "prompt": "@Image1 walks through a neon market at night, camera follows; style of @Image2, "
    "music from @Audio1",
    "image_urls": [
        "https://cdn.example.com/brand/model.png",
        "https://cdn.example.com/brand/style.jpg",
        "https://cdn.example.com/brand/logo.webp",
    ],
    "video_urls": ["https://cdn.example.com/brand/motion.mp4"],
    "audio_urls": ["https://cdn.example.com/brand/jingle.mp3"],
    "resolution": "720p",
    "duration": "8",
    "aspect_ratio": "16:9",
    "generate_audio": True,
    "seed": 42,
    "tier": "fast",
}


def _rate(func: Any, seconds: float) -> float:
    """Calls of ``func()`` per second over about ``seconds`` (after a short warm-up)."""
    for _ in range(200):
        func()
    calls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(200):
            func()
        calls += 200
    return calls / elapsed


def run(*, quick: bool, seconds: float | None = None) -> BenchResult:
    from typing import Literal

    from pydantic import BaseModel, ConfigDict

    from airflow_provider_seedance.client.models import ReferenceToVideoRequest

    class PlainRequest(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")

        prompt: str
        image_urls: tuple[str, ...] = ()
        video_urls: tuple[str, ...] = ()
        audio_urls: tuple[str, ...] = ()
        resolution: str = "720p"
        duration: str = "auto"
        aspect_ratio: str = "auto"
        generate_audio: bool = True
        seed: int | None = None
        end_user_id: str | None = None
        tier: Literal["standard", "fast"] = "standard"

    seconds = seconds or (0.5 if quick else 2.0)
    result = BenchResult(
        name="validation",
        description="ReferenceToVideoRequest(**d) vs plain pydantic model_validate(d), same dict",
        params={"seconds_per_side": seconds, "rounds": 3},
    )
    started = time.monotonic()
    ReferenceToVideoRequest(**REQUEST)  # must be valid
    ours: list[float] = []
    base: list[float] = []
    for _ in range(3):  # interleaved rounds; the best round of each counts
        ours.append(_rate(lambda: ReferenceToVideoRequest(**REQUEST), seconds / 3))
        base.append(_rate(lambda: PlainRequest.model_validate(REQUEST), seconds / 3))
    o, b = max(ours), max(base)
    result.rows.append(Row("1 valid request", "validations per second", "/s", round(o), round(b), "higher"))
    result.rows.append(
        Row("1 valid request", "time per validation", "us", round(1e6 / o, 1), round(1e6 / b, 1))
    )
    result.raw = {"ours_per_s": [round(x) for x in ours], "baseline_per_s": [round(x) for x in base]}
    result.seconds = time.monotonic() - started
    return result
