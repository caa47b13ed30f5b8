"""The sans-I/O dialect interface every platform module implements, and the wire mappings
the platforms share.

A dialect turns a validated request into :class:`HttpRequest` descriptions and parses
:class:`HttpResponse` values into the shared models. It performs no I/O, so the same code
serves the sync transport (worker) and the async transport (triggerer), and is tested without
sockets. Where platforms differ only by a value (the auth scheme, how ``"auto"`` is spelled)
that value is a class attribute here. The HTTP value types live in ``http.py``, the error
mapping in ``error_mapping.py``, the look-before-cancel plan in ``cancel.py``, and the skeleton
of the task APIs (status and result are the same GET) in ``task.py``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from airflow_provider_seedance.client.errors import (
    CONTENT_REJECTED,
    FieldError,
    SeedanceAPIError,
    SeedanceNotFoundError,
    SeedanceProtocolError,
    SeedanceValidationError,
)
from airflow_provider_seedance.client.models import (
    DEFAULT_RESOLUTIONS,
    MODES,
    TIERS,
    CancelOutcome,
    JobRef,
    JobResult,
    JobState,
    JobStatus,
    Mode,
    SeedanceRequest,
    VideoOutput,
    unresolved_references,
)
from airflow_provider_seedance.client.platforms.cancel import CancelPlan, plan_cancel
from airflow_provider_seedance.client.platforms.error_mapping import error_from_response, result_unavailable
from airflow_provider_seedance.client.platforms.http import (
    HttpRequest,
    HttpResponse,
    Operation,
    file_name_from_url,
    parse_retry_after,
    same_origin,
)
from airflow_provider_seedance.client.platforms.moderation import classify, status_error
from airflow_provider_seedance.client.platforms.prompt_refs import ReferenceStyle, translate_references

#: ``Dialect`` is this module's own; the HTTP names are re-exported from ``http.py`` for the
#: modules that import them from here (the transport, the retry policy, tests, benchmarks).
__all__ = ["Dialect", "HttpRequest", "HttpResponse", "Operation", "parse_retry_after", "same_origin"]


#: mode -> tier -> the resolutions a platform sells for it (a mode or tier missing: not sold).
Catalog = Mapping[Mode, Mapping[str, tuple[str, ...]]]
#: A model id, or an Ark ``ep-...`` endpoint id: letters, digits and ``._:/-``, no whitespace.
_MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")


def every_mode(resolutions: Mapping[str, tuple[str, ...]]) -> Catalog:
    """A catalog selling every mode with the same per-tier ``resolutions``."""
    return dict.fromkeys(MODES, resolutions)


class Dialect(ABC):
    """One platform's HTTP API for the Seedance 2.0 modes it sells. No I/O."""

    #: The platform key used in the Airflow connection's ``platform`` extra.
    name: ClassVar[str]
    #: A human label for messages.
    label: ClassVar[str]
    default_base_url: ClassVar[str]
    #: What the platform sells, from its documentation (docs/platforms.md has the sources):
    #: mode -> tier -> resolutions. A mode or tier that is missing is refused by :meth:`check`
    #: (and by :meth:`refusal`, which the operators call at DAG parse time).
    catalog: ClassVar[Catalog] = every_mode(dict.fromkeys(TIERS, DEFAULT_RESOLUTIONS))
    #: How the platform's documentation spells a prompt's reference to a file: ``@Image1``
    #: (verbatim: what users write) or ``Image 1`` (Ark). See ``prompt_refs.py``.
    reference_style: ClassVar[ReferenceStyle] = ReferenceStyle.VERBATIM
    #: Whether the connection may override the model ids (Ark: ``ep-...`` endpoint ids).
    supports_model_overrides: ClassVar[bool] = False
    #: True where cancelling a *finished* job destroys its record (Ark's DELETE): the cancel
    #: plan (``cancel.py``) then reads the status first and never sends the cancel for a
    #: terminal job.
    check_status_before_cancel: ClassVar[bool] = False
    #: The ``Authorization`` scheme the API key is sent with.
    auth_scheme: ClassVar[str] = "Bearer"
    #: How the wire spells ``aspect_ratio="auto"`` (the fixed ratios are spelled the same).
    auto_aspect_ratio: ClassVar[str] = "auto"
    #: True where ``duration`` is an integer on the wire (``"auto"`` -> -1, the model decides);
    #: else it is sent as the model's string (``"auto"``, ``"4"``..``"15"``).
    integer_duration: ClassVar[bool] = False
    #: The shape of this platform's job ids. An id goes into URL paths: it must never carry a
    #: ``/``, ``?``, ``#``, ``%``, a dot segment, whitespace or a control character. Letters,
    #: digits, ``-`` and ``_``, at most 128 characters, covers every platform's real ids.
    request_id_pattern: ClassVar[re.Pattern[str]] = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
    #: The id shape in words, for the message.
    request_id_shape: ClassVar[str] = "letters, digits, '-' and '_' (at most 128 characters)"
    #: Path suffixes with which the platform's own SDKs and docs spell the base URL (Ark's
    #: ``.../api/v3``). This dialect adds those paths itself, so one pasted from an SDK is
    #: stripped from the configured base URL instead of being doubled on every call.
    sdk_base_suffixes: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        base_url: str | None = None,
        *,
        allow_fallbacks: bool = False,
        model_overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = self.normalise_base_url(base_url or self.default_base_url)
        #: Whether the platform may reroute a failing request to another ("equivalent") model.
        #: Only fal.ai does (after its retries); off by default so that a seed grid stays
        #: reproducible. The connection extra ``allow_fallbacks`` turns it on.
        self.allow_fallbacks = allow_fallbacks
        #: ``tier`` or ``"<mode>/<tier>"`` -> model id (or ``ep-...`` endpoint id); checked here.
        self.model_overrides: dict[str, str] = self.check_model_overrides(model_overrides)

    # -- what is sold ---------------------------------------------------------------------
    @classmethod
    def sells(cls, mode: Mode | str, tier: str = "standard") -> bool:
        """Whether this platform sells ``mode`` on ``tier``."""
        return tier in cls.catalog.get(Mode(mode), {})

    @classmethod
    def refusal(cls, mode: Mode | str, tier: str = "standard") -> FieldError | None:
        """Why ``mode`` on ``tier`` cannot be ordered here (naming the platform and the mode), or
        None when it can. Pure and cheap: the operators call it at DAG parse time."""
        mode = Mode(mode)
        tiers = cls.catalog.get(mode)
        if not tiers:
            sold = ", ".join(m.value for m in MODES if m in cls.catalog) or "nothing"
            return FieldError(
                "mode",
                f"{cls.label} (platform {cls.name!r}) does not sell Seedance 2.0 {mode.value}; "
                f"it sells {sold}. Use another mode, or a connection to a platform that sells it",
            )
        if tier not in tiers:
            return FieldError(
                "tier",
                f"{cls.label} (platform {cls.name!r}) sells Seedance 2.0 {mode.value} only on the "
                f"{', '.join(tiers)} tier, not {tier!r}",
            )
        return None

    # -- model ids ------------------------------------------------------------------------
    @classmethod
    def check_model_overrides(cls, overrides: Mapping[str, str] | None) -> dict[str, str]:
        """``overrides`` checked: keys ``standard`` / ``fast`` or ``"<mode>/<tier>"``, values
        model ids or ``ep-...`` endpoint ids. A :class:`SeedanceValidationError` names each bad one."""
        if not overrides:
            return {}
        if not cls.supports_model_overrides:
            raise SeedanceValidationError(
                [FieldError("model_overrides", f"{cls.label} takes no model id overrides")]
            )
        if not isinstance(overrides, Mapping):
            raise SeedanceValidationError(
                [FieldError("model_overrides", "must be a JSON object of tier -> model or endpoint id")]
            )
        keys = {*TIERS, *(f"{mode.value}/{tier}" for mode in MODES for tier in TIERS)}
        errors: list[FieldError] = []
        for key, value in overrides.items():
            if key not in keys:
                errors.append(
                    FieldError(
                        f"model_overrides.{key}",
                        "is not a tier ('standard', 'fast') nor '<mode>/<tier>' like 'image-to-video/fast'",
                    )
                )
            if not isinstance(value, str) or not _MODEL_ID.fullmatch(value):
                errors.append(
                    FieldError(
                        f"model_overrides.{key}",
                        f"must be a model id or an ep-... endpoint id, got {value!r}",
                    )
                )
        if errors:
            raise SeedanceValidationError(errors)
        return dict(overrides)

    def model_id(self, mode: Mode, tier: str, default: str) -> str:
        """The model id sent for ``mode`` on ``tier``: the connection's override
        (``"<mode>/<tier>"`` first, then ``tier``), else ``default``."""
        return self.model_overrides.get(f"{mode.value}/{tier}") or self.model_overrides.get(tier) or default

    @classmethod
    def normalise_base_url(cls, base_url: str) -> str:
        """``base_url`` without trailing slashes nor one of :attr:`sdk_base_suffixes`."""
        url = base_url.rstrip("/")
        for suffix in cls.sdk_base_suffixes:
            stripped = url[: -len(suffix)].rstrip("/")
            if url.endswith(suffix) and urlsplit(stripped).netloc and not urlsplit(stripped).query:
                return stripped
        return url

    # -- auth and validation -------------------------------------------------------------
    def auth_headers(self, api_key: str) -> dict[str, str]:
        """The headers that authenticate a request."""
        return {"Authorization": f"{self.auth_scheme} {api_key}"}

    def check(self, request: SeedanceRequest, *, references_resolved: bool = True) -> list[FieldError]:
        """Platform-specific limits beyond the shared model: the mode and tier must be sold
        (:meth:`refusal`), then the resolution must be one sold for them; unless
        ``references_resolved=False`` (the originals, before :mod:`..references` resolves them),
        every media input must be a URL the platform can fetch (no gs:// nor local path)."""
        refused = self.refusal(request.mode, request.tier)
        if refused is not None:
            return [refused]
        if references_resolved:
            unresolved = unresolved_references(request)
            if unresolved:
                return unresolved
        tiers = self.catalog[request.mode]
        allowed = tiers[request.tier]
        if request.resolution not in allowed:
            scope = ""
            if request.mode is not Mode.REFERENCE_TO_VIDEO:
                scope += f" for {request.mode.value}"
            if len(set(tiers.values())) > 1:
                scope += f" {'on' if scope else 'for'} the {request.tier} tier"
            return [
                FieldError(
                    "resolution",
                    f"{self.label} sells {', '.join(allowed)} only{scope}, got {request.resolution!r}",
                )
            ]
        return []

    def wire_prompt(self, prompt: str) -> str:
        """The prompt with ``@Image1``-style references in this platform's documented syntax."""
        return translate_references(prompt, self.reference_style)

    # -- wire values ---------------------------------------------------------------------
    def wire_duration(self, duration: str) -> int | str:
        """``duration`` as this platform spells it (see :attr:`integer_duration`)."""
        if not self.integer_duration:
            return duration
        return -1 if duration == "auto" else int(duration)

    def wire_aspect_ratio(self, aspect_ratio: str) -> str:
        """``aspect_ratio`` as this platform spells it (see :attr:`auto_aspect_ratio`)."""
        return self.auto_aspect_ratio if aspect_ratio == "auto" else aspect_ratio

    # -- calls ---------------------------------------------------------------------------
    @abstractmethod
    def build_submit(self, request: SeedanceRequest) -> HttpRequest: ...

    @abstractmethod
    def parse_submit(self, request: SeedanceRequest, response: HttpResponse) -> JobRef: ...

    @abstractmethod
    def build_status(self, ref: JobRef) -> HttpRequest: ...

    @abstractmethod
    def parse_status(self, ref: JobRef, response: HttpResponse) -> JobStatus: ...

    @abstractmethod
    def build_result(self, ref: JobRef) -> HttpRequest: ...

    @abstractmethod
    def parse_result(self, ref: JobRef, response: HttpResponse) -> JobResult: ...

    @abstractmethod
    def build_cancel(self, ref: JobRef) -> HttpRequest | None:
        """The cancel call, or None where the platform has no cancel endpoint."""

    @abstractmethod
    def parse_cancel(self, ref: JobRef, response: HttpResponse) -> CancelOutcome: ...

    def plan_cancel(self, ref: JobRef) -> CancelPlan:
        """The exchanges that cancel ``ref``, look-before-cancel included (``cancel.py``)."""
        return plan_cancel(self, ref)

    @abstractmethod
    def build_probe(self) -> HttpRequest:
        """A cheap authenticated call that never creates a paid job (for test_connection)."""

    def parse_probe(self, response: HttpResponse) -> None:
        """Accept the probe's answer only where it proves a submit would reach the API.

        A 2xx must be the JSON the probed route answers (:meth:`probe_answer_ok`); a 404 must
        be the platform's own "no such job" (:meth:`is_unknown_job`). Any other 404 or a 405
        (a bare or generic one, an HTML page, FastAPI's ``{"detail": "Not Found"}``) means the
        base URL has no such route, so every submit would fail too: a
        :class:`SeedanceNotFoundError` naming the base URL. Anything else maps as usual (401/403
        is the bad key).
        """
        code = response.status_code
        if 200 <= code < 300:
            if self.probe_answer_ok(response.json_or_none()):
                return
            raise SeedanceProtocolError(
                f"{self.label} connection test: {self._probe_target()} answered HTTP {code} with "
                f"{_what(response)}, not the {self.label} API, so a submit would fail too. "
                f"{self._host_hint()}",
                status_code=code,
            )
        if code == 404 and self.is_unknown_job(response.json_or_none()):
            return
        if code in (404, 405):
            detail, error_type = self.error_details(response)
            raise SeedanceNotFoundError(
                f"{self.label} connection test: there is no {self.label} API route at "
                f"{self._probe_target()} (HTTP {code}, {_what(response)}), so every submit would fail "
                f"the same way. {self._host_hint()}",
                status_code=code,
                error_type=error_type,
                detail=detail,
            )
        raise self.error_from_response(Operation.PROBE, response)

    def probe_answer_ok(self, data: object) -> bool:
        """Whether a 2xx probe body is what this API's probed route answers (a JSON object)."""
        return isinstance(data, dict)

    def is_unknown_job(self, data: object) -> bool:
        """Whether a 404 probe body is this platform's own "no such job" (not a missing route)."""
        return False

    def _probe_target(self) -> str:
        call = self.build_probe()
        return f"{call.method} {call.url}"

    def _host_hint(self) -> str:
        return (
            f"Check the connection's host (base URL {self.base_url}): it should be the API's root, "
            f"like {self.default_base_url}; the provider adds the API paths itself."
        )

    def submitted_data(self, response: HttpResponse) -> dict[str, Any]:
        """The JSON object of a submit response; a non-2xx answer raises the mapped error."""
        if not 200 <= response.status_code < 300:
            raise self.error_from_response(Operation.SUBMIT, response)
        return response.json_object(self.label, "submit")

    def require_job_id(self, value: object, response: HttpResponse, *, field: str, where: str) -> str:
        """``value`` as the new job's id, or a protocol error saying a job may exist anyway."""
        if isinstance(value, str) and self.request_id_pattern.fullmatch(value):
            return value
        what = f"an unusable {field}" if isinstance(value, str) and value else f"no {field}"
        raise SeedanceProtocolError(
            f"{self.label} accepted the submit (HTTP {response.status_code}) but returned {what}: "
            f"{response.excerpt()!r}. A job may exist: check {where} before resubmitting.",
            status_code=response.status_code,
        )

    def video_result(
        self, ref: JobRef, status: JobStatus, response: HttpResponse, url: object, seed: object = None
    ) -> JobResult:
        """The result of a job whose status body carries the video ``url`` (and maybe the
        ``seed``): an MP4 named after the URL's last segment. Unless the job succeeded with a
        URL, raises :func:`result_unavailable`."""
        if status.state is not JobState.SUCCEEDED or not isinstance(url, str) or not url:
            raise result_unavailable(self.label, ref, status, response)
        return JobResult(
            request_id=ref.request_id,
            video=VideoOutput(url=url, content_type="video/mp4", file_name=file_name_from_url(url)),
            seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        )

    def id_segment(self, request_id: str) -> str:
        """``request_id`` as a URL path segment: checked against :attr:`request_id_pattern`
        (a :class:`SeedanceValidationError` naming ``request_id`` otherwise, before any request)
        and percent-quoted as a second guard."""
        if not isinstance(request_id, str) or not self.request_id_pattern.fullmatch(request_id):
            shown = request_id[:80] if isinstance(request_id, str) else request_id
            raise SeedanceValidationError(
                [
                    FieldError(
                        "request_id",
                        f"{shown!r} is not a {self.label} job id: expected {self.request_id_shape}",
                    )
                ]
            )
        return quote(request_id, safe="")

    def job_url(self, ref: JobRef) -> str | None:
        """A link to the job on the platform's website, where one exists."""
        return None

    # -- errors --------------------------------------------------------------------------
    def error_details(self, response: HttpResponse) -> tuple[str | None, str | None]:
        """Extract ``(detail, error_type)`` from an error response body. Override per dialect."""
        return None, None

    def error_from_response(self, op: Operation, response: HttpResponse) -> SeedanceAPIError:
        """Map an HTTP error response to the shared error hierarchy (``error_mapping.py``); a
        submit refused for its content is a :class:`~.errors.SeedanceSubmitContentRejected`."""
        detail, error_type = self.error_details(response)
        refusal = classify(error_type, detail) if response.status_code in (400, 422) else None
        return error_from_response(self.label, op, response, detail, error_type, refusal)

    def failure(self, message: str | None, code: str | None) -> tuple[str | None, str | None]:
        """A failed job's ``(error, error_type)`` for its :class:`JobStatus`: as given, unless
        they show a moderation refusal (``moderation.py``); then the error names the platform's
        code and the refused input and the type is ``content_rejected`` (never retried)."""
        refusal = classify(code, message)
        if refusal is None:
            return message, code
        return status_error(refusal, message), CONTENT_REJECTED


def _what(response: HttpResponse) -> str:
    """A few words on a body, for the probe's messages: empty, an HTML page, JSON, or text."""
    if not response.content.strip():
        return "an empty body"
    if response.content.lstrip()[:1] == b"<":
        return "an HTML page"
    data = response.json_or_none()
    if data is None:
        return f"the text {response.excerpt(80)!r}"
    return f"the JSON {response.excerpt(120)}"
