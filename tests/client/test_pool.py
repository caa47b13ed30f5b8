"""ClientPool: one shared, refcounted AsyncClient per connection identity per event loop."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from airflow_provider_seedance.client.models import JobState
from airflow_provider_seedance.client.pool import (
    ClientPool,
    PoolKey,
    key_digest,
    pool_for_running_loop,
    pooled_async_client,
)
from airflow_provider_seedance.emulator.testing import EmulatorHandle

SECRET = "sk-very-secret-key-0123456789"


def _lease(
    pool: ClientPool, key: str = SECRET, base_url: str = "http://127.0.0.1:1"
) -> tuple[PoolKey, httpx.AsyncClient]:
    return pool.acquire(platform="fal", base_url=base_url, api_key=key, timeout=30)


def test_the_key_never_appears_in_the_pool_key_or_reprs() -> None:
    key = PoolKey.of(platform="fal", base_url="http://h/", api_key=SECRET, timeout=30)
    assert SECRET not in repr(key)
    assert SECRET not in key.key_digest
    assert key.key_digest == key_digest(SECRET) != key_digest(SECRET + "x")
    assert key.base_url == "http://h"


async def test_same_identity_shares_one_client_and_the_last_release_closes_it() -> None:
    pool = ClientPool(grace=0, max_connections=8, shard_size=8)  # one shard
    k1, c1 = _lease(pool)
    k2, c2 = _lease(pool)
    assert c1 is c2
    assert k1 == k2
    assert pool.users == 2
    assert pool.created == 1
    pool.release(k1)
    assert not c1.is_closed
    pool.release(k2)
    await asyncio.sleep(0)  # the close task runs
    await asyncio.sleep(0)
    assert c1.is_closed
    assert len(pool) == 0
    with pytest.raises(RuntimeError, match="does not lend"):
        pool.release(k1)


async def test_a_client_released_within_the_grace_period_is_reused() -> None:
    pool = ClientPool(grace=0.2, max_connections=8, shard_size=8)
    key, first = _lease(pool)
    pool.release(key)
    key, again = _lease(pool)  # a new trigger of the same connection starts meanwhile
    assert again is first
    pool.release(key)
    await asyncio.sleep(0.3)
    assert first.is_closed
    assert len(pool) == 0


async def test_a_rotated_key_gets_a_new_client_and_the_old_closes_with_its_last_user() -> None:
    pool = ClientPool(grace=0)
    old_key, old = _lease(pool, SECRET)
    new_key, new = _lease(pool, SECRET + "-rotated")
    assert new is not old
    assert pool.created == 2
    pool.release(new_key)
    await asyncio.sleep(0.01)
    assert new.is_closed
    assert not old.is_closed
    pool.release(old_key)
    await asyncio.sleep(0.01)
    assert old.is_closed
    _, changed_url = _lease(pool, SECRET, base_url="http://127.0.0.1:2")
    assert changed_url is not old


async def test_limits_keepalive_and_bounded_shards() -> None:
    pool = ClientPool(keepalive_expiry=90, max_connections=12, shard_size=4)
    leases = [_lease(pool) for _ in range(6)]
    shards = {id(client): client for _, client in leases}
    assert len(shards) == 3
    assert pool.created == 1
    for client in shards.values():
        transport_pool = client._transport._inner._pool  # type: ignore[attr-defined]
        assert transport_pool._keepalive_expiry == 90
        assert transport_pool._max_connections == 4
    for key, _ in leases:
        pool.release(key)
    await pool.aclose()
    assert all(client.is_closed for client in shards.values())


async def test_one_pool_per_event_loop() -> None:
    assert pool_for_running_loop() is pool_for_running_loop()
    other: list[ClientPool] = []

    def in_another_loop() -> None:
        async def get() -> None:
            other.append(pool_for_running_loop())

        asyncio.run(get())

    await asyncio.to_thread(in_another_loop)
    assert other[0] is not pool_for_running_loop()


async def test_many_concurrent_polls_share_a_bounded_number_of_connections(
    seedance_emulator: EmulatorHandle,
) -> None:
    from airflow_provider_seedance.client.models import ReferenceToVideoRequest
    from airflow_provider_seedance.client.transport import SeedanceClient

    with SeedanceClient(
        api_key=seedance_emulator.api_key, platform="fal", base_url=seedance_emulator.base_url
    ) as sync:
        refs = [sync.submit(ReferenceToVideoRequest(prompt=f"clip {i}", duration=5)) for i in range(40)]
    pool = ClientPool(max_connections=4, shard_size=2)
    kwargs = {"api_key": seedance_emulator.api_key, "platform": "fal", "base_url": seedance_emulator.base_url}

    async def poll(ref: object) -> JobState:
        async with pooled_async_client(pool=pool, **kwargs) as client:
            return (await client.status(ref)).state  # type: ignore[arg-type]

    for _ in range(3):  # three rounds: the connections of one round serve the next
        states = await asyncio.gather(*(poll(ref) for ref in refs))
        assert set(states) <= {JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED}
    assert pool.created == 1
    ((_, entry),) = pool._entries.items()
    connections = [c for client in entry.clients for c in client._transport._inner._pool.connections]  # type: ignore[attr-defined]
    assert 1 <= len(connections) <= 4
    await pool.aclose()


async def test_connection_reads_are_shared_while_fresh_and_failures_are_not_kept() -> None:
    from airflow_provider_seedance.client.pool import ConfigCache

    cache = ConfigCache(ttl=0.2)
    reads: list[int] = []

    async def load() -> str:
        reads.append(1)
        await asyncio.sleep(0.01)
        return f"config {len(reads)}"

    results = await asyncio.gather(*(cache.get("seedance_default", load) for _ in range(50)))
    assert set(results) == {"config 1"}
    assert len(reads) == 1  # single flight
    await asyncio.sleep(0.25)
    assert await cache.get("seedance_default", load) == "config 2"  # stale: read again (a rotated key)

    async def broken() -> str:
        raise RuntimeError("no such connection")

    with pytest.raises(RuntimeError):
        await cache.get("other", broken)
    assert await cache.get("other", load) == "config 3"


async def test_pooled_connections_look_their_socket_up_once_and_see_a_server_close(
    seedance_emulator: EmulatorHandle,
) -> None:
    from airflow_provider_seedance.client.errors import SeedanceError
    from airflow_provider_seedance.client.models import JobRef
    from airflow_provider_seedance.client.pool import _CachedSocketStream

    pool = ClientPool(max_connections=1, shard_size=1)
    kwargs = {"api_key": seedance_emulator.api_key, "platform": "fal", "base_url": seedance_emulator.base_url}
    async with pooled_async_client(pool=pool, **kwargs) as client:
        ref = JobRef(platform="fal", request_id="no-such-job")
        for _ in range(3):  # one keep-alive connection serves every call
            with pytest.raises(SeedanceError):
                await client.status(ref)
        ((_, entry),) = pool._entries.items()
        (connection,) = entry.clients[0]._transport._inner._pool.connections  # type: ignore[attr-defined]
        stream = connection._connection._network_stream
        assert isinstance(stream, _CachedSocketStream)
        assert stream.get_extra_info("is_readable") is False  # idle, open: nothing to read
        assert stream._socket is not None  # looked up once, kept
        stream._socket.shutdown(2)  # as if the server closed it
        await asyncio.sleep(0.05)
        assert stream.get_extra_info("is_readable") is True  # httpcore drops such a connection
    await pool.aclose()


def test_a_status_url_is_parsed_once_with_its_params() -> None:
    from airflow_provider_seedance.client.platforms.http import HttpRequest
    from airflow_provider_seedance.client.transport import _url_of

    call = HttpRequest("GET", "https://queue.fal.run/x/requests/r-1/status", params={"logs": "1"})
    first = _url_of(call)
    assert str(first) == "https://queue.fal.run/x/requests/r-1/status?logs=1"
    assert _url_of(HttpRequest("GET", call.url, params={"logs": "1"})) is first  # cached
    assert str(_url_of(HttpRequest("GET", call.url))) == call.url
