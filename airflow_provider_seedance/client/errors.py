"""One error hierarchy for every Seedance platform.

Callers catch what they can act on:

* :class:`SeedanceValidationError` -- the request breaks a documented limit; nothing was sent.
* :class:`SeedanceAPIError` and its subclasses -- the platform answered with an error.
  ``retryable`` tells whether the same *read* may succeed later.
* :class:`SeedanceTransportError` -- the network failed (connect, timeout, dropped connection).
* :class:`SeedanceProtocolError` -- the platform answered something we cannot understand
  (an HTML error page, malformed JSON, an unknown status value).
* :class:`SeedanceJobFailed` -- the job ran and the platform reports it failed.
* :class:`SeedanceAmbiguousSubmitError` -- the submit request was sent but no answer came back;
  a job may or may not exist and **must not be re-sent blindly**.
* :class:`SeedanceDownloadError` (and :class:`SeedanceIncompleteDownloadError`,
  :class:`MediaURLRefusedError`) -- fetching a generated video from its media URL failed;
  ``expired`` says a fresh URL may help.
* :class:`GCSArchiveError` (and :class:`ObjectExistsError`, :class:`ChecksumMismatchError`) --
  writing a video into Google Cloud Storage failed.

No exception message ever contains an API key: messages are built from response bodies and
status codes only, and :func:`redact` is applied to every body excerpt as a second guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One violated limit: the field that breaks it and a human sentence naming the limit."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class SeedanceError(Exception):
    """Base class of every error raised by this package's client."""


class SeedanceValidationError(SeedanceError, ValueError):
    """The request breaks one or more documented limits. Raised before any HTTP request."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        count = len(self.errors)
        lines = "\n".join(f"  - {e}" for e in self.errors)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"Invalid Seedance request ({count} {noun}):\n{lines}")

    @property
    def fields(self) -> list[str]:
        return [e.field for e in self.errors]


class SeedanceTransportError(SeedanceError):
    """The HTTP exchange failed below the HTTP layer (DNS, connect, timeout, dropped connection)."""

    def __init__(self, message: str, *, request_sent: bool) -> None:
        super().__init__(message)
        #: False when the request provably never reached the server (connect error).
        self.request_sent = request_sent


class SeedanceProtocolError(SeedanceError):
    """The platform answered, but not in a form this client understands."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class SeedanceAPIError(SeedanceError):
    """The platform answered with an HTTP error status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_type: str | None = None,
        detail: object = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_type = error_type
        self.detail = detail
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """Whether an idempotent request (status, result, cancel) may succeed if repeated."""
        return self.status_code in (408, 429) or self.status_code >= 500


class SeedanceAuthError(SeedanceAPIError):
    """401/403: the API key is missing, wrong, or lacks permission."""


class SeedanceRateLimitError(SeedanceAPIError):
    """429: too many requests; ``retry_after`` holds the server's hint in seconds, if any."""


class SeedanceRequestRejected(SeedanceAPIError):
    """400/422: the platform rejected the request's content."""


class SeedanceNotFoundError(SeedanceAPIError):
    """404: the job (or route) does not exist, or its record expired."""


class SeedanceServerError(SeedanceAPIError):
    """5xx: the platform failed. Retryable for reads; ambiguous for a submit."""


class SeedanceJobFailed(SeedanceError):
    """The job reached a terminal failure on the platform."""

    def __init__(
        self, message: str, *, request_id: str, error: str | None = None, error_type: str | None = None
    ) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.error = error
        self.error_type = error_type


#: :attr:`JobStatus.error_type` (and :attr:`SeedanceJobFailed.error_type`) of a job the platform
#: refused for its content: the same inputs would be refused (and maybe billed) again.
CONTENT_REJECTED = "content_rejected"


class SeedanceContentRejected(SeedanceError):
    """The platform refused the request's content (moderation). Catch this one class for every
    refusal: at submit (:class:`SeedanceSubmitContentRejected`) or once the job ran
    (:class:`SeedanceJobContentRejected`). Never retried: the same inputs are refused again.

    ``refused_input`` names what was refused where the platform says (``"prompt"``,
    ``"image"``, ``"video"``, ``"audio"``), else None; ``platform_code`` is the platform's own
    code (``InputImageSensitiveContentDetected``, ``content_policy_violation``, ...).
    """

    refused_input: str | None = None
    platform_code: str | None = None


