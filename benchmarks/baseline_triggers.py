"""Baseline triggers: what other providers' triggers do (reference/airflow-provider-anatomy.md §1.3-1.5).

They wait for the same Seedance job with the same sans-I/O dialect and :class:`Poller` as
:class:`~airflow_provider_seedance.triggers.seedance.SeedanceJobTrigger`, so the only thing that
differs from ours is how the HTTP call is made:

* :class:`PerTriggerClientTrigger` (``today``): the provider's trigger of version 0.1: the
  connection read once per trigger, its own ``AsyncSeedanceClient`` (httpx's default 5 s
  keep-alive, shorter than the poll, so about one handshake per poll), a fixed interval.
* :class:`ClientPerPollTrigger`: a new ``httpx.AsyncClient`` for every poll, verifying with the
  system CA bundle (``ssl.create_default_context()``, loaded per client) (the HTTP provider's
  ``HttpSensorTrigger`` opens a new ``aiohttp.ClientSession`` per iteration; dbt Cloud likewise).
* :class:`BlockingTrigger`: a blocking sync client called straight from ``run()`` on the event
  loop (the OpenAI provider's trigger calls its blocking SDK inside ``run()``).
* :class:`ToThreadTrigger`: the same blocking client, moved off the loop with
  ``asyncio.to_thread`` (the Anthropic and common.ai triggers).

They are benchmark fixtures, not production code: no cancel on kill, no deadline cancel.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx
from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_seedance.client.events import EventStatus, JobEvent
from airflow_provider_seedance.client.models import JobRef, JobStatus
from airflow_provider_seedance.client.platforms import get_dialect
from airflow_provider_seedance.client.platforms.base import HttpResponse
from airflow_provider_seedance.client.polling import Poller, wait_async
from airflow_provider_seedance.client.transport import (
    USER_AGENT,
    AsyncSeedanceClient,
    SeedanceClient,
    build_timeout,
)
from airflow_provider_seedance.hooks.seedance import SeedanceConnectionConfig, SeedanceHook


def system_ca_context() -> ssl.SSLContext:
    """A new TLS context loading the system CA bundle (plus ``SSL_CERT_FILE``, the benchmark's CA)."""
    context = ssl.create_default_context(cafile=ssl.get_default_verify_paths().openssl_cafile)
    if extra := os.environ.get("SSL_CERT_FILE"):
        context.load_verify_locations(cafile=extra)
    return context


class _BaselineTrigger(BaseTrigger):
    """Common constructor and poll loop; subclasses implement :meth:`_status`."""

    def __init__(self, *, job: dict[str, str], end_time: float, poll_interval: float = 15.0) -> None:
        super().__init__()
        self.job = dict(job)
        self.end_time = end_time
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"job": self.job, "end_time": self.end_time, "poll_interval": self.poll_interval},
        )

    async def _setup(self) -> None:
        """Prepare before the first poll (read the connection)."""

    async def _teardown(self) -> None:
        """Release what :meth:`_setup` acquired."""

    async def _status(self, ref: JobRef) -> JobStatus:
        raise NotImplementedError

    async def run(self) -> AsyncIterator[TriggerEvent]:
        ref = JobRef.from_dict(self.job)
        poller = Poller(ref=ref, end_time=self.end_time, poll_interval=self.poll_interval, log=self.log)
        try:
            await self._setup()
            event = await wait_async(poller, self._status)
        except Exception as exc:
            event = JobEvent(status=EventStatus.ERROR, job=ref, message=f"{type(exc).__name__}: {exc}")
        finally:
            await self._teardown()
        yield TriggerEvent(event.to_payload())


class PerTriggerClientTrigger(_BaselineTrigger):
    """Version 0.1's ``SeedanceJobTrigger._wait``: one ``AsyncSeedanceClient`` per trigger run."""

    client: AsyncSeedanceClient | None = None

    async def _setup(self) -> None:
        hook = SeedanceHook()
        self.client = AsyncSeedanceClient(**hook._client_kwargs(await hook.aget_config()))

    async def _status(self, ref: JobRef) -> JobStatus:
        assert self.client is not None
        return await self.client.status(ref)

    async def _teardown(self) -> None:
        if self.client is not None:
            await self.client.aclose()


class ClientPerPollTrigger(_BaselineTrigger):
    """Reads the connection asynchronously once, then opens a new ``httpx.AsyncClient`` per poll."""

    config: SeedanceConnectionConfig

    async def _setup(self) -> None:
        self.config = await SeedanceHook().aget_config()
        self.dialect = get_dialect(self.config.platform, self.config.base_url)
        self.headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            **self.dialect.auth_headers(self.config.api_key),
        }

    async def _status(self, ref: JobRef) -> JobStatus:
        call = self.dialect.build_status(ref)
        async with httpx.AsyncClient(
            timeout=build_timeout(self.config.timeout),
            follow_redirects=True,
            verify=ssl.create_default_context(),
        ) as http:
            raw = await http.request(call.method, call.url, params=call.params, headers=self.headers)
        response = HttpResponse(
            status_code=raw.status_code,
            headers={k.lower(): v for k, v in raw.headers.items()},
            content=raw.content,
        )
        return self.dialect.parse_status(ref, response)


class BlockingTrigger(_BaselineTrigger):
    """Builds a sync hook in ``run()`` and calls its blocking client on the event loop."""

    client: SeedanceClient | None = None

    async def _status(self, ref: JobRef) -> JobStatus:
        if self.client is None:
            self.client = SeedanceHook().client  # sync connection read + sync httpx.Client, on the loop
        return self.client.status(ref)

    async def _teardown(self) -> None:
        if self.client is not None:
            self.client.close()


class ToThreadTrigger(_BaselineTrigger):
    """The blocking client, each call (including the first, which builds it) in ``asyncio.to_thread``."""

    hook: SeedanceHook | None = None

    def _blocking_status(self, ref: JobRef) -> JobStatus:
        if self.hook is None:
            self.hook = SeedanceHook()
        return self.hook.client.status(ref)

    async def _status(self, ref: JobRef) -> JobStatus:
        return await asyncio.to_thread(self._blocking_status, ref)

    async def _teardown(self) -> None:
        if self.hook is not None:
            self.hook.close()


BASELINES: dict[str, type[_BaselineTrigger]] = {
    "today": PerTriggerClientTrigger,
    "client-per-poll": ClientPerPollTrigger,
    "blocking": BlockingTrigger,
    "to-thread": ToThreadTrigger,
}
