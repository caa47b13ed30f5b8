"""Pricing per mode and tier (fal's published rules), labelled estimates elsewhere, and the
budget guard's refusal of unknown prices."""

from __future__ import annotations

import pytest

from airflow_provider_seedance.client.models import ImageToVideoRequest, Mode, TextToVideoRequest
from airflow_provider_seedance.client.pricing import budget_problem, estimate_cost

IMG = "https://cdn.example.com/p.png"


@pytest.mark.parametrize(("tier", "per_second"), [("standard", 0.3024), ("fast", 0.24192)])
def test_text_and_image_to_video_cost_fals_per_second_rate(tier: str, per_second: float) -> None:
    for request in (
        TextToVideoRequest(prompt="p", duration=5, tier=tier),
        ImageToVideoRequest(prompt="p", image_url=IMG, end_image_url=IMG, duration=5, tier=tier),
    ):
        estimate = estimate_cost(request)
        assert estimate.usd == pytest.approx(5 * per_second)
        assert estimate.known
        assert estimate.input_video_seconds == 0.0
        assert estimate.basis.startswith(f"{request.mode.value}, {tier} tier, 720p, 5 s output")


def test_standard_image_to_video_at_1080p_and_auto_duration_is_an_upper_bound() -> None:
    estimate = estimate_cost(ImageToVideoRequest(prompt="p", image_url=IMG, resolution="1080p"))
    assert estimate.output_seconds == 15
    assert estimate.usd == pytest.approx(1920 * 1080 * 15 * 24 / 1024 / 1000 * 0.014)
    assert estimate.mode is Mode.IMAGE_TO_VIDEO


@pytest.mark.parametrize("platform", ["oxen", "aihubmax", "byteplus", "volcengine"])
def test_other_platforms_are_estimates_labelled_with_their_basis(platform: str) -> None:
    estimate = estimate_cost(TextToVideoRequest(prompt="p", duration=4), platform=platform)
    assert not estimate.known
    assert estimate.basis.endswith(f"; fal.ai price rules applied to {platform}")


def test_the_budget_guard_refuses_over_budget_and_unknown_prices_unless_allowed() -> None:
    known = estimate_cost(TextToVideoRequest(prompt="p", duration=4))
    guessed = estimate_cost(TextToVideoRequest(prompt="p", duration=4), platform="oxen")
    assert budget_problem(known, None) is None
    assert budget_problem(known, 5.0) is None
    over = budget_problem(known, 1.0)
    assert over is not None
    assert "above the budget $1.0000" in over.message
    unknown = budget_problem(guessed, 5.0)
    assert unknown is not None
    assert "allow_unknown_price=True" in unknown.message
    assert budget_problem(guessed, 5.0, allow_unknown_price=True) is None
    assert budget_problem(guessed, None) is None  # no budget, nothing to guarantee
