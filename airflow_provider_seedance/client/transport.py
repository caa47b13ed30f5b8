"""Sync and async Seedance clients over httpx, running the same dialect code.

Each public method is one dialect call description, one parse function and one retry policy;
only the line that performs the HTTP exchange differs between :class:`SeedanceClient` (worker)
and :class:`AsyncSeedanceClient` (triggerer).
"""

from __future__ import annotations

import enum
import functools
import ssl
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

import httpx
from pydantic import BaseModel
from tenacity import AsyncRetrying, Retrying

from airflow_provider_seedance import __version__
from airflow_provider_seedance.client.checks import clean_api_key
from airflow_provider_seedance.client.errors import (
    FieldError,
    SeedanceAmbiguousSubmitError,
    SeedanceAPIError,
    SeedanceError,
    SeedanceProtocolError,
    SeedanceServerError,
    SeedanceTransportError,
    SeedanceValidationError,
    redact,
)
from airflow_provider_seedance.client.platforms import get_dialect
from airflow_provider_seedance.client.platforms.base import Dialect, HttpRequest, HttpResponse, Operation
from airflow_provider_seedance.client.retry import RetryPolicy

if TYPE_CHECKING:
    from airflow_provider_seedance.client.models import (
        CancelOutcome,
        JobRef,
        JobResult,
        JobStatus,
        SeedanceRequest,
    )

T = TypeVar("T")

USER_AGENT = f"airflow-provider-seedance/{__version__}"
DEFAULT_TIMEOUT = 60.0

#: httpx errors raised before a byte of the request was sent: safe to re-send a submit.
#: ``LocalProtocolError``: h11 refused to write the request (an illegal header value, such as a
#: key with a line break); it raises before writing the header block.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)


