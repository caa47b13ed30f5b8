"""Input checks shared by the platform dialects (limits from the source documents).

Each check returns :class:`Problem` items; every platform renders them in its own error shape
(fal 422 ``detail`` list, AIHubMax/Ark 400 ``error``, Oxen a later ``failed`` job).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MAX_PROMPT_CHARS = 5000
MAX_IMAGES = 9
MAX_VIDEOS = 3
MAX_AUDIOS = 3
MAX_FILES = 12
MAX_SEED = 2**32 - 1
DURATION_STRINGS = ("auto", *(str(n) for n in range(4, 16)))
DURATION_INTS = (-1, *range(4, 16))
FAL_ASPECT_RATIOS = ("auto", "21:9", "16:9", "4:3", "1:1", "3:4", "9:16")
#: The Seedance 2.0 modes, as the platforms' endpoint and model names spell them.
TEXT_TO_VIDEO = "text-to-video"
IMAGE_TO_VIDEO = "image-to-video"
REFERENCE_TO_VIDEO = "reference-to-video"
MODES = (TEXT_TO_VIDEO, IMAGE_TO_VIDEO, REFERENCE_TO_VIDEO)
ADAPTIVE_ASPECT_RATIOS = ("adaptive", "21:9", "16:9", "4:3", "1:1", "3:4", "9:16")


@dataclass(frozen=True)
class Problem:
    """One invalid input: the field (as the platform names it), a message and an error type."""

    field: str
    message: str
    type: str = "value_error"
    value: Any = None


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_prompt(prompt: Any, field: str = "prompt") -> list[Problem]:
    if prompt is None:
        return [Problem(field, "Field required", "missing")]
    if not isinstance(prompt, str):
        return [Problem(field, "Input should be a valid string", "string_type", prompt)]
    if not prompt.strip():
        return [Problem(field, "String should have at least 1 character", "string_too_short", prompt)]
    if len(prompt) > MAX_PROMPT_CHARS:
        return [
            Problem(
                field,
                f"String should have at most {MAX_PROMPT_CHARS} characters (got {len(prompt)})",
                "string_too_long",
                len(prompt),
            )
        ]
    return []


def check_media(lists: dict[str, tuple[Any, int]]) -> tuple[list[Problem], dict[str, int]]:
    """Check ``{field: (value, limit)}`` URL lists in the order images, videos, audios.

    Also checks the 12-file total and "audio needs an image or video" (the first field is the
    image list, the second the video list, the third the audio list).
    """
    problems: list[Problem] = []
    counts: dict[str, int] = {}
    for field, (value, limit) in lists.items():
        counts[field] = 0
        if value is None:
            continue
        if not isinstance(value, list):
            problems.append(Problem(field, "Input should be a valid list", "list_type", value))
            continue
        counts[field] = len(value)
        if len(value) > limit:
            problems.append(
                Problem(
                    field,
                    f"List should have at most {limit} items after validation, not {len(value)}",
                    "too_long",
                    len(value),
                )
            )
        for i, url in enumerate(value):
            if not isinstance(url, str) or not url.strip():
                problems.append(
                    Problem(f"{field}[{i}]", "Input should be a valid URL string", "url_type", url)
                )
    names = list(lists)
    total = sum(counts.values())
    if total > MAX_FILES:
        problems.append(
            Problem(names[0], f"Total files across all modalities must not exceed {MAX_FILES}, got {total}")
        )
    if len(names) == 3 and counts[names[2]] > 0 and counts[names[0]] == 0 and counts[names[1]] == 0:
        problems.append(
            Problem(names[2], "If audio is provided, at least one reference image or video is required")
        )
    return problems, counts


def check_enum(body: dict[str, Any], field: str, allowed: tuple[Any, ...]) -> list[Problem]:
    if field not in body or body[field] is None:
        return []
    value = body[field]
    # bool is an int in Python; never accept it where numbers are expected
    if isinstance(value, bool) or value not in allowed or type(value) is not type(allowed[-1]):
        options = ", ".join(repr(a) for a in allowed)
        return [Problem(field, f"Input should be {options}", "enum", value)]
    return []


def check_bool(body: dict[str, Any], field: str) -> list[Problem]:
    if field in body and body[field] is not None and not isinstance(body[field], bool):
        return [Problem(field, "Input should be a valid boolean", "bool_type", body[field])]
    return []


def check_seed(body: dict[str, Any], field: str = "seed", *, allow_minus_one: bool = True) -> list[Problem]:
    if field not in body or body[field] is None:
        return []
    value = body[field]
    low = -1 if allow_minus_one else 0
    if not is_int(value) or not low <= value <= MAX_SEED:
        return [Problem(field, f"Input should be an integer between {low} and {MAX_SEED}", "int_type", value)]
    return []


def check_frames(body: dict[str, Any], first: str, last: str) -> list[Problem]:
    """image-to-video: ``first`` (the first frame's URL) is required, ``last`` optional."""
    problems: list[Problem] = []
    for field, required in ((first, True), (last, False)):
        value = body.get(field)
        if value is None:
            if required:
                problems.append(Problem(field, "Field required", "missing"))
        elif not isinstance(value, str) or not value.strip():
            problems.append(Problem(field, "Input should be a valid URL string", "url_type", value))
    return problems


def check_foreign_fields(body: dict[str, Any], foreign: Iterable[str]) -> list[Problem]:
    """Media fields of another mode sent to this one (the endpoint's schema has no such field)."""
    return [
        Problem(field, "Extra inputs are not permitted", "extra_forbidden", body[field])
        for field in foreign
        if body.get(field) is not None
    ]


def check_flat_body(
    body: dict[str, Any],
    media: tuple[str, str, str],
    *,
    enums: Iterable[tuple[str, tuple[Any, ...]]],
    bools: Iterable[str] = ("generate_audio",),
    mode: str = REFERENCE_TO_VIDEO,
    frames: tuple[str, str] = ("image_url", "end_image_url"),
) -> list[Problem]:
    """Check a flat request body (fal, Oxen, AIHubMax) of ``mode``, in the order the platforms report:

    ``prompt``; for reference-to-video the image, video and audio URL lists named by ``media``
    (limits :data:`MAX_IMAGES`, :data:`MAX_VIDEOS`, :data:`MAX_AUDIOS`), for image-to-video the
    first and last frame named by ``frames``, and any other mode's media field (refused); each
    ``(field, allowed)`` of ``enums`` in turn; each boolean of ``bools``; ``seed`` (-1 allowed).
    """
    problems = check_prompt(body.get("prompt"))
    if mode == REFERENCE_TO_VIDEO:
        limits = (MAX_IMAGES, MAX_VIDEOS, MAX_AUDIOS)
        lists = {field: (body.get(field), limit) for field, limit in zip(media, limits, strict=True)}
        problems += check_media(lists)[0]
        problems += check_foreign_fields(body, frames)
    elif mode == IMAGE_TO_VIDEO:
        problems += check_frames(body, *frames)
        problems += check_foreign_fields(body, media)
    else:
        problems += check_foreign_fields(body, (*media, *frames))
    for field, allowed in enums:
        problems += check_enum(body, field, allowed)
    for field in bools:
        problems += check_bool(body, field)
    problems += check_seed(body)
    return problems


def seed_for(value: Any) -> int | None:
    """The requested seed, or None when the platform should pick one (absent or -1)."""
    if is_int(value) and value >= 0:
        return int(value)
    return None
