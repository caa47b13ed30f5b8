"""Rendered takes (``render_videos``): real H.264 per request, at its aspect ratio, with AAC audio
when asked, deterministic, visibly different per seed, fast."""

from __future__ import annotations

import io
import time
from typing import Any

import av
import httpx
import pytest

from airflow_provider_seedance.emulator import render
from airflow_provider_seedance.emulator.testing import EmulatorHandle
from tests.emulator.conftest import ARK_TASKS, FAL_STANDARD


def _take(emu: EmulatorHandle, fal: httpx.Client, **body: object) -> tuple[str, bytes, dict]:
    sub = fal.post(FAL_STANDARD, json={"prompt": "@Image1 spins on a marble pedestal", **body}).json()
    emu.advance(60)
    video = fal.get(sub["response_url"]).json()["video"]
    return sub["request_id"], httpx.get(video["url"]).content, video


def _probe(data: bytes) -> dict[str, object]:
    with av.open(io.BytesIO(data)) as container:
        frames = [f.to_image() for f in container.decode(video=0)]
    with av.open(io.BytesIO(data)) as container:
        kinds = {s.type: s.codec_context.name for s in container.streams}
        duration = container.duration
    return {"frames": frames, "kinds": kinds, "duration": duration}


def _difference(a: Any, b: Any) -> float:
    """Mean absolute per-pixel difference (0..255) of two images of one size."""
    from PIL import ImageChops, ImageStat

    return float(sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3)


@pytest.mark.parametrize(
    ("ratio", "size"), [("16:9", (320, 180)), ("9:16", (180, 320)), ("1:1", (240, 240)), ("21:9", (320, 136))]
)
def test_take_has_the_requested_aspect_ratio(
    emu: EmulatorHandle, fal: httpx.Client, ratio: str, size: tuple[int, int]
) -> None:
    emu.configure(render_videos=True)
    _, data, video = _take(emu, fal, seed=7, aspect_ratio=ratio)
    info = _probe(data)
    assert info["kinds"] == {"video": "h264"}
    frames = info["frames"]
    assert isinstance(frames, list)
    assert len(frames) == render.SECONDS * render.FPS
    assert frames[0].size == size
    assert video["file_size"] == len(data)


def test_generate_audio_adds_an_aac_track(emu: EmulatorHandle, fal: httpx.Client) -> None:
    emu.configure(render_videos=True)
    _, data, _ = _take(emu, fal, seed=7, generate_audio=True)
    assert _probe(data)["kinds"] == {"video": "h264", "audio": "aac"}


def test_same_request_and_seed_give_the_same_clip_and_other_seeds_look_different(
    emu: EmulatorHandle, fal: httpx.Client
) -> None:
    emu.configure(render_videos=True)
    rid1, a, _ = _take(emu, fal, seed=11)
    rid2, b, _ = _take(emu, fal, seed=11)
    _, c, _ = _take(emu, fal, seed=42)
    # Same request and seed: the same clip; only the trailing free box (job id) differs.
    # (the emulator runs in a subprocess: render the same spec here)
    clip = render.render_take(
        render.TakeSpec(
            seed=11, prompt="@Image1 spins on a marble pedestal", aspect_ratio="16:9", generate_audio=False
        )
    )
    assert a.startswith(clip)
    assert b.startswith(clip)
    assert a == emu.video_bytes(rid1)
    assert b == emu.video_bytes(rid2)
    # Another seed: other colours and motion.
    fa, fc = _probe(a)["frames"], _probe(c)["frames"]
    assert isinstance(fa, list)
    assert isinstance(fc, list)
    assert _difference(fa[0], fc[0]) > 20
    # Motion: the picture changes during the take.
    assert fa[0].tobytes() != fa[len(fa) // 2].tobytes()


def test_prompt_words_are_drawn_in(emu: EmulatorHandle, fal: httpx.Client) -> None:
    spec_a = render.TakeSpec(seed=3, prompt="red fox", aspect_ratio="16:9", generate_audio=False)
    spec_b = render.TakeSpec(seed=3, prompt="blue whale jumps", aspect_ratio="16:9", generate_audio=False)
    frame_a, frame_b = render.render_frames(spec_a)[0], render.render_frames(spec_b)[0]
    # Same seed, same background and disc: only the text band differs.
    band = (0, 0, 320, 40)
    assert frame_a.crop(band).tobytes() != frame_b.crop(band).tobytes()
    assert frame_a.crop((0, 60, 320, 180)).tobytes() == frame_b.crop((0, 60, 320, 180)).tobytes()


def test_ark_ratio_and_sample_default(emu: EmulatorHandle, bearer: httpx.Client) -> None:
    body = {
        "model": "dreamina-seedance-2-0-260128",
        "content": [{"type": "text", "text": "a lighthouse"}],
        "ratio": "9:16",
        "seed": 5,
    }
    # Off (the default): the 64x64 sample.
    off = bearer.post(ARK_TASKS, json=body).json()["id"]
    emu.configure(render_videos=True)
    on = bearer.post(ARK_TASKS, json=body).json()["id"]
    emu.advance(60)
    with av.open(io.BytesIO(emu.video_bytes(off))) as container:
        assert next(container.decode(video=0)).width == 64
    with av.open(io.BytesIO(emu.video_bytes(on))) as container:
        assert next(container.decode(video=0)).to_image().size == (180, 320)


def test_rendering_takes_well_under_a_second() -> None:
    spec = render.TakeSpec(seed=99, prompt="timing run", aspect_ratio="16:9", generate_audio=True)
    render.render_take(spec)  # warm up imports
    t0 = time.perf_counter()
    for seed in range(5):
        render.render_take(render.TakeSpec(seed, "timing run", "16:9", True))
    per_take = (time.perf_counter() - t0) / 5
    assert per_take < 0.5, per_take
