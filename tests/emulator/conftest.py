"""Fixtures for the emulator's own tests: raw httpx clients against the running emulator.

The ``seedance_emulator`` / ``seedance_emulator_server`` fixtures come from the package's
pytest plugin (entry point ``seedance_emulator``).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from airflow_provider_seedance.emulator.testing import EmulatorHandle

FAL_STANDARD = "/bytedance/seedance-2.0/reference-to-video"
FAL_FAST = "/bytedance/seedance-2.0/fast/reference-to-video"
OXEN_MODEL = "bytedance-seedance-2-0-reference-to-video"
ARK_TASKS = "/api/v3/contents/generations/tasks"


@pytest.fixture
def emu(seedance_emulator: EmulatorHandle) -> EmulatorHandle:
    """A reset emulator with a frozen (manual) clock: tests move time with ``emu.advance``."""
    seedance_emulator.configure(manual_clock=True, queue_seconds=10, run_seconds=20)
    return seedance_emulator


@pytest.fixture
def fal(emu: EmulatorHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Key {emu.api_key}"}) as client:
        yield client


@pytest.fixture
def bearer(emu: EmulatorHandle) -> Iterator[httpx.Client]:
    """Client for the Bearer platforms (Oxen, AIHubMax, Ark)."""
    with httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {emu.api_key}"}) as client:
        yield client
