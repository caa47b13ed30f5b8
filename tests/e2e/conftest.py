"""End-to-end fixtures: the whole stack (emulators + real Airflow) from ``scripts/stack.py``.

On a failing e2e test the tail of every component's log (and of the DAG's task logs) is added
to the report, so CI failures can be diagnosed from the output alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.stack import Stack

E2E_DAGS = Path(__file__).parent / "dags"

_STACK_FIXTURES = ("local_stack", "distributed_stack", "chaos_stack", "review_stack")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[Any]:
    report = yield
    if report.failed and call.when in ("setup", "call"):
        funcargs = getattr(item, "funcargs", {})
        for name in _STACK_FIXTURES:
            stack = funcargs.get(name)
            if isinstance(stack, Stack):
                report.sections.append((f"{name} component logs", stack.logs_tail(60)))
                for dag_id in stack.expected_dag_ids():
                    logs = stack.task_logs_tail(dag_id, 12)
                    if logs:
                        report.sections.append((f"{name} task logs: {dag_id}", logs[-15000:]))
    return report


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """SQLite + LocalExecutor stack with the example DAGs and the e2e-only DAGs."""
    stack = Stack(
        tmp_path_factory.mktemp("local-stack"),
        extra_dag_files=sorted(E2E_DAGS.glob("*.py")),
        queue_seconds=2,
        run_seconds=6,
        poll_interval=0.5,
    )
    yield from running(stack)


def running(stack: Stack) -> Iterator[Stack]:
    """Start ``stack`` (printing its logs if that fails), yield it, stop it: a fixture's body."""
    try:
        stack.start()
    except BaseException:
        print(stack.logs_tail(80))
        stack.stop()
        raise
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def gcs(local_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A google-cloud-storage client on the stack's GCS emulator."""
    return gcs_client(local_stack, monkeypatch)


def gcs_client(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    assert stack.gcs_url
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", stack.gcs_url)
    return storage.Client(project="seedance-local", credentials=AnonymousCredentials())


def e2e_timeout(seconds: float) -> float:
    """Scale timeouts on slow CI machines with ``SEEDANCE_E2E_TIMEOUT_FACTOR``."""
    return seconds * float(os.environ.get("SEEDANCE_E2E_TIMEOUT_FACTOR", "1"))
