"""Cost estimates against the worked examples of the fal.ai pricing text (seeds 002 and 003)."""

from __future__ import annotations

import pytest

from airflow_provider_seedance.client.models import ReferenceToVideoRequest
from airflow_provider_seedance.client.pricing import estimate_cost, tokens_for

IMG = "https://cdn.example.com/a.jpg"
VID = "https://cdn.example.com/a.mp4"


def per_second(tier: str, *, video: bool = False, resolution: str = "720p") -> float:
    """The per-output-second price, isolated by giving no input video seconds."""
    request = ReferenceToVideoRequest(
        prompt="p", duration=10, tier=tier, resolution=resolution, **({"video_urls": [VID]} if video else {})
    )
    return estimate_cost(request, input_video_seconds=0).usd / 10


def test_standard_720p_costs_0_3024_per_second() -> None:
    assert per_second("standard") == pytest.approx(0.3024, abs=1e-9)


def test_fast_720p_costs_0_24192_per_second() -> None:
    assert per_second("fast") == pytest.approx(0.24192, abs=1e-9)
    assert round(per_second("fast"), 4) == 0.2419  # as the page rounds it


def test_standard_720p_with_video_inputs_costs_0_1814_per_second() -> None:
    assert per_second("standard", video=True) == pytest.approx(0.18144, abs=1e-9)
    assert round(per_second("standard", video=True), 4) == 0.1814


def test_fast_720p_with_video_inputs_costs_0_14515_per_second() -> None:
    assert per_second("fast", video=True) == pytest.approx(0.145152, abs=1e-9)
    assert round(per_second("fast", video=True), 5) == 0.14515


def test_reference_images_do_not_change_the_price() -> None:
    with_images = ReferenceToVideoRequest(prompt="p", duration=5, image_urls=[IMG] * 9)
    without = ReferenceToVideoRequest(prompt="p", duration=5)
    assert estimate_cost(with_images).usd == estimate_cost(without).usd


def test_token_formula_counts_input_and_output_video_seconds() -> None:
    # (height * width * (input duration + output duration) * 24) / 1024
    assert tokens_for("720p", output_seconds=5, input_video_seconds=3) == 720 * 1280 * (3 + 5) * 24 / 1024
    assert tokens_for("720p", output_seconds=5, input_video_seconds=3) == 172800.0


def test_input_video_seconds_are_billed_as_tokens_times_0_6() -> None:
    request = ReferenceToVideoRequest(prompt="p", duration=5, video_urls=[VID])
    estimate = estimate_cost(request, input_video_seconds=3)
    assert estimate.tokens == 172800.0
    assert estimate.usd == pytest.approx(172800 / 1000 * 0.014 * 0.6)  # $1.45152
    assert estimate.input_video_seconds == 3.0


def test_unknown_input_video_length_is_estimated_at_its_15_second_maximum() -> None:
    request = ReferenceToVideoRequest(prompt="p", duration=4, video_urls=[VID], tier="fast")
    estimate = estimate_cost(request)
    assert estimate.input_video_seconds == 15.0
    assert estimate.usd == pytest.approx(tokens_for("720p", 4, 15) / 1000 * 0.0112 * 0.6, rel=1e-6)


def test_input_video_seconds_are_ignored_without_video_inputs() -> None:
    request = ReferenceToVideoRequest(prompt="p", duration=4)
    assert estimate_cost(request, input_video_seconds=10).input_video_seconds == 0.0


def test_duration_auto_is_priced_at_15_seconds() -> None:
    estimate = estimate_cost(ReferenceToVideoRequest(prompt="p", duration="auto"))
    assert estimate.output_seconds == 15
    assert estimate.usd == pytest.approx(15 * 0.3024)
    assert "duration auto priced at its maximum" in estimate.basis


@pytest.mark.parametrize(("duration", "usd"), [(4, 1.2096), (15, 4.536)])
def test_standard_720p_cost_scales_with_duration(duration: int, usd: float) -> None:
    assert estimate_cost(ReferenceToVideoRequest(prompt="p", duration=duration)).usd == pytest.approx(usd)


def test_480p_is_cheaper_than_720p() -> None:
    assert per_second("standard", resolution="480p") < per_second("standard")
    assert per_second("standard", resolution="480p") == pytest.approx(854 * 480 * 24 / 1024 / 1000 * 0.014)


def test_estimate_explains_its_basis() -> None:
    request = ReferenceToVideoRequest(prompt="p", duration=6, video_urls=[VID], tier="fast")
    estimate = estimate_cost(request, input_video_seconds=2.5)
    assert estimate.basis == "fast tier, 720p, 6 s output, 2.5 s of input video, x0.6"
    assert str(estimate).startswith("$")


def test_estimate_for_another_platform_says_fal_rules_were_applied() -> None:
    estimate = estimate_cost(ReferenceToVideoRequest(prompt="p", duration=6), platform="oxen")
    assert estimate.basis.endswith("; fal.ai price rules applied to oxen")
