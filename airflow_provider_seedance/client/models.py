"""Request and response models shared by every platform dialect.

:class:`ReferenceToVideoRequest` checks every limit the source documents state, and reports
*all* violations at once in one :class:`~.errors.SeedanceValidationError` whose lines name the
field and the limit, before any HTTP request is made:

* ``prompt``: required, 1..5000 characters.
* ``image_urls`` <= 9 (JPEG/PNG/WebP), ``video_urls`` <= 3 (MP4/MOV), ``audio_urls`` <= 3
  (MP3/WAV), at most 12 files in all; audio needs at least one image or video.
* A URL's format is checked where its path states one by extension; signed URLs without an
  extension pass (probing the media itself is not done here).
* ``@ImageN`` / ``@VideoN`` / ``@AudioN`` in the prompt must point at a provided file.
* ``resolution`` 480p/720p (1080p only where a platform sells it, see the dialect),
  ``duration`` ``"auto"`` or 4..15, ``aspect_ratio`` one of the documented values,
  ``generate_audio`` a boolean, ``seed`` an integer in -1..4294967295 (-1 = random),
  ``tier`` ``standard`` or ``fast``.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from airflow_provider_seedance.client.errors import FieldError, SeedanceValidationError

Tier = Literal["standard", "fast"]
TIERS: tuple[str, ...] = ("standard", "fast")

MAX_PROMPT_CHARS = 5000
MAX_IMAGES = 9
MAX_VIDEOS = 3
MAX_AUDIOS = 3
MAX_FILES = 12
MIN_DURATION = 4
MAX_DURATION = 15
MIN_SEED = -1
MAX_SEED = 2**32 - 1
RESOLUTIONS: tuple[str, ...] = ("480p", "720p", "1080p")
DEFAULT_RESOLUTIONS: tuple[str, ...] = ("480p", "720p")
ASPECT_RATIOS: tuple[str, ...] = ("auto", "21:9", "16:9", "4:3", "1:1", "3:4", "9:16")
DURATIONS: tuple[str, ...] = ("auto", *(str(n) for n in range(MIN_DURATION, MAX_DURATION + 1)))

#: Allowed file extensions per media list, from the source documents.
ALLOWED_EXTENSIONS: dict[str, frozenset[str]] = {
    "image_urls": frozenset({"jpg", "jpeg", "png", "webp"}),
    "video_urls": frozenset({"mp4", "mov"}),
    "audio_urls": frozenset({"mp3", "wav"}),
}
_FORMAT_NAMES = {"image_urls": "JPEG, PNG or WebP", "video_urls": "MP4 or MOV", "audio_urls": "MP3 or WAV"}
_MIME_TYPES: dict[str, frozenset[str]] = {
    "image_urls": frozenset({"image/jpeg", "image/png", "image/webp"}),
    "video_urls": frozenset({"video/mp4", "video/quicktime"}),
    "audio_urls": frozenset({"audio/mpeg", "audio/mp3", "audio/wav", "audio/x-wav", "audio/wave"}),
}
#: Extensions that clearly name *some* media format. A URL whose path ends in one of these but
#: not in the list's allowed set is rejected; any other ending (none, ``.php``, a signed blob id)
#: states no media format and passes.
_KNOWN_MEDIA_EXTENSIONS = frozenset(
    {
        *("jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff", "heic", "heif", "avif", "svg", "ico"),
        *("mp4", "mov", "avi", "mkv", "webm", "m4v", "flv", "wmv", "mpg", "mpeg", "3gp", "ts"),
        *("mp3", "wav", "aac", "m4a", "flac", "ogg", "oga", "opus", "wma", "aif", "aiff", "amr"),
    }
)
_LIMITS = {"image_urls": MAX_IMAGES, "video_urls": MAX_VIDEOS, "audio_urls": MAX_AUDIOS}
_REF_KINDS = {"Image": "image_urls", "Video": "video_urls", "Audio": "audio_urls"}
_REFERENCE_RE = re.compile(r"@(Image|Video|Audio)(\d+)")
#: The request's inputs under the source documents' names, plus ``tier``.
INPUT_FIELDS: tuple[str, ...] = (
    "prompt",
    "image_urls",
    "video_urls",
    "audio_urls",
    "resolution",
    "duration",
    "aspect_ratio",
    "generate_audio",
    "seed",
    "end_user_id",
    "tier",
)


def _is_space_or_control(ch: str) -> bool:
    """Whitespace (any Unicode kind), a control or format character (``\\x00``, DEL, U+200B...),
    or a line/paragraph separator: never part of a URL sent to a platform."""
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Zs")


def _url_problem(field: str, index: int, url: object) -> str | None:
    """Return why ``url`` is not acceptable in ``field``, or None when it is."""
    if not isinstance(url, str) or not url.strip():
        return f"item {index} must be a non-empty URL string"
    bad = next((i for i, ch in enumerate(url) if _is_space_or_control(ch)), None)
    if bad is not None:
        return (
            f"item {index} contains whitespace or a control character ({url[bad]!r} at position {bad}); "
            "percent-encode it (%20) or remove it"
        )
    if url.startswith("data:"):
        mime = url[5:].split(";", 1)[0].split(",", 1)[0].strip().lower()
        if mime not in _MIME_TYPES[field]:
            return (
                f"item {index} is a data URI of type {mime or 'unknown'!r}; expected {_FORMAT_NAMES[field]}"
            )
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"item {index} must be an http(s) URL, got {url[:80]!r}"
    last = parts.path.rsplit("/", 1)[-1]
    if "." in last:
        ext = last.rsplit(".", 1)[-1].lower()
        if ext in _KNOWN_MEDIA_EXTENSIONS and ext not in ALLOWED_EXTENSIONS[field]:
            return f"item {index} has format .{ext}; supported formats are {_FORMAT_NAMES[field]}"
    return None


def collect_violations(
    data: Mapping[str, Any], *, resolutions: tuple[str, ...] = RESOLUTIONS
) -> list[FieldError]:
    """Check raw request inputs against every documented limit; return all violations.

    Pure function: no I/O. ``resolutions`` lets a platform dialect narrow or widen the set.
    """
    errors: list[FieldError] = []
    unknown = sorted(set(data) - set(INPUT_FIELDS))
    for name in unknown:
        errors.append(FieldError(name, "is not a Seedance reference-to-video input"))

    prompt = data.get("prompt")
    if not isinstance(prompt, str):
        errors.append(FieldError("prompt", "is required and must be a string"))
        prompt = ""
    elif not prompt.strip():
        errors.append(FieldError("prompt", "must not be empty"))
    elif len(prompt) > MAX_PROMPT_CHARS:
        errors.append(
            FieldError("prompt", f"must be at most {MAX_PROMPT_CHARS} characters, got {len(prompt)}")
        )

    counts: dict[str, int] = {}
    for field, limit in _LIMITS.items():
        value = data.get(field)
        if value is None:
            counts[field] = 0
            continue
        if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
            errors.append(FieldError(field, "must be a list of URLs"))
            counts[field] = 0
            continue
        counts[field] = len(value)
        if len(value) > limit:
            errors.append(FieldError(field, f"allows at most {limit} files, got {len(value)}"))
        for i, url in enumerate(value, start=1):
            problem = _url_problem(field, i, url)
            if problem:
                errors.append(FieldError(field, problem))

    total = sum(counts.values())
    if total > MAX_FILES:
        errors.append(
            FieldError(
                "image_urls+video_urls+audio_urls", f"allow at most {MAX_FILES} files in all, got {total}"
            )
        )
    if counts["audio_urls"] and not (counts["image_urls"] or counts["video_urls"]):
        errors.append(FieldError("audio_urls", "needs at least one reference image or video"))

    seen: set[tuple[str, int]] = set()
    for kind, number in _REFERENCE_RE.findall(prompt):
        n = int(number)
        if (kind, n) in seen:
            continue
        seen.add((kind, n))
        field = _REF_KINDS[kind]
        if not 1 <= n <= counts[field]:
            have = counts[field]
            errors.append(
                FieldError(
                    "prompt",
                    f"refers to @{kind}{number} but {field} has {have} file{'s' if have != 1 else ''}",
                )
            )

    resolution = data.get("resolution", "720p")
    if resolution not in resolutions:
        errors.append(
            FieldError("resolution", f"must be one of {', '.join(resolutions)}, got {resolution!r}")
        )

    duration = data.get("duration", "auto")
    if isinstance(duration, bool) or normalize_duration(duration) is None:
        errors.append(
            FieldError(
                "duration", f"must be 'auto' or a whole number of seconds from 4 to 15, got {duration!r}"
            )
        )

    aspect_ratio = data.get("aspect_ratio", "auto")
    if aspect_ratio not in ASPECT_RATIOS:
        errors.append(
            FieldError("aspect_ratio", f"must be one of {', '.join(ASPECT_RATIOS)}, got {aspect_ratio!r}")
        )

    generate_audio = data.get("generate_audio", True)
    if not isinstance(generate_audio, bool):
        errors.append(FieldError("generate_audio", f"must be true or false, got {generate_audio!r}"))

    seed = data.get("seed")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not MIN_SEED <= seed <= MAX_SEED
    ):
        errors.append(FieldError("seed", f"must be an integer from {MIN_SEED} to {MAX_SEED}, got {seed!r}"))

    end_user_id = data.get("end_user_id")
    if end_user_id is not None and not isinstance(end_user_id, str):
        errors.append(FieldError("end_user_id", "must be a string"))

    tier = data.get("tier", "standard")
    if tier not in TIERS:
        errors.append(FieldError("tier", f"must be 'standard' or 'fast', got {tier!r}"))
    return errors


def normalize_duration(value: object) -> str | None:
    """Return ``"auto"`` or ``"4"``..``"15"`` for an accepted duration, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if MIN_DURATION <= value <= MAX_DURATION else None
    if isinstance(value, str):
        text = value.strip()
        if text == "auto":
            return "auto"
        if text.isdigit() and MIN_DURATION <= int(text) <= MAX_DURATION:
            return str(int(text))
    return None


