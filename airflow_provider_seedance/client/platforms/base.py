"""The sans-I/O dialect interface every platform module implements.

A dialect turns a validated request into :class:`HttpRequest` descriptions and parses
:class:`HttpResponse` values into the shared models. It performs no I/O, so the same code
serves the sync transport (worker) and the async transport (triggerer), and is tested without
sockets.
"""

from __future__ import annotations

import email.utils
import enum
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from airflow_provider_seedance.client.errors import (
    FieldError,
    SeedanceAPIError,
    SeedanceAuthError,
    SeedanceError,
    SeedanceJobFailed,
    SeedanceNotFoundError,
    SeedanceProtocolError,
    SeedanceRateLimitError,
    SeedanceRequestRejected,
    SeedanceServerError,
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


class Operation(str, enum.Enum):
    """The kinds of call a client makes; the retry policy treats SUBMIT differently."""

    SUBMIT = "submit"
    STATUS = "status"
    RESULT = "result"
    CANCEL = "cancel"
    PROBE = "probe"


@dataclass(frozen=True)
class HttpRequest:
    """A description of one HTTP call (auth headers are added by the transport)."""

    method: str
    url: str
    json: Any = None
    params: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpResponse:
    """A fully read HTTP response. Header names are lower case."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    def excerpt(self, limit: int = 200) -> str:
        text = self.content[:limit].decode("utf-8", errors="replace").strip()
        return text + ("..." if len(self.content) > limit else "")

    def json_or_none(self) -> Any:
        """The JSON body, or None when the body is empty or not JSON."""
        if not self.content.strip():
            return None
        try:
            return json.loads(self.content)
        except ValueError:
            return None

    def json_object(self, platform: str, what: str) -> dict[str, Any]:
        """The body as a JSON object, or a clear :class:`SeedanceProtocolError`."""
        try:
            data = json.loads(self.content)
        except ValueError:
            kind = "an HTML page" if self.content.lstrip()[:1] == b"<" else "malformed JSON"
            raise SeedanceProtocolError(
                f"{platform} answered {what} with HTTP {self.status_code} and {kind} instead of a JSON "
                f"object: {self.excerpt()!r}",
                status_code=self.status_code,
            ) from None
        if not isinstance(data, dict):
            raise SeedanceProtocolError(
                f"{platform} answered {what} with HTTP {self.status_code} and JSON that is not an object: "
                f"{self.excerpt()!r}",
                status_code=self.status_code,
            )
        return data


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str | None, int | None] | None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    return scheme, parts.hostname, port


def file_name_from_url(url: str) -> str | None:
    """The last path segment of ``url`` when it names a file (``.../abc.mp4?sig=...`` -> ``abc.mp4``)."""
    last = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return last if "." in last.strip(".") else None


def nonempty_str(value: object) -> str | None:
    """``value`` when it is a non-empty string, else None (for fields of untrusted JSON)."""
    return value if isinstance(value, str) and value else None


def first_text(data: Mapping[str, Any], *keys: str) -> str | None:
    """The value of the first of ``keys`` that is a non-empty string in ``data``, else None."""
    for key in keys:
        if (value := nonempty_str(data.get(key))) is not None:
            return value
    return None


def message_with_param(error: Mapping[str, Any]) -> str | None:
    """An OpenAI-style error object's ``message``, with `` (param: p)`` where it names a
    ``param``; None without a message."""
    detail = nonempty_str(error.get("message"))
    param = nonempty_str(error.get("param"))
    return f"{detail} (param: {param})" if detail is not None and param is not None else detail


def result_unavailable(label: str, ref: JobRef, status: JobStatus, response: HttpResponse) -> SeedanceError:
    """The error for a result read of a job that has no video (yet), for dialects whose result
    is the status body: :class:`SeedanceJobFailed` once the job ended without one, else a
    :class:`SeedanceProtocolError` naming the status."""
    if status.state in (JobState.FAILED, JobState.CANCELLED, JobState.EXPIRED):
        reason = f": {status.error}" if status.error else ""
        return SeedanceJobFailed(
            f"{label} job {ref.request_id} {status.state.value} (status {status.raw_status!r}) and has "
            f"no video{reason}",
            request_id=ref.request_id,
            error=status.error,
            error_type=status.error_type,
        )
    if status.state is JobState.SUCCEEDED:
        return SeedanceProtocolError(
            f"{label} reports job {ref.request_id} {status.raw_status!r} but gives no video URL: "
            f"{response.excerpt()!r}",
            status_code=response.status_code,
        )
    return SeedanceProtocolError(
        f"{label} job {ref.request_id} has no result yet (status {status.raw_status!r}); "
        "wait until it succeeds",
        status_code=response.status_code,
    )


def same_origin(url: str, base_url: str) -> bool:
    """True when ``url`` has the scheme, host and port of ``base_url`` (default ports implied)."""
    a, b = _origin(url), _origin(base_url)
    return a is not None and a == b and a[1] is not None


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
    #: True where cancelling a *finished* job destroys its record (Ark's DELETE): the client then
    #: reads the status first and never sends the cancel for a terminal job.
    check_status_before_cancel: ClassVar[bool] = False

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = (base_url or self.default_base_url).rstrip("/")

    # -- auth and validation -------------------------------------------------------------
    @abstractmethod
    def auth_headers(self, api_key: str) -> dict[str, str]:
        """The headers that authenticate a request."""

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

    @abstractmethod
    def build_probe(self) -> HttpRequest:
        """A cheap authenticated call that never creates a paid job (for test_connection)."""

    def parse_probe(self, response: HttpResponse) -> None:
        """Raise when the probe shows bad credentials; a 404 for an unknown job is fine."""
        if response.status_code in (200, 202, 404):
            return
        raise self.error_from_response(Operation.PROBE, response)

    def submitted_data(self, response: HttpResponse) -> dict[str, Any]:
        """The JSON object of a submit response; a non-2xx answer raises the mapped error."""
        if not 200 <= response.status_code < 300:
            raise self.error_from_response(Operation.SUBMIT, response)
        return response.json_object(self.label, "submit")

    def require_job_id(self, value: object, response: HttpResponse, *, field: str, where: str) -> str:
        """``value`` as the new job's id, or a protocol error saying a job may exist anyway."""
        if isinstance(value, str) and value:
            return value
        raise SeedanceProtocolError(
            f"{self.label} accepted the submit (HTTP {response.status_code}) but returned no {field}: "
            f"{response.excerpt()!r}. A job may exist: check {where} before resubmitting.",
            status_code=response.status_code,
        )

    def status_body(
        self,
        ref: JobRef,
        response: HttpResponse,
        op: Operation,
        *,
        states: Mapping[str, JobState],
        noun: str,
        expected: str,
    ) -> tuple[dict[str, Any], str, JobState]:
        """For dialects whose status (and result) is a JSON object with a ``status`` name: the
        body, the name and the state ``states`` maps it to.

        A non-2xx answer raises the mapped error; a name missing from ``states`` raises a
        :class:`SeedanceProtocolError` naming the job (a ``noun``) and the ``expected`` names.
        """
        if not 200 <= response.status_code < 300:
            raise self.error_from_response(op, response)
        data = response.json_object(self.label, op.value)
        raw = data.get("status")
        state = states.get(raw) if isinstance(raw, str) else None
        if state is None:
            raise SeedanceProtocolError(
                f"{self.label} reported an unknown status {raw!r} for {noun} {ref.request_id}; expected "
                f"{expected}",
                status_code=response.status_code,
            )
        return data, str(raw), state

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

    def job_url(self, ref: JobRef) -> str | None:
        """A link to the job on the platform's website, where one exists."""
        return None

    # -- errors --------------------------------------------------------------------------
    def error_details(self, response: HttpResponse) -> tuple[str | None, str | None]:
        """Extract ``(detail, error_type)`` from an error response body. Override per dialect."""
        return None, None

    def error_from_response(self, op: Operation, response: HttpResponse) -> SeedanceAPIError:
        """Map an HTTP error response to the shared error hierarchy."""
        detail, error_type = self.error_details(response)
        code = response.status_code
        if detail is None:
            body = response.excerpt()
            is_html = body.lstrip().startswith("<")
            detail = f"non-JSON body {body!r}" if is_html or response.json_or_none() is None else body
        reason = f" ({error_type})" if error_type else ""
        message = f"{self.label} answered {op.value} with HTTP {code}{reason}: {detail}"
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        kwargs: dict[str, Any] = {
            "status_code": code,
            "error_type": error_type,
            "detail": detail,
            "retry_after": retry_after,
        }
        cls: type[SeedanceAPIError]
        if code in (401, 403):
            cls = SeedanceAuthError
            message = (
                f"{self.label} rejected the API key (HTTP {code}){reason}: {detail}. "
                "Check the password of the Seedance connection."
            )
        elif code == 429:
            cls = SeedanceRateLimitError
        elif code in (400, 422):
            cls = SeedanceRequestRejected
        elif code == 404:
            cls = SeedanceNotFoundError
        elif code >= 500:
            cls = SeedanceServerError
        else:
            cls = SeedanceAPIError
        return cls(message, **kwargs)
