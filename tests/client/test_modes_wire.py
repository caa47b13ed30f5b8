"""Every Seedance 2.0 mode on the wire (respx), per platform and tier, on the sync and the async
client: the exact request each platform gets, and the refusals that happen before any HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import respx

from airflow_provider_seedance.client.errors import SeedanceValidationError
from airflow_provider_seedance.client.models import (
    ImageToVideoRequest,
    JobRef,
    Mode,
    SeedanceRequest,
    TextToVideoRequest,
)
from airflow_provider_seedance.client.platforms import (
    DIALECTS,
    dialect_class,
    dialect_options,
    get_dialect,
    mode_refusal,
)
from tests.client.helpers import FAL, ClientFacade, router_fixture, sent_json, submit_body

OXEN = "https://hub.oxen.ai/api/ai/queue"
AIHUBMAX = "https://api.aihubmax.com/v1/videos/generations"
ARK_TASKS = "/api/v3/contents/generations/tasks"
ARK = {
    "byteplus": ("https://ark.ap-southeast.bytepluses.com", "dreamina-seedance-2-0"),
    "volcengine": ("https://ark.cn-beijing.volces.com", "doubao-seedance-2-0"),
}
FIRST = "https://cdn.example.com/product.png"
LAST = "https://cdn.example.com/product-end.webp"
GENERATION_ID = "5b0d4c8e-2f1a-4d6b-9c3e-7a8f9e0d1c2b"
TASK_ID = "task-unified-1757165031-uyujaw3d"
ARK_TASK_ID = "cgt-20260405024433-sbj8r"
PROMPT = "The bottle turns slowly on the counter, condensation catching the light"
OXEN_QUEUED = {"generations": [{"generation_id": GENERATION_ID, "status": "queued"}]}
COMMON: dict[str, Any] = {"duration": 5, "aspect_ratio": "9:16", "seed": 11, "generate_audio": False}


#: ``COMMON`` as fal.ai and Oxen.ai send it (Oxen adds ``num_generations``).
COMMON_SENT: dict[str, Any] = {
    "resolution": "720p",
    "duration": "5",
    "aspect_ratio": "9:16",
    "generate_audio": False,
    "seed": 11,
}
OXEN_SENT = {**COMMON_SENT, "num_generations": 1}
#: What Ark sends for ``COMMON`` whatever the duration and ratio.
ARK_SENT: dict[str, Any] = {"resolution": "720p", "generate_audio": False, "watermark": False, "seed": 11}
mock = router_fixture("mock")


def t2v(tier: str, **extra: Any) -> TextToVideoRequest:
    return TextToVideoRequest(prompt=PROMPT, tier=tier, **{**COMMON, **extra})


def i2v(tier: str, end: bool = True, **extra: Any) -> ImageToVideoRequest:
    frames = {"image_url": FIRST, **({"end_image_url": LAST} if end else {})}
    return ImageToVideoRequest(prompt=PROMPT, tier=tier, **frames, **{**COMMON, **extra})


# -- fal.ai: standard and fast endpoints of each mode --------------------------------------------
FAL_ENDPOINTS = {
    ("text-to-video", "standard"): "bytedance/seedance-2.0/text-to-video",
    ("text-to-video", "fast"): "bytedance/seedance-2.0/fast/text-to-video",
    ("image-to-video", "standard"): "bytedance/seedance-2.0/image-to-video",
    ("image-to-video", "fast"): "bytedance/seedance-2.0/fast/image-to-video",
}


@pytest.mark.parametrize("tier", ["standard", "fast"])
def test_fal_text_to_video_posts_the_prompt_to_the_tiers_endpoint(
    mock: respx.MockRouter, make_client: Callable[..., ClientFacade], tier: str
) -> None:
    route = mock.post(f"{FAL}/{FAL_ENDPOINTS['text-to-video', tier]}").respond(200, json=submit_body())
    job = make_client().submit(t2v(tier))
    assert (job.platform, job.tier) == ("fal", tier)
    assert sent_json(route) == {
        "prompt": PROMPT,
        **COMMON_SENT,
    }
    assert route.calls.last.request.headers["x-fal-disable-fallbacks"] == "true"


@pytest.mark.parametrize("tier", ["standard", "fast"])
def test_fal_image_to_video_posts_the_first_and_last_frame(
    mock: respx.MockRouter, make_client: Callable[..., ClientFacade], tier: str
) -> None:
    route = mock.post(f"{FAL}/{FAL_ENDPOINTS['image-to-video', tier]}").respond(200, json=submit_body())
    make_client().submit(i2v(tier, end_user_id="u-7"))
    assert sent_json(route) == {
        "prompt": PROMPT,
        "image_url": FIRST,
        "end_image_url": LAST,
        **COMMON_SENT,
        "end_user_id": "u-7",
    }


def test_fal_image_to_video_without_an_end_frame_sends_none(
    mock: respx.MockRouter, make_client: Callable[..., ClientFacade]
) -> None:
    route = mock.post(f"{FAL}/{FAL_ENDPOINTS['image-to-video', 'standard']}").respond(200, json=submit_body())
    make_client().submit(i2v("standard", end=False, resolution="1080p"))
    body = sent_json(route)
    assert "end_image_url" not in body
    assert (body["image_url"], body["resolution"]) == (FIRST, "1080p")  # 1080p: standard i2v only


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (
            lambda: i2v("fast", resolution="1080p"),
            "fal.ai sells 480p, 720p only for image-to-video on the fast tier",
        ),
        (lambda: t2v("standard", resolution="1080p"), "fal.ai sells 480p, 720p only for text-to-video, got"),
    ],
)
def test_fal_refuses_unsold_resolutions_before_any_request(
    mock: respx.MockRouter,
    make_client: Callable[..., ClientFacade],
    request_: Callable[[], SeedanceRequest],
    message: str,
) -> None:
    with pytest.raises(SeedanceValidationError, match=message):
        make_client().submit(request_())
    assert not mock.calls


def test_fal_status_result_and_cancel_of_any_mode_use_the_app_urls(
    mock: respx.MockRouter, make_client: Callable[..., ClientFacade]
) -> None:
    """A mode changes only the submit path: the queue URLs use the owner and app alone."""
    mock.post(f"{FAL}/{FAL_ENDPOINTS['text-to-video', 'fast']}").respond(200, json=submit_body())
    client = make_client()
    job = client.submit(t2v("fast"))
    status = mock.get(job.status_url).respond(200, json={"status": "COMPLETED"})
    assert client.status(job).state.value == "succeeded"
    assert status.call_count == 1
    assert job.status_url is not None
    assert "/bytedance/seedance-2.0/requests/" in job.status_url


# -- Oxen.ai -------------------------------------------------------------------------------------
@pytest.mark.parametrize("tier", ["standard", "fast"])
def test_oxen_text_to_video(
    mock: respx.MockRouter, make_client: Callable[..., ClientFacade], tier: str
) -> None:
    route = mock.post(OXEN).respond(200, json=OXEN_QUEUED)
    job = make_client(platform="oxen").submit(t2v(tier))
    assert job == JobRef(platform="oxen", request_id=GENERATION_ID, tier=tier)  # type: ignore[arg-type]
    assert sent_json(route) == {
        "model": f"bytedance-seedance-2-0-{'fast-' if tier == 'fast' else ''}text-to-video",
        "prompt": PROMPT,
        **OXEN_SENT,
    }


@pytest.mark.parametrize("tier", ["standard", "fast"])
def test_oxen_image_to_video_sends_input_image_and_tail_image_url(
    mock: respx.MockRouter, make_client: Callable[..., ClientFacade], tier: str
) -> None:
    route = mock.post(OXEN).respond(200, json=OXEN_QUEUED)
    make_client(platform="oxen").submit(i2v(tier))
    assert sent_json(route) == {
        "model": f"bytedance-seedance-2-0-{'fast-' if tier == 'fast' else ''}image-to-video",
        "prompt": PROMPT,
        "input_image": FIRST,
        "tail_image_url": LAST,
        **OXEN_SENT,
    }


# -- AIHubMax ------------------------------------------------------------------------------------
@pytest.mark.parametrize("tier", ["standard", "fast"])
def test_aihubmax_image_to_video(
    mock: respx.MockRouter, make_client: Callable[..., ClientFacade], tier: str
) -> None:
    route = mock.post(AIHUBMAX).respond(200, json={"id": TASK_ID, "status": "pending"})
    job = make_client(platform="aihubmax").submit(i2v(tier, duration="auto", aspect_ratio="auto"))
    assert job.request_id == TASK_ID
    assert sent_json(route) == {
        "model": f"seedance-2.0-{'fast-' if tier == 'fast' else ''}image-to-video",
        "prompt": PROMPT,
        "image_url": FIRST,
        "end_image_url": LAST,
        "resolution": "720p",
        "aspect_ratio": "adaptive",
        "duration": -1,
        "generate_audio": False,
        "seed": 11,
    }


@pytest.mark.parametrize("tier", ["standard", "fast"])
def test_aihubmax_refuses_text_to_video_naming_platform_and_mode_before_any_request(
    mock: respx.MockRouter, make_client: Callable[..., ClientFacade], tier: str
) -> None:
    with pytest.raises(SeedanceValidationError) as info:
        make_client(platform="aihubmax").submit(t2v(tier))
    assert (
        str(info.value).count("AIHubMax (platform 'aihubmax') does not sell Seedance 2.0 text-to-video") == 1
    )
    assert "it sells image-to-video, reference-to-video" in str(info.value)
    assert info.value.errors[0].field == "mode"
    assert not mock.calls


# -- BytePlus / Volcengine Ark -------------------------------------------------------------------
@pytest.mark.parametrize("tier", ["standard", "fast"])
@pytest.mark.parametrize("platform", ["byteplus", "volcengine"])
def test_ark_text_to_video_is_a_content_list_with_the_text_alone(
    mock: respx.MockRouter, make_client: Callable[..., ClientFacade], platform: str, tier: str
) -> None:
    base, model = ARK[platform]
    route = mock.post(f"{base}{ARK_TASKS}").respond(200, json={"id": ARK_TASK_ID})
    make_client(platform=platform).submit(t2v(tier, end_user_id="u-1"))
    assert sent_json(route) == {
        "model": f"{model}-{'fast-' if tier == 'fast' else ''}260128",
        "content": [{"type": "text", "text": PROMPT}],
        "ratio": "9:16",
        "duration": 5,
        **ARK_SENT,
        "safety_identifier": "u-1",
    }


@pytest.mark.parametrize("tier", ["standard", "fast"])
@pytest.mark.parametrize("platform", ["byteplus", "volcengine"])
def test_ark_image_to_video_sends_first_frame_and_last_frame_roles(
    mock: respx.MockRouter, make_client: Callable[..., ClientFacade], platform: str, tier: str
) -> None:
    base, model = ARK[platform]
    route = mock.post(f"{base}{ARK_TASKS}").respond(200, json={"id": ARK_TASK_ID})
    make_client(platform=platform).submit(i2v(tier, duration="auto", aspect_ratio="auto"))
    assert sent_json(route) == {
        "model": f"{model}-{'fast-' if tier == 'fast' else ''}260128",
        "content": [
            {"type": "text", "text": PROMPT},
            {"type": "image_url", "image_url": {"url": FIRST}, "role": "first_frame"},
            {"type": "image_url", "image_url": {"url": LAST}, "role": "last_frame"},
        ],
        "ratio": "adaptive",
        "duration": -1,
        **ARK_SENT,
    }


def test_ark_image_to_video_with_a_first_frame_only(
    mock: respx.MockRouter, make_client: Callable[..., ClientFacade]
) -> None:
    route = mock.post(f"{ARK['byteplus'][0]}{ARK_TASKS}").respond(200, json={"id": ARK_TASK_ID})
    make_client(platform="byteplus").submit(i2v("standard", end=False, resolution="1080p"))
    body = sent_json(route)
    assert [item.get("role") for item in body["content"]] == [None, "first_frame"]
    assert body["resolution"] == "1080p"


def test_ark_translates_prompt_references_to_its_documented_spelling() -> None:
    """Users write @Image1; Ark's documentation writes "Image 1" (and fal keeps @Image1)."""
    from tests.client.helpers import simple_request

    request = simple_request(
        prompt="@Image1 walks, then @Image2 waves to @Audio1; email me@Images.test",
        image_urls=["https://x.test/a.jpg", "https://x.test/b.jpg"],
        audio_urls=["https://x.test/a.mp3"],
    )
    ark_text = get_dialect("byteplus").build_submit(request).json["content"][0]["text"]  # type: ignore[index]
    assert ark_text == "Image 1 walks, then Image 2 waves to Audio 1; email me@Images.test"
    fal_body = get_dialect("fal").build_submit(request).json
    assert fal_body is not None
    assert fal_body["prompt"] == request.prompt


