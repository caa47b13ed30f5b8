"""How an HTTP answer becomes one of the shared errors of ``client/errors.py``.

:func:`error_from_response` maps an error status (with the ``detail`` and ``error_type`` a
dialect read from the body) to the hierarchy: 401/403 auth, 429 rate limit, 400/422 rejected
request, 404 not found, 5xx server error. :func:`result_unavailable` is the error for reading the
result of a job that has no video (yet). Pure functions, no I/O.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_seedance.client.errors import (
    SeedanceAPIError,
    SeedanceAuthError,
    SeedanceError,
    SeedanceJobContentRejected,
    SeedanceJobFailed,
    SeedanceNotFoundError,
    SeedanceProtocolError,
    SeedanceRateLimitError,
    SeedanceRequestRejected,
    SeedanceServerError,
    SeedanceSubmitContentRejected,
)
from airflow_provider_seedance.client.models import JobRef, JobState, JobStatus
from airflow_provider_seedance.client.platforms.http import HttpResponse, Operation, parse_retry_after
from airflow_provider_seedance.client.platforms.moderation import Refusal, describe, refusal_from_status

__all__ = ["content_rejected_message", "error_from_response", "result_unavailable"]

#: Where a user reads what to change after a refusal.
_MODERATION_DOCS = "see 'Content moderation' in docs/platforms.md"


def content_rejected_message(label: str, refusal: Refusal, detail: str | None, where: str) -> str:
    """The message of a refusal: what was refused, the platform's code and words, what to do."""
    what = describe(refusal.refused_input)
    reason = f": {detail}" if detail else ""
    return (
        f"{label} refused {what} {where} for its content ({refusal.code}){reason}. Sending the same "
        f"inputs again is refused again and is not retried: change {what} ({_MODERATION_DOCS})."
    )


def error_from_response(
    label: str,
    op: Operation,
    response: HttpResponse,
    detail: str | None = None,
    error_type: str | None = None,
    refusal: Refusal | None = None,
) -> SeedanceAPIError:
    """Map an HTTP error response from the platform called ``label`` to the shared hierarchy.

    ``detail`` and ``error_type`` are what the dialect read from the body; without a detail the
    message quotes the body (or says it is not JSON). A 400/422 to a submit that the dialect
    read as a moderation ``refusal`` is a :class:`SeedanceSubmitContentRejected`.
    """
    code = response.status_code
    if detail is None:
        body = response.excerpt()
        is_html = body.lstrip().startswith("<")
        detail = f"non-JSON body {body!r}" if is_html or response.json_or_none() is None else body
    reason = f" ({error_type})" if error_type else ""
    message = f"{label} answered {op.value} with HTTP {code}{reason}: {detail}"
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    kwargs: dict[str, Any] = {
        "status_code": code,
        "error_type": error_type,
        "detail": detail,
        "retry_after": retry_after,
    }
    cls: type[SeedanceAPIError]
    if refusal is not None and code in (400, 422) and op is Operation.SUBMIT:
        return SeedanceSubmitContentRejected(
            content_rejected_message(label, refusal, detail, "in the submit"),
            refused_input=refusal.refused_input,
            platform_code=refusal.code,
            **kwargs,
        )
    if code in (401, 403):
        cls = SeedanceAuthError
        message = (
            f"{label} rejected the API key (HTTP {code}){reason}: {detail}. "
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


def result_unavailable(label: str, ref: JobRef, status: JobStatus, response: HttpResponse) -> SeedanceError:
    """The error for a result read of a job that has no video (yet), for dialects whose result
    is the status body: :class:`SeedanceJobFailed` once the job ended without one, else a
    :class:`SeedanceProtocolError` naming the status."""
    refusal = refusal_from_status(status.error_type, status.error)
    if status.state is JobState.FAILED and refusal is not None:
        return SeedanceJobContentRejected(
            content_rejected_message(label, refusal, status.error, f"of job {ref.request_id}"),
            request_id=ref.request_id,
            error=status.error,
            refused_input=refusal.refused_input,
            platform_code=refusal.code,
        )
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
