"""Fixtures for client tests: a client facade over both transports, recorded sleeps, and for the
media and GCS tests the byte-exact media server and a GCS client on the strict emulator."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.client.helpers import ClientFacade
from tests.support.media_server import media_server, media_server_session  # noqa: F401 (fixtures)
from tests.support.reference_server import reference_server, reference_server_session  # noqa: F401

if TYPE_CHECKING:
    from google.cloud import storage

    from airflow_provider_seedance.emulator.gcs import GCSEmulator


@pytest.fixture(params=["sync", "async"])
def make_client(request: pytest.FixtureRequest) -> Callable[..., ClientFacade]:
    """A factory of client facades, parametrized over the sync and the async transport."""

    def make(**kwargs: Any) -> ClientFacade:
        return ClientFacade(request.param, **kwargs)

    return make


@pytest.fixture
def client(make_client: Callable[..., ClientFacade]) -> ClientFacade:
    """A fal.ai client (sync or async) that retries without waiting."""
    return make_client()


@pytest.fixture
def emulator(seedance_emulator: Any) -> Any:
    """The emulator with jobs that finish at once (real clock)."""
    seedance_emulator.configure(queue_seconds=0, run_seconds=0)
    return seedance_emulator


@pytest.fixture
def held(seedance_emulator: Any) -> Any:
    """The emulator on a manual clock: jobs queue 60 s and run 60 s until ``advance``."""
    seedance_emulator.configure(manual_clock=True, queue_seconds=60, run_seconds=60)
    return seedance_emulator


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record every backoff sleep instead of sleeping.

    tenacity's sync retry sleeps through ``time.sleep`` and its async retry through
    ``asyncio.sleep``; both are replaced for the duration of the test.
    """
    recorded: list[float] = []
    real_async_sleep = asyncio.sleep

    def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)

    async def fake_async_sleep(seconds: float, *args: Any, **kwargs: Any) -> Any:
        recorded.append(seconds)
        return await real_async_sleep(0)

    monkeypatch.setattr(time, "sleep", fake_sleep)
    monkeypatch.setattr(asyncio, "sleep", fake_async_sleep)
    return recorded


@pytest.fixture(scope="session")
def gcs_client(gcs_emulator: GCSEmulator) -> storage.Client:
    """A google-cloud-storage client talking to the strict emulator."""
    return gcs_emulator.client()
