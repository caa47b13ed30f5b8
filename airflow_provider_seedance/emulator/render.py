"""Rendered takes: a short real H.264 (+ AAC) MP4 per request whose pictures show the request.

With ``render_videos`` on (``--render-videos``, ``emu.configure(render_videos=True)``) the
emulator serves, instead of the committed 64x64 sample, a clip drawn for the job:

* **the aspect ratio** is the frame's (long side 320 px: 16:9 -> 320x180, 9:16 -> 180x320,
  1:1 -> 240x240, ...; ``auto`` / ``adaptive`` / unknown -> 16:9) and is written in the picture;
* **the seed** picks the background colours (a gradient), the colour of a disc and the path it
  moves along, so two seeds give visibly different takes;
* **the prompt's first words** and ``seed N`` are drawn over it;
* **audio**: an AAC track (a seed-pitched tone) when the request sets ``generate_audio``.

Clips are :data:`SECONDS` long at :data:`FPS` frames per second whatever duration was asked for
(a preview, not a render), with ``+faststart`` so browsers can play them while downloading.
The same request and seed give the same bytes (x264 and the AAC encoder run single-threaded;
no timestamps are written). Rendering takes about 0.1 s on one core (see docs/emulator.md);
results are cached per :class:`TakeSpec`.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import os
import random
import struct
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

#: Length and frame rate of every rendered take.
SECONDS = 2
FPS = 12
LONG_SIDE = 320
AUDIO_RATE = 24_000
#: Aspect ratio -> (width, height) of the rendered frame (even numbers, long side 320).
SIZES: dict[str, tuple[int, int]] = {
    "21:9": (320, 136),
    "16:9": (320, 180),
    "4:3": (320, 240),
    "1:1": (240, 240),
    "3:4": (240, 320),
    "9:16": (180, 320),
}
DEFAULT_RATIO = "16:9"
PROMPT_WORDS = 4


@dataclass(frozen=True)
class TakeSpec:
    """What a rendered take depends on (and nothing else)."""

    seed: int
    prompt: str
    aspect_ratio: str
    generate_audio: bool

    @property
    def size(self) -> tuple[int, int]:
        return SIZES.get(self.aspect_ratio, SIZES[DEFAULT_RATIO])

    @property
    def ratio_label(self) -> str:
        return self.aspect_ratio if self.aspect_ratio in SIZES else f"{self.aspect_ratio} -> {DEFAULT_RATIO}"

    @property
    def headline(self) -> str:
        """The prompt's first words (``@Image1`` references kept), at most 32 characters."""
        words = self.prompt.split()[:PROMPT_WORDS]
        text = " ".join(words)
        return text if len(text) <= 32 else text[:31] + "…"


def spec_from_params(seed: int, prompt: str, params: dict[str, Any]) -> TakeSpec:
    """The :class:`TakeSpec` of a submit body in any dialect (fal/Oxen/AIHubMax ``aspect_ratio``,
    Ark ``ratio``; ``generate_audio`` everywhere)."""
    ratio = params.get("aspect_ratio", params.get("ratio"))
    audio = params.get("generate_audio")
    return TakeSpec(
        seed=int(seed),
        prompt=prompt or "",
        aspect_ratio=ratio if isinstance(ratio, str) else DEFAULT_RATIO,
        generate_audio=audio is True or (isinstance(audio, str) and audio.lower() == "true"),
    )


def _palette(seed: int) -> tuple[random.Random, list[tuple[int, int, int]]]:
    digest = hashlib.sha256(f"seedance-take:{seed}".encode()).digest()
    rng = random.Random(digest)
    # Golden-ratio steps spread the hues of nearby (and most) seeds around the colour wheel.
    hue = (seed * 0.6180339887498949) % 1.0
    colours = []
    for shift, light, sat in ((0.0, 0.30, 0.70), (0.12, 0.55, 0.80), (0.5, 0.60, 0.95)):
        r, g, b = colorsys.hls_to_rgb((hue + shift) % 1.0, light, sat)
        colours.append((int(r * 255), int(g * 255), int(b * 255)))
    return rng, colours


def seed_stripes(seed: int) -> int:
    """How many moving diagonal stripes (besides colours) tell a seed's take apart: 0..4 extra."""
    return seed % 5


@lru_cache(maxsize=8)
def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # pragma: no cover - Pillow < 10.1 has only the bitmap font
        return ImageFont.load_default()


