"""Moved: the strict GCS emulator is :mod:`airflow_provider_seedance.emulator.gcs` (its fixtures
:mod:`airflow_provider_seedance.emulator.gcs_pytest_plugin`). This re-export keeps the imports
of test modules outside the emulator's files working until they import from there."""

from __future__ import annotations

from airflow_provider_seedance.emulator.gcs import GCSEmulator, start_emulator, stop_emulator

__all__ = ["GCSEmulator", "start_emulator", "stop_emulator"]
