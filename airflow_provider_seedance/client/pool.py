"""One pooled ``httpx.AsyncClient`` per connection identity per event loop, shared by all triggers.

A triggerer runs thousands of :class:`~airflow_provider_seedance.triggers.seedance.SeedanceJobTrigger`
runs on one event loop. Each holding its own client means one socket per job and, because httpx's
default keep-alive (5 s) is shorter than any sensible poll interval, a new TCP (and TLS) handshake
for every poll. :class:`ClientPool` hands every trigger of the same connection the same client:

* keyed by :class:`PoolKey` (platform, base URL, timeout and a salted digest of the API key: the
  key itself is never stored in the key, a repr or a log line), so a rotated key or an edited
  connection gets a new client while the old one lives on only until its last user leaves;
* ``keepalive_expiry`` longer than the poll interval and a bounded ``max_connections``, so the
  sockets open are about the pool size, not the number of jobs;
* refcounted: :meth:`ClientPool.lease` acquires, leaving the block releases; the last release
  schedules a close after ``grace`` seconds (a trigger that ends while another starts keeps the
  warm connections), and :meth:`ClientPool.aclose` closes everything now.

:func:`pool_for_running_loop` gives the pool of the running event loop (a triggerer has one; tests
and benchmarks may run several loops in turn, each gets its own pool and nothing leaks between
them). The clients are plain ``httpx.AsyncClient`` objects that
:class:`~airflow_provider_seedance.client.transport.AsyncSeedanceClient` wraps without owning
(``http_client=``): they carry no credentials, the caller's dialect adds the auth header per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger("airflow_provider_seedance.client")

#: Idle seconds a pooled connection is kept: well past any poll interval (default 15 s) and past
#: the adaptive poller's longest sleep (60 s), so a poll reuses the connection of the last one.
DEFAULT_KEEPALIVE_EXPIRY = 90.0
#: Connections per pooled client. One status call takes about a millisecond of server time, so 64
#: connections answer far more polls per second than one triggerer core can make.
DEFAULT_MAX_CONNECTIONS = 64
#: Seconds a client with no users stays open, for the next trigger of the same connection.
DEFAULT_GRACE = 10.0

#: Per-process salt of the key digests: a digest in a log or a debugger cannot be matched against
#: a list of candidate keys from another process.
_SALT = os.urandom(16)


def key_digest(api_key: str) -> str:
    """A short salted digest of an API key: tells keys apart, reveals nothing about them."""
    return hmac.new(_SALT, api_key.encode(), hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class PoolKey:
    """The identity of one pooled client. Holds a digest of the key, never the key."""

    platform: str
    base_url: str
    key_digest: str
    timeout: float
    http2: bool = False

    @classmethod
    def of(
        cls, *, platform: str, base_url: str, api_key: str, timeout: float, http2: bool = False
    ) -> PoolKey:
        return cls(platform, base_url.rstrip("/"), key_digest(api_key), float(timeout), http2)


@dataclass
class _Entry:
    client: httpx.AsyncClient
    users: int = 0
    close_timer: asyncio.TimerHandle | None = field(default=None, repr=False)


class ClientPool:
    """Shared, refcounted ``httpx.AsyncClient`` objects for one event loop.

    :param keepalive_expiry: Idle seconds a connection is kept (make it longer than the poll).
    :param max_connections: Bound on each client's connections (and keep-alive connections).
    :param grace: Seconds a client with no users stays open before it is closed.
    :param http2: Offer HTTP/2 (needs the ``h2`` package). Off by default: see docs/benchmarks.md.
    :param client_kwargs: Extra keyword arguments for every ``httpx.AsyncClient`` (tests).
    """

    def __init__(
        self,
        *,
        keepalive_expiry: float = DEFAULT_KEEPALIVE_EXPIRY,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        grace: float = DEFAULT_GRACE,
        http2: bool = False,
        client_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if keepalive_expiry < 0 or grace < 0:
            raise ValueError("keepalive_expiry and grace must not be negative")
        self.keepalive_expiry = keepalive_expiry
        self.max_connections = max_connections
        self.grace = grace
        self.http2 = http2
        self._client_kwargs = dict(client_kwargs or {})
        self._entries: dict[PoolKey, _Entry] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self.created = 0  # clients made over the pool's life (tests, benchmarks)

    def __repr__(self) -> str:
        return f"ClientPool(clients={len(self._entries)}, users={self.users})"

    @property
    def users(self) -> int:
        return sum(entry.users for entry in self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def _new_client(self, key: PoolKey) -> httpx.AsyncClient:
        from airflow_provider_seedance.client.transport import http_client_kwargs

        limits = httpx.Limits(
            max_connections=self.max_connections,
            max_keepalive_connections=self.max_connections,
            keepalive_expiry=self.keepalive_expiry,
        )
        kwargs: dict[str, Any] = {**http_client_kwargs(key.timeout), "limits": limits, **self._client_kwargs}
        if key.http2:
            kwargs["http2"] = True
        self.created += 1
        return httpx.AsyncClient(**kwargs)

    def acquire(
        self, *, platform: str, base_url: str, api_key: str, timeout: float, http2: bool | None = None
    ) -> tuple[PoolKey, httpx.AsyncClient]:
        """Take a user reference on the client for this identity (made if needed); pair with :meth:`release`."""
        key = PoolKey.of(
            platform=platform,
            base_url=base_url,
            api_key=api_key,
            timeout=timeout,
            http2=self.http2 if http2 is None else http2,
        )
        entry = self._entries.get(key)
        if entry is None or entry.client.is_closed:
            entry = self._entries[key] = _Entry(self._new_client(key))
            log.debug("new pooled HTTP client for %s %s (key %s)", key.platform, key.base_url, key.key_digest)
        if entry.close_timer is not None:
            entry.close_timer.cancel()
            entry.close_timer = None
        entry.users += 1
        return key, entry.client

    def release(self, key: PoolKey) -> None:
        """Drop one user reference; the last one closes the client after the grace period."""
        entry = self._entries.get(key)
        if entry is None or entry.users <= 0:
            raise RuntimeError(f"release of a client the pool does not lend: {key!r}")
        entry.users -= 1
        if entry.users:
            return
        if self.grace <= 0:
            self._close_now(key, entry)
        else:
            loop = asyncio.get_running_loop()
            entry.close_timer = loop.call_later(self.grace, self._close_now, key, entry)

    def _close_now(self, key: PoolKey, entry: _Entry) -> None:
        if entry.users or self._entries.get(key) is not entry:
            return
        del self._entries[key]
        task = asyncio.get_running_loop().create_task(entry.client.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @contextlib.asynccontextmanager
    async def lease(
        self, *, platform: str, base_url: str, api_key: str, timeout: float, http2: bool | None = None
    ) -> AsyncIterator[httpx.AsyncClient]:
        """The shared client for this identity, for the duration of the block."""
        key, client = self.acquire(
            platform=platform, base_url=base_url, api_key=api_key, timeout=timeout, http2=http2
        )
        try:
            yield client
        finally:
            self.release(key)

    async def aclose(self) -> None:
        """Close every client now (users or not) and wait for the closes already scheduled."""
        entries, self._entries = list(self._entries.values()), {}
        for entry in entries:
            if entry.close_timer is not None:
                entry.close_timer.cancel()
            await entry.client.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ClientPool] = weakref.WeakKeyDictionary()


def pool_for_running_loop() -> ClientPool:
    """The :class:`ClientPool` of the running event loop (made on first use)."""
    loop = asyncio.get_running_loop()
    pool = _POOLS.get(loop)
    if pool is None:
        pool = _POOLS[loop] = ClientPool()
    return pool
