"""The package's data: the validated requests, job references and states, results, the job output.

* :class:`Mode` / :data:`MODE_SPECS` -- the Seedance 2.0 modes (text-to-video, image-to-video,
  reference-to-video): one registry that the request classes, the dialects' catalogs, the
  pricing and the operators derive from.
* :class:`TextToVideoRequest`, :class:`ImageToVideoRequest`, :class:`ReferenceToVideoRequest` --
  one request per mode on one base, :class:`SeedanceRequest`; every documented limit checked.
* :class:`JobRef` -- how to find a submitted job again; :meth:`JobRef.from_dict` builds one from data.
* :class:`JobState` / :class:`JobStatus` -- a job's platform-neutral state and one observation of it.
* :class:`JobResult` / :class:`VideoOutput` -- a finished job's video.
* :class:`JobOutput` (with :class:`OutputStatus`, :class:`RequestSummary`) -- the XCom dict the
  operator and the sensor return and the GCS transfer reads back (:meth:`JobOutput.from_xcom`).
* :class:`CancelOutcome` -- what a cancel achieved.

A request checks every limit the source documents state, and reports *all* violations at once
in one :class:`~.errors.SeedanceValidationError` whose lines name the field and the limit,
before any HTTP request is made. Common to every mode:

* ``prompt``: required, 1..5000 characters.
* ``resolution`` 480p/720p (1080p only where a platform sells it, see the dialect),
  ``duration`` ``"auto"`` or 4..15, ``aspect_ratio`` one of the documented values,
  ``generate_audio`` a boolean, ``seed`` an integer in -1..4294967295 (-1 = random),
  ``end_user_id`` a string, ``tier`` ``standard`` or ``fast``.
* A media URL's format is checked where its path states one by extension (signed URLs without
  an extension pass; probing the media itself is :mod:`.preflight`'s job); ``data:`` URIs must
  carry a MIME type of the right kind. One function, :func:`_url_problem`, checks every media
  input of every mode.
* ``@ImageN`` / ``@VideoN`` / ``@AudioN`` in the prompt must point at a provided reference file.

Per mode:

* reference-to-video: ``image_urls`` <= 9 (JPEG/PNG/WebP), ``video_urls`` <= 3 (MP4/MOV),
  ``audio_urls`` <= 3 (MP3/WAV), at most 12 files in all; audio needs at least one image or video.
* image-to-video: ``image_url`` (the first frame, required) and ``end_image_url`` (the last
  frame, optional), each one JPEG/PNG/WebP; no reference lists, so the prompt refers to none.
* text-to-video: the prompt alone; it refers to no file.
"""

from __future__ import annotations

import ast
import enum
import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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


class Mode(str, enum.Enum):
    """A Seedance 2.0 generation mode; the value is the name the platforms' endpoints use."""

    TEXT_TO_VIDEO = "text-to-video"
    IMAGE_TO_VIDEO = "image-to-video"
    REFERENCE_TO_VIDEO = "reference-to-video"


