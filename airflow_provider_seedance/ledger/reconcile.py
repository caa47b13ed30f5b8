"""Reconciliation: compare the platform's own job list with the ledger.

Which platforms can list their jobs (api-dialects):

* **Ark** (BytePlus ModelArk, Volcengine Ark): ``GET /api/v3/contents/generations/tasks``
  with ``page_num``, ``page_size``, ``filter.status``, ``filter.model``, ``filter.task_ids``;
  newest first; only the last 7 days; ``usage.completion_tokens`` on succeeded tasks.
  Implemented here (:class:`ArkTaskLister`, httpx).
* **Oxen.ai**: ``GET /api/ai/queue`` lists generations (active ones by default); not
  implemented yet.
* **fal.ai**: the queue API used by this provider has no request listing (fal's dashboard
  does); **AIHubMax**: no listing endpoint is documented. Neither can be reconciled here: their
  ``unknown`` entries need a person (:meth:`Ledger.resolve_unknown` or a link by request id).

:func:`reconcile` then:

1. expires overdue reservations (:meth:`Ledger.expire`);
2. settles held entries whose job the list shows finished (succeeded: Ark's usage priced by
   its published rule; failed/expired/cancelled: released, Ark bills only successful videos)
   and replaces estimated spend by actual usage on succeeded entries;
3. links an ``unknown`` entry to a listed job no entry claims when exactly one such job
   matches it (same model tier, resolution, ratio, duration, seed and audio flag when the
   entry fixed them, created within the entry's submit window) and that job matches no other
   unknown entry: that is the proof. Otherwise the candidates are reported;
4. reports listed jobs the ledger does not know (orphans: maybe paid for, never collected).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from airflow_provider_seedance.ledger.costs import ark_cost
from airflow_provider_seedance.ledger.store import (
    HELD_STATES,
    SUCCEEDED,
    UNKNOWN,
    Entry,
    Ledger,
    LedgerError,
)

log = logging.getLogger(__name__)

ARK_TASKS_PATH = "/api/v3/contents/generations/tasks"
#: Ark's Seedance 2.0 model ids -> tier.
ARK_MODEL_TIERS: Mapping[str, str] = {
    "dreamina-seedance-2-0-260128": "standard",
    "dreamina-seedance-2-0-fast-260128": "fast",
    "doubao-seedance-2-0-260128": "standard",
    "doubao-seedance-2-0-fast-260128": "fast",
}
ARK_DEFAULT_BASE_URLS: Mapping[str, str] = {
    "byteplus": "https://ark.ap-southeast.bytepluses.com",
    "volcengine": "https://ark.cn-beijing.volces.com",
}
#: Platforms whose jobs can be listed, and those that cannot (with why).
LISTABLE: tuple[str, ...] = ("byteplus", "volcengine")
NOT_LISTABLE: Mapping[str, str] = {
    "fal": "the fal.ai queue API has no request listing",
    "aihubmax": "AIHubMax documents no task listing",
    "oxen": "Oxen.ai's GET /api/ai/queue listing is not implemented by this provider yet",
}
_FINISHED_UNBILLED = ("failed", "expired", "cancelled", "canceled")
#: How long after the submit began a matching job may have been created.
DEFAULT_MATCH_WINDOW = timedelta(minutes=10)
#: Clock skew allowed between the worker and the platform.
CLOCK_SKEW = timedelta(seconds=120)


@dataclass(frozen=True)
class PlatformJob:
    """One job as the platform lists it."""

    request_id: str
    status: str
    created_at: datetime | None
    tier: str | None = None
    resolution: str | None = None
    ratio: str | None = None
    duration: int | None = None
    seed: int | None = None
    generate_audio: bool | None = None
    usage_tokens: int | None = None
    model: str | None = None


def parse_ark_task(item: Mapping[str, Any]) -> PlatformJob:
    """One item of Ark's task list (or a task GET)."""
    created = item.get("created_at")
    raw_usage = item.get("usage")
    usage: Mapping[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}
    tokens = usage.get("completion_tokens", usage.get("total_tokens"))
    model = item.get("model")
    return PlatformJob(
        request_id=str(item["id"]),
        status=str(item.get("status", "")),
        created_at=datetime.fromtimestamp(int(created), timezone.utc)
        if isinstance(created, int | float)
        else None,
        tier=ARK_MODEL_TIERS.get(str(model)) if model else None,
        resolution=item.get("resolution"),
        ratio=item.get("ratio"),
        duration=item.get("duration") if isinstance(item.get("duration"), int) else None,
        seed=item.get("seed") if isinstance(item.get("seed"), int) else None,
        generate_audio=item.get("generate_audio") if isinstance(item.get("generate_audio"), bool) else None,
        usage_tokens=int(tokens) if isinstance(tokens, int | float) else None,
        model=str(model) if model else None,
    )


