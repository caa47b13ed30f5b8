"""Archived takes in the strict GCS emulator: rendered by the emulator's renderer, uploaded."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from airflow_provider_seedance.emulator.render import TakeSpec, render_take
from airflow_provider_seedance.review.takes import Take

PROMPTS = ("@Image1 spins slowly on a marble pedestal", "@Image1 in a rainy neon street at night")


@pytest.fixture
def archive_takes(gcs_client, gcs_bucket: str) -> Callable[..., list[Take]]:  # type: ignore[no-untyped-def]
    """``archive_takes(seeds, ratios)``: one rendered take per (prompt 1, seed, ratio) in GCS."""

    def make(seeds: list[int], ratios: list[str] = ["16:9"], audio: bool = False) -> list[Take]:  # noqa: B006
        takes = []
        for seed in seeds:
            for ratio in ratios:
                spec = TakeSpec(seed=seed, prompt=PROMPTS[0], aspect_ratio=ratio, generate_audio=audio)
                name = f"grid/2026-03-01/p1-{ratio.replace(':', 'x')}-seed{seed}.mp4"
                blob = gcs_client.bucket(gcs_bucket).blob(name)
                blob.metadata = {"seedance-request-id": f"req-{seed}", "seedance-prompt": PROMPTS[0]}
                blob.upload_from_string(render_take(spec), content_type="video/mp4")
                takes.append(
                    Take(
                        number=len(takes) + 1,
                        uri=f"gs://{gcs_bucket}/{name}",
                        seed=seed,
                        aspect_ratio=ratio,
                        tier="fast",
                        prompt=PROMPTS[0],
                        estimated_cost_usd=0.45,
                    )
                )
        return takes

    return make
