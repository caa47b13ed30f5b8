"""Every documented limit fails with a message naming the field and the limit, before any HTTP call.

Each test goes through the client's submit path (``SeedanceClient.submit(ReferenceToVideoRequest(...))``)
under a respx router that answers every URL, and proves the router saw no request at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from airflow_provider_seedance.client.errors import SeedanceValidationError
from airflow_provider_seedance.client.models import ReferenceToVideoRequest
from airflow_provider_seedance.client.transport import SeedanceClient
from tests.client.helpers import API_KEY
from tests.support.retry import NO_WAIT

IMG = "https://cdn.example.com/ref.jpg"
VID = "https://cdn.example.com/ref.mp4"
AUD = "https://cdn.example.com/ref.mp3"


def file_count(request: ReferenceToVideoRequest) -> int:
    return len(request.image_urls) + len(request.video_urls) + len(request.audio_urls)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """Any HTTP request at all would be answered (and counted) here."""
    with respx.mock(assert_all_called=False) as mock:
        mock.route().mock(return_value=httpx.Response(200, json={"request_id": "should-never-happen"}))
        yield mock


def submit_error(router: respx.MockRouter, **inputs: Any) -> SeedanceValidationError:
    """Submit ``inputs`` through the client; return the validation error and prove nothing was sent."""
    with (
        pytest.raises(SeedanceValidationError) as info,
        SeedanceClient(api_key=API_KEY, retry=NO_WAIT) as client,
    ):
        client.submit(ReferenceToVideoRequest(**inputs))
    assert router.calls.call_count == 0, "a request was sent despite invalid inputs"
    return info.value


def test_prompt_longer_than_5000_characters_is_rejected(router: respx.MockRouter) -> None:
    err = submit_error(router, prompt="x" * 5001)
    assert err.fields == ["prompt"]
    assert "prompt: must be at most 5000 characters, got 5001" in str(err)


def test_prompt_of_exactly_5000_characters_is_accepted() -> None:
    assert len(ReferenceToVideoRequest(prompt="x" * 5000).prompt) == 5000


def test_missing_prompt_is_rejected(router: respx.MockRouter) -> None:
    err = submit_error(router, image_urls=[IMG])
    assert "prompt: is required" in str(err)


def test_blank_prompt_is_rejected(router: respx.MockRouter) -> None:
    err = submit_error(router, prompt="   ")
    assert "prompt: must not be empty" in str(err)


def test_more_than_9_images_are_rejected(router: respx.MockRouter) -> None:
    err = submit_error(router, prompt="p", image_urls=[IMG] * 10)
    assert err.fields == ["image_urls"]
    assert "image_urls: allows at most 9 files, got 10" in str(err)


def test_more_than_3_videos_are_rejected(router: respx.MockRouter) -> None:
    err = submit_error(router, prompt="p", video_urls=[VID] * 4)
    assert err.fields == ["video_urls"]
    assert "video_urls: allows at most 3 files, got 4" in str(err)


def test_more_than_3_audio_files_are_rejected(router: respx.MockRouter) -> None:
    err = submit_error(router, prompt="p", image_urls=[IMG], audio_urls=[AUD] * 4)
    assert err.fields == ["audio_urls"]
    assert "audio_urls: allows at most 3 files, got 4" in str(err)


def test_more_than_12_files_in_all_are_rejected(router: respx.MockRouter) -> None:
    err = submit_error(router, prompt="p", image_urls=[IMG] * 9, video_urls=[VID] * 3, audio_urls=[AUD])
    assert err.fields == ["image_urls+video_urls+audio_urls"]
    assert "allow at most 12 files in all, got 13" in str(err)


def test_exactly_12_files_in_all_are_accepted() -> None:
    request = ReferenceToVideoRequest(
        prompt="p", image_urls=[IMG] * 9, video_urls=[VID] * 2, audio_urls=[AUD]
    )
    assert file_count(request) == 12


def test_audio_without_image_or_video_is_rejected(router: respx.MockRouter) -> None:
    err = submit_error(router, prompt="p", audio_urls=[AUD])
    assert err.fields == ["audio_urls"]
    assert "audio_urls: needs at least one reference image or video" in str(err)


@pytest.mark.parametrize("companion", ["image_urls", "video_urls"])
def test_audio_with_an_image_or_a_video_is_accepted(companion: str) -> None:
    ReferenceToVideoRequest(
        prompt="p", audio_urls=[AUD], **{companion: [IMG if companion == "image_urls" else VID]}
    )


@pytest.mark.parametrize(
    ("field", "url", "formats"),
    [
        ("image_urls", "https://cdn.example.com/a.gif", "JPEG, PNG or WebP"),
        ("video_urls", "https://cdn.example.com/a.webm", "MP4 or MOV"),
        ("audio_urls", "https://cdn.example.com/a.ogg", "MP3 or WAV"),
        ("image_urls", "https://cdn.example.com/clip.mp4", "JPEG, PNG or WebP"),
    ],
)
def test_unsupported_format_by_extension_is_rejected(
    router: respx.MockRouter, field: str, url: str, formats: str
) -> None:
    inputs: dict[str, Any] = {"prompt": "p", field: [url]}
    if field == "audio_urls":
        inputs["image_urls"] = [IMG]
    err = submit_error(router, **inputs)
    ext = url.rsplit(".", 1)[1]
    assert f"{field}: item 1 has format .{ext}; supported formats are {formats}" in str(err)


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("image_urls", "https://cdn.example.com/a.JPEG"),
        ("image_urls", "https://cdn.example.com/a.webp?X-Goog-Signature=abc.def"),
        ("video_urls", "https://cdn.example.com/a.MOV"),
        ("audio_urls", "https://cdn.example.com/a.wav"),
    ],
)
def test_supported_formats_are_accepted_in_any_case_and_with_a_query(field: str, url: str) -> None:
    companion = {"video_urls": [VID]} if field == "audio_urls" else {}
    request = ReferenceToVideoRequest(prompt="p", **{field: [url]}, **companion)
    assert list(getattr(request, field)) == [url]


@pytest.mark.parametrize(
    "url",
    [
        "https://storage.googleapis.com/bucket/obj?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature=ab12",
        "https://v3.fal.media/files/b/0a8eba37/Cqg-4Uwzyz4DELfceT1CF",
        "https://cdn.example.com/render.php?id=7",
    ],
)
def test_urls_without_a_media_extension_pass_the_format_check(url: str) -> None:
    request = ReferenceToVideoRequest(prompt="p", image_urls=[url], video_urls=[url], audio_urls=[url])
    assert file_count(request) == 3


def test_an_unresolved_gs_reference_is_never_sent_to_the_platform(router: respx.MockRouter) -> None:
    err = submit_error(router, prompt="p", image_urls=["gs://bucket/a.jpg"])
    assert "image_urls: item 1 is a gs:// or local reference ('gs://bucket/a.jpg')" in str(err)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ftp://cdn.example.com/a.jpg", "must be an https:// URL, a gs://bucket/object or a local path"),
        ("gs://bucket-only", "must be gs://bucket/object"),
        ("gs://bucket/a.mp4", "has format .mp4"),
        ("brand/a.mp4", "has format .mp4"),
    ],
)
def test_bad_references_are_refused_by_the_model(url: str, expected: str) -> None:
    with pytest.raises(SeedanceValidationError, match=re.escape(expected)):
        ReferenceToVideoRequest(prompt="p", image_urls=[url])


@pytest.mark.parametrize(
    "url", ["gs://brand-assets/hero.png", "brand/hero.png", "/srv/assets/Product Shots/hero.webp"]
)
def test_gs_and_local_references_pass_the_model(url: str) -> None:
    request = ReferenceToVideoRequest(prompt="p", image_urls=[url])
    assert request.image_urls == (url,)


def test_data_uri_of_the_wrong_media_type_is_rejected(router: respx.MockRouter) -> None:
    err = submit_error(router, prompt="p", image_urls=["data:video/mp4;base64,AAAA"])
    assert "image_urls: item 1 is a data URI of type 'video/mp4'; expected JPEG, PNG or WebP" in str(err)


@pytest.mark.parametrize(
    ("prompt", "inputs", "expected"),
    [
        ("@Image2 in the rain", {"image_urls": [IMG]}, "refers to @Image2 but image_urls has 1 file"),
        ("@Video1 remixed", {}, "refers to @Video1 but video_urls has 0 files"),
        (
            "@Audio3 as music",
            {"image_urls": [IMG], "audio_urls": [AUD, AUD]},
            "refers to @Audio3 but audio_urls has 2",
        ),
        ("@Image0 first", {"image_urls": [IMG]}, "refers to @Image0 but image_urls has 1 file"),
    ],
)
def test_prompt_reference_to_a_missing_file_is_rejected(
    router: respx.MockRouter, prompt: str, inputs: dict[str, Any], expected: str
) -> None:
    err = submit_error(router, prompt=prompt, **inputs)
    assert err.fields == ["prompt"]
    assert f"prompt: {expected}" in str(err)


def test_prompt_references_to_provided_files_are_accepted() -> None:
    ReferenceToVideoRequest(
        prompt="@Image1 and @Image2 dance to @Audio1 like in @Video1",
        image_urls=[IMG, IMG],
        video_urls=[VID],
        audio_urls=[AUD],
    )


def test_a_missing_reference_is_reported_once_however_often_it_appears(router: respx.MockRouter) -> None:
    err = submit_error(router, prompt="@Image1, then @Image1 again")
    assert err.fields == ["prompt"]


def test_unknown_resolution_is_rejected_by_the_model(router: respx.MockRouter) -> None:
    err = submit_error(router, prompt="p", resolution="4k")
    assert err.fields == ["resolution"]
    assert "resolution: must be one of 480p, 720p, 1080p, got '4k'" in str(err)


def test_1080p_is_rejected_by_the_fal_dialect_before_sending(router: respx.MockRouter) -> None:
    request = ReferenceToVideoRequest(prompt="p", resolution="1080p")  # other platforms sell 1080p
    with pytest.raises(SeedanceValidationError) as info, SeedanceClient(api_key=API_KEY) as client:
        client.submit(request)
    assert router.calls.call_count == 0
    assert info.value.fields == ["resolution"]
    assert "resolution: fal.ai sells 480p, 720p only, got '1080p'" in str(info.value)


@pytest.mark.parametrize("resolution", ["480p", "720p"])
def test_fal_resolutions_pass_the_dialect_check(resolution: str) -> None:
    with SeedanceClient(api_key=API_KEY) as client:
        client.check(ReferenceToVideoRequest(prompt="p", resolution=resolution))


@pytest.mark.parametrize("duration", [3, 16, "3", "16", "0", "-5", "4.5", 4.0, "four", "", True, None])
def test_duration_outside_auto_or_4_to_15_is_rejected(router: respx.MockRouter, duration: object) -> None:
    err = submit_error(router, prompt="p", duration=duration)
    assert err.fields == ["duration"]
    assert "duration: must be 'auto' or a whole number of seconds from 4 to 15" in str(err)


@pytest.mark.parametrize(("duration", "normalized"), [("auto", "auto"), (4, "4"), ("15", "15"), (" 9 ", "9")])
def test_duration_auto_or_4_to_15_is_accepted_and_normalized_to_the_string_enum(
    duration: object, normalized: str
) -> None:
    assert ReferenceToVideoRequest(prompt="p", duration=duration).duration == normalized


@pytest.mark.parametrize("aspect_ratio", ["2:1", "16:10", "portrait", "", None])
def test_undocumented_aspect_ratio_is_rejected(router: respx.MockRouter, aspect_ratio: object) -> None:
    err = submit_error(router, prompt="p", aspect_ratio=aspect_ratio)
    assert err.fields == ["aspect_ratio"]
    assert "aspect_ratio: must be one of auto, 21:9, 16:9, 4:3, 1:1, 3:4, 9:16" in str(err)


@pytest.mark.parametrize("generate_audio", ["true", 1, 0, None])
def test_generate_audio_must_be_a_boolean(router: respx.MockRouter, generate_audio: object) -> None:
    err = submit_error(router, prompt="p", generate_audio=generate_audio)
    assert err.fields == ["generate_audio"]
    assert f"generate_audio: must be true or false, got {generate_audio!r}" in str(err)


@pytest.mark.parametrize("seed", [-2, 2**32, "42", 4.2, True])
def test_seed_outside_minus_1_to_2_pow_32_minus_1_is_rejected(router: respx.MockRouter, seed: object) -> None:
    err = submit_error(router, prompt="p", seed=seed)
    assert err.fields == ["seed"]
    assert "seed: must be an integer from -1 to 4294967295" in str(err)


@pytest.mark.parametrize("seed", [-1, 0, 42, 2**32 - 1])
def test_seed_within_limits_is_accepted(seed: int) -> None:
    assert ReferenceToVideoRequest(prompt="p", seed=seed).seed == seed


@pytest.mark.parametrize("tier", ["turbo", "Fast", "", None])
def test_unknown_tier_is_rejected(router: respx.MockRouter, tier: object) -> None:
    err = submit_error(router, prompt="p", tier=tier)
    assert err.fields == ["tier"]
    assert "tier: must be 'standard' or 'fast'" in str(err)


def test_unknown_input_name_is_rejected(router: respx.MockRouter) -> None:
    err = submit_error(router, prompt="p", input_images=[IMG])
    assert "input_images: is not a Seedance reference-to-video input" in str(err)


def test_all_violations_are_reported_at_once(router: respx.MockRouter) -> None:
    err = submit_error(
        router,
        prompt="x" * 5001 + " @Image4",
        image_urls=[IMG] * 3,
        audio_urls=[AUD] * 4,
        resolution="2k",
        duration=30,
        aspect_ratio="2:1",
        seed=-7,
        tier="turbo",
    )
    assert err.fields == [
        "prompt",
        "audio_urls",
        "prompt",
        "resolution",
        "duration",
        "aspect_ratio",
        "seed",
        "tier",
    ]
    message = str(err)
    assert message.startswith("Invalid Seedance request (8 problems):")
    for needle in ("5000", "at most 3 files, got 4", "@Image4", "2k", "30", "2:1", "-7", "turbo"):
        assert needle in message


def test_validation_error_is_a_value_error_listing_each_problem_on_its_own_line() -> None:
    with pytest.raises(ValueError, match=r"(?s)\n  - resolution: .*\n  - tier: "):
        ReferenceToVideoRequest(prompt="p", resolution="2k", tier="x")


def test_model_inputs_use_the_documented_names_and_leave_out_the_tier() -> None:
    request = ReferenceToVideoRequest(
        prompt="@Image1 waves", image_urls=[IMG], duration=8, seed=7, end_user_id="u-1", tier="fast"
    )
    assert request.model_inputs() == {
        "prompt": "@Image1 waves",
        "image_urls": [IMG],
        "resolution": "720p",
        "duration": "8",
        "aspect_ratio": "auto",
        "generate_audio": True,
        "seed": 7,
        "end_user_id": "u-1",
    }


def test_none_media_lists_mean_no_files() -> None:
    request = ReferenceToVideoRequest(prompt="p", image_urls=None, video_urls=None, audio_urls=None)
    assert file_count(request) == 0