def _background(width: int, height: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Any:
    from PIL import Image

    column = Image.new("RGB", (1, height))
    for y in range(height):
        t = y / max(1, height - 1)
        column.putpixel((0, y), tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    return column.resize((width, height))


def render_frames(spec: TakeSpec) -> list[Any]:
    """The take's frames as Pillow images (also used by tests to check what is drawn)."""
    from PIL import ImageDraw

    width, height = spec.size
    rng, (top, bottom, disc) = _palette(spec.seed)
    base = _background(width, height, top, bottom)
    fx, fy = rng.uniform(0.5, 1.5), rng.uniform(0.5, 1.5)
    phase = rng.uniform(0, 2 * math.pi)
    radius = max(8, min(width, height) // 7)
    small = _font(max(10, min(height // 12, width // 16)))
    large = _font(max(11, min(height // 10, width // 13)))
    stripes = 3 + seed_stripes(spec.seed)
    frames = []
    count = SECONDS * FPS
    for index in range(count):
        t = index / count
        image = base.copy()
        draw = ImageDraw.Draw(image)
        shift = int(t * width)
        for k in range(stripes):
            x = (k * width // stripes + shift) % (width + height) - height
            draw.line((x, height, x + height, 0), fill=bottom, width=max(2, width // 40))
        cx = width / 2 + (width / 2 - radius - 4) * math.sin(2 * math.pi * fx * t + phase)
        cy = height / 2 + (height / 2 - radius - 4) * math.sin(2 * math.pi * fy * t)
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=disc, outline=(255, 255, 255))
        draw.rectangle((0, height - 4, int(width * (index + 1) / count), height), fill=disc)
        draw.text(
            (6, 4), spec.headline, fill=(255, 255, 255), font=large, stroke_width=1, stroke_fill=(0, 0, 0)
        )
        draw.text(
            (6, 6 + large.size),
            f"seed {spec.seed}  {spec.ratio_label}",
            fill=(255, 255, 255),
            font=small,
            stroke_width=1,
            stroke_fill=(0, 0, 0),
        )
        frames.append(image)
    return frames


def _tone(spec: TakeSpec) -> bytes:
    """Float32 mono samples: a seed-pitched tone with a short fade in and out."""
    freq = 220.0 + (spec.seed % 24) * 20.0
    total = SECONDS * AUDIO_RATE
    fade = AUDIO_RATE // 20
    samples = []
    for n in range(total):
        envelope = min(1.0, n / fade, (total - n) / fade)
        samples.append(0.3 * envelope * math.sin(2 * math.pi * freq * n / AUDIO_RATE))
    return struct.pack(f"<{total}f", *samples)


def render_take(spec: TakeSpec) -> bytes:
    """Encode the take as MP4 (H.264 yuv420p; AAC when ``spec.generate_audio``)."""
    width, height = spec.size
    # ``+faststart`` moves the index to the front by re-reading the output: it needs a real file.
    with tempfile.TemporaryDirectory(prefix="seedance-take-") as tmp:
        path = os.path.join(tmp, "take.mp4")
        _encode(spec, path, width, height)
        with open(path, "rb") as handle:
            return handle.read()


def _encode(spec: TakeSpec, path: str, width: int, height: int) -> None:
    import av

    with av.open(path, mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        video = container.add_stream(
            "libx264", rate=FPS, options={"preset": "ultrafast", "tune": "zerolatency", "crf": "28"}
        )
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.thread_count = 1
        audio = None
        if spec.generate_audio:
            audio = container.add_stream("aac", rate=AUDIO_RATE)
            audio.layout = "mono"
            audio.codec_context.thread_count = 1
        for index, image in enumerate(render_frames(spec)):
            frame = av.VideoFrame.from_image(image)
            frame.pts = index
            frame.time_base = Fraction(1, FPS)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if audio is not None:
            pcm = _tone(spec)
            step = 1024
            total = len(pcm) // 4
            for start in range(0, total, step):
                count = min(step, total - start)
                frame = av.AudioFrame(format="flt", layout="mono", samples=count)
                frame.planes[0].update(
                    pcm[start * 4 : (start + count) * 4].ljust(frame.planes[0].buffer_size, b"\0")
                )
                frame.sample_rate = AUDIO_RATE
                frame.pts = start
                frame.time_base = Fraction(1, AUDIO_RATE)
                container.mux(audio.encode(frame))
            container.mux(audio.encode(None))


class _Cache:
    """Rendered bytes per spec (LRU, :data:`CACHE_SIZE` entries) and the spec of each job."""

    def __init__(self, size: int, jobs: int) -> None:
        self.size = size
        self.max_jobs = jobs
        self.clips: OrderedDict[TakeSpec, bytes] = OrderedDict()
        self.jobs: OrderedDict[str, TakeSpec] = OrderedDict()

    def clip(self, spec: TakeSpec) -> bytes:
        data = self.clips.get(spec)
        if data is None:
            data = render_take(spec)
            self.clips[spec] = data
            while len(self.clips) > self.size:
                self.clips.popitem(last=False)
        else:
            self.clips.move_to_end(spec)
        return data


CACHE_SIZE = 64
#: Rendered jobs remembered (their spec, ~200 bytes each); beyond it the oldest fall back to the sample.
MAX_RENDERED_JOBS = 100_000
_CACHE = _Cache(CACHE_SIZE, MAX_RENDERED_JOBS)


def register_job(request_id: str, spec: TakeSpec) -> bytes:
    """Remember that job ``request_id`` serves a rendered take; return its clip bytes."""
    _CACHE.jobs[request_id] = spec
    while len(_CACHE.jobs) > _CACHE.max_jobs:
        _CACHE.jobs.popitem(last=False)
    return _CACHE.clip(spec)


def clip_for_job(request_id: str) -> bytes | None:
    """The rendered clip of job ``request_id``, or None for a job serving the sample."""
    spec = _CACHE.jobs.get(request_id)
    return None if spec is None else _CACHE.clip(spec)
