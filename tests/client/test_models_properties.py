"""Property-based: the request model accepts exactly the inputs inside the documented limits.

Valid inputs are drawn from strategies built from the documented limits; invalid ones are valid
inputs with exactly one limit broken, and the error must name the field of that limit.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_seedance.client.errors import SeedanceValidationError
from airflow_provider_seedance.client.models import (
    ASPECT_RATIOS,
    MAX_AUDIOS,
    MAX_DURATION,
    MAX_FILES,
    MAX_IMAGES,
    MAX_PROMPT_CHARS,
    MAX_SEED,
    MAX_VIDEOS,
    MIN_DURATION,
    MIN_SEED,
    ReferenceToVideoRequest,
)
from airflow_provider_seedance.client.platforms.fal import FalDialect

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_host = st.sampled_from(
    ["https://cdn.example.com", "http://127.0.0.1:8787", "https://storage.googleapis.com/b"]
)
_stem = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
_query = st.sampled_from(["", "?X-Goog-Signature=abc123", "?token=a.b"])


def file_count(request: ReferenceToVideoRequest) -> int:
    return len(request.image_urls) + len(request.video_urls) + len(request.audio_urls)


def _urls(extensions: list[str]) -> st.SearchStrategy[str]:
    """URLs whose path ends in one of ``extensions`` (any case) or in no extension at all."""
    ext = st.sampled_from([*extensions, *(e.upper() for e in extensions), ""])
    return st.builds(lambda h, s, e, q: f"{h}/{s}{'.' + e if e else ''}{q}", _host, _stem, ext, _query)


IMAGE_URL = _urls(["jpg", "jpeg", "png", "webp"])
VIDEO_URL = _urls(["mp4", "mov"])
AUDIO_URL = _urls(["mp3", "wav"])
# Prompts without "@", so they never refer to a file by accident; references are added on purpose.
_PROMPT_TEXT = st.text(
    alphabet=st.characters(blacklist_characters="@", blacklist_categories=["Cs"]), min_size=1, max_size=200
).filter(lambda s: s.strip() != "")


@st.composite
def valid_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """Inputs inside every documented limit."""
    n_images = draw(st.integers(0, MAX_IMAGES))
    n_videos = draw(st.integers(0, MAX_VIDEOS))
    room = MAX_FILES - n_images - n_videos
    n_audios = draw(st.integers(0, min(MAX_AUDIOS, room))) if n_images + n_videos else 0
    inputs: dict[str, Any] = {"prompt": draw(_PROMPT_TEXT)}
    refs = []
    for kind, count, strategy, field in (
        ("Image", n_images, IMAGE_URL, "image_urls"),
        ("Video", n_videos, VIDEO_URL, "video_urls"),
        ("Audio", n_audios, AUDIO_URL, "audio_urls"),
    ):
        if count or draw(st.booleans()):
            inputs[field] = draw(st.lists(strategy, min_size=count, max_size=count))
        if count:
            refs += [f"@{kind}{n}" for n in draw(st.sets(st.integers(1, count), max_size=3))]
    if refs:
        inputs["prompt"] = (inputs["prompt"] + " " + " ".join(refs))[-MAX_PROMPT_CHARS:]
    if draw(st.booleans()):
        inputs["prompt"] = inputs["prompt"].ljust(
            draw(st.integers(len(inputs["prompt"]), MAX_PROMPT_CHARS)), "x"
        )
    optional = {
        "resolution": st.sampled_from(["480p", "720p"]),
        "duration": st.one_of(
            st.just("auto"),
            st.integers(MIN_DURATION, MAX_DURATION),
            st.integers(MIN_DURATION, MAX_DURATION).map(str),
        ),
        "aspect_ratio": st.sampled_from(ASPECT_RATIOS),
        "generate_audio": st.booleans(),
        "seed": st.one_of(st.none(), st.integers(MIN_SEED, MAX_SEED)),
        "end_user_id": st.one_of(st.none(), st.text(max_size=20)),
        "tier": st.sampled_from(["standard", "fast"]),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            inputs[name] = draw(strategy)
    return inputs


def _break_one(draw: st.DrawFn, inputs: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Break exactly one documented limit of valid ``inputs``; return them and the field named."""
    bad = dict(inputs)
    images = list(bad.get("image_urls") or [])
    videos = list(bad.get("video_urls") or [])
    audios = list(bad.get("audio_urls") or [])
    rule = draw(
        st.sampled_from(
            [
                "prompt_length",
                "images",
                "videos",
                "audios",
                "total",
                "audio_alone",
                "format",
                "reference",
                "resolution",
                "duration",
                "aspect_ratio",
                "generate_audio",
                "seed",
                "tier",
            ]
        )
    )
    plain_prompt = "a plain prompt"
    if rule == "prompt_length":
        bad["prompt"] = "y" * draw(st.integers(MAX_PROMPT_CHARS + 1, MAX_PROMPT_CHARS + 500))
        return bad, "prompt"
    if rule in ("images", "videos", "audios", "total", "audio_alone"):
        bad["prompt"] = plain_prompt  # keep references out of the way
        if rule == "images":
            n = draw(st.integers(MAX_IMAGES + 1, MAX_FILES))
            bad.update(image_urls=[draw(IMAGE_URL)] * n, video_urls=[], audio_urls=[])
            return bad, "image_urls"
        if rule == "videos":
            bad.update(
                image_urls=[],
                video_urls=[draw(VIDEO_URL)] * draw(st.integers(MAX_VIDEOS + 1, 8)),
                audio_urls=[],
            )
            return bad, "video_urls"
        if rule == "audios":
            bad.update(image_urls=[draw(IMAGE_URL)], video_urls=[], audio_urls=[draw(AUDIO_URL)] * 4)
            return bad, "audio_urls"
        if rule == "total":
            n_images = draw(st.integers(MAX_FILES - MAX_VIDEOS - MAX_AUDIOS + 1, MAX_IMAGES))
            n_videos = draw(st.integers(MAX_FILES + 1 - n_images - MAX_AUDIOS, MAX_VIDEOS))
            n_audios = draw(st.integers(MAX_FILES + 1 - n_images - n_videos, MAX_AUDIOS))
            bad.update(
                image_urls=[draw(IMAGE_URL)] * n_images,
                video_urls=[draw(VIDEO_URL)] * n_videos,
                audio_urls=[draw(AUDIO_URL)] * n_audios,
            )
            return bad, "image_urls+video_urls+audio_urls"
        bad.update(
            image_urls=[], video_urls=[], audio_urls=[draw(AUDIO_URL)] * draw(st.integers(1, MAX_AUDIOS))
        )
        return bad, "audio_urls"
    if rule == "format":
        field, wrong = draw(
            st.sampled_from(
                [
                    ("image_urls", ["gif", "bmp", "mp4", "tiff", "svg"]),
                    ("video_urls", ["webm", "avi", "mkv", "gif", "mp3"]),
                    ("audio_urls", ["ogg", "flac", "aac", "m4a", "mp4"]),
                ]
            )
        )
        url = f"https://cdn.example.com/{draw(_stem)}.{draw(st.sampled_from(wrong))}"
        current = {"image_urls": images, "video_urls": videos, "audio_urls": audios}[field]
        if field == "audio_urls" and not (images or videos):
            bad["image_urls"] = [draw(IMAGE_URL)]
            images = bad["image_urls"]
        total = len(images) + len(videos) + len(audios)
        limit = {"image_urls": MAX_IMAGES, "video_urls": MAX_VIDEOS, "audio_urls": MAX_AUDIOS}[field]
        if current and (len(current) >= limit or total >= MAX_FILES):
            bad[field] = [url, *current[1:]]
        else:
            bad[field] = [*current, url]
        return bad, field
    if rule == "reference":
        kind, field = draw(st.sampled_from([("Image", images), ("Video", videos), ("Audio", audios)]))
        bad["prompt"] = f"{plain_prompt} @{kind}{len(field) + draw(st.integers(1, 20))}"
        return bad, "prompt"
    if rule == "resolution":
        bad["resolution"] = draw(st.text(max_size=8).filter(lambda r: r not in ("480p", "720p", "1080p")))
        return bad, "resolution"
    if rule == "duration":
        bad["duration"] = draw(
            st.one_of(
                st.integers(max_value=MIN_DURATION - 1),
                st.integers(min_value=MAX_DURATION + 1),
                st.integers(max_value=MIN_DURATION - 1).map(str),
                st.integers(min_value=MAX_DURATION + 1).map(str),
                st.floats(allow_nan=True),
                st.text(alphabet="abcxyz .", max_size=6).filter(lambda s: s.strip() != "auto"),
            )
        )
        return bad, "duration"
    if rule == "aspect_ratio":
        bad["aspect_ratio"] = draw(st.text(max_size=6).filter(lambda r: r not in ASPECT_RATIOS))
        return bad, "aspect_ratio"
    if rule == "generate_audio":
        bad["generate_audio"] = draw(st.one_of(st.integers(), st.text(max_size=5), st.none()))
        return bad, "generate_audio"
    if rule == "seed":
        bad["seed"] = draw(
            st.one_of(st.integers(max_value=MIN_SEED - 1), st.integers(min_value=MAX_SEED + 1))
        )
        return bad, "seed"
    bad["tier"] = draw(st.text(max_size=10).filter(lambda t: t not in ("standard", "fast")))
    return bad, "tier"


@st.composite
def inputs_with_one_limit_broken(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    return _break_one(draw, draw(valid_inputs()))


@SETTINGS
@given(valid_inputs())
def test_inputs_inside_the_documented_limits_are_always_accepted(inputs: dict[str, Any]) -> None:
    request = ReferenceToVideoRequest(**inputs)
    assert FalDialect().check(request) == []
    assert file_count(request) <= MAX_FILES


@SETTINGS
@given(inputs_with_one_limit_broken())
def test_inputs_breaking_one_documented_limit_are_always_rejected_naming_the_field(
    case: tuple[dict[str, Any], str],
) -> None:
    inputs, field = case
    with pytest.raises(SeedanceValidationError) as info:
        ReferenceToVideoRequest(**inputs)
    assert info.value.fields == [field], str(info.value)


@SETTINGS
@given(valid_inputs())
def test_an_accepted_request_round_trips_through_its_model_inputs(inputs: dict[str, Any]) -> None:
    request = ReferenceToVideoRequest(**inputs)
    again = ReferenceToVideoRequest(**request.model_inputs(), tier=request.tier)
    assert again == request