def build_timeout(timeout: float) -> httpx.Timeout:
    return httpx.Timeout(timeout, connect=min(timeout, 15.0))


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context per process, shared by every client.

    Building a context loads the CA bundle (about 40 ms of CPU and 0.85 MB each): a triggerer
    running thousands of deferred jobs must not pay that per trigger, on its event loop.
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` are honoured, as httpx does by default.
    """
    return httpx.create_ssl_context(trust_env=True)


def http_client_kwargs(timeout: float) -> dict[str, Any]:
    """Keyword arguments for every ``httpx.Client`` / ``httpx.AsyncClient`` this package creates."""
    return {"timeout": build_timeout(timeout), "follow_redirects": True, "verify": shared_ssl_context()}


class _ClientBase:
    """What the sync and async clients share: configuration, validation and error mapping."""

    def __init__(
        self,
        *,
        api_key: str,
        platform: str = "fal",
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        allow_fallbacks: bool = False,
        model_overrides: Mapping[str, str] | None = None,
    ) -> None:
        if not api_key:
            raise SeedanceValidationError(
                [
                    FieldError(
                        "api_key", "is empty: set the password of the Seedance connection to the API key"
                    )
                ]
            )
        api_key = clean_api_key(api_key, "api_key")
        self.dialect: Dialect = get_dialect(
            platform, base_url, allow_fallbacks=allow_fallbacks, model_overrides=model_overrides
        )
        self.platform = platform
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.__api_key = api_key

    def __repr__(self) -> str:
        return f"{type(self).__name__}(platform={self.platform!r}, base_url={self.dialect.base_url!r})"

    @property
    def base_url(self) -> str:
        return self.dialect.base_url

    def _headers(self) -> dict[str, str]:
        return {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            **self.dialect.auth_headers(self.__api_key),
        }

    def _request_args(self, call: HttpRequest) -> dict[str, Any]:
        """``httpx.Client.request`` keywords for one call: the dialect's call plus our headers, the
        URL with its params parsed once per distinct URL (:func:`_url_of`)."""
        headers = {**self._headers(), **call.headers}
        return {"method": call.method, "url": _url_of(call), "json": call.json, "headers": headers}

    def check(self, request: SeedanceRequest) -> None:
        """Raise :class:`SeedanceValidationError` for limits this platform adds to the shared model."""
        errors = self.dialect.check(request)
        if errors:
            raise SeedanceValidationError(errors)

    def _transport_error(self, op: Operation, call: HttpRequest, exc: httpx.HTTPError) -> SeedanceError:
        sent = not isinstance(exc, _NOT_SENT)
        kind = type(exc).__name__
        text = redact(str(exc), self.__api_key) or kind
        message = f"{self.dialect.label} {op.value} {call.method} {call.url} failed: {kind}: {text}"
        if op is Operation.SUBMIT and sent:
            return self._ambiguous(kind, message)
        return SeedanceTransportError(message, request_sent=sent)

    def _ambiguous(self, cause: str, message: str) -> SeedanceAmbiguousSubmitError:
        return SeedanceAmbiguousSubmitError(
            f"The submit request reached {self.dialect.label} but its outcome is unknown ({message}). "
            "A job may have been created and billed. It was NOT re-sent: check the platform's request "
            "list or dashboard before submitting again.",
            platform=self.platform,
            cause=cause,
        )

    def _parse(self, op: Operation, response: HttpResponse, parse: Callable[[HttpResponse], T]) -> T:
        try:
            try:
                return self._redacted(parse(response))
            except SeedanceError:
                raise
            except Exception as exc:
                # Last guard: whatever a parser trips over in an answer is a protocol error,
                # never a bare TypeError / RecursionError leaving the client (issue 10, defect 8).
                raise SeedanceProtocolError(
                    f"{self.dialect.label} answered {op.value} with HTTP {response.status_code} and a "
                    f"body this client cannot read ({type(exc).__name__}): {response.excerpt()!r}",
                    status_code=response.status_code,
                ) from None
        except SeedanceError as exc:
            # A platform may echo the key in an error body ("invalid key sk-..."): scrub it.
            self._scrub(exc)
            # A submit the platform may have acted on: a 5xx, or a 2xx this client cannot use
            # (a job may exist; its id is unknown). Never a clean failure: never re-sent.
            if op is Operation.SUBMIT and (
                isinstance(exc, SeedanceServerError) or 200 <= response.status_code < 300
            ):
                raise self._ambiguous(f"HTTP {response.status_code}", str(exc)) from exc
            raise

    def _redacted(self, value: T) -> T:
        """``value`` with the key redacted from every string in it: the one guard for what a
        platform returns (a failed job's ``error`` echoing the key, its logs, result texts)."""
        return cast(T, _redact_value(value, self.__api_key))

    def _scrub(self, exc: SeedanceError) -> None:
        """Remove the API key from an error's message and detail, in place."""
        if exc.args and isinstance(exc.args[0], str):
            exc.args = (redact(exc.args[0], self.__api_key), *exc.args[1:])
        if isinstance(exc, SeedanceAPIError) and isinstance(exc.detail, str):
            exc.detail = redact(exc.detail, self.__api_key)

    def _label(self) -> str:
        return self.dialect.label


def _redact_value(value: object, key: str) -> object:
    """A copy of ``value`` (a model, tuple, list, dict or str) with ``key`` redacted from its strings.

    Enums (states, outcomes) and numbers are left as they are; an unchanged value is returned
    as is (no copy).
    """
    if isinstance(value, enum.Enum) or not isinstance(value, str | tuple | list | dict | BaseModel):
        return value
    if isinstance(value, str):
        return redact(value, key)
    if isinstance(value, tuple | list):
        items = [_redact_value(item, key) for item in value]
        changed = any(new is not old for new, old in zip(items, value, strict=True))
        return type(value)(items) if changed else value
    if isinstance(value, dict):
        pairs = {k: _redact_value(v, key) for k, v in value.items()}
        return pairs if any(pairs[k] is not v for k, v in value.items()) else value
    update = {}
    for name in type(value).model_fields:
        old = getattr(value, name)
        new = _redact_value(old, key)
        if new is not old:
            update[name] = new
    return value.model_copy(update=update) if update else value


@functools.lru_cache(maxsize=4096)
def _parsed_url(url: str, params: tuple[tuple[str, str], ...]) -> httpx.URL:
    """``url`` with ``params`` merged in, parsed once (httpx.URL is immutable, safe to share).

    A trigger polls the same status URL every few seconds; httpx parses a ``str`` URL (and again
    to merge ``params``) on every request, a tenth of the CPU of a keep-alive poll.
    """
    parsed = httpx.URL(url)
    return parsed.copy_merge_params(dict(params)) if params else parsed


def _url_of(call: HttpRequest) -> httpx.URL:
    params = tuple(call.params.items()) if call.params else ()
    try:
        return _parsed_url(call.url, params)
    except TypeError:  # an unhashable parameter value: parse it for this call only
        return _parsed_url.__wrapped__(call.url, params)


def _to_response(response: httpx.Response) -> HttpResponse:
    return HttpResponse(
        status_code=response.status_code,
        headers={k.lower(): v for k, v in response.headers.items()},
        content=response.content,
    )


class SeedanceClient(_ClientBase):
    """Blocking client, for workers. Use as a context manager or call :meth:`close`."""

    def __init__(self, *, http_client: httpx.Client | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(**http_client_kwargs(self.timeout))

    def __enter__(self) -> SeedanceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def _run(self, op: Operation, call: HttpRequest, parse: Callable[[HttpResponse], T]) -> T:
        for attempt in Retrying(**self.retry.tenacity_kwargs(op, self._label())):
            with attempt:
                try:
                    raw = self._http.request(**self._request_args(call))
                except httpx.HTTPError as exc:
                    raise self._transport_error(op, call, exc) from None
                return self._parse(op, _to_response(raw), parse)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    def submit(self, request: SeedanceRequest, *, checked: bool = False) -> JobRef:
        """Submit a job once. Never re-sent after the request may have reached the server.

        ``checked=True`` skips :meth:`check` for a request the caller already checked on this client.
        """
        if not checked:
            self.check(request)
        call = self.dialect.build_submit(request)
        return self._run(Operation.SUBMIT, call, lambda r: self.dialect.parse_submit(request, r))

    def status(self, ref: JobRef) -> JobStatus:
        return self._run(
            Operation.STATUS, self.dialect.build_status(ref), lambda r: self.dialect.parse_status(ref, r)
        )

    def result(self, ref: JobRef) -> JobResult:
        return self._run(
            Operation.RESULT, self.dialect.build_result(ref), lambda r: self.dialect.parse_result(ref, r)
        )

    def cancel(self, ref: JobRef) -> CancelOutcome:
        """Run the dialect's cancel plan (look-before-cancel where the platform needs it)."""
        plan = self.dialect.plan_cancel(ref)
        for step in plan.steps:
            if (outcome := self._run(step.op, step.call, step.decide)) is not None:
                return outcome
        return plan.otherwise

    def probe(self) -> None:
        """A cheap authenticated call; raises :class:`SeedanceAuthError` for a bad key."""
        self._run(Operation.PROBE, self.dialect.build_probe(), self.dialect.parse_probe)


class AsyncSeedanceClient(_ClientBase):
    """Non-blocking client, for triggers. Use as an async context manager or call :meth:`aclose`."""

    def __init__(self, *, http_client: httpx.AsyncClient | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(**http_client_kwargs(self.timeout))

    async def __aenter__(self) -> AsyncSeedanceClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def _run(self, op: Operation, call: HttpRequest, parse: Callable[[HttpResponse], T]) -> T:
        async for attempt in AsyncRetrying(**self.retry.tenacity_kwargs(op, self._label())):
            with attempt:
                try:
                    raw = await self._http.request(**self._request_args(call))
                except httpx.HTTPError as exc:
                    raise self._transport_error(op, call, exc) from None
                return self._parse(op, _to_response(raw), parse)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    async def submit(self, request: SeedanceRequest, *, checked: bool = False) -> JobRef:
        """Submit a job once. Never re-sent after the request may have reached the server.

        ``checked=True`` skips :meth:`check` for a request the caller already checked on this client.
        """
        if not checked:
            self.check(request)
        call = self.dialect.build_submit(request)
        return await self._run(Operation.SUBMIT, call, lambda r: self.dialect.parse_submit(request, r))

    async def status(self, ref: JobRef) -> JobStatus:
        return await self._run(
            Operation.STATUS, self.dialect.build_status(ref), lambda r: self.dialect.parse_status(ref, r)
        )

    async def result(self, ref: JobRef) -> JobResult:
        return await self._run(
            Operation.RESULT, self.dialect.build_result(ref), lambda r: self.dialect.parse_result(ref, r)
        )

    async def cancel(self, ref: JobRef) -> CancelOutcome:
        """Run the dialect's cancel plan (look-before-cancel where the platform needs it)."""
        plan = self.dialect.plan_cancel(ref)
        for step in plan.steps:
            if (outcome := await self._run(step.op, step.call, step.decide)) is not None:
                return outcome
        return plan.otherwise

    async def probe(self) -> None:
        await self._run(Operation.PROBE, self.dialect.build_probe(), self.dialect.parse_probe)
