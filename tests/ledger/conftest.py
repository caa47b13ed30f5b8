"""Ledger fixtures: a SQLite file and a throwaway database on the real PostgreSQL of 127.0.0.1."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ADMIN_DSN = os.environ.get("SEEDANCE_TEST_PG_DSN", "host=127.0.0.1 user=postgres dbname=test")
PG_URL_BASE = os.environ.get("SEEDANCE_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1")


def _pg_admin():  # type: ignore[no-untyped-def]
    import psycopg2

    conn = psycopg2.connect(PG_ADMIN_DSN, connect_timeout=5)
    conn.autocommit = True
    return conn


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    try:
        _pg_admin().close()
    except Exception as exc:
        if os.environ.get("SEEDANCE_REQUIRE_POSTGRES"):
            raise
        pytest.skip(f"no PostgreSQL with trust auth on 127.0.0.1 ({exc})")
    return True


@pytest.fixture
def pg_url(postgres_available: bool) -> Iterator[str]:
    """A fresh database for this test, dropped afterwards."""
    name = f"seedance_ledger_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin()
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_URL_BASE}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest) -> str:
    """Each test runs on both databases."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def ledger_conn(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """An Airflow connection ``seedance_ledger`` naming a SQLite ledger (any SQLAlchemy URL in the extra)."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.setenv(
        "AIRFLOW_CONN_SEEDANCE_LEDGER", json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": url}})
    )
    return "seedance_ledger"