class SeedanceSubmitContentRejected(SeedanceContentRejected, SeedanceRequestRejected):
    """The submit was refused for its content (HTTP 400/422); no job was created."""

    def __init__(
        self,
        message: str,
        *,
        refused_input: str | None = None,
        platform_code: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.refused_input = refused_input
        self.platform_code = platform_code


class SeedanceJobContentRejected(SeedanceContentRejected, SeedanceJobFailed):
    """The job ran and the platform refused its content (a moderated failed job, or fal's
    ``content_policy_violation`` when its result is fetched)."""

    def __init__(
        self,
        message: str,
        *,
        request_id: str,
        error: str | None = None,
        refused_input: str | None = None,
        platform_code: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id, error=error, error_type=CONTENT_REJECTED)
        self.refused_input = refused_input
        self.platform_code = platform_code


class SeedanceAmbiguousSubmitError(SeedanceError):
    """The submit request was sent but its outcome is unknown.

    A job may have been created (and may be billed). The client never re-sends the request:
    check the platform's dashboard or request list before submitting again.
    """

    def __init__(self, message: str, *, platform: str, cause: str) -> None:
        super().__init__(message)
        self.platform = platform
        self.cause = cause


class SeedanceDownloadError(SeedanceError):
    """Downloading a generated video failed.

    :param status_code: The HTTP status, when the server answered.
    :param retryable: Whether the same URL may work if tried again later.
    :param expired: The URL no longer works (401/403/404/410): fetch a fresh one from the platform.
    :param retry_after: The server's ``Retry-After`` hint in seconds, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retryable: bool = False,
        expired: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        #: Whether the same URL may work if tried again later.
        self.retryable = retryable
        self.expired = expired
        self.retry_after = retry_after


class SeedanceIncompleteDownloadError(SeedanceDownloadError):
    """The body ended early or had an unexpected size. Retryable: nothing was finalized."""

    def __init__(self, message: str, *, received: int, expected: int | None) -> None:
        super().__init__(message, retryable=True)
        self.received = received
        self.expected = expected


class MediaURLRefusedError(SeedanceDownloadError):
    """A media URL breaks the download policy (not https, or a local/private address); nothing was fetched.

    :param field: The input the URL came from (``video.url``, or ``video.url (redirect)``).
    """

    def __init__(self, message: str, *, field: str = "video.url") -> None:
        super().__init__(f"{field}: {message}", retryable=False)
        self.field = field


class GCSArchiveError(SeedanceError):
    """Archiving a video into Google Cloud Storage failed."""


class ObjectExistsError(GCSArchiveError):
    """The destination object exists with different content; it was left untouched."""


class ChecksumMismatchError(GCSArchiveError):
    """GCS stored different bytes than were downloaded; the new object was deleted."""


#: Any run of this many characters of a secret is redacted (a platform may echo a key's prefix).
REDACT_RUN = 8


def redact(text: str, *secrets: str | None) -> str:
    """Replace every run of :data:`REDACT_RUN` or more characters of each secret with ``***``.

    A platform may echo part of a key (``invalid key sk-abc123def...``): every span of ``text``
    covered by one of the secret's 8-character substrings is replaced, adjacent spans merged
    into one ``***``. Linear in ``len(text)``: one set of the secret's 8-grams and one scan.
    A secret shorter than 8 characters is replaced only where it appears whole.
    """
    for secret in secrets:
        if not secret:
            continue
        if len(secret) < REDACT_RUN:
            text = text.replace(secret, "***")
            continue
        grams = {secret[i : i + REDACT_RUN] for i in range(len(secret) - REDACT_RUN + 1)}
        covered_to = -1  # end (exclusive) of the current redacted span
        spans: list[list[int]] = []
        for i in range(len(text) - REDACT_RUN + 1):
            if text[i : i + REDACT_RUN] in grams:
                if spans and i <= covered_to:
                    covered_to = spans[-1][1] = i + REDACT_RUN
                else:
                    spans.append([i, i + REDACT_RUN])
                    covered_to = i + REDACT_RUN
        if spans:
            parts, start = [], 0
            for begin, end in spans:
                parts.append(text[start:begin])
                parts.append("***")
                start = end
            parts.append(text[start:])
            text = "".join(parts)
    return text


# -- reference media (client/references.py, client/preflight.py, client/reference_storage.py) --


@dataclass(frozen=True)
class ReferenceFieldError(FieldError):
    """A reference (``video_urls[2]``) breaks a limit or cannot be read.

    ``transient``: a network fault (timeout, 5xx, dropped connection) stood in the way; the same
    check may pass later.
    """

    transient: bool = False


class SeedancePreflightError(SeedanceValidationError):
    """Reference media break documented limits or cannot be read; nothing was submitted.

    ``transient`` is True only when every problem is a network fault: a retry may help. Any
    other preflight failure will fail again the same way (Airflow should not retry it).
    """

    def __init__(self, errors: list[FieldError], *, report: object = None) -> None:
        super().__init__(errors)
        self.report = report

    @property
    def transient(self) -> bool:
        return bool(self.errors) and all(
            isinstance(e, ReferenceFieldError) and e.transient for e in self.errors
        )


class ReferenceResolutionError(SeedanceError):
    """Turning a reference into a URL the platform can fetch (signing, uploading) failed.

    ``retryable``: the failure was a transient fault that survived the bounded retries.
    """

    def __init__(self, message: str, *, field: str, retryable: bool = False) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.retryable = retryable


# -- spend budgets (ledger/) --


class SeedanceBudgetExceeded(SeedanceError):
    """A spend budget cannot hold this job's estimate; nothing was reserved or submitted.

    :param budget: The budget's name.
    :param remaining_usd: What the budget's current window has left (limit - spent - held).
    :param needed_usd: The job's upper-bound estimate.
    :param next_window_at: When the budget's next window opens (an aware UTC datetime), or None
        for a budget without windows.
    """

    def __init__(
        self, *, budget: str, remaining_usd: float, needed_usd: float, next_window_at: object = None
    ) -> None:
        left, need = f"{max(remaining_usd, 0.0):.2f}", f"{needed_usd:.2f}"
        if left == need:  # 4.5355 left, 4.5360 needed: show the difference
            left, need = f"{max(remaining_usd, 0.0):.4f}", f"{needed_usd:.4f}"
        super().__init__(f'budget "{budget}" has ${left} left, this job needs up to ${need}')
        self.budget = budget
        self.remaining_usd = remaining_usd
        self.needed_usd = needed_usd
        self.next_window_at = next_window_at


class LedgerError(SeedanceError):
    """A spend-ledger operation could not be done (a wrong transition, a missing entry)."""


class LedgerUnavailableError(LedgerError):
    """The ledger database cannot be reached; nothing was reserved (and nothing may be submitted)."""


class ReservationLostError(LedgerError):
    """The reservation expired and was released before the submit began: reserve again."""
