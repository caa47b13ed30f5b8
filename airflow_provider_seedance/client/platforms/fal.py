"""fal.ai queue API dialect (``bytedance/seedance-2.0[/fast]/{text,image,reference}-to-video``).

Submit goes to ``{base}/bytedance/seedance-2.0[/fast]/<mode>`` (:data:`ENDPOINTS`: every mode on
both tiers, the model's inputs under fal's names, which are the source documents'); status, result and
cancel use the ``status_url`` / ``response_url`` / ``cancel_url`` the submit returns, which use
only the owner and app (``bytedance/seedance-2.0``) and so drop a path segment. Returned URLs are
used as given when they point at the configured origin; a job known only by its request id (a
sensor, a retry) gets them derived the way fal's own client does.

Status: 202 while ``IN_QUEUE`` / ``IN_PROGRESS``, 200 when ``COMPLETED``; a failure is
``COMPLETED`` with ``error`` / ``error_type``. Cancel: 202 ``CANCELLATION_REQUESTED``,
400 ``ALREADY_COMPLETED``, 404 when unknown.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import urlsplit

from airflow_provider_seedance.client.errors import SeedanceJobContentRejected, SeedanceProtocolError
from airflow_provider_seedance.client.models import (
    CancelOutcome,
    JobRef,
    JobResult,
    JobState,
    JobStatus,
    Mode,
    SeedanceRequest,
    VideoOutput,
)
from airflow_provider_seedance.client.platforms.base import Catalog, Dialect
from airflow_provider_seedance.client.platforms.error_mapping import content_rejected_message
from airflow_provider_seedance.client.platforms.http import HttpRequest, HttpResponse, Operation, same_origin
from airflow_provider_seedance.client.platforms.json_fields import nonempty_str
from airflow_provider_seedance.client.platforms.moderation import classify

APP_ID = "bytedance/seedance-2.0"
#: (mode, tier) -> endpoint id, as fal's model pages list them (docs/platforms.md).
ENDPOINTS: dict[tuple[Mode, str], str] = {
    (mode, tier): f"{APP_ID}/{'fast/' if tier == 'fast' else ''}{mode.value}"
    for mode in Mode
    for tier in ("standard", "fast")
}
_480_720 = ("480p", "720p")
#: fal's documented resolutions: 1080p only on the standard image-to-video endpoint.
CATALOG: Catalog = {
    Mode.TEXT_TO_VIDEO: {"standard": _480_720, "fast": _480_720},
    Mode.IMAGE_TO_VIDEO: {"standard": ("480p", "720p", "1080p"), "fast": _480_720},
    Mode.REFERENCE_TO_VIDEO: {"standard": _480_720, "fast": _480_720},
}
#: fal's documented opt-out of model fallbacks (api-dialects.md §1.7), sent on submit.
DISABLE_FALLBACKS_HEADER = "x-fal-disable-fallbacks"
_PROBE_REQUEST_ID = "00000000-0000-0000-0000-000000000000"
_REQUEST_NOT_FOUND = re.compile(r"\brequest\b.*\bnot found\b", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_CANCELLED_ERROR_TYPES = frozenset({"request_cancelled", "client_cancelled", "cancelled", "canceled"})


class FalDialect(Dialect):
    """fal.ai queue API."""

    name: ClassVar[str] = "fal"
    label: ClassVar[str] = "fal.ai"
    default_base_url: ClassVar[str] = "https://queue.fal.run"
    auth_scheme: ClassVar[str] = "Key"
    catalog: ClassVar[Catalog] = CATALOG
    #: fal request ids are UUIDs (hex and dashes); any letters/digits/dashes are accepted.
    request_id_pattern: ClassVar[re.Pattern[str]] = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,127}")
    request_id_shape: ClassVar[str] = "a request id like 80e732af-660e-45cd-bd63-580e4f2a94cc"
    #: The model's endpoint URL, as fal's pages and SDK examples show it, pasted as the host.
    sdk_base_suffixes: ClassVar[tuple[str, ...]] = (
        *(f"/{path}" for path in ENDPOINTS.values()),
        f"/{APP_ID}",
    )

    # -- submit --------------------------------------------------------------------------
    def build_submit(self, request: SeedanceRequest) -> HttpRequest:
        body = request.model_inputs()
        if body.get("seed") == -1:  # "random" is fal's default when no seed is sent
            del body["seed"]
        # fal reroutes a request that keeps failing to an "equivalent alternative endpoint"
        # (another model) unless told not to: the video would not be Seedance's for that seed.
        headers = {} if self.allow_fallbacks else {DISABLE_FALLBACKS_HEADER: "true"}
        endpoint = ENDPOINTS[request.mode, request.tier]
        return HttpRequest("POST", f"{self.base_url}/{endpoint}", json=body, headers=headers)

    def parse_submit(self, request: SeedanceRequest, response: HttpResponse) -> JobRef:
        data = self.submitted_data(response)
        request_id = self.require_job_id(
            data.get("request_id"), response, field="request_id", where="the fal.ai dashboard"
        )
        urls = {}
        for key in ("status_url", "response_url", "cancel_url"):
            value = data.get(key)
            # Never send the key to another origin than the one configured (re-checked on use).
            if isinstance(value, str) and same_origin(value, self.base_url):
                urls[key] = value
        return JobRef(platform=self.name, request_id=request_id, tier=request.tier, **urls)

    # -- URLs ----------------------------------------------------------------------------
    def _requests_url(self, ref: JobRef) -> str:
        return f"{self.base_url}/{APP_ID}/requests/{self.id_segment(ref.request_id)}"

    def _returned(self, url: str | None, derived: str) -> str:
        """A URL stored in a ref, used as given (fal's advice) when it is on the configured
        origin and under the app's ``.../bytedance/seedance-2.0/requests/`` path, with no query,
        fragment, dot segment or percent-escape; else ``derived``.

        A ref may come back from XCom or trigger kwargs after the connection's host changed, or
        be built by hand: its URLs are checked again here, not only when the submit returned them,
        so neither another host nor another path or query on the same host gets the key.
        """
        if not url or not same_origin(url, self.base_url):
            return derived
        parts = urlsplit(url)
        segments = parts.path.split("/")
        requests_path = f"{urlsplit(self.base_url).path}/{APP_ID}/requests/"
        if parts.query or parts.fragment or "." in segments or ".." in segments or "%" in parts.path:
            return derived
        return url if parts.path.startswith(requests_path) and not _CONTROL.search(url) else derived

    def _status_url(self, ref: JobRef) -> str:
        return self._returned(ref.status_url, f"{self._requests_url(ref)}/status")

    def _response_url(self, ref: JobRef) -> str:
        return self._returned(ref.response_url, self._requests_url(ref))

    def _cancel_url(self, ref: JobRef) -> str:
        return self._returned(ref.cancel_url, f"{self._requests_url(ref)}/cancel")

    # -- status --------------------------------------------------------------------------
    def build_status(self, ref: JobRef) -> HttpRequest:
        return HttpRequest("GET", self._status_url(ref), params={"logs": "1"})

    def parse_status(self, ref: JobRef, response: HttpResponse) -> JobStatus:
        if response.status_code not in (200, 202):
            raise self.error_from_response(Operation.STATUS, response)
        data = response.json_object(self.label, "status")
        raw = data.get("status")
        raw_logs = data.get("logs")
        logs = tuple(_log_line(entry) for entry in (raw_logs if isinstance(raw_logs, list) else ()))
        error = data.get("error")
        error_type = nonempty_str(data.get("error_type"))
        common: dict[str, Any] = {"request_id": ref.request_id, "raw_status": str(raw), "logs": logs}
        if raw == "IN_QUEUE":
            return JobStatus(
                state=JobState.QUEUED,
                queue_position=_count(data.get("queue_position")),
                **common,
            )
        if raw == "IN_PROGRESS":
            return JobStatus(state=JobState.RUNNING, **common)
        if raw in ("COMPLETED", "FAILED", "ERROR", "CANCELED", "CANCELLED"):
            if raw in ("CANCELED", "CANCELLED") or error_type in _CANCELLED_ERROR_TYPES:
                state = JobState.CANCELLED
            elif error or error_type or raw in ("FAILED", "ERROR"):
                state = JobState.FAILED
            else:
                state = JobState.SUCCEEDED
            error_text = error if isinstance(error, str) else (None if error is None else str(error)[:500])
            if state is JobState.FAILED:
                error_text, error_type = self.failure(error_text, error_type)
            return JobStatus(state=state, error=error_text, error_type=error_type, **common)
        raise SeedanceProtocolError(
            f"fal.ai reported an unknown status {raw!r} for request {ref.request_id}; expected IN_QUEUE, "
            "IN_PROGRESS or COMPLETED",
            status_code=response.status_code,
        )

    # -- result --------------------------------------------------------------------------
    def build_result(self, ref: JobRef) -> HttpRequest:
        return HttpRequest("GET", self._response_url(ref))

    def parse_result(self, ref: JobRef, response: HttpResponse) -> JobResult:
        if response.status_code in (400, 422):
            # A content_policy_violation shows up only here, once the job ran (the status said
            # COMPLETED): the job failed for its content, and fetching again changes nothing.
            detail, error_type = self.error_details(response)
            refusal = classify(error_type, detail)
            if refusal is not None:
                raise SeedanceJobContentRejected(
                    content_rejected_message(self.label, refusal, detail, f"of request {ref.request_id}"),
                    request_id=ref.request_id,
                    error=detail,
                    refused_input=refusal.refused_input,
                    platform_code=refusal.code,
                )
        if response.status_code != 200:
            raise self.error_from_response(Operation.RESULT, response)
        data = response.json_object(self.label, "result")
        video = data.get("video")
        url = nonempty_str(video.get("url")) if isinstance(video, dict) else None
        if not isinstance(video, dict) or url is None:
            raise SeedanceProtocolError(
                f"fal.ai result for request {ref.request_id} has no video URL: {response.excerpt()!r}",
                status_code=response.status_code,
            )
        seed = data.get("seed")
        return JobResult(
            request_id=ref.request_id,
            video=VideoOutput(
                url=url,
                content_type=nonempty_str(video.get("content_type")) or "video/mp4",
                file_name=nonempty_str(video.get("file_name")),
                file_size=_count(video.get("file_size")),
            ),
            seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        )

    # -- cancel --------------------------------------------------------------------------
    def build_cancel(self, ref: JobRef) -> HttpRequest:
        return HttpRequest("PUT", self._cancel_url(ref))

    def parse_cancel(self, ref: JobRef, response: HttpResponse) -> CancelOutcome:
        data = response.json_or_none()
        status = data.get("status") if isinstance(data, dict) else None
        if response.status_code in (200, 202):
            return CancelOutcome.REQUESTED
        if response.status_code == 400 and status == "ALREADY_COMPLETED":
            return CancelOutcome.ALREADY_FINISHED
        if response.status_code == 404:
            return CancelOutcome.NOT_FOUND
        raise self.error_from_response(Operation.CANCEL, response)

    # -- probe ---------------------------------------------------------------------------
    def build_probe(self) -> HttpRequest:
        ref = JobRef(platform=self.name, request_id=_PROBE_REQUEST_ID)
        return HttpRequest("GET", f"{self._requests_url(ref)}/status")

    def probe_answer_ok(self, data: object) -> bool:
        """A queue status body: ``{"status": ...}``."""
        return isinstance(data, dict) and isinstance(data.get("status"), str)

    def is_unknown_job(self, data: object) -> bool:
        """fal's unknown request: ``{"status": "NOT_FOUND"}`` or a ``detail`` saying the
        request is not found (a missing route says "Not Found" alone, or names no request)."""
        if not isinstance(data, dict):
            return False
        if data.get("status") == "NOT_FOUND":
            return True
        detail = data.get("detail")
        return isinstance(detail, str) and bool(_REQUEST_NOT_FOUND.search(detail))

    def job_url(self, ref: JobRef) -> str | None:
        endpoint = ENDPOINTS[Mode.REFERENCE_TO_VIDEO, ref.tier]  # a ref does not record its mode
        return f"https://fal.ai/models/{endpoint}/requests" if "fal.run" in self.base_url else None

    # -- errors --------------------------------------------------------------------------
    def error_details(self, response: HttpResponse) -> tuple[str | None, str | None]:
        data = response.json_or_none()
        error_type = response.headers.get("x-fal-error-type")
        detail: str | None = None
        if isinstance(data, dict):
            raw = data.get("detail")
            if isinstance(data.get("error_type"), str):
                error_type = data["error_type"]
            if isinstance(raw, list):
                detail = "; ".join(_format_detail_item(item) for item in raw) or None
            elif raw is not None:
                detail = str(raw)
            elif isinstance(data.get("error"), str):
                detail = data["error"]
            if detail is None and isinstance(data.get("status"), str):  # {"status": "NOT_FOUND"}
                detail = data["status"]
        return detail, error_type


def _count(value: object) -> int | None:
    """``value`` when it is a non-negative integer (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _log_line(entry: object) -> str:
    """One ``logs`` entry (``{"message", "level", ...}``) as a line; anything else as text."""
    if isinstance(entry, dict):
        message = entry.get("message")
        return message if isinstance(message, str) else ""
    return entry if isinstance(entry, str) else ""


def _format_detail_item(item: object) -> str:
    """``{"loc": ["body", "prompt"], "msg": "field required"}`` -> ``prompt: field required``."""
    if not isinstance(item, dict):
        return str(item)
    raw_loc = item.get("loc")
    loc = [str(part) for part in (raw_loc if isinstance(raw_loc, list) else ()) if part != "body"]
    msg = nonempty_str(item.get("msg")) or "invalid"
    kind = nonempty_str(item.get("type"))
    text = f"{'.'.join(loc)}: {msg}" if loc else msg
    return f"{text} [{kind}]" if kind else text
