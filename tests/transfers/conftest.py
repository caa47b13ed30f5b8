"""Fixtures for the transfer tests: a byte-exact media server and GCS helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.transfers.media_server import MediaServer

if TYPE_CHECKING:
    from google.cloud import storage

    from tests.support.gcs_emulator import GCSEmulator


@pytest.fixture(scope="session")
def _media_server_session() -> Iterator[MediaServer]:
    server = MediaServer().start()
    yield server
    server.stop()


@pytest.fixture
def media_server(_media_server_session: MediaServer) -> MediaServer:
    """A signed-URL media server on 127.0.0.1 with faults; cleared for every test."""
    server = _media_server_session
    server.videos.clear()
    server.faults.clear()
    server.log.clear()
    return server


@pytest.fixture(scope="session")
def gcs_client(gcs_emulator: GCSEmulator) -> storage.Client:
    """A google-cloud-storage client talking to the strict emulator."""
    return gcs_emulator.client()
