"""Shared test fixtures. Real servers (the Seedance emulator, the GCS emulator) come from plugins."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

TEST_API_KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def seedance_connection(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Define the ``seedance_default`` connection through the environment, as users do."""

    def define(
        host: str | None = "http://127.0.0.1:9",
        *,
        platform: str = "fal",
        api_key: str = TEST_API_KEY,
        conn_id: str = "seedance_default",
        **extra: object,
    ) -> str:
        conn = {"conn_type": "seedance", "password": api_key, "extra": {"platform": platform, **extra}}
        if host:
            conn["host"] = host
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        return conn_id

    return define


pytest_plugins = ["airflow_provider_seedance.emulator.gcs_pytest_plugin"]
