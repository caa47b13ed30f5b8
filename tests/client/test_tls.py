"""TLS: one shared context per process, honouring SSL_CERT_FILE, verified against a real HTTPS server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from pytest_mock import MockerFixture

from airflow_provider_seedance.client import AsyncSeedanceClient, ReferenceToVideoRequest, SeedanceClient
from airflow_provider_seedance.client.errors import SeedanceTransportError
from airflow_provider_seedance.client.transport import shared_ssl_context
from airflow_provider_seedance.emulator.testing import EmulatorServer
from tests.support.retry import NO_WAIT


@pytest.fixture
def fresh_context() -> Iterator[None]:
    shared_ssl_context.cache_clear()
    yield
    shared_ssl_context.cache_clear()


@pytest.fixture(scope="module")
def tls_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(tls=True, queue_seconds=0.1, run_seconds=0.1) as server:
        yield server


def test_every_client_shares_one_tls_context(fresh_context: None, mocker: MockerFixture) -> None:
    create = mocker.spy(httpx, "create_ssl_context")
    clients = [SeedanceClient(api_key="k") for _ in range(3)]
    async_clients = [AsyncSeedanceClient(api_key="k") for _ in range(3)]
    assert create.call_count == 1
    for client in clients:
        client.close()

    async def close() -> None:
        for client in async_clients:
            await client.aclose()

    asyncio.run(close())


def test_https_with_the_ca_from_ssl_cert_file_works(
    tls_emulator: EmulatorServer, fresh_context: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tls_emulator.ca_path is not None
    monkeypatch.setenv("SSL_CERT_FILE", tls_emulator.ca_path)
    url = tls_emulator.base_url.replace("127.0.0.1", "localhost")
    assert url.startswith("https://")

    with SeedanceClient(api_key=tls_emulator.api_key, base_url=url, retry=NO_WAIT) as client:
        ref = client.submit(ReferenceToVideoRequest(prompt="A harbour at dawn", duration=4))
    assert ref.status_url is not None
    assert ref.status_url.startswith("https://localhost:")


def test_https_with_an_unknown_ca_is_refused(tls_emulator: EmulatorServer, fresh_context: None) -> None:
    url = tls_emulator.base_url.replace("127.0.0.1", "localhost")
    with (
        SeedanceClient(api_key=tls_emulator.api_key, base_url=url, retry=NO_WAIT) as client,
        pytest.raises(SeedanceTransportError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.probe()
