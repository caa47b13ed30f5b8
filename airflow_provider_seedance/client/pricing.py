"""Cost estimates per mode and tier, from the platforms' published rules.

fal.ai (the source documents and fal's model pages for every mode) bills tokens::

    tokens = height * width * (input video seconds + output seconds) * 24 / 1024

at $0.014 per 1000 tokens (standard) or $0.0112 (fast), times 0.6 when video inputs are
given. Only reference-to-video takes video inputs, so text-to-video and image-to-video are
priced on their output seconds alone (fal's text/image-to-video pages state the formula without
the input term). For 1280x720 output with no video input that is $0.3024 per second (standard)
and $0.24192 per second (fast), the per-second rates the documents quote; with video inputs,
$0.18144 and $0.145152. (fal's text-to-video page also shows "$0.3034/second" once; the
formula it states gives $0.3024, which is what is used.)

The estimate is an *upper bound* meant for budget guards:

* ``duration="auto"`` is estimated at its maximum, 15 s;
* the reference videos' combined duration is unknown before probing the media, so it is
  estimated at the documented maximum, 15 s, unless the caller passes ``input_video_seconds``;
* the output frame is priced at the 16:9 frame of its resolution (854x480, 1280x720,
  1920x1080): the documents quote one per-second rate per resolution, whatever the aspect ratio.

Other platforms bill differently (credits, per-second rates of their own) and their price lists
are not confirmed: their jobs are estimated with the same fal.ai rules, labelled as such in
:attr:`CostEstimate.basis`, and :attr:`CostEstimate.known` is False. A budget guard refuses an
unknown price unless the user allows it (:func:`budget_problem`).
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_seedance.client.errors import FieldError
from airflow_provider_seedance.client.models import MAX_DURATION, Mode, SeedanceRequest

#: USD per 1000 tokens, per tier (fal.ai; the same for every mode).
TOKEN_PRICE_PER_1000: dict[str, float] = {"standard": 0.014, "fast": 0.0112}
VIDEO_INPUT_MULTIPLIER = 0.6
#: Output frame size used for pricing, per resolution.
FRAME_SIZES: dict[str, tuple[int, int]] = {"480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080)}
#: Documented maximum of the reference videos' combined duration.
MAX_INPUT_VIDEO_SECONDS = 15.0
#: (platform, mode) pairs whose price rules are published and applied here; every other pair is
#: estimated with fal.ai's rules and reported as not known.
PUBLISHED_RULES: frozenset[tuple[str, Mode]] = frozenset(("fal", mode) for mode in Mode)


@dataclass(frozen=True)
class CostEstimate:
    """An upper-bound cost estimate, how it was computed, and whether the rules are the
    platform's own published ones (``known``) or fal.ai's applied as a stand-in."""

    usd: float
    output_seconds: int
    input_video_seconds: float
    tokens: float
    basis: str
    known: bool = True
    mode: Mode = Mode.REFERENCE_TO_VIDEO

    def __str__(self) -> str:
        return f"${self.usd:.4f} ({self.basis})"


def tokens_for(resolution: str, output_seconds: float, input_video_seconds: float = 0.0) -> float:
    width, height = FRAME_SIZES[resolution]
    return height * width * (input_video_seconds + output_seconds) * 24 / 1024


def estimate_cost(
    request: SeedanceRequest,
    *,
    platform: str = "fal",
    input_video_seconds: float | None = None,
) -> CostEstimate:
    """Estimate the upper bound of what ``request`` (any mode) costs on ``platform``, in USD."""
    output_seconds = MAX_DURATION if request.duration == "auto" else int(request.duration)
    with_video = request.has_video_inputs
    if with_video:
        video_in = MAX_INPUT_VIDEO_SECONDS if input_video_seconds is None else float(input_video_seconds)
    else:
        video_in = 0.0
    tokens = tokens_for(request.resolution, output_seconds, video_in)
    usd = tokens / 1000 * TOKEN_PRICE_PER_1000[request.tier]
    if with_video:
        usd *= VIDEO_INPUT_MULTIPLIER
    parts = [
        f"{request.tier} tier",
        request.resolution,
        f"{output_seconds} s output"
        + (" (duration auto priced at its maximum)" if request.duration == "auto" else ""),
    ]
    if with_video:
        parts.append(f"{video_in:g} s of input video, x{VIDEO_INPUT_MULTIPLIER}")
    if request.mode is not Mode.REFERENCE_TO_VIDEO:
        parts.insert(0, request.mode.value)
    known = (platform, request.mode) in PUBLISHED_RULES
    basis = ", ".join(parts) + ("" if known else f"; fal.ai price rules applied to {platform}")
    return CostEstimate(
        usd=round(usd, 6),
        output_seconds=output_seconds,
        input_video_seconds=video_in,
        tokens=tokens,
        basis=basis,
        known=known,
        mode=request.mode,
    )


def budget_problem(
    estimate: CostEstimate, max_cost_usd: float | None, *, allow_unknown_price: bool = False
) -> FieldError | None:
    """Why a budget guard with ``max_cost_usd`` must refuse ``estimate`` before submitting, or None.

    No budget (None) never refuses. With one, an estimate above it is refused, and so is an
    estimate whose price rules are not the platform's own (``known`` False) unless
    ``allow_unknown_price``: a guess cannot guarantee a budget.
    """
    if max_cost_usd is None:
        return None
    if estimate.usd > max_cost_usd:
        return FieldError(
            "max_cost_usd", f"the job may cost up to {estimate} which is above the budget ${max_cost_usd:.4f}"
        )
    if not estimate.known and not allow_unknown_price:
        return FieldError(
            "max_cost_usd",
            f"the price on this platform is not known (estimate {estimate}); a budget cannot be "
            "guaranteed. Set allow_unknown_price=True to accept the estimate",
        )
    return None
