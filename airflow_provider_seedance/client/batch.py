"""Batched status polls: many waits on one event loop answered by one list call (issue 13).

Ark (BytePlus ModelArk / Volcengine Ark) lists tasks filtered by id
(``GET /api/v3/contents/generations/tasks?filter.task_ids=a&filter.task_ids=b&page_size=N``),
each item the same task object ``GET .../tasks/{id}`` returns. :class:`StatusBatcher` collects
the status calls the triggers of one connection make within ``window`` seconds (or until
``max_batch`` are waiting) and answers them all from one such call; a task the list does not
hold (deleted, another account's, a page cut short) falls back to its own status call, so the
answer is exactly what the single call would have said. A failed list call fails each waiting
poll with that error (each :class:`~.polling.Poller` tolerates and backs off as for any failed
poll).

The other platforms answer one job per call (fal: ``/requests/{id}/status``; Oxen, AIHubMax:
one task per GET), so :func:`batcher_for` gives a batcher only for the Ark dialects.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from airflow_provider_seedance.client.errors import SeedanceError, SeedanceProtocolError
from airflow_provider_seedance.client.platforms.ark import TASKS_PATH, ArkDialect
from airflow_provider_seedance.client.platforms.http import HttpRequest, HttpResponse, Operation

if TYPE_CHECKING:
    from airflow_provider_seedance.client.models import JobRef, JobStatus
    from airflow_provider_seedance.client.transport import AsyncSeedanceClient

#: Ids per list call (Ark's page size is at most 500; a URL of 100 ids stays under 4 KB).
DEFAULT_MAX_BATCH = 100
#: Seconds a status call waits for others to join its batch (small against any poll interval).
DEFAULT_WINDOW = 0.05


def build_status_many(dialect: ArkDialect, refs: list[JobRef]) -> HttpRequest:
    """One list call asking for these tasks."""
    query = [("filter.task_ids", ref.request_id) for ref in refs]
    query += [("page_num", "1"), ("page_size", str(len(refs)))]
    return HttpRequest("GET", f"{dialect.base_url}{TASKS_PATH}?{urlencode(query)}")


def parse_status_many(
    dialect: ArkDialect, refs: list[JobRef], response: HttpResponse
) -> dict[str, JobStatus]:
    """The statuses of the tasks the list holds, by id, each parsed as its own status answer."""
    if response.status_code != 200:
        raise dialect.error_from_response(Operation.STATUS, response)
    data = response.json_object(dialect.label, "status")
    items = data.get("items")
    if not isinstance(items, list):
        raise SeedanceProtocolError(
            f"{dialect.label} task list has no items: {response.excerpt()!r}",
            status_code=response.status_code,
        )
    wanted = {ref.request_id: ref for ref in refs}
    found: dict[str, JobStatus] = {}
    for item in items:
        task_id = item.get("id") if isinstance(item, dict) else None
        ref = wanted.get(task_id) if isinstance(task_id, str) else None
        if ref is None:
            continue
        one = HttpResponse(200, {"content-type": "application/json"}, json.dumps(item).encode())
        found[ref.request_id] = dialect.parse_status(ref, one)
    return found


async def ark_status_many(client: AsyncSeedanceClient, refs: list[JobRef]) -> dict[str, JobStatus]:
    """The list call through ``client`` (its retries, error mapping and key scrubbing)."""
    dialect = client.dialect
    if not isinstance(dialect, ArkDialect):
        raise TypeError(f"batched status needs an Ark dialect, not {dialect.name}")
    call = build_status_many(dialect, refs)
    return await client._run(  # integration: becomes AsyncSeedanceClient.status_many
        Operation.STATUS, call, lambda response: parse_status_many(dialect, refs, response)
    )


class StatusBatcher:
    """Coalesce the status calls of one connection into list calls.

    :param fetch_many: The list call, e.g. :func:`ark_status_many`.
    :param max_batch: Most ids per list call.
    :param window: Seconds the first call of a batch waits for others.
    """

    def __init__(
        self,
        fetch_many: Callable[
            [AsyncSeedanceClient, list[JobRef]], Awaitable[dict[str, JobStatus]]
        ] = ark_status_many,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        window: float = DEFAULT_WINDOW,
    ) -> None:
        if max_batch < 1 or window < 0:
            raise ValueError("max_batch must be at least 1 and window not negative")
        self.fetch_many, self.max_batch, self.window = fetch_many, max_batch, window
        self._waiting: list[tuple[JobRef, AsyncSeedanceClient, asyncio.Future[JobStatus]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self.list_calls = 0
        self.fallbacks = 0

    async def status(self, ref: JobRef, client: AsyncSeedanceClient) -> JobStatus:
        """The job's status, from the next list call (or its own call if the list lacks it)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[JobStatus] = loop.create_future()
        self._waiting.append((ref, client, future))
        if len(self._waiting) >= self.max_batch:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.window, self._flush)
        return await future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
        if self._waiting:
            self._timer = asyncio.get_running_loop().call_later(self.window, self._flush)
        if batch:
            task = asyncio.get_running_loop().create_task(self._answer(batch))
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)

    async def _answer(
        self, batch: list[tuple[JobRef, AsyncSeedanceClient, asyncio.Future[JobStatus]]]
    ) -> None:
        live = [
            (ref, client, fut) for ref, client, fut in batch if not fut.done()
        ]  # cancelled waits drop out
        if not live:
            return
        self.list_calls += 1
        try:
            found = await self.fetch_many(live[0][1], [ref for ref, _, _ in live])
        except SeedanceError as exc:
            for _, _, fut in live:
                if not fut.done():
                    fut.set_exception(exc)
            return
        except BaseException as exc:  # a bug, or cancellation: every waiter hears of it
            for _, _, fut in live:
                if not fut.done():
                    fut.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
            raise
        for ref, client, fut in live:
            if fut.done():
                continue
            if ref.request_id in found:
                fut.set_result(found[ref.request_id])
                continue
            self.fallbacks += 1
            try:
                fut.set_result(await client.status(ref))
            except SeedanceError as exc:
                fut.set_exception(exc)


_BATCHERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str, str], StatusBatcher]] = (
    weakref.WeakKeyDictionary()
)


def batcher_for(client: AsyncSeedanceClient) -> StatusBatcher | None:
    """The running loop's batcher for this client's platform and host (None: not batchable)."""
    if not isinstance(client.dialect, ArkDialect):
        return None
    from airflow_provider_seedance.client.pool import key_digest

    batchers = _BATCHERS.setdefault(asyncio.get_running_loop(), {})
    # one batcher per account: never ask one key's list for another key's tasks
    credentials = key_digest(repr(sorted(client._headers().items())))
    key = (client.platform, client.base_url, credentials)
    if key not in batchers:
        batchers[key] = StatusBatcher()
    return batchers[key]
