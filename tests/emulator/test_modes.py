"""Every mode on every emulated platform that sells it, over raw HTTP: each mode's schema is
checked the way its platform documents it, jobs record their mode, and faults apply alike."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from airflow_provider_seedance.emulator.routes import ROUTES, classify
from airflow_provider_seedance.emulator.testing import EmulatorHandle
from tests.emulator.conftest import ARK_TASKS

FAL = "/bytedance/seedance-2.0"
IMG = "https://x.test/first.png"
END = "https://x.test/last.png"


def _text(prompt: str = "A lighthouse at dawn") -> dict[str, Any]:
    return {"type": "text", "text": prompt}


def _image(role: str | None, url: str = IMG) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "image_url", "image_url": {"url": url}}
    if role is not None:
        item["role"] = role
    return item


# -- fal ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["text-to-video", "image-to-video", "reference-to-video"])
@pytest.mark.parametrize("tier", ["", "/fast"])
def test_fal_serves_every_mode_and_tier_under_one_route_name(tier: str, mode: str) -> None:
    path = f"{FAL}{tier}/{mode}"
    assert classify("POST", path) == ("fal", "fal.submit")
    assert sum(route.matches("POST", path) for route in ROUTES) == 1


@pytest.mark.parametrize(
    ("path", "body", "mode", "tier"),
    [
        ("/text-to-video", {"prompt": "p"}, "text-to-video", "standard"),
        ("/fast/text-to-video", {"prompt": "p", "duration": "4"}, "text-to-video", "fast"),
        (
            "/image-to-video",
            {"prompt": "p", "image_url": IMG, "resolution": "1080p"},
            "image-to-video",
            "standard",
        ),
        (
            "/fast/image-to-video",
            {"prompt": "p", "image_url": IMG, "end_image_url": END},
            "image-to-video",
            "fast",
        ),
    ],
)
def test_fal_accepts_each_modes_schema_and_records_the_mode(
    emu: EmulatorHandle, fal: httpx.Client, path: str, body: dict[str, Any], mode: str, tier: str
) -> None:
    response = fal.post(FAL + path, json=body)
    assert response.status_code == 200, response.text
    (job,) = emu.jobs()
    assert (job["mode"], job["tier"], job["model"]) == (mode, tier, (FAL + path).lstrip("/"))


@pytest.mark.parametrize(
    ("path", "body", "loc", "kind"),
    [
        ("/image-to-video", {"prompt": "p"}, ["body", "image_url"], "missing"),
        (
            "/fast/image-to-video",
            {"prompt": "p", "image_url": IMG, "resolution": "1080p"},
            ["body", "resolution"],
            "enum",
        ),
        ("/text-to-video", {"prompt": "p", "resolution": "1080p"}, ["body", "resolution"], "enum"),
        ("/text-to-video", {"prompt": "p", "image_urls": [IMG]}, ["body", "image_urls"], "extra_forbidden"),
        (
            "/image-to-video",
            {"prompt": "p", "image_url": IMG, "video_urls": []},
            ["body", "video_urls"],
            "extra_forbidden",
        ),
        ("/reference-to-video", {"prompt": "p", "image_url": IMG}, ["body", "image_url"], "extra_forbidden"),
    ],
)
def test_fal_refuses_what_a_modes_schema_does_not_have(
    emu: EmulatorHandle, fal: httpx.Client, path: str, body: dict[str, Any], loc: list[str], kind: str
) -> None:
    response = fal.post(FAL + path, json=body)
    assert response.status_code == 422
    (detail,) = response.json()["detail"]
    assert (detail["loc"], detail["type"]) == (loc, kind)
    assert emu.jobs() == []


def test_a_fault_on_fal_submit_hits_every_modes_endpoint(emu: EmulatorHandle, fal: httpx.Client) -> None:
    emu.add_fault("fal.submit", "status", status=429, times=2)
    assert fal.post(f"{FAL}/text-to-video", json={"prompt": "p"}).status_code == 429
    assert fal.post(f"{FAL}/fast/image-to-video", json={"prompt": "p", "image_url": IMG}).status_code == 429
    assert fal.post(f"{FAL}/image-to-video", json={"prompt": "p", "image_url": IMG}).status_code == 200


# -- Oxen -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "body", "mode"),
    [
        ("bytedance-seedance-2-0-text-to-video", {}, "text-to-video"),
        ("bytedance-seedance-2-0-fast-text-to-video", {}, "text-to-video"),
        (
            "bytedance-seedance-2-0-image-to-video",
            {"input_image": IMG, "tail_image_url": END},
            "image-to-video",
        ),
        ("bytedance-seedance-2-0-fast-image-to-video", {"input_image": IMG}, "image-to-video"),
    ],
)
def test_oxen_serves_text_and_image_to_video(
    emu: EmulatorHandle, bearer: httpx.Client, model: str, body: dict[str, Any], mode: str
) -> None:
    response = bearer.post("/api/ai/queue", json={"model": model, "prompt": "p", **body})
    generation_id = response.json()["generations"][0]["generation_id"]
    emu.advance(31)
    assert bearer.get(f"/api/ai/queue/{generation_id}").json()["status"] == "succeeded"
    assert emu.jobs()[0]["mode"] == mode


def test_oxen_reports_a_bad_image_to_video_body_later_as_a_failed_generation(
    emu: EmulatorHandle, bearer: httpx.Client
) -> None:
    body = {"model": "bytedance-seedance-2-0-fast-image-to-video", "prompt": "p", "resolution": "1080p"}
    generation_id = bearer.post("/api/ai/queue", json=body).json()["generations"][0]["generation_id"]
    emu.advance(11)
    view = bearer.get(f"/api/ai/queue/{generation_id}").json()
    assert view["status"] == "failed"
    assert "input_image: Field required" in view["error_message"]
    assert "resolution" in view["error_message"]


# -- AIHubMax -------------------------------------------------------------------------------------
def test_aihubmax_serves_image_to_video_and_has_no_text_to_video(
    emu: EmulatorHandle, bearer: httpx.Client
) -> None:
    body = {
        "model": "seedance-2.0-fast-image-to-video",
        "prompt": "p",
        "image_url": IMG,
        "end_image_url": END,
    }
    assert bearer.post("/v1/videos/generations", json=body).status_code == 200
    assert emu.jobs()[0]["mode"] == "image-to-video"
    refused = bearer.post(
        "/v1/videos/generations", json={"model": "seedance-2.0-text-to-video", "prompt": "p"}
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "model_not_found"
    missing = bearer.post(
        "/v1/videos/generations", json={"model": "seedance-2.0-image-to-video", "prompt": "p"}
    )
    assert (missing.status_code, missing.json()["error"]["param"]) == (400, "image_url")


# -- Ark ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "mode"),
    [
        ([_text()], "text-to-video"),
        ([_text(), _image("first_frame")], "image-to-video"),
        ([_text(), _image("first_frame"), _image("last_frame", END)], "image-to-video"),
        ([_text(), _image(None)], "image-to-video"),
        ([_text(), _image("reference_image")], "reference-to-video"),
    ],
)
def test_ark_content_roles_make_the_mode(
    emu: EmulatorHandle, bearer: httpx.Client, content: list[dict[str, Any]], mode: str
) -> None:
    response = bearer.post(ARK_TASKS, json={"model": "doubao-seedance-2-0-fast-260128", "content": content})
    assert response.status_code == 200, response.text
    assert emu.jobs()[0]["mode"] == mode


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            [_text(), _image("first_frame"), _image("reference_image")],
            "cannot be combined with reference_image",
        ),
        (
            [
                _text(),
                _image("last_frame"),
                {"type": "audio_url", "audio_url": {"url": "https://x/a.mp3"}, "role": "reference_audio"},
            ],
            "cannot be combined",
        ),
        ([_text(), _image("last_frame")], "a last_frame image requires a first_frame image"),
        ([_text(), _image("first_frame"), _image("first_frame")], "at most one first_frame image"),
    ],
)
def test_ark_refuses_mixed_role_families(
    emu: EmulatorHandle, bearer: httpx.Client, content: list[dict[str, Any]], message: str
) -> None:
    response = bearer.post(ARK_TASKS, json={"model": "dreamina-seedance-2-0-260128", "content": content})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidParameter"
    assert message in response.json()["error"]["message"]
    assert emu.jobs() == []
