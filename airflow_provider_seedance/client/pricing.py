"""Cost estimates from the source documents' fal.ai price rules.

fal.ai bills tokens::

    tokens = height * width * (input video seconds + output seconds) * 24 / 1024

at $0.014 per 1000 tokens (standard) or $0.0112 (fast), times 0.6 when video inputs are
given. For 1280x720 output with no video input that is $0.3024 per second (standard) and
$0.24192 per second (fast), the per-second rates the documents quote; with video inputs,
$0.18144 and $0.145152.

The estimate is an *upper bound* meant for budget guards:

* ``duration="auto"`` is estimated at its maximum, 15 s;
* the reference videos' combined duration is unknown before probing the media, so it is
  estimated at the documented maximum, 15 s, unless the caller passes ``input_video_seconds``;
* the output frame is priced at the 16:9 frame of its resolution (854x480, 1280x720,
  1920x1080): the documents quote one per-second rate per resolution, whatever the aspect ratio.

Other platforms bill differently (credits, per-second rates of their own); until their price
lists are confirmed their jobs are estimated with the same fal.ai rules, labelled as such.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_seedance.client.models import MAX_DURATION, ReferenceToVideoRequest

#: USD per 1000 tokens, per tier.
TOKEN_PRICE_PER_1000: dict[str, float] = {"standard": 0.014, "fast": 0.0112}
VIDEO_INPUT_MULTIPLIER = 0.6
#: Output frame size used for pricing, per resolution.
FRAME_SIZES: dict[str, tuple[int, int]] = {"480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080)}
#: Documented maximum of the reference videos' combined duration.
MAX_INPUT_VIDEO_SECONDS = 15.0


@dataclass(frozen=True)
class CostEstimate:
    """An upper-bound cost estimate and how it was computed."""

    usd: float
    output_seconds: int
    input_video_seconds: float
    tokens: float
    basis: str

    def __str__(self) -> str:
        return f"${self.usd:.4f} ({self.basis})"


def tokens_for(resolution: str, output_seconds: float, input_video_seconds: float = 0.0) -> float:
    width, height = FRAME_SIZES[resolution]
    return height * width * (input_video_seconds + output_seconds) * 24 / 1024


def estimate_cost(
    request: ReferenceToVideoRequest,
    *,
    platform: str = "fal",
    input_video_seconds: float | None = None,
) -> CostEstimate:
    """Estimate the upper bound of what ``request`` costs, in USD."""
    output_seconds = MAX_DURATION if request.duration == "auto" else int(request.duration)
    if request.has_video_inputs:
        video_in = MAX_INPUT_VIDEO_SECONDS if input_video_seconds is None else float(input_video_seconds)
    else:
        video_in = 0.0
    tokens = tokens_for(request.resolution, output_seconds, video_in)
    usd = tokens / 1000 * TOKEN_PRICE_PER_1000[request.tier]
    if request.has_video_inputs:
        usd *= VIDEO_INPUT_MULTIPLIER
    parts = [
        f"{request.tier} tier",
        request.resolution,
        f"{output_seconds} s output"
        + (" (duration auto priced at its maximum)" if request.duration == "auto" else ""),
    ]
    if request.has_video_inputs:
        parts.append(f"{video_in:g} s of input video, x{VIDEO_INPUT_MULTIPLIER}")
    basis = ", ".join(parts) + ("" if platform == "fal" else f"; fal.ai price rules applied to {platform}")
    return CostEstimate(
        usd=round(usd, 6),
        output_seconds=output_seconds,
        input_video_seconds=video_in,
        tokens=tokens,
        basis=basis,
    )
