"""CLI options, loopback guard, start-up faults, the cheap plugin import and connection helpers."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from airflow_provider_seedance.emulator.__main__ import is_loopback, parse_size
from airflow_provider_seedance.emulator.testing import EmulatorError, EmulatorHandle, EmulatorServer
from tests.emulator.conftest import FAL_STANDARD


def test_refuses_non_loopback_host() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "airflow_provider_seedance.emulator", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "non-loopback" in proc.stderr


def test_helpers() -> None:
    assert parse_size("500MB") == 500_000_000
    assert parse_size("1MiB") == 1024 * 1024
    assert parse_size("1234") == 1234
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("10.0.0.1")


def test_startup_options_key_and_faults_survive_reset() -> None:
    with EmulatorServer(
        api_key="other-key",
        queue_seconds=0,
        run_seconds=0,
        faults=["fal.submit:status:503:times=1"],
        extra_args=["--video-size", "1MiB"],
    ) as server:
        emu = server.handle
        assert emu.config()["video_size_bytes"] == 1024 * 1024
        headers = {"Authorization": "Key other-key"}
        url = server.base_url + FAL_STANDARD
        assert httpx.post(url, json={"prompt": "p"}, headers=headers).status_code == 503
        ok = httpx.post(url, json={"prompt": "p"}, headers=headers)
        assert ok.status_code == 200
        result = httpx.get(ok.json()["response_url"], headers=headers).json()
        assert result["video"]["file_size"] == 1024 * 1024
        emu.reset()  # re-arms the start-up fault
        assert httpx.post(url, json={"prompt": "p"}, headers=headers).status_code == 503
        assert (
            httpx.post(url, json={"prompt": "p"}, headers={"Authorization": "Key emulator-key"}).status_code
            == 401
        )
        assert "other-key" not in server.read_log()


def test_startup_failure_reports_stderr() -> None:
    server = EmulatorServer(faults=["fal.submit:explode"])
    with pytest.raises(EmulatorError, match="unknown fault kind"):
        server.start()
    assert server.process is None


def test_plugin_import_is_cheap() -> None:
    code = (
        "import sys, airflow_provider_seedance.emulator.pytest_plugin as p; "
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'airflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout.strip() == "[]"


def test_connection_helpers(seedance_emulator: EmulatorHandle) -> None:
    data = json.loads(seedance_emulator.connection_json("oxen"))
    assert data == {
        "conn_type": "seedance",
        "password": "emulator-key",
        "host": seedance_emulator.base_url,
        "extra": {"platform": "oxen"},
    }
    uri = seedance_emulator.connection_uri("fal")
    assert uri.startswith("seedance://http://:emulator-key@127.0.0.1%3A")
    assert uri.endswith("/?platform=fal")


@pytest.mark.slow
def test_connection_uri_round_trips_through_airflow(seedance_emulator: EmulatorHandle) -> None:
    from airflow.models.connection import Connection

    conn = Connection(conn_id="seedance_default", uri=seedance_emulator.connection_uri("byteplus"))
    assert conn.conn_type == "seedance"
    assert conn.host == seedance_emulator.base_url
    assert conn.password == "emulator-key"
    assert conn.extra_dejson == {"platform": "byteplus"}


def test_reset_restores_config(seedance_emulator: EmulatorHandle) -> None:
    before = seedance_emulator.config()
    seedance_emulator.configure(queue_seconds=99, manual_clock=True)
    seedance_emulator.add_fault("*", "drop")
    seedance_emulator.reset()
    assert seedance_emulator.config() == before
    assert seedance_emulator.faults() == []
    assert seedance_emulator.requests() == []
    with pytest.raises(EmulatorError):
        seedance_emulator.configure(queue_seconds=-1)