# -- Ark model ids and endpoint ids per connection -----------------------------------------------
def test_ark_model_overrides_replace_the_model_per_tier_and_per_mode() -> None:
    dialect = get_dialect(
        "byteplus",
        model_overrides={
            "standard": "ep-20260401123456-abcde",
            "image-to-video/fast": "ep-20260401123456-fghij",
        },
    )
    assert dialect.build_submit(t2v("standard")).json["model"] == "ep-20260401123456-abcde"  # type: ignore[index]
    assert dialect.build_submit(i2v("fast")).json["model"] == "ep-20260401123456-fghij"  # type: ignore[index]
    assert dialect.build_submit(t2v("fast")).json["model"] == "dreamina-seedance-2-0-fast-260128"  # type: ignore[index]


def test_model_overrides_are_checked_naming_each_bad_entry() -> None:
    with pytest.raises(SeedanceValidationError) as info:
        get_dialect("volcengine", model_overrides={"turbo": "ep-1", "fast": "has space"})
    fields = [e.field for e in info.value.errors]
    assert fields == ["model_overrides.turbo", "model_overrides.fast"]
    with pytest.raises(SeedanceValidationError, match=r"fal\.ai takes no model id overrides"):
        get_dialect("fal", model_overrides={"standard": "x"})


def test_dialect_options_read_model_overrides_from_the_connection_extra() -> None:
    assert dialect_options({"platform": "byteplus"}) == {}
    text = '{"standard": "ep-20260401123456-abcde"}'
    assert dialect_options({"model_overrides": text}) == {
        "model_overrides": {"standard": "ep-20260401123456-abcde"}
    }
    with pytest.raises(SeedanceValidationError, match=r"extra\.model_overrides"):
        dialect_options({"model_overrides": "[1, 2]"})


# -- what each platform sells: the parse-time refusal --------------------------------------------
SOLD = {
    "fal": set(Mode),
    "oxen": set(Mode),
    "aihubmax": {Mode.IMAGE_TO_VIDEO, Mode.REFERENCE_TO_VIDEO},
    "byteplus": set(Mode),
    "volcengine": set(Mode),
}


@pytest.mark.parametrize("platform", list(DIALECTS))
@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("tier", ["standard", "fast"])
def test_mode_refusal_matches_the_catalog(platform: str, mode: Mode, tier: str) -> None:
    refusal = mode_refusal(platform, mode, tier)
    assert dialect_class(platform).sells(mode, tier) is (mode in SOLD[platform])
    if mode in SOLD[platform]:
        assert refusal is None
    else:
        assert refusal is not None
        assert dialect_class(platform).label in refusal.message
        assert mode.value in refusal.message
