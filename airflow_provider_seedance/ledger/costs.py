"""Actual costs where a platform reports usage; otherwise the estimate, labelled as such.

* **Ark (BytePlus ModelArk, Volcengine Ark)** reports ``usage.completion_tokens`` on a
  succeeded task. Its published rule bills tokens
  ``(input video s + output s) * width * height * fps / 1024`` at a price per million tokens that
  depends on the tier and on whether video inputs were given; Volcengine publishes 46 / 28 CNY
  (standard, without / with video input) and 37 / 22 CNY (fast) per million tokens, and charges
  only successfully generated videos. BytePlus's USD list price was not confirmed from official
  text: by default the CNY rates are converted at ``cny_per_usd`` (7.0); pass ``usd_per_million``
  to use the account's contracted rate. The basis string says which rate was used.
* **fal.ai, Oxen.ai, AIHubMax** report no cost per job through the APIs this provider uses
  (fal's status has ``metrics.inference_time`` only; AIHubMax's ``usage.credits_reserved`` is in
  credits): the estimate is charged, and the cost basis says ``estimate``.
"""

from __future__ import annotations

from collections.abc import Mapping

ARK_PLATFORMS: tuple[str, ...] = ("byteplus", "volcengine")
#: Volcengine's published Seedance 2.0 rates, CNY per million tokens: (tier, has video input).
ARK_CNY_PER_MILLION: Mapping[tuple[str, bool], float] = {
    ("standard", False): 46.0,
    ("standard", True): 28.0,
    ("fast", False): 37.0,
    ("fast", True): 22.0,
}
DEFAULT_CNY_PER_USD = 7.0


def ark_cost(
    tokens: int,
    *,
    tier: str,
    has_video_inputs: bool,
    usd_per_million: Mapping[str, float] | None = None,
    cny_per_usd: float = DEFAULT_CNY_PER_USD,
) -> tuple[float, str]:
    """USD for ``tokens`` Ark usage tokens, and the basis of the figure."""
    if tokens < 0:
        raise ValueError("usage tokens must not be negative")
    video = "with video input" if has_video_inputs else "no video input"
    key = f"{tier}{'_video' if has_video_inputs else ''}"
    if usd_per_million and key in usd_per_million:
        rate = float(usd_per_million[key])
        return (
            tokens / 1e6 * rate,
            f"Ark usage: {tokens} tokens x ${rate:g}/1M ({tier}, {video}; configured rate)",
        )
    cny = ARK_CNY_PER_MILLION[(tier, has_video_inputs)]
    usd = tokens / 1e6 * cny / cny_per_usd
    return usd, (
        f"Ark usage: {tokens} tokens x {cny:g} CNY/1M (published Seedance 2.0 rate, {tier}, {video}) "
        f"at {cny_per_usd:g} CNY/USD"
    )
