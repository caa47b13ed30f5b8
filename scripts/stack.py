"""Start and stop the whole local stack: Seedance emulator, strict GCS emulator and real Airflow.

Used by ``scripts/demo.py`` and by the end-to-end tests (``tests/e2e``). Everything listens on
127.0.0.1 only; every process is started in its own session (``setsid``) and stopped by
process group, and :meth:`Stack.stop` verifies that nothing it started is left running.

Two layouts:

* **local** (default): SQLite + LocalExecutor, one scheduler, dag-processor, triggerer and
  api-server -- what ``make demo`` runs.
* **distributed**: PostgreSQL + CeleryExecutor with Redis, N Celery workers and N triggerers
  (pass ``database_url``, ``celery_broker_url`` and ``executor="CeleryExecutor"``).

Example::

    with Stack(Path(".demo")) as stack:
        run_id = stack.trigger("seedance_marketing_daily")
        assert stack.wait_for_run("seedance_marketing_daily", run_id).state == "success"
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")
DAGS_FOLDER = REPO_ROOT / "dags"
#: Small real reference media, uploaded to the GCS emulator for the example DAGs.
REFERENCE_MEDIA = REPO_ROOT / "tests" / "data" / "references"
EXAMPLE_DAG_IDS = ("seedance_marketing_daily", "seedance_seed_grid_backfill")
TERMINAL_RUN_STATES = frozenset({"success", "failed"})
HEALTH_COMPONENTS = ("scheduler", "triggerer", "dag_processor")


class StackError(RuntimeError):
    """A component did not start, a call to it failed, or something did not finish in time."""


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 60) -> str:
    """The last ``lines`` lines of a log file ('' if it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a reused id owned by someone else
        return False
    return True


@dataclass
class Component:
    """One process (and its children) started in its own session, logging to a file."""

    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str]
    cwd: Path = REPO_ROOT
    process: subprocess.Popen[bytes] | None = None

    @property
    def pgid(self) -> int:
        assert self.process is not None
        return self.process.pid  # start_new_session: the child leads its own group

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, sig)

    def kill(self) -> None:
        """SIGKILL the whole process group at once (a crash, not a shutdown)."""
        self.signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(10)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the process group; SIGKILL whatever is left after ``timeout`` seconds."""
        if self.process is None:
            return
        self.signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.process.poll()
            if not _group_alive(self.pgid):
                break
            time.sleep(0.2)
        else:
            self.signal(signal.SIGKILL)
            time.sleep(0.5)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)

    def tail(self, lines: int = 60) -> str:
        return tail(self.log_path, lines)


@dataclass
class RunResult:
    """A finished DAG run and the task-instance states seen while it ran."""

    dag_id: str
    run_id: str
    state: str
    task_instances: list[dict[str, Any]]
    seen_states: dict[tuple[str, int], set[str]] = field(default_factory=dict)
    seconds: float = 0.0


class Stack:
    """The local stack; see the module docstring.

    :param home: Working directory: ``AIRFLOW_HOME`` is ``home/airflow``, logs go to ``home/logs``.
    :param dags_folder: The DAGs folder (default: the repository's ``dags/``).
    :param extra_dag_files: More DAG files; with any, the DAGs folder becomes ``home/dags`` holding
        copies of ``dags_folder``'s files and these.
    :param executor: ``LocalExecutor`` or ``CeleryExecutor``.
    :param database_url: SQLAlchemy URL of the metadata DB (default: SQLite in ``home``).
    :param celery_broker_url: Celery broker (Redis) for ``CeleryExecutor``.
    :param celery_result_backend: Celery result backend (default: the metadata DB).
    :param triggerers: How many triggerers to run.
    :param celery_workers: How many Celery workers to run (``CeleryExecutor`` only).
    :param celery_concurrency: Task slots per Celery worker.
    :param parallelism: ``[core] parallelism``; also the LocalExecutor's worker count.
    :param queue_seconds: How long emulated jobs stay queued.
    :param run_seconds: How long emulated jobs run.
    :param poll_interval: ``SEEDANCE_POLL_INTERVAL`` for the example DAGs.
    :param bucket: The GCS bucket created in the emulator and used by the example DAGs.
    :param pools: Pools to create: name -> slots (created with ``--include-deferred``).
    :param password: The ``admin`` password of Airflow's SimpleAuthManager.
    :param api_port: The api-server's port (default: a free one).
    :param extra_env: More environment for every Airflow component.
    :param api_key: The API key the Seedance emulator accepts (and the connections carry).
    :param render_videos: The emulator serves takes drawn per request (``--render-videos``).
    """

    def __init__(
        self,
        home: Path,
        *,
        dags_folder: Path = DAGS_FOLDER,
        extra_dag_files: Sequence[Path] = (),
        executor: str = "LocalExecutor",
        database_url: str | None = None,
        celery_broker_url: str | None = None,
        celery_result_backend: str | None = None,
        triggerers: int = 1,
        celery_workers: int = 0,
        celery_concurrency: int = 2,
        parallelism: int = 4,
        queue_seconds: float = 2.0,
        run_seconds: float = 6.0,
        poll_interval: float = 1.0,
        bucket: str = "seedance-campaigns",
        pools: Mapping[str, int] | None = None,
        password: str = "seedance-demo",
        api_port: int | None = None,
        extra_env: Mapping[str, str] | None = None,
        api_key: str | None = None,
        render_videos: bool = False,
    ) -> None:
        self.home = Path(home).resolve()
        self.render_videos = render_videos
        self.airflow_home = self.home / "airflow"
        self.log_dir = self.home / "logs"
        self.dags_folder = dags_folder
        self.extra_dag_files = list(extra_dag_files)
        self.executor = executor
        self.database_url = database_url or f"sqlite:///{self.airflow_home / 'airflow.db'}"
        self.celery_broker_url = celery_broker_url
        self.celery_result_backend = celery_result_backend
        self.triggerers = triggerers
        self.celery_workers = celery_workers
        self.celery_concurrency = celery_concurrency
        self.parallelism = parallelism
        self.queue_seconds = queue_seconds
        self.run_seconds = run_seconds
        self.poll_interval = poll_interval
        self.bucket = bucket
        self.pools = dict(pools if pools is not None else {"seedance": 4})
        self.username = "admin"
        self.password = password
        self.api_port = api_port or free_port()
        self.extra_env = dict(extra_env or {})
        self.api_key = api_key
        self.components: list[Component] = []
        self.emulator: Any = None  # EmulatorHandle, once started
        self.gcs_url: str | None = None
        self._token: str | None = None
        self._client: httpx.Client | None = None
        self.started_pgids: list[int] = []

    # -- environment --------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def airflow_env(self) -> dict[str, str]:
        """The environment every Airflow component (and CLI call) gets."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        folder = self.home / "dags" if self.extra_dag_files else self.dags_folder
        env.update(
            {
                "AIRFLOW_HOME": str(self.airflow_home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": self.executor,
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.username}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
                    self.airflow_home / "passwords.json"
                ),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database_url,
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__BASE_URL": self.api_url,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.airflow_home / "logs"),
                # Triggerer HA: a killed triggerer's triggers move to a live one within seconds.
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
                "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "6",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_SEC": "2",
                "PYTHONUNBUFFERED": "1",
                "SEEDANCE_BUCKET": self.bucket,
                "SEEDANCE_POLL_INTERVAL": str(self.poll_interval),
            }
        )
        if self.celery_broker_url:
            env["AIRFLOW__CELERY__BROKER_URL"] = self.celery_broker_url
            backend = self.celery_result_backend or "db+" + self.database_url
            env["AIRFLOW__CELERY__RESULT_BACKEND"] = backend
        if self.emulator is not None:
            conn = self.emulator.connection_dict("fal")
            # Local reference files are staged (content-addressed, signed) in the GCS emulator.
            conn["extra"] = {**conn.get("extra", {}), "staging_uri": f"gs://{self.bucket}/seedance-staging/"}
            env["AIRFLOW_CONN_SEEDANCE_DEFAULT"] = json.dumps(conn)
            env["SEEDANCE_REFERENCES"] = self.references_uri
        if self.gcs_url:
            env["STORAGE_EMULATOR_HOST"] = self.gcs_url
            env["GOOGLE_CLOUD_PROJECT"] = "seedance-local"
        env.update(self.extra_env)
        return env

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _add(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Component:
        component = Component(name, argv, self.log_dir / f"{name}.log", env or self.airflow_env())
        component.start()
        self.components.append(component)
        self.started_pgids.append(component.pgid)
        return component

    def start(self, timeout: float = 120.0) -> None:
        """Start everything and wait until Airflow is healthy and the DAGs are parsed."""
        t0 = time.monotonic()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.airflow_home.mkdir(parents=True, exist_ok=True)
        (self.airflow_home / "passwords.json").write_text(json.dumps({self.username: self.password}))
        if self.extra_dag_files:
            folder = self.home / "dags"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            for path in [*sorted(self.dags_folder.glob("*.py")), *self.extra_dag_files]:
                shutil.copy2(path, folder / path.name)
            for sub in self.dags_folder.iterdir():  # files the DAGs refer to (dags/assets/)
                if sub.is_dir() and not sub.name.startswith(("_", ".")):
                    shutil.copytree(sub, folder / sub.name)
        self._start_emulators()
        migrate = subprocess.run(
            [AIRFLOW, "db", "migrate"],
            env=self.airflow_env(),
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if migrate.returncode:
            raise StackError(
                f"airflow db migrate failed:\n{migrate.stdout[-3000:]}\n{migrate.stderr[-3000:]}"
            )
        self._add("api-server", [AIRFLOW, "api-server"])
        self._add("scheduler", [AIRFLOW, "scheduler", "--skip-serve-logs"])
        self._add("dag-processor", [AIRFLOW, "dag-processor"])
        for number in range(1, self.triggerers + 1):
            self.start_triggerer(number)
        if self.executor == "CeleryExecutor":
            for number in range(1, self.celery_workers + 1):
                self._add(
                    f"celery-worker-{number}",
                    [
                        AIRFLOW,
                        "celery",
                        "worker",
                        "--skip-serve-logs",
                        "--celery-hostname",
                        f"worker{number}@%h",
                        "--concurrency",
                        str(self.celery_concurrency),
                        "--without-gossip",
                        "--without-mingle",
                    ],
                )
        self.wait_healthy(deadline=t0 + timeout)
        self._create_pools()
        for dag_id in self.expected_dag_ids():
            self.wait_for_dag(dag_id, deadline=t0 + timeout)

    def start_triggerer(self, number: int) -> Component:
        """Start triggerer ``number`` (``triggerer-<number>.log``)."""
        return self._add(f"triggerer-{number}", [AIRFLOW, "triggerer", "--skip-serve-logs"])

    def expected_dag_ids(self) -> list[str]:
        ids = list(EXAMPLE_DAG_IDS) if self.dags_folder == DAGS_FOLDER else []
        ids += [p.stem for p in self.extra_dag_files]
        return ids

    def _start_emulators(self) -> None:
        from airflow_provider_seedance.emulator import API_KEY_ENV, DEFAULT_API_KEY
        from airflow_provider_seedance.emulator.testing import EmulatorHandle

        port_file = self.home / "seedance-emulator.port"
        port_file.unlink(missing_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if self.api_key:  # by environment, not argv: a key on a command line is visible in ps
            env[API_KEY_ENV] = self.api_key
        self._add(
            "seedance-emulator",
            [
                sys.executable,
                "-m",
                "airflow_provider_seedance.emulator",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--port-file",
                str(port_file),
                "--queue-seconds",
                str(self.queue_seconds),
                "--run-seconds",
                str(self.run_seconds),
                *(["--render-videos"] if self.render_videos else []),
            ],
            env=env,
        )
        gcs_log = self.log_dir / "gcs-emulator.log"
        gcs_log.unlink(missing_ok=True)
        self._add(
            "gcs-emulator",
            [sys.executable, "-m", "airflow_provider_seedance.emulator.gcs", "--port", "0"],
            env=env,
        )
        deadline = time.monotonic() + 30
        emulator_url = None
        while time.monotonic() < deadline and (emulator_url is None or self.gcs_url is None):
            for component in self.components:
                if not component.running():
                    raise StackError(f"{component.name} exited:\n{component.tail()}")
            if emulator_url is None and port_file.exists() and port_file.read_text().strip():
                emulator_url = f"http://127.0.0.1:{int(port_file.read_text())}"
            if self.gcs_url is None:
                for line in tail(gcs_log, 20).splitlines():
                    if line.startswith("READY "):
                        self.gcs_url = line.split(" ", 1)[1].strip()
            time.sleep(0.05)
        if emulator_url is None or self.gcs_url is None:
            raise StackError("the emulators did not start within 30 s:\n" + self.logs_tail())
        while time.monotonic() < deadline:
            try:
                if (
                    httpx.get(emulator_url + "/_emulator/health", timeout=1).status_code == 200
                    and httpx.get(self.gcs_url + "/", timeout=1).status_code == 200
                ):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        else:
            raise StackError("the emulators are not healthy:\n" + self.logs_tail())
        self.emulator = EmulatorHandle(emulator_url, api_key=self.api_key or DEFAULT_API_KEY)
        self.create_bucket(self.bucket)
        self.upload_references()

    @property
    def references_uri(self) -> str:
        """Where the example DAGs' reference media are in the GCS emulator."""
        return f"gs://{self.bucket}/references"

    def upload_references(self) -> list[str]:
        """Upload ``tests/data/references/*`` (a PNG, a 3 s MP4, a 2 s WAV) under :attr:`references_uri`."""
        assert self.gcs_url is not None
        uris = []
        types = {".png": "image/png", ".mp4": "video/mp4", ".wav": "audio/wav"}
        for path in sorted(REFERENCE_MEDIA.iterdir()):
            name = f"references/{path.name}"
            response = httpx.post(
                f"{self.gcs_url}/upload/storage/v1/b/{self.bucket}/o",
                params={"uploadType": "media", "name": name},
                content=path.read_bytes(),
                headers={"Content-Type": types.get(path.suffix, "application/octet-stream")},
                timeout=10,
            )
            if response.status_code != 200:
                raise StackError(f"uploading {name}: {response.status_code} {response.text}")
            uris.append(f"gs://{self.bucket}/{name}")
        return uris

    def create_bucket(self, name: str) -> None:
        assert self.gcs_url is not None
        response = httpx.post(
            f"{self.gcs_url}/storage/v1/b",
            params={"project": "seedance-local"},
            json={"name": name},
            timeout=10,
        )
        if response.status_code not in (200, 409):
            raise StackError(f"creating bucket {name}: {response.status_code} {response.text}")

    def _create_pools(self) -> None:
        for name, slots in self.pools.items():
            body = {"name": name, "slots": slots, "description": "Seedance jobs", "include_deferred": True}
            response = self.api("POST", "/api/v2/pools", json=body, ok=(201, 409))
            if response.status_code == 409:
                self.api("PATCH", f"/api/v2/pools/{name}", json=body)

    def stop(self) -> None:
        """Stop every process this stack started (process groups), then verify none is left."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.emulator is not None:
            with contextlib.suppress(Exception):
                self.emulator.close()
        # Triggerers, workers and schedulers first; the api-server and the emulators last.
        order = sorted(self.components, key=lambda c: (c.name == "api-server", c.name.endswith("emulator")))
        for component in order:
            if component.running() or (component.process and _group_alive(component.pgid)):
                component.signal(signal.SIGTERM)
        for component in order:
            component.stop(timeout=30)
        left = self.leftover_processes()
        if left:
            for pgid in {pgid for _, pgid, _ in left}:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
            time.sleep(1)
            left = self.leftover_processes()
            if left:
                raise StackError(f"processes left running after stop: {left}")

    def leftover_processes(self) -> list[tuple[int, int, str]]:
        """(pid, pgid, command line) of live processes in the groups this stack started."""
        import psutil

        groups = set(self.started_pgids)
        found = []
        for proc in psutil.process_iter(["pid", "cmdline", "status"]):
            try:
                pgid = os.getpgid(proc.pid)
            except (ProcessLookupError, PermissionError):
                continue
            if pgid in groups and proc.info["status"] != psutil.STATUS_ZOMBIE:
                found.append((proc.pid, pgid, " ".join(proc.info["cmdline"] or [])[:200]))
        return found

    def component(self, name: str) -> Component:
        for component in self.components:
            if component.name == name:
                return component
        raise KeyError(name)

    def logs_tail(self, lines: int = 40) -> str:
        """The tail of every component's log, for test failure reports."""
        parts = []
        for path in sorted(self.log_dir.glob("*.log")):
            parts.append(f"----- {path.name} (last {lines} lines) -----\n{tail(path, lines)}")
        return "\n".join(parts)

    def task_logs_tail(self, dag_id: str, lines: int = 40) -> str:
        """The tail of every task log of ``dag_id``."""
        parts = []
        for path in sorted((self.airflow_home / "logs").glob(f"dag_id={dag_id}/**/*.log")):
            parts.append(f"----- {path.relative_to(self.airflow_home)} -----\n{tail(path, lines)}")
        return "\n".join(parts)

    # -- REST API -----------------------------------------------------------------------------
    def wait_healthy(self, deadline: float) -> None:
        last: Any = None
        while time.monotonic() < deadline:
            for component in self.components:
                if not component.running():
                    raise StackError(f"{component.name} exited:\n{component.tail()}")
            try:
                response = httpx.get(self.api_url + "/api/v2/monitor/health", timeout=2)
                last = response.json() if response.status_code == 200 else response.text
                if response.status_code == 200 and all(
                    (last.get(name) or {}).get("status") == "healthy" for name in HEALTH_COMPONENTS
                ):
                    return
            except (httpx.HTTPError, ValueError) as exc:
                last = repr(exc)
            time.sleep(0.3)
        raise StackError(f"Airflow not healthy in time (last health: {last}):\n{self.logs_tail()}")

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(base_url=self.api_url, timeout=30)
        return self._client

    def token(self) -> str:
        if self._token is None:
            response = self.client.post(
                "/auth/token", json={"username": self.username, "password": self.password}
            )
            if response.status_code not in (200, 201):
                raise StackError(f"login failed: {response.status_code} {response.text}")
            self._token = str(response.json()["access_token"])
        return self._token

    def api(self, method: str, path: str, *, ok: Sequence[int] = (200,), **kwargs: Any) -> httpx.Response:
        """Call Airflow's REST API as ``admin``; raise :class:`StackError` on unexpected status.

        SQLite answers 503 "Database is locked" while the scheduler writes (e.g. to create a
        backfill); such calls are retried a bounded number of times.
        """
        headers = {"Authorization": f"Bearer {self.token()}"}
        for _ in range(20):
            response = self.client.request(method, path, headers=headers, **kwargs)
            if response.status_code != 503 or "locked" not in response.text.lower():
                break
            time.sleep(0.5)
        if response.status_code not in ok:
            raise StackError(f"{method} {path} -> {response.status_code}: {response.text[:2000]}")
        return response

    def wait_for_dag(self, dag_id: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            response = self.api("GET", f"/api/v2/dags/{dag_id}", ok=(200, 404))
            if response.status_code == 200:
                if response.json().get("is_paused"):
                    self.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})
                return
            time.sleep(0.5)
        errors = self.api("GET", "/api/v2/importErrors").json()
        raise StackError(f"DAG {dag_id} not parsed in time; import errors: {errors}\n{self.logs_tail()}")

    def trigger(
        self, dag_id: str, conf: Mapping[str, Any] | None = None, logical_date: dt.datetime | None = None
    ) -> str:
        """Trigger a run (logical date: now, unless given); return its run id."""
        when = logical_date or dt.datetime.now(dt.timezone.utc)
        body = {"logical_date": when.isoformat(), "conf": dict(conf or {})}
        response = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body)
        return str(response.json()["dag_run_id"])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances"
        result: list[dict[str, Any]] = self.api("GET", path, params={"limit": 1000}).json()["task_instances"]
        return result

    def iter_run_states(self, dag_id: str, run_id: str, timeout: float) -> Iterator[dict[str, Any]]:
        """Yield the run (a REST dict) about twice a second until it ends or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run: dict[str, Any] = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()
            yield run
            if run["state"] in TERMINAL_RUN_STATES:
                return
            time.sleep(0.5)
        raise StackError(
            f"run {dag_id}/{run_id} did not finish within {timeout:.0f} s; task instances: "
            f"{[(t['task_id'], t['map_index'], t['state']) for t in self.task_instances(dag_id, run_id)]}\n"
            + self.logs_tail()
        )

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 240.0) -> RunResult:
        """Wait for a run to end, recording every task-instance state seen on the way."""
        t0 = time.monotonic()
        seen: dict[tuple[str, int], set[str]] = {}
        state = "unknown"
        for run in self.iter_run_states(dag_id, run_id, timeout):
            state = run["state"]
            for ti in self.task_instances(dag_id, run_id):
                seen.setdefault((ti["task_id"], ti["map_index"]), set()).add(str(ti["state"]))
        return RunResult(
            dag_id=dag_id,
            run_id=run_id,
            state=state,
            task_instances=self.task_instances(dag_id, run_id),
            seen_states=seen,
            seconds=time.monotonic() - t0,
        )

    def task_instance(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict[str, Any]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        if map_index >= 0:
            path += f"/{map_index}"
        result: dict[str, Any] = self.api("GET", path).json()
        return result

    def wait_for_task_state(
        self, dag_id: str, run_id: str, task_id: str, states: Sequence[str], timeout: float = 120.0
    ) -> dict[str, Any]:
        """Poll a task instance (about 4 times a second) until its state is one of ``states``."""
        deadline = time.monotonic() + timeout
        while True:
            ti = self.task_instance(dag_id, run_id, task_id)
            if ti["state"] in states:
                return ti
            if time.monotonic() > deadline:
                raise StackError(
                    f"{dag_id}/{run_id}/{task_id} is {ti['state']!r} after {timeout:.0f} s, "
                    f"not one of {list(states)}:\n{self.logs_tail()}"
                )
            time.sleep(0.25)

    def set_task_state(self, dag_id: str, run_id: str, task_id: str, state: str) -> None:
        """Mark a task instance ``success`` / ``failed`` / ``skipped``, as the UI's buttons do."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        self.api("PATCH", path, json={"new_state": state})

    def clear_task(self, dag_id: str, run_id: str, task_id: str) -> None:
        """Clear one task instance (whatever its state), as the UI's Clear button does."""
        body = {
            "dry_run": False,
            "dag_run_id": run_id,
            "task_ids": [task_id],
            "only_failed": False,
            "reset_dag_runs": True,
        }
        self.api("POST", f"/api/v2/dags/{dag_id}/clearTaskInstances", json=body)

    def xcom(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1, key: str = "return_value"
    ) -> Any:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.api("GET", path, params={"map_index": map_index, "deserialize": True}).json()["value"]

    def airflow_cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run an ``airflow`` CLI command against this stack's metadata DB."""
        return subprocess.run(
            [AIRFLOW, *args],
            env=self.airflow_env(),
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
