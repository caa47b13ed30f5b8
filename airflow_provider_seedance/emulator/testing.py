"""Test helpers: :class:`EmulatorServer` (run the emulator as a subprocess) and
:class:`EmulatorHandle` (a small sync client for its ``/_emulator/`` control API).

Only the standard library and httpx are imported here, so the pytest plugin stays cheap::

    with EmulatorServer(queue_seconds=0, run_seconds=0) as server:
        emu = server.handle
        emu.add_fault("fal.status", "status", status=503, times=2)
        os.environ["AIRFLOW_CONN_SEEDANCE_DEFAULT"] = emu.connection_json("fal")
        ...
        assert len(emu.requests("fal.submit")) == 1
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, TypedDict, Unpack
from urllib.parse import quote, urlsplit

import httpx

from airflow_provider_seedance.client.platforms import DIALECTS
from airflow_provider_seedance.emulator import DEFAULT_API_KEY

#: The platform keys a connection to the emulator may name: the provider's registry.
PLATFORMS: tuple[str, ...] = tuple(DIALECTS)


class EmulatorError(RuntimeError):
    """The emulator did not start, or a control call failed."""


class ConfigChanges(TypedDict, total=False):
    """The settings :meth:`EmulatorHandle.configure` can change (see ``EmulatorConfig``)."""

    queue_seconds: float | None
    run_seconds: float | None
    video_ttl_seconds: float | None
    video_size_bytes: int | None
    manual_clock: bool | None
    render_videos: bool | None
    fetch_references: bool | None


class FaultOptions(TypedDict, total=False):
    """How an injected fault behaves (the fields of ``emulator.faults.Fault``)."""

    times: int
    status: int | None
    retry_after: float | None
    delay: float | None
    body: Any
    error: str | None


class EmulatorHandle:
    """Sync client for a running emulator's control API.

    ``base_url`` is the root every platform is served from (use it as the Airflow connection
    ``host``); ``api_key`` is the key the emulator accepts.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str = DEFAULT_API_KEY,
        *,
        verify: bool | str | ssl.SSLContext = True,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        if isinstance(verify, str):  # a CA bundle path
            verify = ssl.create_default_context(cafile=verify)
        self.verify = verify
        self._client = httpx.Client(base_url=self.base_url, verify=verify, timeout=timeout)

    # -- plumbing ---------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._client.request(method, "/_emulator" + path, **kwargs)
        if response.status_code >= 400:
            raise EmulatorError(f"{method} /_emulator{path} -> {response.status_code}: {response.text}")
        return response

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- control ----------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/health").json()
        return result

    def reset(self) -> None:
        """Forget jobs, requests and faults; restore the start-up config and clock."""
        self._call("POST", "/reset")

    def configure(self, **changes: Unpack[ConfigChanges]) -> dict[str, Any]:
        """Change any subset of the timing/media settings (:class:`ConfigChanges`); returns the new
        config. A setting passed as None is left as it is."""
        body = {k: v for k, v in changes.items() if v is not None}
        result: dict[str, Any] = self._call("POST", "/config", json=body).json()
        return result

    def config(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/config").json()
        return result

    def advance(self, seconds: float) -> float:
        """Move the emulator clock forward (works in manual and real-time mode)."""
        now: float = self._call("POST", "/clock/advance", json={"seconds": seconds}).json()["now"]
        return now

    def add_fault(self, route: str, kind: str, **options: Unpack[FaultOptions]) -> dict[str, Any]:
        """Inject a fault: ``kind`` is status|delay|drop|truncate|fail_job|never_finish; ``options``
        as in :class:`FaultOptions` (``times`` defaults to 1)."""
        payload = {"route": route, "kind": kind, **options}
        result: dict[str, Any] = self._call("POST", "/faults", json=payload).json()
        return result

    def faults(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/faults").json()
        return result

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    # -- inspection -------------------------------------------------------------------------
    def requests(self, route: str | None = None) -> list[dict[str, Any]]:
        """Requests received (oldest first), optionally only one route (e.g. ``"fal.submit"``).

        Each has ``route``, ``platform``, ``method``, ``path``, ``query``, ``json``, ``headers``
        (never the auth header), ``auth_scheme``, ``status_code``, ``fault``, ``time``.
        """
        params = {"route": route} if route else None
        result: list[dict[str, Any]] = self._call("GET", "/requests", params=params).json()
        return result

    def jobs(self) -> list[dict[str, Any]]:
        """Jobs, oldest first: ``platform``, ``request_id``, ``tier``, ``state``, ``seed``, ``prompt``…"""
        result: list[dict[str, Any]] = self._call("GET", "/jobs").json()
        return result

    def job(self, request_id: str) -> dict[str, Any]:
        for job in self.jobs():
            if job["request_id"] == request_id:
                return job
        raise KeyError(request_id)

    def video_bytes(self, request_id: str) -> bytes:
        """The exact bytes the job's media URL serves (small videos only)."""
        return self._call("GET", f"/jobs/{request_id}/video").content

    def video_url(self, request_id: str) -> str:
        """A freshly signed media URL for the job."""
        url: str = self._call("GET", f"/jobs/{request_id}/video_url").json()["url"]
        return url

    # -- Airflow connection -----------------------------------------------------------------
    def connection_dict(self, platform: str = "fal") -> dict[str, Any]:
        return {
            "conn_type": "seedance",
            "password": self.api_key,
            "host": self.base_url,
            "extra": {"platform": platform},
        }

    def connection_json(self, platform: str = "fal") -> str:
        """JSON for ``AIRFLOW_CONN_SEEDANCE_DEFAULT`` pointing at this emulator."""
        return json.dumps(self.connection_dict(platform))

    def connection_uri(self, platform: str = "fal") -> str:
        """The same connection as an Airflow URI (``seedance://http://:key@127.0.0.1%3APORT/?platform=fal``)."""
        parts = urlsplit(self.base_url)
        return (
            f"seedance://{parts.scheme}://:{quote(self.api_key, safe='')}@"
            f"{quote(parts.netloc, safe='')}/?platform={quote(platform, safe='')}"
        )


class EmulatorServer:
    """Run ``python -m airflow_provider_seedance.emulator`` on a free 127.0.0.1 port.

    Use as a context manager (or :meth:`start` / :meth:`stop`); :attr:`handle` is an
    :class:`EmulatorHandle` for it. ``tls=True`` serves HTTPS with a throwaway ``trustme`` CA
    whose PEM is at :attr:`ca_path` (certificate valid for ``localhost`` and ``127.0.0.1``).
    """

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        queue_seconds: float | None = None,
        run_seconds: float | None = None,
        video_ttl_seconds: float | None = None,
        video_size_bytes: int | None = None,
        manual_clock: bool = False,
        render_videos: bool = False,
        faults: tuple[str, ...] | list[str] = (),
        tls: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        startup_timeout: float = 20.0,
        extra_args: tuple[str, ...] | list[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.api_key = api_key
        self.host = host
        self.requested_port = port
        self.tls = tls
        self.startup_timeout = startup_timeout
        self.env = env
        self.port: int | None = None
        self.ca_path: str | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._handle: EmulatorHandle | None = None
        self._tmp: str | None = None
        args = ["--host", host, "--log-level", log_level]
        for flag, value in (
            ("--queue-seconds", queue_seconds),
            ("--run-seconds", run_seconds),
            ("--video-ttl", video_ttl_seconds),
            ("--video-size", video_size_bytes),
        ):
            if value is not None:
                args += [flag, str(value)]
        if manual_clock:
            args.append("--manual-clock")
        if render_videos:
            args.append("--render-videos")
        for spec in faults:
            args += ["--fault", spec]
        self._args = args + list(extra_args)

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self.port is None:
            raise EmulatorError("the emulator is not running")
        host = "localhost" if self.tls and self.host == "127.0.0.1" else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def handle(self) -> EmulatorHandle:
        if self._handle is None:
            raise EmulatorError("the emulator is not running")
        return self._handle

    @property
    def log_path(self) -> Path | None:
        return Path(self._tmp, "emulator.log") if self._tmp else None

    def read_log(self) -> str:
        path = self.log_path
        return path.read_text(errors="replace") if path and path.exists() else ""

    def start(self) -> EmulatorHandle:
        if self.process is not None:
            return self.handle
        self._tmp = tempfile.mkdtemp(prefix="seedance-emulator-")
        port_file = Path(self._tmp, "port")
        args = [sys.executable, "-m", "airflow_provider_seedance.emulator", *self._args]
        args += ["--port", str(self.requested_port), "--port-file", str(port_file)]
        if self.tls:
            args += self._make_certificates()
        env = {**os.environ, **(self.env or {}), "PYTHONUNBUFFERED": "1"}
        env["SEEDANCE_EMULATOR_API_KEY"] = self.api_key
        env.pop("SEEDANCE_EMULATOR_FAULTS", None)
        assert self.log_path is not None
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        try:
            self._wait_ready(port_file)
        except BaseException:
            self.stop()
            raise
        return self.handle

    def _make_certificates(self) -> list[str]:
        import trustme  # test dependency, only needed for TLS

        assert self._tmp is not None
        ca = trustme.CA()
        cert = ca.issue_cert("localhost", "127.0.0.1")
        ca_path = Path(self._tmp, "ca.pem")
        cert_path = Path(self._tmp, "server.pem")
        key_path = Path(self._tmp, "server.key")
        ca.cert_pem.write_to_path(str(ca_path))
        cert.cert_chain_pems[0].write_to_path(str(cert_path))
        for pem in cert.cert_chain_pems[1:]:
            pem.write_to_path(str(cert_path), append=True)
        cert.private_key_pem.write_to_path(str(key_path))
        self.ca_path = str(ca_path)
        return ["--ssl-certfile", str(cert_path), "--ssl-keyfile", str(key_path)]

    def _wait_ready(self, port_file: Path) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        verify: bool | ssl.SSLContext = (
            ssl.create_default_context(cafile=self.ca_path) if self.ca_path else True
        )
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmulatorError(
                    f"seedance emulator exited with code {self.process.returncode}:\n{self.read_log()}"
                )
            if self.port is None and port_file.exists():
                text = port_file.read_text().strip()
                if text:
                    self.port = int(text)
            if self.port is not None:
                try:
                    response = httpx.get(self.base_url + "/_emulator/health", timeout=1.0, verify=verify)
                    if response.status_code == 200:
                        self._handle = EmulatorHandle(self.base_url, self.api_key, verify=verify)
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
        raise EmulatorError(
            f"seedance emulator not healthy within {self.startup_timeout:.0f} s:\n{self.read_log()}"
        )

    def stop(self) -> None:
        """Terminate the emulator's process group (SIGTERM, then SIGKILL after 5 s)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            self._signal(process, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._signal(process, getattr(signal, "SIGKILL", signal.SIGTERM))
                process.wait(timeout=5)
        self.port = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    @staticmethod
    def _signal(process: subprocess.Popen[bytes], sig: int) -> None:
        try:
            if hasattr(os, "killpg"):
                os.killpg(process.pid, sig)  # our own session: the group id is the child's pid
            else:  # pragma: no cover - Windows
                process.send_signal(sig)
        except ProcessLookupError:
            pass

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
