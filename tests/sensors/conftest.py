"""Fixtures for the sensors tests: the emulator as ``seedance_default``, a fake task context."""

from __future__ import annotations

from tests.support.tasks import context, emulator, store

__all__ = ["context", "emulator", "store"]
