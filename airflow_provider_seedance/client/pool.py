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
* sharded: the connections are split over ``max_connections / shard_size`` httpx clients handed
  out in turn, each behind a semaphore of its size. httpcore's pool scans all its connections and
  all its waiting requests on every request and every response (with a syscall per idle
  connection), so one pool of 64 connections with thousands of polls waiting spent most of the
  triggerer's CPU there (profile in docs/benchmarks.md); small shards with a bounded queue keep
  that scan short;
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
import select
import ssl
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import httpcore
import httpx

if TYPE_CHECKING:
    from airflow_provider_seedance.client.transport import AsyncSeedanceClient

log = logging.getLogger("airflow_provider_seedance.client")
T = TypeVar("T")

#: Idle seconds a pooled connection is kept: well past any poll interval (default 15 s) and past
#: the adaptive poller's longest sleep (60 s), so a poll reuses the connection of the last one.
DEFAULT_KEEPALIVE_EXPIRY = 90.0
#: Connections per pooled identity, over all shards. At 100 ms per status call 64 connections carry
#: 640 polls per second (10,000 jobs at an average of one poll per 16 s).
DEFAULT_MAX_CONNECTIONS = 64
#: Connections per shard (one httpx client and its httpcore pool).
DEFAULT_SHARD_SIZE = 2
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


class BoundedTransport(httpx.AsyncBaseTransport):
    """At most ``limit`` requests inside ``inner`` at once; the others wait on a semaphore (O(1)).

    Each response body is read (raw) before the slot is freed: meant for the small JSON answers
    of the platforms' APIs, never for streaming a video.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, limit: int) -> None:
        self._inner = inner
        self._slots = asyncio.Semaphore(limit)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        async with self._slots:
            response = await self._inner.handle_async_request(request)
            try:
                content = b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, extensions=response.extensions
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


class _CachedSocketStream(httpcore.AsyncNetworkStream):
    """A network stream that looks its raw socket up once.

    httpcore's pool asks every idle connection ``get_extra_info("is_readable")`` on each request
    and each response; over anyio's TLS stream each ask builds two dicts of attribute lambdas
    before the one ``poll()`` that answers it (7 % of a keep-alive poll's CPU in the profile).
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: Any = None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        return _CachedSocketStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info != "is_readable":
            return self._inner.get_extra_info(info)
        if self._socket is None:
            self._socket = self._inner.get_extra_info("socket")
        if self._socket is None or self._socket.fileno() < 0:
            return True  # gone: as httpcore does, "readable" (the next read returns b"")
        poller = select.poll()
        poller.register(self._socket, select.POLLIN)
        return bool(poller.poll(0))


class _CachedSocketBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, its streams wrapped in :class:`_CachedSocketStream`."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _CachedSocketStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        return _CachedSocketStream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _cache_sockets(transport: httpx.AsyncHTTPTransport) -> None:
    """Wrap the transport's network backend (private httpx/httpcore attributes: skipped if absent)."""
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, httpcore.AsyncNetworkBackend) and hasattr(select, "poll"):
        pool._network_backend = _CachedSocketBackend(backend)  # type: ignore[union-attr]


@dataclass
class _Entry:
    clients: list[httpx.AsyncClient]
    users: int = 0
    turn: int = 0
    close_timer: asyncio.TimerHandle | None = field(default=None, repr=False)

    @property
    def is_closed(self) -> bool:
        return any(client.is_closed for client in self.clients)

    def next_client(self) -> httpx.AsyncClient:
        self.turn = (self.turn + 1) % len(self.clients)
        return self.clients[self.turn]

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