#: The media kinds, the formats the source documents allow for each, and their names in messages.
_KIND_EXTENSIONS: dict[str, frozenset[str]] = {
    "image": frozenset({"jpg", "jpeg", "png", "webp"}),
    "video": frozenset({"mp4", "mov"}),
    "audio": frozenset({"mp3", "wav"}),
}
_KIND_FORMATS = {"image": "JPEG, PNG or WebP", "video": "MP4 or MOV", "audio": "MP3 or WAV"}
_KIND_MIME_TYPES: dict[str, frozenset[str]] = {
    "image": frozenset({"image/jpeg", "image/png", "image/webp"}),
    "video": frozenset({"video/mp4", "video/quicktime"}),
    "audio": frozenset({"audio/mpeg", "audio/mp3", "audio/wav", "audio/x-wav", "audio/wave"}),
}
#: Every media input of every mode -> its media kind.
MEDIA_KINDS: dict[str, str] = {
    "image_urls": "image",
    "video_urls": "video",
    "audio_urls": "audio",
    "image_url": "image",
    "end_image_url": "image",
}
#: Allowed file extensions per media input, from the source documents.
ALLOWED_EXTENSIONS: dict[str, frozenset[str]] = {f: _KIND_EXTENSIONS[k] for f, k in MEDIA_KINDS.items()}
#: Extensions that clearly name *some* media format. A URL whose path ends in one of these but
#: not in the input's allowed set is rejected; any other ending (none, ``.php``, a signed blob id)
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
#: ``@Image1`` / ``@Video2`` / ``@Audio3``: the one reference syntax users write in every mode.
REFERENCE_RE = re.compile(r"@(Image|Video|Audio)(\d+)")
_REFERENCE_RE = REFERENCE_RE
#: The inputs every mode shares, under the source documents' names, plus ``tier``.
COMMON_FIELDS: tuple[str, ...] = (
    "prompt",
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


def _url_problem(field: str, index: int | None, url: object) -> str | None:
    """Return why ``url`` is not acceptable in media input ``field``, or None when it is.

    ``index`` is the item's 1-based position in a list input, None for a single-URL input
    (``image_url``). The one URL check of every mode's media inputs. Besides http(s) and
    ``data:`` URLs it accepts the references :mod:`.references` resolves before a submit:
    ``gs://bucket/object`` and local paths (which it checks against the allowed base); a
    platform is only ever sent URLs (:func:`unresolved_references`).
    """
    item = f"item {index}" if index is not None else "the URL"
    kind = MEDIA_KINDS[field]
    if not isinstance(url, str) or not url.strip():
        return f"{item} must be a non-empty URL string"
    local = "://" not in url and not url.startswith("data:")
    # A local path may hold plain spaces ("Product Shots/hero.png"); a URL may not.
    bad = next(
        (i for i, ch in enumerate(url) if _is_space_or_control(ch) and not (local and ch == " ")), None
    )
    if bad is not None:
        return (
            f"{item} contains whitespace or a control character ({url[bad]!r} at position {bad}); "
            "percent-encode it (%20) or remove it"
        )
    if url.startswith("data:"):
        mime = url[5:].split(";", 1)[0].split(",", 1)[0].strip().lower()
        if mime not in _KIND_MIME_TYPES[kind]:
            return f"{item} is a data URI of type {mime or 'unknown'!r}; expected {_KIND_FORMATS[kind]}"
        return None
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "gs":
        if not parts.netloc or not parts.path.strip("/"):
            return f"{item} must be gs://bucket/object, got {url[:80]!r}"
    elif ("://" in url or scheme in ("http", "https", "file", "ftp", "s3")) and (
        scheme not in ("http", "https") or not parts.netloc
    ):
        return f"{item} must be an https:// URL, a gs://bucket/object or a local path, got {url[:80]!r}"
    # Anything else is a local path; :mod:`.references` resolves it against the allowed base.
    last = parts.path.rsplit("/", 1)[-1] if scheme in ("http", "https", "gs") else url.rsplit("/", 1)[-1]
    if "." in last:
        ext = last.rsplit(".", 1)[-1].lower()
        if ext in _KNOWN_MEDIA_EXTENSIONS and ext not in _KIND_EXTENSIONS[kind]:
            return f"{item} has format .{ext}; supported formats are {_KIND_FORMATS[kind]}"
    return None


def is_resolved_url(url: str) -> bool:
    """Whether ``url`` is something a platform fetches itself: an http(s) or ``data:`` URL (a
    ``gs://`` reference or a local path must be resolved first, see :mod:`.references`)."""
    return url.startswith("data:") or urlsplit(url).scheme.lower() in ("http", "https")


def unresolved_references(request: SeedanceRequest) -> list[FieldError]:
    """The media inputs of ``request`` that are ``gs://`` references or local paths: a platform
    cannot fetch them, :func:`.references.prepare_references` turns them into URLs first."""
    errors: list[FieldError] = []
    for field, value in request.media_inputs().items():
        items = [(None, value)] if isinstance(value, str) else list(enumerate(value, start=1))
        for index, url in items:
            if not is_resolved_url(url):
                item = f"item {index}" if index is not None else "the URL"
                errors.append(
                    FieldError(
                        field,
                        f"{item} is a gs:// or local reference ({url[:80]!r}), not a URL the platform "
                        "can fetch: resolve it first (the generation operators do, "
                        "references.prepare_references)",
                    )
                )
    return errors


# -- the media checks of each mode ------------------------------------------------------------------
#: How many reference files of each list a prompt may refer to (``image_urls`` -> 2, ...).
_Counts = dict[str, int]


def _reference_media(data: Mapping[str, Any]) -> tuple[list[FieldError], _Counts]:
    """reference-to-video: the three lists, their limits, the 12-file total, audio's companion."""
    errors: list[FieldError] = []
    counts: _Counts = {}
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
    return errors, counts


def _frame_media(data: Mapping[str, Any]) -> tuple[list[FieldError], _Counts]:
    """image-to-video: the first frame (required) and the last frame (optional), one URL each."""
    errors: list[FieldError] = []
    for field, required in (("image_url", True), ("end_image_url", False)):
        value = data.get(field)
        if value is None:
            if required:
                errors.append(FieldError(field, "is required: the URL of the first frame to animate"))
            continue
        if not isinstance(value, str):
            errors.append(FieldError(field, f"must be one URL string, got {type(value).__name__}"))
            continue
        problem = _url_problem(field, None, value)
        if problem:
            errors.append(FieldError(field, problem))
    return errors, {}


def _no_media(data: Mapping[str, Any]) -> tuple[list[FieldError], _Counts]:
    """text-to-video: nothing but the prompt."""
    return [], {}


@dataclass(frozen=True)
class ModeSpec:
    """One mode: its media inputs (in the order a user gives them), how they are checked, what the
    prompt may refer to, and the public names built on it (request class, operator)."""

    mode: Mode
    #: Media inputs of this mode, each a key of :data:`MEDIA_KINDS`.
    media_fields: tuple[str, ...]
    check_media: Callable[[Mapping[str, Any]], tuple[list[FieldError], _Counts]]
    #: What ``@Image1`` means here, for the message when a prompt refers to a file that is not there.
    reference_hint: str
    request_class: str
    operator_class: str

    @property
    def input_fields(self) -> tuple[str, ...]:
        """The mode's inputs: prompt, its media inputs, then the other common inputs."""
        return (COMMON_FIELDS[0], *self.media_fields, *COMMON_FIELDS[1:])

    @property
    def label(self) -> str:
        return self.mode.value


#: The mode registry: every mode, once. Request classes, dialect catalogs, prices and operators
#: derive from it (``MODES[mode]``).
MODE_SPECS: tuple[ModeSpec, ...] = (
    ModeSpec(
        Mode.TEXT_TO_VIDEO,
        media_fields=(),
        check_media=_no_media,
        reference_hint="text-to-video takes no reference files (use reference-to-video to refer to some)",
        request_class="TextToVideoRequest",
        operator_class="SeedanceTextToVideoOperator",
    ),
    ModeSpec(
        Mode.IMAGE_TO_VIDEO,
        media_fields=("image_url", "end_image_url"),
        check_media=_frame_media,
        reference_hint=(
            "image-to-video takes no reference files: image_url is the first frame and end_image_url "
            "the last (use reference-to-video to refer to images in the prompt)"
        ),
        request_class="ImageToVideoRequest",
        operator_class="SeedanceImageToVideoOperator",
    ),
    ModeSpec(
        Mode.REFERENCE_TO_VIDEO,
        media_fields=("image_urls", "video_urls", "audio_urls"),
        check_media=_reference_media,
        reference_hint="",
        request_class="ReferenceToVideoRequest",
        operator_class="SeedanceReferenceToVideoOperator",
    ),
)
MODES: Mapping[Mode, ModeSpec] = {spec.mode: spec for spec in MODE_SPECS}
#: reference-to-video's inputs under the source documents' names, plus ``tier`` (kept for callers).
INPUT_FIELDS: tuple[str, ...] = MODES[Mode.REFERENCE_TO_VIDEO].input_fields


def _owner_of(field: str) -> Mode | None:
    return next((spec.mode for spec in MODE_SPECS if field in spec.media_fields), None)


def collect_violations(
    data: Mapping[str, Any],
    *,
    resolutions: tuple[str, ...] = RESOLUTIONS,
    mode: Mode = Mode.REFERENCE_TO_VIDEO,
) -> list[FieldError]:
    """Check raw request inputs of ``mode`` against every documented limit; return all violations.

    Pure function: no I/O. ``resolutions`` lets a platform dialect narrow or widen the set.
    """
    spec = MODES[Mode(mode)]
    errors: list[FieldError] = []
    for name in sorted(set(data) - set(spec.input_fields)):
        owner = _owner_of(name)
        hint = f" (it belongs to {owner.value})" if owner is not None else ""
        errors.append(FieldError(name, f"is not a Seedance {spec.label} input{hint}"))

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

    media_errors, counts = spec.check_media(data)
    errors.extend(media_errors)

    seen: set[tuple[str, int]] = set()
    for kind, number in REFERENCE_RE.findall(prompt):
        n = int(number)
        if (kind, n) in seen:
            continue
        seen.add((kind, n))
        field = _REF_KINDS[kind]
        if field not in counts:
            errors.append(FieldError("prompt", f"refers to @{kind}{number} but {spec.reference_hint}"))
        elif not 1 <= n <= counts[field]:
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
        if text.isascii() and text.isdigit() and MIN_DURATION <= int(text) <= MAX_DURATION:
            return str(int(text))
    return None


class SeedanceRequest(BaseModel):
    """A validated Seedance 2.0 request: the inputs every mode shares; one subclass per mode.

    Construct a subclass with keyword arguments under the source documents' names. Every
    violated limit is reported at once in a :class:`SeedanceValidationError`. :attr:`mode` says
    which mode it is (a class attribute, :data:`MODES` has the rest).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: ClassVar[Mode]

    prompt: str
    resolution: str = "720p"
    duration: str = "auto"
    aspect_ratio: str = "auto"
    generate_audio: bool = True
    seed: int | None = None
    end_user_id: str | None = None
    tier: Tier = "standard"

    def __init__(self, **data: Any) -> None:
        errors = collect_violations(data, mode=type(self).mode)
        if errors:
            raise SeedanceValidationError(errors)
        if "duration" in data:
            data["duration"] = normalize_duration(data["duration"])
        for field in MODES[type(self).mode].media_fields:
            if data.get(field) is None:
                data.pop(field, None)
        super().__init__(**data)

    @property
    def spec(self) -> ModeSpec:
        return MODES[self.mode]

    @property
    def has_video_inputs(self) -> bool:
        """Whether video inputs are given (they change fal's price); only reference-to-video has any."""
        return False

    def media_inputs(self) -> dict[str, Any]:
        """The mode's media inputs that are set: lists as lists, single URLs as strings."""
        out: dict[str, Any] = {}
        for field in self.spec.media_fields:
            value = getattr(self, field)
            if value:
                out[field] = list(value) if isinstance(value, tuple) else value
        return out

    def model_inputs(self) -> dict[str, Any]:
        """The model's inputs under the source documents' names (no tier, no unset optionals)."""
        out: dict[str, Any] = {"prompt": self.prompt, **self.media_inputs()}
        out["resolution"] = self.resolution
        out["duration"] = self.duration
        out["aspect_ratio"] = self.aspect_ratio
        out["generate_audio"] = self.generate_audio
        if self.seed is not None:
            out["seed"] = self.seed
        if self.end_user_id is not None:
            out["end_user_id"] = self.end_user_id
        return out


class TextToVideoRequest(SeedanceRequest):
    """A validated Seedance 2.0 text-to-video request: the prompt and the common inputs."""

    mode: ClassVar[Mode] = Mode.TEXT_TO_VIDEO


class ImageToVideoRequest(SeedanceRequest):
    """A validated Seedance 2.0 image-to-video request: ``image_url`` is the first frame,
    ``end_image_url`` (optional) the last one."""

    mode: ClassVar[Mode] = Mode.IMAGE_TO_VIDEO

    image_url: str
    end_image_url: str | None = None


class ReferenceToVideoRequest(SeedanceRequest):
    """A validated Seedance 2.0 reference-to-video request (up to 9 images, 3 videos, 3 audios)."""

    mode: ClassVar[Mode] = Mode.REFERENCE_TO_VIDEO

    image_urls: tuple[str, ...] = ()
    video_urls: tuple[str, ...] = ()
    audio_urls: tuple[str, ...] = ()

    @property
    def has_video_inputs(self) -> bool:
        return bool(self.video_urls)


#: mode -> its request class (checked against :data:`MODE_SPECS` below).
REQUEST_CLASSES: Mapping[Mode, type[SeedanceRequest]] = {
    cls.mode: cls for cls in (TextToVideoRequest, ImageToVideoRequest, ReferenceToVideoRequest)
}
assert all(REQUEST_CLASSES[s.mode].__name__ == s.request_class for s in MODE_SPECS), "mode registry"


def build_request(mode: Mode | str, **inputs: Any) -> SeedanceRequest:
    """The validated request of ``mode`` (a :class:`Mode` or its value) for ``inputs``."""
    try:
        key = Mode(mode)
    except ValueError:
        raise SeedanceValidationError(
            [FieldError("mode", f"must be one of {', '.join(m.value for m in Mode)}, got {mode!r}")]
        ) from None
    return REQUEST_CLASSES[key](**inputs)


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

    model_config = ConfigDict(frozen=True, extra="forbid")

    platform: str = Field(min_length=1)
    request_id: str = Field(min_length=1)
    tier: Tier = "standard"
    status_url: str | None = None
    response_url: str | None = None
    cancel_url: str | None = None

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobRef:
        """Build a reference from data: :meth:`to_dict` output (XCom, task state, trigger kwargs)
        or a bare ``{"platform", "request_id", "tier"}`` for a job known only by its id.

        Raises :class:`SeedanceValidationError` naming each wrong field (``job.request_id``), also
        for data that is not a mapping: it crosses boundaries (XCom, task state, trigger kwargs).
        """
        if not isinstance(data, Mapping):
            raise SeedanceValidationError(
                [FieldError("job", f"must be a JobRef dict (JobRef.to_dict()), got {type(data).__name__}")]
            )
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise SeedanceValidationError(
                [
                    FieldError(".".join(["job", *(str(part) for part in error["loc"])]), error["msg"])
                    for error in exc.errors()
                ]
            ) from None


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


class OutputStatus(str, enum.Enum):
    """The ``status`` of a :class:`JobOutput`: how far the job had got when the task returned."""

    #: Returned right after the submit (``wait_for_completion=False``): no video yet.
    SUBMITTED = "submitted"
    #: The job finished and ``video`` describes the file.
    SUCCEEDED = "succeeded"


class RequestSummary(BaseModel):
    """The request's creative inputs, echoed into the output (the archive's object metadata)."""

    model_config = ConfigDict(frozen=True)

    mode: str | None = None
    prompt: str | None = None
    resolution: str | None = None
    duration: str | None = None
    aspect_ratio: str | None = None
    generate_audio: bool | None = None
    seed: int | None = None

    @classmethod
    def of(cls, request: SeedanceRequest) -> RequestSummary:
        """The summary's fields as the request holds them (``mode`` as its value)."""
        fields = {name: getattr(request, name) for name in cls.model_fields if name != "mode"}
        return cls(mode=request.mode.value, **fields)


#: Keys a :meth:`JobOutput.from_xcom` value must carry.
_REQUIRED_OUTPUT_KEYS = ("platform", "request_id", "video")


def _parse_xcom(value: object) -> dict[str, Any]:
    """Accept an output as a dict, or as its JSON / Python-literal text (a rendered template)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        for parse in (json.loads, ast.literal_eval):
            try:
                parsed = parse(value)
            except (ValueError, SyntaxError):
                continue
            if isinstance(parsed, Mapping):
                return dict(parsed)
    raise SeedanceValidationError(
        [
            FieldError(
                "video",
                "must be the generation operator's result (a dict such as clip.output), "
                f"got {type(value).__name__}",
            )
        ]
    )


def _finished_output_problems(data: Mapping[str, Any]) -> list[FieldError]:
    """What keeps ``data`` from being a finished job's output, each problem naming ``video.<key>``."""
    errors = [
        FieldError(f"video.{key}", "is required")
        for key in _REQUIRED_OUTPUT_KEYS
        if data.get(key) in (None, "")
    ]
    media = data.get("video")
    if media is not None and not isinstance(media, Mapping):
        errors.append(
            FieldError("video.video", "must be a dict with url, content_type, file_name, file_size")
        )
    elif isinstance(media, Mapping):
        url = media.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            errors.append(FieldError("video.video.url", "must be an http(s) URL"))
        size = media.get("file_size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            errors.append(
                FieldError("video.video.file_size", f"must be a non-negative integer, got {size!r}")
            )
    status = data.get("status")
    if status is not None and status != OutputStatus.SUCCEEDED.value:
        errors.append(FieldError("video.status", f"must be 'succeeded' to archive the video, got {status!r}"))
    job = data.get("job")
    if job is not None and not isinstance(job, Mapping):
        errors.append(FieldError("video.job", "must be a dict (the job reference)"))
    tier = data.get("tier")
    if tier is not None and tier not in TIERS:
        errors.append(FieldError("video.tier", f"must be one of {', '.join(TIERS)}, got {tier!r}"))
    return errors


class JobOutput(BaseModel):
    """What the generation operator and the sensor return as XCom, and what the transfer reads.

    :meth:`to_xcom` gives the small JSON dict users see (``platform``, ``request_id``, ``tier``,
    ``status``, ``video``, ``seed``, ``estimated_cost_usd``, ``job`` and, from the operator,
    ``request``); :meth:`from_xcom` reads one back, checking it describes a finished video.
    """

    model_config = ConfigDict(frozen=True)

    platform: str
    request_id: str
    tier: Tier = "standard"
    status: OutputStatus = OutputStatus.SUCCEEDED
    video: VideoOutput | None = None
    seed: int | None = None
    estimated_cost_usd: float | None = None
    job: JobRef
    request: RequestSummary | None = None
    #: The reference media as the user gave them, per input (never a signed URL).
    references: dict[str, Any] | None = None
    #: How each reference reached the platform (:meth:`.references.ResolvedReference.as_record`).
    reference_media: list[dict[str, Any]] | None = None

    @classmethod
    def from_job(
        cls,
        ref: JobRef,
        result: JobResult | None = None,
        *,
        status: OutputStatus,
        request: SeedanceRequest | None = None,
        estimated_cost_usd: float | None = None,
        references: Mapping[str, Any] | None = None,
        reference_media: list[dict[str, Any]] | None = None,
    ) -> JobOutput:
        """The output for a job, its result (None while it runs), the request and its estimate."""
        return cls(
            platform=ref.platform,
            request_id=ref.request_id,
            tier=ref.tier,
            status=status,
            video=result.video if result else None,
            seed=result.seed if result else None,
            estimated_cost_usd=round(estimated_cost_usd, 4) if estimated_cost_usd is not None else None,
            job=ref,
            request=RequestSummary.of(request) if request is not None else None,
            references=dict(references) if references else None,
            reference_media=list(reference_media) if reference_media else None,
        )

    def to_xcom(self) -> dict[str, Any]:
        """The JSON dict returned as XCom (``request`` only when the output carries it)."""
        out: dict[str, Any] = {
            "platform": self.platform,
            "request_id": self.request_id,
            "tier": self.tier,
            "status": self.status.value,
            "video": self.video.model_dump() if self.video else None,
            "seed": self.seed,
            "estimated_cost_usd": self.estimated_cost_usd,
            "job": self.job.to_dict(),
        }
        if self.request is not None:
            out["request"] = self.request.model_dump()
        if self.references is not None:
            out["references"] = self.references
            out["reference_media"] = self.reference_media or []
        return out

    @classmethod
    def from_xcom(cls, value: object) -> JobOutput:
        """Read a finished job's output (a dict, or its JSON / Python-literal text).

        Raises :class:`SeedanceValidationError` naming every missing or wrong ``video.<key>``
        (``video`` is the transfer's parameter), before anything is downloaded. A missing
        ``status`` counts as succeeded; a missing ``tier`` comes from ``job``, else ``standard``;
        a missing ``job`` is the bare ``platform`` / ``request_id`` / ``tier`` reference.
        """
        data = _parse_xcom(value)
        errors = _finished_output_problems(data)
        if errors:
            raise SeedanceValidationError(errors)
        job = data.get("job") or {}
        tier = data.get("tier") or job.get("tier") or "standard"
        fields = {
            **data,
            "tier": tier,
            "status": data.get("status") or OutputStatus.SUCCEEDED,
            "job": job or {"platform": data["platform"], "request_id": data["request_id"], "tier": tier},
        }
        if not isinstance(fields.get("request"), Mapping):
            fields["request"] = None
        if not isinstance(fields.get("references"), Mapping):
            fields["references"] = None
        if not isinstance(fields.get("reference_media"), list):
            fields["reference_media"] = None
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            raise SeedanceValidationError(
                [
                    FieldError("video." + ".".join(str(part) for part in error["loc"]), error["msg"])
                    for error in exc.errors()
                ]
            ) from None
