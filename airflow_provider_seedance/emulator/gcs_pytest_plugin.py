"""pytest plugin with the strict GCS emulator's fixtures (:mod:`.gcs`); opt in with
``pytest_plugins = ["airflow_provider_seedance.emulator.gcs_pytest_plugin"]``.

* ``gcs_emulator`` (session): a :class:`~.gcs.GCSEmulator` handle; sets ``STORAGE_EMULATOR_HOST``
  and ``GOOGLE_CLOUD_PROJECT`` for the session.
* ``gcs_bucket`` (function): the name of a fresh, empty bucket in that emulator.
* ``gcs_client`` (session): a google-cloud-storage client bound to it (anonymous credentials).

Needs the ``test`` extra (``gcp-storage-emulator``, ``google-cloud-storage``) once a fixture is
used; importing this module does not.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from airflow_provider_seedance.emulator.gcs import GCSEmulator, start_emulator, stop_emulator

if TYPE_CHECKING:
    from google.cloud import storage


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[GCSEmulator]:
    """A strict GCS emulator for the whole session; sets ``STORAGE_EMULATOR_HOST``."""
    emulator = start_emulator()
    mp = pytest.MonkeyPatch()
    mp.setenv("STORAGE_EMULATOR_HOST", emulator.url)
    mp.setenv("GOOGLE_CLOUD_PROJECT", emulator.project)
    try:
        yield emulator
    finally:
        mp.undo()
        assert emulator.process is not None
        stop_emulator(emulator.process)


@pytest.fixture
def gcs_bucket(gcs_emulator: GCSEmulator) -> Iterator[str]:
    """The name of a fresh, empty bucket in the session's GCS emulator."""
    gcs_emulator.clear_faults()
    yield gcs_emulator.create_bucket()
    gcs_emulator.clear_faults()


@pytest.fixture(scope="session")
def gcs_client(gcs_emulator: GCSEmulator) -> storage.Client:
    """A google-cloud-storage client talking to the session's strict emulator."""
    return gcs_emulator.client()
