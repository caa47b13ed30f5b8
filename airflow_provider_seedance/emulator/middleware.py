"""Outermost ASGI layer: names each request's route (:func:`.routes.classify`), records it, and
injects transport faults.

It sits *outside* FastAPI so that it sees uvicorn's own ``send`` and can really drop a
connection (abort the transport) or cut a body short after promising a ``Content-Length``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from airflow_provider_seedance.emulator.errors import error_body
from airflow_provider_seedance.emulator.faults import TRANSPORT_KINDS, Fault
from airflow_provider_seedance.emulator.routes import classify
from airflow_provider_seedance.emulator.state import SECRET_HEADERS, EmulatorState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("airflow_provider_seedance.emulator")


def _scheme_only(value: str) -> str:
    """The auth scheme word (``Key``/``Bearer``), never any part of a credential."""
    scheme, sep, _ = value.strip().partition(" ")
    if sep and scheme.lower() in ("key", "bearer", "basic", "token"):
        return scheme
    return "(malformed)"


#: The body a ``garbage`` fault sends instead of the real one.
GARBAGE_BODY = b"\x00\xffgarbage<html>{not json"


class _Stop(Exception):
    """Raised into the app once a fault has taken over the connection."""


def _connection(send: Send) -> Any:
    """uvicorn's per-request cycle object (has ``transport`` and ``disconnected``), if any."""
    return getattr(send, "__self__", None)


async def _close(send: Send, *, abort: bool) -> None:
    cycle = _connection(send)
    transport = getattr(cycle, "transport", None)
    if transport is None:  # pragma: no cover - non-uvicorn server
        raise _Stop
    if abort:
        transport.abort()
    else:
        transport.close()  # flushes what was written, then closes
    for _ in range(200):  # let connection_lost run so uvicorn does not log an error
        if getattr(cycle, "disconnected", True) or getattr(cycle, "response_complete", False):
            break
        await asyncio.sleep(0.005)


class EmulatorMiddleware:
    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_emulator"):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        path: str = scope["path"]
        platform, route = classify(method, path)

        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        entry = self._record(scope, platform, route, body)
        refusal = self.state.limits.refusal(platform, route, self.state, time.monotonic())
        if refusal is not None:  # an account limit: 429 before the app sees the request
            limit = Fault(route, "status", status=429, retry_after=refusal.retry_after, error=refusal.error)
            await self._send_status_fault(send, platform, limit, entry)
            return
        fault = self.state.faults.take(route, TRANSPORT_KINDS)
        if fault is not None:
            entry["fault"] = {"id": fault.id, "kind": fault.kind}
        if fault is not None and fault.kind == "status":
            await self._send_status_fault(send, platform, fault, entry)
            return

        stopped = False
        sent = 0
        cut: int | None = None
        garbage = fault is not None and fault.kind == "garbage"
        garbage_sent = False

        async def wrapped_send(message: Message) -> None:
            nonlocal stopped, sent, cut, garbage_sent
            if stopped:
                raise _Stop
            if garbage and message["type"] == "http.response.body":
                if not garbage_sent:
                    garbage_sent = True
                    await send({"type": "http.response.body", "body": GARBAGE_BODY, "more_body": False})
                return  # the real body is swallowed
            if message["type"] == "http.response.start":
                entry["status_code"] = message["status"]
                if garbage:
                    headers = [
                        (n, v) for n, v in message.get("headers", []) if n.lower() != b"content-length"
                    ]
                    headers.append((b"content-length", str(len(GARBAGE_BODY)).encode()))
                    message = {**message, "headers": headers}
                if fault is not None and fault.kind == "delay":
                    await asyncio.sleep(fault.delay or 0)
                elif fault is not None and fault.kind == "drop":
                    stopped = True
                    await _close(send, abort=True)
                    raise _Stop
                elif fault is not None and fault.kind == "truncate":
                    length = None
                    for name, value in message.get("headers", []):
                        if name.lower() == b"content-length":
                            length = int(value)
                    cut = max(0, (length or 2) // 2)
            elif message["type"] == "http.response.body" and cut is not None:
                data = message.get("body", b"")
                keep = data[: max(0, cut - sent)]
                sent += len(keep)
                if sent >= cut or not message.get("more_body", False):
                    if keep:
                        await send({"type": "http.response.body", "body": keep, "more_body": True})
                    stopped = True
                    await _close(send, abort=False)
                    raise _Stop
                message = {"type": "http.response.body", "body": keep, "more_body": True}
            await send(message)

        try:
            await self.app(scope, replay, wrapped_send)
        except Exception:
            if not stopped:
                raise

    def _record(self, scope: Scope, platform: str | None, route: str, body: bytes) -> dict[str, Any]:
        headers = {}
        auth_scheme = None
        for raw_name, raw_value in scope.get("headers", []):
            name = raw_name.decode("latin-1").lower()
            if name == "authorization":
                auth_scheme = _scheme_only(raw_value.decode("latin-1"))
            if name in SECRET_HEADERS:
                continue
            headers[name] = raw_value.decode("latin-1")
        parsed: Any = None
        if body:
            with contextlib.suppress(ValueError):
                parsed = json.loads(body)
        return self.state.log_request(
            {
                "method": scope["method"],
                "path": scope["path"],
                "query": scope.get("query_string", b"").decode("latin-1"),
                "route": route,
                "platform": platform,
                "auth_scheme": auth_scheme,
                "headers": headers,
                "json": parsed,
                "body_size": len(body),
                "status_code": None,
                "fault": None,
            }
        )

    async def _send_status_fault(
        self, send: Send, platform: str | None, fault: Fault, entry: dict[str, Any]
    ) -> None:
        status = int(fault.status or 503)
        if fault.body is not None:
            payload: Any = fault.body
            headers: dict[str, str] = {}
        else:
            payload, headers = error_body(platform, status, None, error=fault.error)
        if fault.retry_after is not None:
            value = fault.retry_after
            headers["Retry-After"] = str(int(value)) if float(value).is_integer() else str(value)
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        content_type = b"text/plain; charset=utf-8" if isinstance(payload, str) else b"application/json"
        raw_headers = [(b"content-type", content_type), (b"content-length", str(len(data)).encode())]
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        entry["status_code"] = status
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": data, "more_body": False})
