"""The Seedance hook: an Airflow connection read into a :class:`SeedanceConnectionConfig`, then clients.

:class:`SeedanceHook` gives the worker a blocking :class:`~.client.transport.SeedanceClient` and
the triggerer a pooled async one (the connection read with ``aget_connection``), plus the
connection test. All platform logic lives in the clients' dialect, which the hook reuses.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from airflow_provider_seedance.client.checks import clean_api_key, seconds_problem
from airflow_provider_seedance.client.errors import (
    FieldError,
    SeedanceAuthError,
    SeedanceError,
    SeedanceValidationError,
)
from airflow_provider_seedance.client.models import (
    CancelOutcome,
    JobRef,
    JobResult,
    JobStatus,
    Mode,
    SeedanceRequest,
    build_request,
)
from airflow_provider_seedance.client.platforms import DIALECTS, dialect_options
from airflow_provider_seedance.client.retry import RetryPolicy
from airflow_provider_seedance.client.transport import (
    DEFAULT_TIMEOUT,
    USER_AGENT,
    AsyncSeedanceClient,
    SeedanceClient,
    http_client_kwargs,
)

if TYPE_CHECKING:
    from airflow.sdk import Connection

DEFAULT_PLATFORM = "fal"
#: Platform keys accepted in the connection's ``platform`` extra (dialects load lazily).
PLATFORMS: tuple[str, ...] = tuple(DIALECTS)


@dataclass(frozen=True)
class SeedanceConnectionConfig:
    """What a Seedance connection says. The API key never appears in the repr."""

    platform: str
    api_key: str = field(repr=False)
    base_url: str | None
    timeout: float = DEFAULT_TIMEOUT
    #: fal.ai only: let fal reroute a failing request to an "equivalent" endpoint (off: a seed
    #: grid stays reproducible). The connection extra ``allow_fallbacks`` (a JSON bool).
    allow_fallbacks: bool = False
    #: Model / endpoint ids replacing the dialect's defaults (extra ``model_overrides``; Ark).
    model_overrides: Mapping[str, str] | None = None
    #: Operator defaults from the extra: ``preflight`` reference media, ``staging_uri`` for local files.
    preflight: bool | None = None
    staging_uri: str | None = None


def _base_url_from(conn: Connection) -> str | None:
    """The base URL a connection's ``host`` (and ``schema``/``port``) describe, or None for the default.

    ``host`` may be a full URL (``http://127.0.0.1:8787``, ``https://proxy.example/fal``) or a bare
    host name (``127.0.0.1``, ``[::1]``, ``proxy.example/fal``). A bare host gets the scheme
    ``schema`` when that is ``http`` or ``https``, else ``https``. ``port`` is added when the
    host carries none.
    """
    host = (conn.host or "").strip()
    if not host:
        return None
    if "://" not in host:
        schema = (conn.schema or "").strip().lower()
        host = f"{schema if schema in ('http', 'https') else 'https'}://{host}"
    parts = urlsplit(host)
    try:
        has_port = parts.port is not None
    except ValueError:  # a port that is not a number: leave it for the client to reject
        has_port = True
    if conn.port and not has_port and parts.netloc:
        parts = parts._replace(netloc=f"{parts.netloc}:{int(conn.port)}")
    return urlunsplit(parts).rstrip("/")


def _extra_of(conn: Connection) -> dict[str, Any] | None:
    """The connection's extra as a dict; None when it is set but is not a JSON object.

    Not ``conn.extra_dejson``: that logs and returns ``{}`` for unparsable JSON, which would
    silently mean "fal.ai" for a connection meant for another platform.
    """
    raw: Any = conn.extra
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw)
    except (TypeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


_INVALID = object()


def _optional_bool(value: Any) -> Any:
    """A connection extra's boolean (``true``/``false`` as JSON or text), None when unset, else
    :data:`_INVALID`."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    return _INVALID


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class SeedanceHook(BaseHook):
    """
    Interact with Seedance 2.0 reference-to-video on fal.ai, Oxen.ai, AIHubMax or BytePlus/Volcengine Ark.

    The connection's ``password`` is the API key, ``host`` an optional base-URL override
    (a local emulator, a proxy, a region) and the extra ``platform`` picks the API dialect
    (default ``fal``). The hook does no I/O until a method is called.

    .. seealso::
        The *Connection* section of the *Operators* how-to guide in the provider's documentation.

    :param seedance_conn_id: The Seedance connection to use.
    :param timeout: Seconds for one HTTP request (the connection extra ``timeout`` overrides).
    :param retry_policy: Bounded retry policy for reads and safe submit retries.
    """

    conn_name_attr = "seedance_conn_id"
    default_conn_name = "seedance_default"
    conn_type = "seedance"
    hook_name = "Seedance"

    def __init__(
        self,
        seedance_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        retry_policy: RetryPolicy | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.seedance_conn_id = seedance_conn_id
        self.timeout = timeout
        self.retry_policy = retry_policy or RetryPolicy()

    def __repr__(self) -> str:
        return f"SeedanceHook(seedance_conn_id={self.seedance_conn_id!r})"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Legacy form behaviour; the same data is declared in ``get_provider_info()``."""
        from airflow_provider_seedance.get_provider_info import CONNECTION_UI_FIELD_BEHAVIOUR

        return CONNECTION_UI_FIELD_BEHAVIOUR

    # -- configuration -------------------------------------------------------------------
    def config_from_connection(self, conn: Connection) -> SeedanceConnectionConfig:
        """Pure: read a connection into a :class:`SeedanceConnectionConfig`, with clear errors.

        Every problem is reported at once, before any request: an extra that is not a JSON
        object (Airflow would read it as ``{}``, i.e. fal), an unknown or non-string platform, a
        timeout that is not a finite positive number, an ``allow_fallbacks`` that is not a JSON
        bool, a missing key or one that cannot be sent in a header. The key is never quoted.
        """
        prefix = f"connection {self.seedance_conn_id!r}"
        errors: list[FieldError] = []
        extra = _extra_of(conn)
        if extra is None:
            errors.append(
                FieldError(
                    f"{prefix} extra",
                    "is not a JSON object (Airflow would read it as {} and use fal.ai): fix its JSON, "
                    'e.g. {"platform": "byteplus"}',
                )
            )
            extra = {}
        raw_platform = extra.get("platform")
        platform = DEFAULT_PLATFORM
        if raw_platform is not None and not isinstance(raw_platform, str):
            errors.append(
                FieldError(
                    f"{prefix} extra.platform",
                    f"must be a string, one of {', '.join(PLATFORMS)}; got {type(raw_platform).__name__}",
                )
            )
        elif raw_platform and raw_platform.strip():
            platform = raw_platform.strip().lower()
            if platform not in PLATFORMS:
                errors.append(
                    FieldError(
                        f"{prefix} extra.platform", f"must be one of {', '.join(PLATFORMS)}, got {platform!r}"
                    )
                )
        api_key = ""
        if not conn.password:
            errors.append(FieldError(f"{prefix} password", "must hold the platform's API key"))
        else:
            try:
                api_key = clean_api_key(str(conn.password), f"{prefix} password")
            except SeedanceValidationError as exc:
                errors.extend(exc.errors)
        timeout, problem = self._timeout_of(extra, prefix)
        if problem is not None:
            errors.append(problem)
        allow_fallbacks = extra.get("allow_fallbacks", False)
        if not isinstance(allow_fallbacks, bool):
            errors.append(
                FieldError(
                    f"{prefix} extra.allow_fallbacks",
                    f"must be true or false (a JSON bool), got {type(allow_fallbacks).__name__}",
                )
            )
            allow_fallbacks = False
        base_url = _base_url_from(conn)
        if base_url is not None and not _is_http_url(base_url):
            errors.append(
                FieldError(f"{prefix} host", f"must be an http(s) URL or a host name, got {conn.host!r}")
            )
        options: dict[str, Any] = {}
        try:
            options = dialect_options(extra)
        except SeedanceValidationError as exc:
            errors.extend(
                FieldError(f"connection {self.seedance_conn_id!r} {e.field}", e.message) for e in exc.errors
            )
        preflight = _optional_bool(extra.get("preflight"))
        if preflight is _INVALID:
            errors.append(
                FieldError(f"connection {self.seedance_conn_id!r} extra.preflight", "must be true or false")
            )
        staging_uri = str(extra.get("staging_uri") or "").strip() or None
        if errors:
            raise SeedanceValidationError(errors)
        return SeedanceConnectionConfig(
            platform=platform,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            allow_fallbacks=allow_fallbacks,
            model_overrides=options.get("model_overrides"),
            preflight=preflight if isinstance(preflight, bool) else None,
            staging_uri=staging_uri,
        )

    def _timeout_of(self, extra: dict[str, Any], prefix: str) -> tuple[float, FieldError | None]:
        """The request timeout (the hook's argument, else the extra's), or the problem with it."""
        raw: Any
        if self.timeout is not None:
            field_name, raw = "timeout", self.timeout
        else:
            field_name, raw = f"{prefix} extra.timeout", extra.get("timeout")
        if raw is None or raw == "":
            return DEFAULT_TIMEOUT, None
        value: Any = raw
        if isinstance(raw, str):
            try:
                value = float(raw)
            except ValueError:
                value = raw
        if seconds_problem(field_name, value) is not None:
            return DEFAULT_TIMEOUT, FieldError(
                field_name, f"must be a positive number of seconds (finite, at most 366 days), got {raw!r}"
            )
        return float(value), None

    @cached_property
    def config(self) -> SeedanceConnectionConfig:
        """The connection's configuration, read once (sync; never call from a trigger's event loop)."""
        return self.config_from_connection(self.get_connection(self.seedance_conn_id))

    async def aget_config(self) -> SeedanceConnectionConfig:
        """The connection's configuration, read without blocking the event loop."""
        if "config" in self.__dict__:
            return self.__dict__["config"]
        config = await self._read_config()
        self.__dict__["config"] = config
        return config

    @property
    def platform(self) -> str:
        return self.config.platform

    def _client_kwargs(self, config: SeedanceConnectionConfig) -> dict[str, Any]:
        return {
            "api_key": config.api_key,
            "platform": config.platform,
            "base_url": config.base_url,
            "timeout": config.timeout,
            "retry": self.retry_policy,
            "allow_fallbacks": config.allow_fallbacks,
            "model_overrides": config.model_overrides,
        }

    # -- clients -------------------------------------------------------------------------
    @cached_property
    def client(self) -> SeedanceClient:
        """A blocking client for workers; closed by :meth:`close`."""
        return SeedanceClient(**self._client_kwargs(self.config))

    def get_conn(self) -> SeedanceClient:
        return self.client

    def close(self) -> None:
        if "client" in self.__dict__:
            self.__dict__.pop("client").close()

    def _config_key(self) -> tuple[str, float | None]:
        """What a connection read depends on: the connection id and the hook's timeout override."""
        return (self.seedance_conn_id, self.timeout)

    async def _read_config(self) -> SeedanceConnectionConfig:
        return self.config_from_connection(await self.aget_connection(self.seedance_conn_id))

    async def aget_shared_config(self) -> SeedanceConnectionConfig:
        """The connection's configuration, one read shared by the running loop's hooks for a while.

        A triggerer starting 10,000 triggers of one connection reads it once, not 10,000 times
        (:func:`airflow_provider_seedance.client.pool.cached_config`, a 30 s single-flight cache):
        a rotated key or an edited connection is picked up by the runs that start after that,
        and at once after :meth:`forget_shared_config` (a poll refused with 401/403).
        """
        if "config" in self.__dict__:  # read (or set) on this hook already
            return self.__dict__["config"]
        from airflow_provider_seedance.client.pool import cached_config

        config = await cached_config(self._config_key(), self._read_config)
        self.__dict__["config"] = config
        return config

    def forget_shared_config(self) -> None:
        """Drop this hook's configuration and, if still cached, the shared read it came from."""
        from airflow_provider_seedance.client.pool import forget_config

        stale = self.__dict__.pop("config", None)
        if stale is not None:
            forget_config(self._config_key(), stale)

    @contextlib.asynccontextmanager
    async def async_client(self) -> AsyncIterator[AsyncSeedanceClient]:
        """An async client for the duration of the block, over the running loop's shared HTTP pool.

        Every trigger of one connection identity (platform, base URL, timeout, key) in a triggerer
        shares one keep-alive pool (:mod:`airflow_provider_seedance.client.pool`): sockets stay
        bounded by the pool, not by the number of waiting jobs, and a rotated key gets a new pool.
        The connection is read through :meth:`aget_shared_config`.
        """
        from airflow_provider_seedance.client.pool import pooled_async_client

        async with pooled_async_client(**self._client_kwargs(await self.aget_shared_config())) as client:
            yield client

    def get_http_client(self) -> httpx.Client:
        """A plain HTTP client without platform credentials (media downloads); the caller closes it.

        Its timeout is the connection's (the hook's ``timeout``, else the extra ``timeout``); without
        a connection (a download only, no platform call) it is the default.
        """
        timeout = self.timeout
        if timeout is None:
            try:
                timeout = self.config.timeout
            except AirflowNotFoundException:
                timeout = DEFAULT_TIMEOUT
        return httpx.Client(**http_client_kwargs(timeout), headers={"User-Agent": USER_AGENT})

    # -- operations (sync) ---------------------------------------------------------------
    def build_request(
        self, mode: Mode | str = Mode.REFERENCE_TO_VIDEO, *, references_resolved: bool = True, **inputs: Any
    ) -> SeedanceRequest:
        """Validate ``mode``'s inputs against the shared limits and this connection's platform
        (the mode and tier sold, the resolution). No HTTP.

        A request built here may be submitted with ``submit(request, checked=True)``.
        ``references_resolved=False`` validates the references as the user gave them (gs://,
        local paths), before :func:`~.client.references.prepare_references` resolves them;
        such a request is for checking only, never for submitting.
        """
        request = build_request(mode, **inputs)
        errors = self.client.dialect.check(request, references_resolved=references_resolved)
        if errors:
            raise SeedanceValidationError(errors)
        return request

    def submit(self, request: SeedanceRequest, *, checked: bool = False) -> JobRef:
        """Submit once; ``checked=True`` when :meth:`build_request` already validated ``request``."""
        return self.client.submit(request, checked=checked)

    def get_status(self, ref: JobRef) -> JobStatus:
        return self.client.status(ref)

    def get_result(self, ref: JobRef) -> JobResult:
        return self.client.result(ref)

    def cancel(self, ref: JobRef) -> CancelOutcome:
        return self.client.cancel(ref)

    def job_url(self, ref: JobRef) -> str | None:
        """The job's page on the platform's website, where one exists (never for another platform)."""
        dialect = self.client.dialect
        return dialect.job_url(ref) if ref.platform == self.platform else None

    # -- operations (async) --------------------------------------------------------------
    async def acancel(self, ref: JobRef) -> CancelOutcome:
        """Cancel from the triggerer (a user's kill): one client, for this one call."""
        async with self.async_client() as client:
            return await client.cancel(ref)

    # -- connection test -----------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        """Make a cheap authenticated call that never submits a paid job."""
        try:
            config = self.config
        except AirflowNotFoundException:
            return False, f"The connection {self.seedance_conn_id!r} is not defined."
        except SeedanceError as exc:
            return False, str(exc)
        try:
            probe_retry = dataclasses.replace(
                self.retry_policy, max_attempts=min(2, self.retry_policy.max_attempts)
            )
            with SeedanceClient(**{**self._client_kwargs(config), "retry": probe_retry}) as client:
                client.probe()
        except SeedanceAuthError as exc:
            return False, f"The API key was rejected: {exc}"
        except SeedanceError as exc:
            return False, str(exc)
        return True, f"Connected to {client.dialect.label} at {client.base_url}; the API key was accepted."
