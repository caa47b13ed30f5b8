"""fal.ai queue API dialect (``bytedance/seedance-2.0[/fast]/reference-to-video``).

Submit goes to ``{base}/bytedance/seedance-2.0[/fast]/reference-to-video``; status, result and
cancel use the ``status_url`` / ``response_url`` / ``cancel_url`` the submit returns, which use
only the owner and app (``bytedance/seedance-2.0``) and so drop a path segment. Returned URLs are
used as given when they point at the configured origin; a job known only by its request id (a
sensor, a retry) gets them derived the way fal's own client does.

Status: 202 while ``IN_QUEUE`` / ``IN_PROGRESS``, 200 when ``COMPLETED``; a failure is
``COMPLETED`` with ``error`` / ``error_type``. Cancel: 202 ``CANCELLATION_REQUESTED``,
400 ``ALREADY_COMPLETED``, 404 when unknown.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_provider_seedance.client.errors import SeedanceProtocolError
from airflow_provider_seedance.client.models import (
    CancelOutcome,
    JobRef,
    JobResult,
    JobState,
    JobStatus,
    ReferenceToVideoRequest,
    VideoOutput,
)
from airflow_provider_seedance.client.platforms.base import (
    Dialect,
    HttpRequest,
    HttpResponse,
    Operation,
    same_origin,
)

APP_ID = "bytedance/seedance-2.0"
ENDPOINTS = {
    "standard": f"{APP_ID}/reference-to-video",
    "fast": f"{APP_ID}/fast/reference-to-video",
}
_PROBE_REQUEST_ID = "00000000-0000-0000-0000-000000000000"
_CANCELLED_ERROR_TYPES = frozenset({"request_cancelled", "client_cancelled", "cancelled", "canceled"})


class FalDialect(Dialect):
    """fal.ai queue API."""

    name: ClassVar[str] = "fal"
    label: ClassVar[str] = "fal.ai"
    default_base_url: ClassVar[str] = "https://queue.fal.run"

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Key {api_key}"}

    # -- submit --------------------------------------------------------------------------
    def build_submit(self, request: ReferenceToVideoRequest) -> HttpRequest:
        body = request.model_inputs()
        if body.get("seed") == -1:  # "random" is fal's default when no seed is sent
            del body["seed"]
        return HttpRequest("POST", f"{self.base_url}/{ENDPOINTS[request.tier]}", json=body)

    def parse_submit(self, request: ReferenceToVideoRequest, response: HttpResponse) -> JobRef:
        data = self.submitted_data(response)
        request_id = self.require_job_id(
            data.get("request_id"), response, field="request_id", where="the fal.ai dashboard"
        )
        urls = {}
        for key in ("status_url", "response_url", "cancel_url"):
            value = data.get(key)
            # Never send the key to another origin than the one configured.
            if isinstance(value, str) and same_origin(value, self.base_url):
                urls[key] = value
        return JobRef(platform=self.name, request_id=request_id, tier=request.tier, **urls)

    # -- URLs ----------------------------------------------------------------------------
    def _requests_url(self, ref: JobRef) -> str:
        return f"{self.base_url}/{APP_ID}/requests/{ref.request_id}"

    def _returned(self, url: str | None) -> str | None:
        """A URL stored in a ref, if it is on the configured origin (the key goes nowhere else).

        A ref may come back from XCom or trigger kwargs after the connection's host changed, or
        be built by hand: its URLs are checked again here, not only when the submit returned them.
        """
        return url if url and same_origin(url, self.base_url) else None

    def _status_url(self, ref: JobRef) -> str:
        return self._returned(ref.status_url) or f"{self._requests_url(ref)}/status"

    def _response_url(self, ref: JobRef) -> str:
        return self._returned(ref.response_url) or self._requests_url(ref)

    def _cancel_url(self, ref: JobRef) -> str:
        return self._returned(ref.cancel_url) or f"{self._requests_url(ref)}/cancel"

    # -- status --------------------------------------------------------------------------
    def build_status(self, ref: JobRef) -> HttpRequest:
        return HttpRequest("GET", self._status_url(ref), params={"logs": "1"})

    def parse_status(self, ref: JobRef, response: HttpResponse) -> JobStatus:
        if response.status_code not in (200, 202):
            raise self.error_from_response(Operation.STATUS, response)
        data = response.json_object(self.label, "status")
        raw = data.get("status")
        logs = tuple(
            str(entry.get("message", "")) if isinstance(entry, dict) else str(entry)
            for entry in (data.get("logs") or [])
        )
        error = data.get("error")
        error_type = data.get("error_type")
        common: dict[str, Any] = {"request_id": ref.request_id, "raw_status": str(raw), "logs": logs}
        if raw == "IN_QUEUE":
            position = data.get("queue_position")
            return JobStatus(
                state=JobState.QUEUED,
                queue_position=position if isinstance(position, int) else None,
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
            return JobStatus(
                state=state,
                error=str(error) if error is not None else None,
                error_type=str(error_type) if error_type is not None else None,
                **common,
            )
        raise SeedanceProtocolError(
            f"fal.ai reported an unknown status {raw!r} for request {ref.request_id}; expected IN_QUEUE, "
            "IN_PROGRESS or COMPLETED",
            status_code=response.status_code,
        )

    # -- result --------------------------------------------------------------------------
    def build_result(self, ref: JobRef) -> HttpRequest:
        return HttpRequest("GET", self._response_url(ref))

    def parse_result(self, ref: JobRef, response: HttpResponse) -> JobResult:
        if response.status_code != 200:
            raise self.error_from_response(Operation.RESULT, response)
        data = response.json_object(self.label, "result")
        video = data.get("video")
        if not isinstance(video, dict) or not isinstance(video.get("url"), str):
            raise SeedanceProtocolError(
                f"fal.ai result for request {ref.request_id} has no video URL: {response.excerpt()!r}",
                status_code=response.status_code,
            )
        seed = data.get("seed")
        return JobResult(
            request_id=ref.request_id,
            video=VideoOutput(
                url=video["url"],
                content_type=video.get("content_type") or "video/mp4",
                file_name=video.get("file_name"),
                file_size=video.get("file_size") if isinstance(video.get("file_size"), int) else None,
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

    def job_url(self, ref: JobRef) -> str | None:
        return f"https://fal.ai/models/{ENDPOINTS[ref.tier]}/requests" if "fal.run" in self.base_url else None

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


def _format_detail_item(item: object) -> str:
    """``{"loc": ["body", "prompt"], "msg": "field required"}`` -> ``prompt: field required``."""
    if not isinstance(item, dict):
        return str(item)
    loc = [str(part) for part in item.get("loc") or [] if part != "body"]
    msg = str(item.get("msg", "invalid"))
    kind = item.get("type")
    text = f"{'.'.join(loc)}: {msg}" if loc else msg
    return f"{text} [{kind}]" if kind else text