class ArkTaskLister:
    """Lists an Ark account's recent Seedance tasks (newest first) with httpx.

    :param base_url: ``https://ark.ap-southeast.bytepluses.com``, the Volcengine host, or an emulator.
    :param api_key: The Ark API key (sent as ``Authorization: Bearer``; never logged).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        page_size: int = 100,
        max_pages: int = 50,
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.page_size = page_size
        self.max_pages = max_pages
        self._client = client

    def __repr__(self) -> str:
        return f"ArkTaskLister({self.base_url!r})"

    def _get(
        self, client: httpx.Client, params: list[tuple[str, str | int | float | bool | None]]
    ) -> dict[str, Any]:
        response = client.get(
            f"{self.base_url}{ARK_TASKS_PATH}",
            params=params,
            headers={"Authorization": f"Bearer {self._api_key}"},
        )
        if response.status_code != 200:
            detail = (
                response.text[:200].replace(self._api_key, "***") if self._api_key else response.text[:200]
            )
            raise LedgerError(f"Ark's task list answered HTTP {response.status_code}: {detail}")
        data = response.json()
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise LedgerError("Ark's task list answered without an items list")
        return data

    def list_jobs(self, since: datetime) -> list[PlatformJob]:
        """Seedance tasks created at or after ``since`` (Ark keeps 7 days)."""
        own = self._client is None
        client = self._client or httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0))
        jobs: list[PlatformJob] = []
        try:
            for page in range(1, self.max_pages + 1):
                data = self._get(client, [("page_num", page), ("page_size", self.page_size)])
                items = data["items"]
                older = False
                for item in items:
                    job = parse_ark_task(item)
                    if job.created_at is not None and job.created_at < since:
                        older = True
                        continue
                    if job.model is None or job.model in ARK_MODEL_TIERS or str(job.model).startswith("ep-"):
                        jobs.append(job)
                if older or len(items) < self.page_size:
                    break
        finally:
            if own:
                client.close()
        return jobs

    def get_jobs(self, request_ids: Iterable[str]) -> list[PlatformJob]:
        """The listed tasks among ``request_ids`` (``filter.task_ids``), in pages of 100 ids."""
        ids = list(dict.fromkeys(request_ids))
        own = self._client is None
        client = self._client or httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0))
        jobs: list[PlatformJob] = []
        try:
            for i in range(0, len(ids), 100):
                chunk = ids[i : i + 100]
                params: list[tuple[str, str | int | float | bool | None]] = [
                    ("page_num", "1"),
                    ("page_size", str(len(chunk))),
                ]
                params += [("filter.task_ids", rid) for rid in chunk]
                jobs.extend(parse_ark_task(item) for item in self._get(client, params)["items"])
        finally:
            if own:
                client.close()
        return jobs


@dataclass
class ReconcileReport:
    """What a reconciliation found and did. ``to_dict`` is small JSON for XCom."""

    platform: str
    account: str
    listed: int = 0
    orphans: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[dict[str, Any]] = field(default_factory=list)
    linked: list[dict[str, Any]] = field(default_factory=list)
    settled: list[dict[str, Any]] = field(default_factory=list)
    expired: list[dict[str, Any]] = field(default_factory=list)
    costed: list[dict[str, Any]] = field(default_factory=list)
    can_list: bool = True
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _entry_ref(entry: Entry) -> dict[str, Any]:
    return {
        "entry_id": entry.id,
        "task": entry.ti_key,
        "state": entry.state,
        "request_id": entry.request_id,
        "estimate_usd": round(entry.estimate_usd, 4),
    }


def _job_ref(job: PlatformJob) -> dict[str, Any]:
    return {
        "request_id": job.request_id,
        "status": job.status,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "tier": job.tier,
        "resolution": job.resolution,
        "duration": job.duration,
        "seed": job.seed,
    }


def matches(entry: Entry, job: PlatformJob, *, window: timedelta = DEFAULT_MATCH_WINDOW) -> bool:
    """Whether ``job`` could be the job ``entry``'s ambiguous submit created."""
    began = entry.sending_at or entry.reserved_at
    if job.created_at is None or not (began - CLOCK_SKEW <= job.created_at <= began + window):
        return False
    if job.tier is not None and job.tier != entry.tier:
        return False
    if job.resolution is not None and job.resolution != entry.resolution:
        return False
    if entry.duration != "auto" and job.duration is not None and job.duration != int(entry.duration):
        return False
    if entry.aspect_ratio and job.ratio is not None:
        wanted = "adaptive" if entry.aspect_ratio == "auto" else entry.aspect_ratio
        if job.ratio != wanted:
            return False
    if entry.seed is not None and entry.seed != -1 and job.seed is not None and job.seed != entry.seed:
        return False
    return not (
        entry.generate_audio is not None
        and job.generate_audio is not None
        and job.generate_audio != entry.generate_audio
    )


