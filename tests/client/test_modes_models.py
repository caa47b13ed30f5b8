"""The mode registry and the request model of each mode: limits, enums, defaults, all violations at once."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_seedance.client.errors import SeedanceValidationError
from airflow_provider_seedance.client.models import (
    INPUT_FIELDS,
    MODE_SPECS,
    MODES,
    REQUEST_CLASSES,
    ImageToVideoRequest,
    Mode,
    ReferenceToVideoRequest,
    SeedanceRequest,
    TextToVideoRequest,
    build_request,
)

IMG = "https://cdn.example.com/p.png"


def problems(cls: type[SeedanceRequest], **inputs: Any) -> list[tuple[str, str]]:
    with pytest.raises(SeedanceValidationError) as info:
        cls(**inputs)
    return [(e.field, e.message) for e in info.value.errors]


def test_the_registry_lists_every_mode_once_and_everything_derives_from_it() -> None:
    assert [spec.mode for spec in MODE_SPECS] == list(Mode)
    assert {mode: cls.__name__ for mode, cls in REQUEST_CLASSES.items()} == {
        spec.mode: spec.request_class for spec in MODE_SPECS
    }
    assert [spec.operator_class for spec in MODE_SPECS] == [
        "SeedanceTextToVideoOperator",
        "SeedanceImageToVideoOperator",
        "SeedanceReferenceToVideoOperator",
    ]
    assert MODES[Mode.IMAGE_TO_VIDEO].input_fields == (
        "prompt", "image_url", "end_image_url", "resolution", "duration", "aspect_ratio",
        "generate_audio", "seed", "end_user_id", "tier",
    )  # fmt: skip
    assert MODES[Mode.REFERENCE_TO_VIDEO].input_fields == INPUT_FIELDS
    assert TextToVideoRequest(prompt="p").mode is Mode.TEXT_TO_VIDEO


@pytest.mark.parametrize("cls", [TextToVideoRequest, ImageToVideoRequest, ReferenceToVideoRequest])
def test_every_mode_has_the_documented_defaults(cls: type[SeedanceRequest]) -> None:
    request = cls(prompt="p", **({"image_url": IMG} if cls is ImageToVideoRequest else {}))
    assert (request.resolution, request.duration, request.aspect_ratio) == ("720p", "auto", "auto")
    assert (request.generate_audio, request.seed, request.tier, request.end_user_id) == (
        True,
        None,
        "standard",
        None,
    )


@pytest.mark.parametrize("cls", [TextToVideoRequest, ImageToVideoRequest])
def test_common_limits_are_the_same_code_for_every_mode(cls: type[SeedanceRequest]) -> None:
    found = problems(
        cls,
        prompt="x" * 5001,
        resolution="4k",
        duration=3,
        aspect_ratio="2:1",
        generate_audio="yes",
        seed=2**32,
        end_user_id=5,
        tier="turbo",
        **({"image_url": IMG} if cls is ImageToVideoRequest else {}),
    )
    assert [field for field, _ in found] == [
        "prompt", "resolution", "duration", "aspect_ratio", "generate_audio", "seed", "end_user_id", "tier",
    ]  # fmt: skip


def test_image_to_video_needs_a_first_frame_and_checks_both_frames() -> None:
    assert problems(ImageToVideoRequest, prompt="p") == [
        ("image_url", "is required: the URL of the first frame to animate")
    ]
    found = problems(
        ImageToVideoRequest,
        prompt="p",
        image_url="https://cdn.example.com/p.gif",
        end_image_url="data:video/mp4;base64,AAAA",
    )
    assert found == [
        ("image_url", "the URL has format .gif; supported formats are JPEG, PNG or WebP"),
        ("end_image_url", "the URL is a data URI of type 'video/mp4'; expected JPEG, PNG or WebP"),
    ]
    assert problems(ImageToVideoRequest, prompt="p", image_url=[IMG])[0] == (
        "image_url",
        "must be one URL string, got list",
    )


def test_image_to_video_accepts_data_uris_and_signed_urls() -> None:
    request = ImageToVideoRequest(
        prompt="p", image_url="data:image/png;base64,iVBORw0KGgo=", end_image_url="https://s.test/o?sig=1"
    )
    assert request.media_inputs() == {
        "image_url": "data:image/png;base64,iVBORw0KGgo=",
        "end_image_url": "https://s.test/o?sig=1",
    }


def test_another_modes_inputs_are_refused_naming_the_mode_they_belong_to() -> None:
    found = problems(TextToVideoRequest, prompt="p", image_urls=[IMG], image_url=IMG)
    assert found == [
        ("image_url", "is not a Seedance text-to-video input (it belongs to image-to-video)"),
        ("image_urls", "is not a Seedance text-to-video input (it belongs to reference-to-video)"),
    ]


def test_prompt_references_need_reference_files_in_every_mode() -> None:
    (t2v,) = problems(TextToVideoRequest, prompt="like @Image1")
    assert t2v[1].startswith("refers to @Image1 but text-to-video takes no reference files")
    (i2v,) = problems(ImageToVideoRequest, prompt="@Video1 moves", image_url=IMG)
    assert "image_url is the first frame" in i2v[1]
    (r2v,) = problems(ReferenceToVideoRequest, prompt="@Image2", image_urls=[IMG])
    assert r2v == ("prompt", "refers to @Image2 but image_urls has 1 file")


def test_build_request_picks_the_mode_class() -> None:
    request = build_request("image-to-video", prompt="p", image_url=IMG, duration="5")
    assert isinstance(request, ImageToVideoRequest)
    assert request.duration == "5"
    with pytest.raises(SeedanceValidationError, match="mode: must be one of text-to-video"):
        build_request("video-to-video", prompt="p")