class ReferenceToVideoRequest(BaseModel):
    """A validated Seedance 2.0 reference-to-video request.

    Construct it with keyword arguments under the source documents' names. Every violated
    limit is reported at once in a :class:`SeedanceValidationError`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str
    image_urls: tuple[str, ...] = ()
    video_urls: tuple[str, ...] = ()
    audio_urls: tuple[str, ...] = ()
    resolution: str = "720p"
    duration: str = "auto"
    aspect_ratio: str = "auto"
    generate_audio: bool = True
    seed: int | None = None
    end_user_id: str | None = None
    tier: Tier = "standard"

    def __init__(self, **data: Any) -> None:
        errors = collect_violations(data)
        if errors:
            raise SeedanceValidationError(errors)
        if "duration" in data:
            data["duration"] = normalize_duration(data["duration"])
        for field in _LIMITS:
            if data.get(field) is None:
                data.pop(field, None)
        super().__init__(**data)

    @property
    def file_count(self) -> int:
        return len(self.image_urls) + len(self.video_urls) + len(self.audio_urls)

    @property
    def has_video_inputs(self) -> bool:
        return bool(self.video_urls)

    def model_inputs(self) -> dict[str, Any]:
        """The model's inputs under the source documents' names (no tier, no unset optionals)."""
        out: dict[str, Any] = {"prompt": self.prompt}
        for field in ("image_urls", "video_urls", "audio_urls"):
            if getattr(self, field):
                out[field] = list(getattr(self, field))
        out["resolution"] = self.resolution
        out["duration"] = self.duration
        out["aspect_ratio"] = self.aspect_ratio
        out["generate_audio"] = self.generate_audio
        if self.seed is not None:
            out["seed"] = self.seed
        if self.end_user_id is not None:
            out["end_user_id"] = self.end_user_id
        return out


class JobState(str, enum.Enum):
    """Platform-neutral job state."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_success(self) -> bool:
        return self is JobState.SUCCEEDED