def _settle_from_job(
    ledger: Ledger, entry: Entry, job: PlatformJob, pricing: Mapping[str, Any], report: ReconcileReport
) -> None:
    if job.status == "succeeded":
        cost = basis = None
        if job.usage_tokens is not None:
            cost, basis = ark_cost(
                job.usage_tokens, tier=entry.tier, has_video_inputs=entry.has_video_inputs, **pricing
            )
        settled = ledger.settle(
            entry_id=entry.id,
            succeeded=True,
            cost_usd=cost,
            cost_basis=basis,
            usage_tokens=job.usage_tokens,
            request_id=job.request_id,
            note="settled by reconciliation",
        )
        report.settled.append({**_entry_ref(settled), "cost_usd": settled.cost_usd, "status": job.status})
    elif job.status in _FINISHED_UNBILLED:
        settled = ledger.settle(
            entry_id=entry.id,
            succeeded=False,
            cost_usd=0.0,
            cost_basis=f"no charge: Ark bills only successful videos (task {job.status})",
            request_id=job.request_id,
            note="settled by reconciliation",
        )
        report.settled.append({**_entry_ref(settled), "cost_usd": 0.0, "status": job.status})


def reconcile(
    ledger: Ledger,
    lister: ArkTaskLister | None,
    *,
    platform: str,
    account: str,
    lookback: timedelta = timedelta(days=2),
    match_window: timedelta = DEFAULT_MATCH_WINDOW,
    pricing: Mapping[str, Any] | None = None,
) -> ReconcileReport:
    """Reconcile one account's ledger entries with the platform's list (see the module doc)."""
    report = ReconcileReport(platform=platform, account=account)
    pricing = dict(pricing or {})
    report.expired = [_entry_ref(e) for e in ledger.expire()]
    since = ledger.now() - lookback
    entries = ledger.entries(since=since - match_window, platform=platform, account=account)
    unknown = [e for e in entries if e.state == UNKNOWN and e.request_id is None]
    if lister is None:
        report.can_list = False
        report.note = NOT_LISTABLE.get(platform, f"{platform} cannot list its jobs")
        report.unknown = [{**_entry_ref(e), "candidates": []} for e in unknown]
        return report
    jobs = lister.list_jobs(since - match_window)
    report.listed = len(jobs)
    by_request = {e.request_id: e for e in entries if e.request_id}
    # Settle what the list shows finished, and replace estimates by actual usage.
    for job in jobs:
        entry = by_request.get(job.request_id)
        if entry is None:
            continue
        if entry.state in HELD_STATES:
            _settle_from_job(ledger, entry, job, pricing, report)
        elif (
            entry.state == SUCCEEDED
            and job.usage_tokens is not None
            and (
                entry.usage_tokens is None
                or entry.cost_basis is None
                or entry.cost_basis.startswith("estimate")
            )
        ):
            cost, basis = ark_cost(
                job.usage_tokens, tier=entry.tier, has_video_inputs=entry.has_video_inputs, **pricing
            )
            updated = ledger.set_actual_cost(
                entry.id, cost_usd=cost, cost_basis=basis, usage_tokens=job.usage_tokens
            )
            report.costed.append({**_entry_ref(updated), "cost_usd": updated.cost_usd})
    # Link ambiguous submits to unclaimed jobs when the match is unique both ways.
    unclaimed = [j for j in jobs if j.request_id not in by_request]
    candidates = {e.id: [j for j in unclaimed if matches(e, j, window=match_window)] for e in unknown}
    claims: dict[str, int] = {}
    for found in candidates.values():
        for job in found:
            claims[job.request_id] = claims.get(job.request_id, 0) + 1
    linked_ids: set[str] = set()
    for entry in unknown:
        found = candidates[entry.id]
        if len(found) == 1 and claims[found[0].request_id] == 1:
            job = found[0]
            linked = ledger.link(
                entry.id,
                job.request_id,
                note=f"linked by reconciliation: the only {platform} job matching this submit (created "
                f"{job.created_at.isoformat() if job.created_at else '?'})",
            )
            linked_ids.add(job.request_id)
            report.linked.append({**_entry_ref(linked), "job": _job_ref(job)})
            _settle_from_job(ledger, linked, job, pricing, report)
        else:
            report.unknown.append({**_entry_ref(entry), "candidates": [_job_ref(j) for j in found]})
    report.orphans = [_job_ref(j) for j in unclaimed if j.request_id not in linked_ids]
    return report
