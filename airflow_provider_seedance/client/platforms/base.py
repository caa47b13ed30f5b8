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
    CancelOutcome,
    JobRef,
    JobResult,
    JobState,
    JobStatus,
    ReferenceToVideoRequest,
    VideoOutput,
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

#: ``Dialect`` is this module's own; the HTTP names are re-exported from ``http.py`` for the
#: modules that import them from here (the transport, the retry policy, tests, benchmarks).
__all__ = ["Dialect", "HttpRequest", "HttpResponse", "Operation", "parse_retry_after", "same_origin"]


class Dialect(ABC):
    """One platform's HTTP API for Seedance 2.0 reference-to-video. No I/O."""

    #: The platform key used in the Airflow connection's ``platform`` extra.
    name: ClassVar[str]
    #: A human label for messages.
    label: ClassVar[str]
    default_base_url: ClassVar[str]
    resolutions: ClassVar[tuple[str, ...]] = DEFAULT_RESOLUTIONS
    #: Narrower resolution sets for some tiers (e.g. ``{"fast": ("480p", "720p")}``).
    tier_resolutions: ClassVar[Mapping[str, tuple[str, ...]]] = {}
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

    def __init__(self, base_url: str | None = None, *, allow_fallbacks: bool = False) -> None:
        self.base_url = self.normalise_base_url(base_url or self.default_base_url)
        #: Whether the platform may reroute a failing request to another ("equivalent") model.
        #: Only fal.ai does (after its retries); off by default so that a seed grid stays
        #: reproducible. The connection extra ``allow_fallbacks`` turns it on.
        self.allow_fallbacks = allow_fallbacks

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

    def check(self, request: ReferenceToVideoRequest) -> list[FieldError]:
        """Platform-specific limits beyond the shared model (e.g. the resolutions sold)."""
        allowed = self.tier_resolutions.get(request.tier, self.resolutions)
        if request.resolution not in allowed:
            scope = f" for the {request.tier} tier" if request.tier in self.tier_resolutions else ""
            return [
                FieldError(
                    "resolution",
                    f"{self.label} sells {', '.join(allowed)} only{scope}, got {request.resolution!r}",
                )
            ]
        return []

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
    def build_submit(self, request: ReferenceToVideoRequest) -> HttpRequest: ...

    @abstractmethod
    def parse_submit(self, request: ReferenceToVideoRequest, response: HttpResponse) -> JobRef: ...

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
