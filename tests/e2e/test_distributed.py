"""Distributed run on real services: PostgreSQL, CeleryExecutor + Redis, 2 workers, 2 triggerers.

One triggerer is SIGKILLed while the renders wait (deferred); its triggers move to the other
triggerer once its heartbeat is stale (``[triggerer] job_heartbeat_sec=1``,
``triggerer_health_check_threshold=6`` in ``scripts/stack.py``), and every job still completes,
exactly once. Needs PostgreSQL on 127.0.0.1:5432 (user ``postgres``, trust auth) and Redis on
127.0.0.1:6379; skipped otherwise. A fresh database ``seedance_e2e_<random>`` and an empty Redis
DB number are used and dropped/flushed afterwards.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from scripts.stack import Stack, port_open
from tests.e2e.conftest import e2e_timeout, gcs_client

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, os.environ.get("SEEDANCE_E2E_PG_USER", "postgres")
REDIS_PORT = 6379
SUBMIT_ROUTES = ("fal.submit", "fal.submit_fast")


def _requirements() -> str | None:
    if not port_open(PG_HOST, PG_PORT):
        return f"no PostgreSQL on {PG_HOST}:{PG_PORT}"
    if not port_open("127.0.0.1", REDIS_PORT):
        return f"no Redis on 127.0.0.1:{REDIS_PORT}"
    # Airflow 3.3 also opens an async engine on the metadata DB: PostgreSQL needs asyncpg.
    for module in ("psycopg2", "asyncpg", "redis", "airflow.providers.celery"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (the e2e extra)"
    return None


_MISSING = _requirements()
if _MISSING:
    pytestmark.append(pytest.mark.skip(reason=f"distributed e2e needs real services: {_MISSING}"))


def _admin_connection() -> Any:
    import psycopg2

    last: Exception | None = None
    for dbname in ("postgres", "test", "template1"):
        try:
            conn = psycopg2.connect(
                host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname, connect_timeout=5
            )
        except psycopg2.OperationalError as exc:
            last = exc
            continue
        conn.autocommit = True
        return conn
    raise RuntimeError(f"cannot connect to PostgreSQL as {PG_USER}: {last}")


def _free_redis_db() -> int:
    """An empty Redis DB number (highest first), so nobody else's keys are touched."""
    import redis

    for number in range(15, 0, -1):
        if redis.Redis(host="127.0.0.1", port=REDIS_PORT, db=number).dbsize() == 0:
            return number
    raise RuntimeError("no empty Redis database number")


def celery_on(database: str, redis_db: int) -> dict[str, Any]:
    """The :class:`Stack` options of a CeleryExecutor on the local PostgreSQL ``database`` (metadata
    and results) and the Redis DB ``redis_db`` (broker)."""
    url = f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"
    return {
        "executor": "CeleryExecutor",
        "database_url": url,
        "celery_broker_url": f"redis://127.0.0.1:{REDIS_PORT}/{redis_db}",
        "celery_result_backend": f"db+{url}",
    }


@pytest.fixture(scope="module")
def distributed_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    import psycopg2
    import redis

    database = f"seedance_e2e_{uuid.uuid4().hex[:10]}"
    admin = _admin_connection()
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{database}"')
    redis_db = _free_redis_db()
    redis_client = redis.Redis(host="127.0.0.1", port=REDIS_PORT, db=redis_db)
    stack = Stack(
        tmp_path_factory.mktemp("distributed-stack"),
        **celery_on(database, redis_db),
        triggerers=1,
        celery_workers=2,
        celery_concurrency=2,
        parallelism=8,
        pools={"seedance": 8},
        queue_seconds=3,
        run_seconds=15,
        poll_interval=1,
    )
    stack.database = database  # type: ignore[attr-defined]
    try:
        stack.start()
        # The second triggerer starts once the first has its job row: job ids then map to processes.
        _wait_triggerer_jobs(stack, 1)
        stack.start_triggerer(2)
        _wait_triggerer_jobs(stack, 2)
        yield stack
    except BaseException:
        print(stack.logs_tail(80))
        raise
    finally:
        try:
            stack.stop()
        finally:
            redis_client.flushdb()
            with admin.cursor() as cur:
                try:
                    cur.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                except psycopg2.Error:
                    cur.execute(f'DROP DATABASE IF EXISTS "{database}"')
            admin.close()


def _query(stack: Stack, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    import psycopg2

    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=stack.database)  # type: ignore[attr-defined]
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())
    finally:
        conn.close()


def _triggerer_jobs(stack: Stack) -> list[int]:
    rows = _query(
        stack, "SELECT id FROM job WHERE job_type = 'TriggererJob' AND end_date IS NULL ORDER BY id"
    )
    return [row[0] for row in rows]