_TERMINAL = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.EXPIRED})


class JobRef(BaseModel):
    """Everything needed to find a submitted job again. JSON primitives only.

    ``status_url``/``response_url``/``cancel_url`` hold the URLs a platform returned on submit
    (fal.ai); they carry no signature and no key. A ref built from a bare ``request_id`` leaves
    them empty and the dialect derives them.
    """

    model_config = ConfigDict(frozen=True)

    platform: str
    request_id: str
    tier: Tier = "standard"
    status_url: str | None = None
    response_url: str | None = None
    cancel_url: str | None = None

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobRef:
        """Rebuild a reference from :meth:`to_dict` output (XCom, task state, trigger kwargs)."""
        return cls.model_validate(dict(data))


class JobStatus(BaseModel):
    """One observation of a job's state."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    state: JobState
    raw_status: str
    queue_position: int | None = None
    progress: float | None = None
    logs: tuple[str, ...] = ()
    error: str | None = None
    error_type: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.state.is_terminal

    def describe(self) -> str:
        """A short human line for logs: state, queue position, progress, error."""
        parts = [self.state.value]
        if self.queue_position is not None:
            parts.append(f"queue position {self.queue_position}")
        if self.progress is not None:
            parts.append(f"progress {self.progress:.0f}%")
        if self.error:
            parts.append(f"error: {self.error}" + (f" ({self.error_type})" if self.error_type else ""))
        return ", ".join(parts)


class VideoOutput(BaseModel):
    """The generated video file as the platform describes it."""

    model_config = ConfigDict(frozen=True)

    url: str
    content_type: str | None = "video/mp4"
    file_name: str | None = None
    file_size: int | None = None


class JobResult(BaseModel):
    """A finished job's output."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    video: VideoOutput
    seed: int | None = None


class CancelOutcome(str, enum.Enum):
    """What a cancel request achieved."""

    #: The platform accepted the cancellation (it may still take effect asynchronously).
    REQUESTED = "requested"
    #: The job had already finished; nothing was cancelled.
    ALREADY_FINISHED = "already_finished"
    #: The platform has no record of the job.
    NOT_FOUND = "not_found"
    #: The platform offers no way to cancel this job in its current state.
    NOT_SUPPORTED = "not_supported"
