"""pytest plugin (entry point ``seedance_emulator``): fixtures that run the Seedance emulator.

* ``seedance_emulator_server`` (session): one emulator subprocess on a free 127.0.0.1 port.
* ``seedance_emulator`` (function): the :class:`~.testing.EmulatorHandle`, reset before the
  test (jobs, requests, faults and config back to the start-up state).

Example::

    def test_my_dag(seedance_emulator, monkeypatch):
        monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DEFAULT", seedance_emulator.connection_json("fal"))
        seedance_emulator.configure(queue_seconds=0, run_seconds=0)
        ...
        assert len(seedance_emulator.requests("fal.submit")) == 1

Importing this module is cheap (no FastAPI/uvicorn import).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_seedance.emulator.testing import EmulatorHandle, EmulatorServer


@pytest.fixture(scope="session")
def seedance_emulator_server() -> Iterator[EmulatorServer]:
    """A running emulator for the whole test session (stopped at the end)."""
    server = EmulatorServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def seedance_emulator(seedance_emulator_server: EmulatorServer) -> EmulatorHandle:
    """The emulator handle, reset to a clean state for this test."""
    handle = seedance_emulator_server.handle
    handle.reset()
    return handle
