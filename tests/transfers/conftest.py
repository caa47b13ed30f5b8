"""Fixtures for the transfer tests: a GCS client on the strict emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from google.cloud import storage

    from tests.support.gcs_emulator import GCSEmulator


@pytest.fixture(scope="session")
def gcs_client(gcs_emulator: GCSEmulator) -> storage.Client:
    """A google-cloud-storage client talking to the strict emulator."""
    return gcs_emulator.client()
