"""What operator, trigger and sensor tests share: the emulator as the connection, a fake task context.

The fixtures are re-exported by the ``conftest.py`` of ``tests/operators``, ``tests/triggers`` and
``tests/sensors``; the fakes and :func:`first_event` are imported from here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_provider_seedance.emulator.testing import EmulatorHandle


class FakeTaskStateStore:
    """The ``context["task_state_store"]`` interface (Airflow 3.3), kept in memory across 'tries'."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.writes: list[tuple[str, Any]] = []

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        self.data[key] = value
        self.writes.append((key, value))

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def clear(self) -> None:
        self.data.clear()


class FakeTI:
    """Records XCom pushes in order."""

    def __init__(self) -> None:
        self.pushed: list[tuple[str, Any]] = []

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed.append((key, value))


@pytest.fixture
def emulator(seedance_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> EmulatorHandle:
    """The Seedance emulator with fast jobs, configured as ``seedance_default``."""
    seedance_emulator.configure(queue_seconds=0.2, run_seconds=0.3)
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DEFAULT", seedance_emulator.connection_json("fal"))
    return seedance_emulator


@pytest.fixture
def store() -> FakeTaskStateStore:
    return FakeTaskStateStore()


@pytest.fixture
def context(store: FakeTaskStateStore) -> dict[str, Any]:
    return {"ti": FakeTI(), "task_state_store": store}


def first_event(trigger: Any) -> dict[str, Any]:
    """Run a trigger to its first event (as the triggerer would) and return the payload."""

    async def run() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("trigger ended without an event")

    return asyncio.run(run())
