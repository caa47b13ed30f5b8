"""Content-moderation refusals: recognising them in platform answers, and what they refused.

A refusal is the platform saying it will not generate from this content; repeating the request
gets the same answer (and may be billed again), so it becomes one non-retryable error class
(:class:`~.errors.SeedanceContentRejected`). The platforms spell it differently:

* Ark (BytePlus / Volcengine) and gateways relaying it (AIHubMax): codes containing
  ``SensitiveContentDetected`` (``InputTextSensitiveContentDetected`` -> the prompt,
  ``InputImage...`` -> an image, ``InputVideo...`` / ``InputAudio...``; the bare code and
  ``OutputVideo...`` name no input), on a submit's 400 or a failed task's ``error.code``.
* fal.ai: a 422 whose ``detail`` items have ``type: content_policy_violation``; ``loc`` names
  the input (``["body", "image_urls", 0]``, read from the dialect's formatted detail
  ``image_urls.0: ... [content_policy_violation]``). It may appear only when the result is
  fetched.
* Oxen.ai (and free-text messages anywhere): a late ``failed`` generation whose message relays
  one of the above or says the content was flagged / violates a content policy / was refused
  by moderation.

:func:`classify` reads a code and a message; :func:`status_error` writes a refusal into a
:class:`JobStatus`'s ``error`` text (``error_type`` is ``content_rejected``) and
:func:`refusal_from_status` reads it back for the result's error. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from airflow_provider_seedance.client.errors import CONTENT_REJECTED

__all__ = ["Refusal", "classify", "describe", "refusal_from_status", "status_error"]

#: refused_input values and how a message names them.
INPUTS = {
    "prompt": "the prompt text",
    "image": "a reference image",
    "video": "a reference video",
    "audio": "a reference audio",
}

_ARK_CODE = re.compile(
    r"\b(Input(Text|Image|Video|Audio)|Output(Video|Image)?)?SensitiveContentDetected[\w.]*"
)
_ARK_INPUTS = {"Text": "prompt", "Image": "image", "Video": "video", "Audio": "audio"}
_POLICY_TYPE = "content_policy_violation"
_FLAGGED = re.compile(
    r"content[ _-]?policy|content[ _-]?(moderation|filter|checker)|moderation|\bflagged\b|"
    r"sensitive[ _-]?content|\bnsfw\b|safety[ _-]?(check|system|filter)|policy[ _-]?violation",
    re.IGNORECASE,
)
#: Field names and words that say which input a free-text refusal is about.
_FIELDS = (
    (re.compile(r"\b(prompt|input[ _]?text)\b", re.IGNORECASE), "prompt"),
    (
        re.compile(r"\b(image_urls?|input_images?|input[ _]image|reference[ _]image)\b", re.IGNORECASE),
        "image",
    ),
    (
        re.compile(r"\b(video_urls?|input_videos?|input[ _]video|reference[ _]video)\b", re.IGNORECASE),
        "video",
    ),
    (
        re.compile(r"\b(audio_urls?|input_audios?|input[ _]audio|reference[ _]audio)\b", re.IGNORECASE),
        "audio",
    ),
)
_STATUS_MARK = re.compile(r"refused input: (prompt|image|video|audio|not named)\)$")


@dataclass(frozen=True)
class Refusal:
    """A moderation refusal: the platform's code and the refused input, when it says."""

    code: str
    refused_input: str | None = None


def _input_named(text: str) -> str | None:
    for pattern, name in _FIELDS:
        if pattern.search(text):
            return name
    return None


def classify(code: str | None, message: str | None) -> Refusal | None:
    """The refusal that ``code`` and/or ``message`` show, or None when they show none."""
    for text in (code, message):
        if not text:
            continue
        if match := _ARK_CODE.search(text):
            kind = match.group(2)
            return Refusal(match.group(0), _ARK_INPUTS.get(kind) if kind else None)
    text = " ".join(t for t in (code, message) if t)
    if _POLICY_TYPE in text:
        return Refusal(_POLICY_TYPE, _input_named(text))
    if _FLAGGED.search(text):
        return Refusal(code or "moderation", _input_named(text))
    return None


def describe(refused_input: str | None) -> str:
    """``"a reference image"``, or ``"the content"`` when the platform did not say."""
    return INPUTS.get(refused_input or "", "the content")


def status_error(refusal: Refusal, message: str | None) -> str:
    """A moderated job's ``JobStatus.error``: the platform's message, its code, the input."""
    named = refusal.refused_input or "not named"
    return f"{message or 'refused for its content'} ({refusal.code}; refused input: {named})"


def refusal_from_status(error_type: str | None, error: str | None) -> Refusal | None:
    """The refusal a status written by :func:`status_error` carries, or None."""
    if error_type != CONTENT_REJECTED:
        return None
    match = _STATUS_MARK.search(error or "")
    named = match.group(1) if match else None
    code = (error or "").rsplit("(", 1)[-1].split(";", 1)[0] if match else CONTENT_REJECTED
    return Refusal(code, None if named in (None, "not named") else named)
