"""The triggers' connection read: shared while fresh, re-read after its TTL or a 401/403, never stale forever.

A triggerer starting thousands of triggers of one connection reads it once
(``SeedanceHook.aget_shared_config`` over ``client.pool.cached_config``). A rotated key reaches
the runs that start after the TTL, and a run whose poll is refused with 401/403 reads the
connection again and polls over the new key's pooled client; the old client is closed when its
last user leaves.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx
from pytest_mock import MockerFixture

from airflow_provider_seedance.client.pool import config_cache_for_running_loop, pool_for_running_loop
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.triggers.seedance import SeedanceJobTrigger

BASE = "http://127.0.0.1:8788"
OLD_KEY = "sk-old-0123456789abcdef"
NEW_KEY = "sk-new-0123456789abcdef"


@pytest.fixture
def fal() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def _status_url(request_id: str) -> str:
    return f"{BASE}/bytedance/seedance-2.0/requests/{request_id}/status"


def _keys_seen(router: respx.MockRouter) -> list[str]:
    return [call.request.headers["Authorization"].removeprefix("Key ") for call in router.calls]


def _trigger(request_id: str = "req-1", **kwargs: Any) -> SeedanceJobTrigger:
    return SeedanceJobTrigger(
        job={"platform": "fal", "request_id": request_id},
        end_time=time.time() + 30,
        poll_interval=0.02,
        **kwargs,
    )


async def _first_event(trigger: SeedanceJobTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("no event")


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the hooks' connection reads (``aget_connection``, a classmethod)."""
    reads: list[str] = []
    real = SeedanceHook.aget_connection

    async def counting(conn_id: str) -> Any:
        reads.append(conn_id)
        return await real(conn_id)

    monkeypatch.setattr(SeedanceHook, "aget_connection", staticmethod(counting))
    return reads


async def _run_many(n: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """Run ``n`` triggers together to success; return how many connection reads they made."""
    reads = _count_reads(monkeypatch)
    events = await asyncio.gather(*(_first_event(_trigger(f"req-{i}")) for i in range(n)))
    assert [e["status"] for e in events] == ["success"] * n
    return len(reads)


def _answer_by_key(valid_key: str) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] != f"Key {valid_key}":
            return httpx.Response(401, json={"detail": "Invalid key"})
        return httpx.Response(200, json={"status": "COMPLETED", "logs": []})

    return answer


async def test_many_triggers_starting_together_read_the_connection_once(
    fal: respx.MockRouter, seedance_connection: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seedance_connection(BASE, api_key=OLD_KEY)
    fal.route(method="GET", url__startswith=BASE).mock(side_effect=_answer_by_key(OLD_KEY))
    assert await _run_many(50, monkeypatch) == 1  # connection reads
    assert fal.calls.call_count == 50


async def test_a_rotated_key_reaches_the_runs_that_start_after_the_ttl(
    fal: respx.MockRouter, seedance_connection: Callable[..., str]
) -> None:
    fal.route(method="GET", url__startswith=BASE).mock(
        return_value=httpx.Response(200, json={"status": "COMPLETED", "logs": []})
    )
    config_cache_for_running_loop().ttl = 0.05
    seedance_connection(BASE, api_key=OLD_KEY)
    first = await _first_event(_trigger("a"))
    assert first["status"] == "success", first
    seedance_connection(BASE, api_key=NEW_KEY)  # the key is rotated in the connection
    assert (await _first_event(_trigger("b")))["status"] == "success"  # within the TTL: the read it had
    await asyncio.sleep(0.1)
    assert (await _first_event(_trigger("c")))["status"] == "success"

    assert _keys_seen(fal) == [OLD_KEY, OLD_KEY, NEW_KEY]


async def test_a_401_reads_the_connection_again_and_the_old_client_closes_with_its_last_user(
    fal: respx.MockRouter, seedance_connection: Callable[..., str]
) -> None:
    pool = pool_for_running_loop()
    pool.grace = 0  # close a client as soon as its last user leaves
    seedance_connection(BASE, api_key=OLD_KEY)
    old_config = await SeedanceHook().aget_shared_config()  # cached: the TTL is far away
    async with SeedanceHook().async_client() as holder:  # another run still on the old key's client
        old_http = holder._http
        seedance_connection(BASE, api_key=NEW_KEY)  # rotated, and the old key revoked
        fal.route(method="GET", url__startswith=BASE).mock(side_effect=_answer_by_key(NEW_KEY))

        event = await _first_event(_trigger())

        assert event["status"] == "success"
        assert _keys_seen(fal) == [OLD_KEY, NEW_KEY]  # refused once, then the re-read key
        assert (await SeedanceHook().aget_shared_config()).api_key == NEW_KEY
        assert old_config.api_key == OLD_KEY
        assert not old_http.is_closed  # the holder still uses it
    await asyncio.sleep(0.01)
    assert old_http.is_closed  # its last user left
    assert pool.users == 0


async def test_runs_refused_with_the_same_stale_key_cause_one_new_read(
    fal: respx.MockRouter, seedance_connection: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seedance_connection(BASE, api_key=OLD_KEY)
    await SeedanceHook().aget_shared_config()
    seedance_connection(BASE, api_key=NEW_KEY)
    fal.route(method="GET", url__startswith=BASE).mock(side_effect=_answer_by_key(NEW_KEY))
    assert await _run_many(20, monkeypatch) == 1  # connection reads


async def test_the_poller_counts_from_the_submit_time_and_expected_seconds(mocker: MockerFixture) -> None:
    from airflow_provider_seedance.triggers import seedance as module

    poller = mocker.spy(module, "Poller")
    mocker.patch.object(SeedanceJobTrigger, "_lease_status", side_effect=RuntimeError("stop"))
    trigger = _trigger(submitted_at=1000.0, expected_seconds=40.0)
    rebuilt = SeedanceJobTrigger(**trigger.serialize()[1])

    assert (await _first_event(rebuilt))["status"] == "error"
    kwargs = poller.call_args.kwargs
    assert (kwargs["started_at"], kwargs["expected_seconds"]) == (1000.0, 40.0)
    assert kwargs["adaptive"] is True


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"submitted_at": float("nan")}, "submitted_at"),
        ({"submitted_at": -1.0}, "submitted_at"),
        ({"expected_seconds": -5.0}, "expected_seconds"),
        ({"expected_seconds": float("inf")}, "expected_seconds"),
    ],
)
def test_invalid_schedule_hints_fail_naming_the_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        _trigger(**kwargs)