class ClientPool:
    """Shared, refcounted ``httpx.AsyncClient`` objects for one event loop.

    :param keepalive_expiry: Idle seconds a connection is kept (make it longer than the poll).
    :param max_connections: Bound on the connections of one identity (over its shards).
    :param shard_size: Connections per shard (one httpx client each).
    :param grace: Seconds a client with no users stays open before it is closed.
    :param http2: Offer HTTP/2 (needs the ``h2`` package). Off by default: see docs/benchmarks.md.
    :param client_kwargs: Extra keyword arguments for every ``httpx.AsyncClient`` (tests).
    """

    def __init__(
        self,
        *,
        keepalive_expiry: float = DEFAULT_KEEPALIVE_EXPIRY,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        shard_size: int = DEFAULT_SHARD_SIZE,
        grace: float = DEFAULT_GRACE,
        http2: bool = False,
        client_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if max_connections < 1 or shard_size < 1:
            raise ValueError("max_connections and shard_size must be at least 1")
        if keepalive_expiry < 0 or grace < 0:
            raise ValueError("keepalive_expiry and grace must not be negative")
        self.keepalive_expiry = keepalive_expiry
        self.max_connections = max_connections
        self.shard_size = min(shard_size, max_connections)
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

    def _new_entry(self, key: PoolKey) -> _Entry:
        from airflow_provider_seedance.client.transport import http_client_kwargs

        kwargs: dict[str, Any] = {**http_client_kwargs(key.timeout), **self._client_kwargs}
        verify = kwargs.pop("verify")
        clients = []
        for _ in range(max(1, self.max_connections // self.shard_size)):
            limits = httpx.Limits(
                max_connections=self.shard_size,
                max_keepalive_connections=self.shard_size,
                keepalive_expiry=self.keepalive_expiry,
            )
            inner = httpx.AsyncHTTPTransport(verify=verify, limits=limits, http2=key.http2)
            _cache_sockets(inner)
            clients.append(httpx.AsyncClient(transport=BoundedTransport(inner, self.shard_size), **kwargs))
        self.created += 1
        return _Entry(clients)

    def acquire(
        self, *, platform: str, base_url: str, api_key: str, timeout: float, http2: bool | None = None
    ) -> tuple[PoolKey, httpx.AsyncClient]:
        """Take a user reference on this identity's client (made if needed); pair with :meth:`release`."""
        key = PoolKey.of(
            platform=platform,
            base_url=base_url,
            api_key=api_key,
            timeout=timeout,
            http2=self.http2 if http2 is None else http2,
        )
        entry = self._entries.get(key)
        if entry is None or entry.is_closed:
            entry = self._entries[key] = self._new_entry(key)
            log.debug("new pooled HTTP client for %s %s (key %s)", key.platform, key.base_url, key.key_digest)
        if entry.close_timer is not None:
            entry.close_timer.cancel()
            entry.close_timer = None
        entry.users += 1
        return key, entry.next_client()

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
        task = asyncio.get_running_loop().create_task(entry.aclose())
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
            await entry.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ClientPool] = weakref.WeakKeyDictionary()


def _of_running_loop(
    registry: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T], make: Callable[[], T]
) -> T:
    """The running event loop's entry of ``registry``, made on first use (gone with the loop)."""
    loop = asyncio.get_running_loop()
    found = registry.get(loop)
    if found is None:
        found = registry[loop] = make()
    return found


def pool_for_running_loop() -> ClientPool:
    """The :class:`ClientPool` of the running event loop (made on first use)."""
    return _of_running_loop(_POOLS, ClientPool)


@contextlib.asynccontextmanager
async def pooled_async_client(
    *,
    api_key: str,
    platform: str = "fal",
    base_url: str | None = None,
    timeout: float | None = None,
    pool: ClientPool | None = None,
    **kwargs: Any,
) -> AsyncIterator[AsyncSeedanceClient]:
    """An :class:`AsyncSeedanceClient` over the running loop's shared HTTP client, for the block.

    Takes the keyword arguments of ``AsyncSeedanceClient`` (the hook's ``_client_kwargs``); the
    HTTP client is leased from ``pool`` (default :func:`pool_for_running_loop`) and released
    when the block ends, never closed by the Seedance client.
    """
    from airflow_provider_seedance.client.transport import DEFAULT_TIMEOUT, AsyncSeedanceClient

    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    if pool is None:
        pool = pool_for_running_loop()
    async with pool.lease(
        platform=platform, base_url=base_url or "(default)", api_key=api_key, timeout=timeout
    ) as http:
        yield AsyncSeedanceClient(
            api_key=api_key, platform=platform, base_url=base_url, timeout=timeout, http_client=http, **kwargs
        )


#: Seconds a connection read is reused by the triggers of the same loop. A rotated key or an
#: edited connection is picked up by the trigger runs that start after that (and at once by a
#: run whose poll was refused with 401/403: see :func:`forget_config`).
DEFAULT_CONFIG_TTL = 30.0


class ConfigCache:
    """Single-flight, short-lived cache of connection reads, per event loop.

    A triggerer that picks up 10,000 triggers of one connection would otherwise read it 10,000
    times, each through Airflow's ``sync_to_async`` connection lookup (one thread, serialized):
    tens of seconds before the last trigger's first poll. Concurrent readers of one key await
    the same read; a failed read is not kept; :meth:`forget` drops a read known to be stale.
    """

    def __init__(self, ttl: float = DEFAULT_CONFIG_TTL) -> None:
        self.ttl = ttl
        self._reads: dict[Hashable, tuple[float, asyncio.Future[Any]]] = {}
        self.loads = 0

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        loop = asyncio.get_running_loop()
        now = loop.time()
        entry = self._reads.get(key)
        if entry is not None:
            started, read = entry
            stale = now - started > self.ttl
            failed = read.done() and (read.cancelled() or read.exception() is not None)
            if stale or failed:
                entry = None
        if entry is None:
            self.loads += 1

            async def call() -> T:
                return await load()

            read = loop.create_task(call())
            self._reads[key] = (now, read)
        result: T = await asyncio.shield(read)
        return result

    def forget(self, key: Hashable, stale: object) -> bool:
        """Drop the read of ``key`` if it is still the one that gave ``stale``; True if dropped.

        Many runs refused with the same stale value cause one new read, not one each.
        """
        entry = self._reads.get(key)
        if entry is None:
            return False
        read = entry[1]
        if read.done() and not read.cancelled() and read.exception() is None and read.result() is stale:
            del self._reads[key]
            return True
        return False


_CONFIGS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ConfigCache] = weakref.WeakKeyDictionary()


def config_cache_for_running_loop() -> ConfigCache:
    """The :class:`ConfigCache` of the running event loop (made on first use)."""
    return _of_running_loop(_CONFIGS, ConfigCache)


async def cached_config(key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
    """``await load()`` for ``key``, shared by the running loop's readers for ``DEFAULT_CONFIG_TTL`` s."""
    return await config_cache_for_running_loop().get(key, load)


def forget_config(key: Hashable, stale: object) -> bool:
    """Make the next :func:`cached_config` of ``key`` read again, if its read gave ``stale``."""
    return config_cache_for_running_loop().forget(key, stale)