def _wait_triggerer_jobs(stack: Stack, count: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + e2e_timeout(timeout)
    while len(_triggerer_jobs(stack)) < count:
        assert time.monotonic() < deadline, f"{count} triggerer job(s) not registered:\n{stack.logs_tail()}"
        time.sleep(0.3)


#: The jobs of one marketing run (three channels and the product loop) and one two-take grid run.
JOBS = 6


def _submits(stack: Stack) -> int:
    return sum(len(stack.emulator.requests(route)) for route in SUBMIT_ROUTES)


def test_killed_triggerer_hands_its_triggers_over_and_every_job_completes_once(
    distributed_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = distributed_stack
    first, second = _triggerer_jobs(stack)
    component_of = {first: "triggerer-1", second: "triggerer-2"}
    submits_before = _submits(stack)
    jobs_before = len(stack.emulator.jobs())
    runs = [
        (
            "seedance_marketing_daily",
            stack.trigger("seedance_marketing_daily", conf={"prefix": "dist/marketing"}),
        ),
        (
            "seedance_seed_grid_backfill",
            stack.trigger(
                "seedance_seed_grid_backfill",
                conf={
                    "prompts": ["@Image1 at dawn"],
                    "seeds": [1, 2],
                    "aspect_ratios": ["9:16"],
                    "prefix": "dist/grid",
                    "review": False,
                },
            ),
        ),
    ]

    # Wait until all six jobs wait (deferred) in the triggerers: the marketing DAG's three channel
    # renders and its product loop, the grid's two takes.
    deadline = time.monotonic() + e2e_timeout(120)
    while True:
        held = _query(stack, "SELECT id, triggerer_id FROM trigger WHERE triggerer_id IS NOT NULL")
        if len(held) == JOBS:
            break
        assert time.monotonic() < deadline, f"triggers never all assigned: {held}\n{stack.logs_tail()}"
        time.sleep(0.3)
    counts = Counter(triggerer for _, triggerer in held)
    victim = counts.most_common(1)[0][0]
    survivor = second if victim == first else first
    moved = {trigger for trigger, triggerer in held if triggerer == victim}
    stack.component(component_of[victim]).kill()

    # The survivor takes the victim's triggers over once the victim's heartbeat is stale.
    deadline = time.monotonic() + e2e_timeout(60)
    taken_over: set[int] = set()
    while taken_over != moved:
        rows = _query(stack, "SELECT id, triggerer_id FROM trigger")
        live = dict(rows)
        taken_over |= {t for t in moved if live.get(t) == survivor}
        if all(t not in live for t in moved - taken_over):  # completed by the survivor already
            break
        assert time.monotonic() < deadline, f"triggers {moved} not taken over: {rows}\n{stack.logs_tail()}"
        time.sleep(0.3)
    assert taken_over, "the surviving triggerer took over none of the killed triggerer's triggers"

    results = [stack.wait_for_run(dag_id, run_id, timeout=e2e_timeout(240)) for dag_id, run_id in runs]
    assert [r.state for r in results] == ["success", "success"], [r.task_instances for r in results]

    # Every job ran exactly once: 6 submits, 6 distinct jobs, each render used its own.
    assert _submits(stack) - submits_before == JOBS
    new_jobs = [j["request_id"] for j in stack.emulator.jobs()[jobs_before:]]
    request_ids = []
    for result in results:
        renders = [t for t in result.task_instances if t["task_id"] in ("render", "product_loop")]
        for ti in renders:
            assert ti["try_number"] == 1
            request_ids.append(
                stack.xcom(result.dag_id, result.run_id, ti["task_id"], ti["map_index"])["request_id"]
            )
    assert sorted(request_ids) == sorted(new_jobs)
    assert len(set(request_ids)) == JOBS

    # And the archives hold the emulator's bytes.
    gcs = gcs_client(stack, monkeypatch)
    names = sorted(b.name for b in gcs.list_blobs("seedance-campaigns", prefix="dist/"))
    assert len([n for n in names if n.endswith(".mp4")]) == JOBS
    assert any(n.endswith("manifest.json") for n in names)
    clip = stack.xcom("seedance_marketing_daily", runs[0][1], "render", 0)
    uri = stack.xcom("seedance_marketing_daily", runs[0][1], "archive", 0)
    blob = gcs.bucket("seedance-campaigns").blob(uri.removeprefix("gs://seedance-campaigns/"))
    assert blob.download_as_bytes() == stack.emulator.video_bytes(clip["request_id"])
