"""fal.ai file storage, the flow ``fal_client.upload_file`` uses (api-dialects §1.9).

* ``fal.storage_token``: ``POST /storage/auth/token?storage_type=fal-cdn-v3`` with
  ``Authorization: Key <key>`` (checked like every fal route) answers
  ``{token, token_type: "Bearer", base_url, expires_at}``; ``base_url`` is this emulator's
  ``/fal-cdn`` (fal's is ``https://v3.fal.media``).
* ``fal.storage_upload``: ``POST {base_url}/files/upload`` with ``Authorization: Bearer <token>``
  (a token this emulator issued and that has not expired, else 401), the raw bytes as the body,
  ``Content-Type``, ``X-Fal-File-Name`` and ``X-Fal-Object-Lifecycle:
  {"expiration_duration_seconds": N}`` answers ``{"access_url": "<root>/fal-cdn/files/<id>/<name>"}``.
* ``fal.storage_file``: ``GET`` / ``HEAD`` of an access URL serves the bytes (``Range``: 206 /
  416); an unknown or expired file is a 404.

Files live in the emulator's memory, bounded: at most :data:`MAX_FILE_BYTES` per file (413) and
:data:`MAX_TOTAL_BYTES` in all (507 until a reset or until files expire). Expiry follows the
emulator clock (``/_emulator/clock/advance`` expires tokens and files). The multipart upload (files
over 100 MB) and the ``storage/upload/initiate`` fallback are not emulated.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.requests import Request  # noqa: TC002 - FastAPI resolves it at run time
from starlette.responses import JSONResponse, Response

from airflow_provider_seedance.byte_ranges import plan_range
from airflow_provider_seedance.emulator.auth import require_auth
from airflow_provider_seedance.emulator.incoming import root_url
from airflow_provider_seedance.emulator.responses import error_response, json_response
from airflow_provider_seedance.emulator.state import EmulatorState, get_state

if TYPE_CHECKING:
    from airflow_provider_seedance.emulator.routes import Handlers

#: Where the emulated CDN lives under the emulator's root (the token's ``base_url``).
CDN_PREFIX = "/fal-cdn"
#: fal's single-shot upload limit (larger files go multipart, which is not emulated).
MAX_FILE_BYTES = 100 * 1024 * 1024
#: All stored files together.
MAX_TOTAL_BYTES = 512 * 1024 * 1024
#: Lifetime of an upload token (fal's is not documented; the client caches it until ``expires_at``).
TOKEN_SECONDS = 3600.0
_EXTENSION = "fal_storage"


@dataclass
class StoredFile:
    file_id: str
    name: str
    content_type: str
    data: bytes = field(repr=False)
    expires_at: float | None  # emulator wall time


@dataclass
class FalStore:
    """Tokens and files of the emulated fal storage (one per emulator state, cleared on reset)."""

    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (emulator wall time)
    files: dict[str, StoredFile] = field(default_factory=dict)

    def live_file(self, file_id: str, now: float) -> StoredFile | None:
        stored = self.files.get(file_id)
        if stored is not None and stored.expires_at is not None and now >= stored.expires_at:
            del self.files[file_id]
            return None
        return stored

    def used_bytes(self, now: float) -> int:
        for file_id in list(self.files):
            self.live_file(file_id, now)
        return sum(len(f.data) for f in self.files.values())


def store_of(state: EmulatorState) -> FalStore:
    """The fal storage of ``state`` (created on first use; :meth:`.EmulatorState.reset` drops it)."""
    store = state.extensions.get(_EXTENSION)
    if not isinstance(store, FalStore):
        store = state.extensions[_EXTENSION] = FalStore()
    return store


def file_of_url(state: EmulatorState, path: str) -> StoredFile | None:
    """The live stored file an access-URL path (``/fal-cdn/files/<id>/<name>``) names, if any."""
    parts = path.split("/")
    if len(parts) != 5 or f"/{parts[1]}" != CDN_PREFIX or parts[2] != "files":
        return None
    return store_of(state).live_file(parts[3], state.clock.wall())


def _iso(unix: float) -> str:
    return dt.datetime.fromtimestamp(unix, tz=dt.timezone.utc).isoformat(timespec="seconds")


async def issue_token(request: Request) -> JSONResponse:
    require_auth(request, "fal")
    state = get_state(request)
    storage_type = request.query_params.get("storage_type", "fal-cdn-v3")
    if storage_type != "fal-cdn-v3":
        return error_response(
            "fal", 400, f"Unsupported storage_type {storage_type!r}; the emulator serves fal-cdn-v3"
        )
    token = secrets.token_urlsafe(24)
    expires = state.clock.wall() + TOKEN_SECONDS
    store = store_of(state)
    now = state.clock.wall()
    for old in [t for t, exp in store.tokens.items() if exp <= now]:
        del store.tokens[old]
    store.tokens[token] = expires
    return json_response(
        {
            "token": token,
            "token_type": "Bearer",
            "base_url": root_url(request) + CDN_PREFIX,
            "expires_at": _iso(expires),
        }
    )


def _token_problem(request: Request, store: FalStore, now: float) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "Missing upload token; expected 'Authorization: Bearer <token>' from /storage/auth/token"
    expires = store.tokens.get(token.strip())
    if expires is None:
        return "Unknown upload token"
    if now >= expires:
        return "The upload token has expired"
    return None


def _lifetime(header: str | None) -> float | None:
    """``expiration_duration_seconds`` of ``X-Fal-Object-Lifecycle``; ValueError when malformed."""
    if not header:
        return None
    value = json.loads(header).get("expiration_duration_seconds")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError("expiration_duration_seconds must be a positive number")
    return float(value)


def _file_name(header: str | None, content_type: str) -> str:
    name = (header or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or name in (".", ".."):
        name = (
            "file.bin" if "/" not in content_type else f"file.{content_type.split('/', 1)[1].split(';')[0]}"
        )
    return name


async def upload(request: Request) -> JSONResponse:
    state = get_state(request)
    store = store_of(state)
    now = state.clock.wall()
    if (problem := _token_problem(request, store, now)) is not None:
        return error_response("fal", 401, problem)
    announced = request.headers.get("content-length")
    if announced is not None and announced.isdigit() and int(announced) > MAX_FILE_BYTES:
        return error_response(
            "fal", 413, f"File larger than {MAX_FILE_BYTES} bytes; use the multipart upload"
        )
    data = await request.body()
    if len(data) > MAX_FILE_BYTES:
        return error_response(
            "fal", 413, f"File larger than {MAX_FILE_BYTES} bytes; use the multipart upload"
        )
    if store.used_bytes(now) + len(data) > MAX_TOTAL_BYTES:
        return error_response("fal", 507, f"The emulator's fal storage is full ({MAX_TOTAL_BYTES} bytes)")
    try:
        lifetime = _lifetime(request.headers.get("x-fal-object-lifecycle"))
    except (ValueError, AttributeError) as exc:
        return error_response("fal", 400, f"Invalid X-Fal-Object-Lifecycle header: {exc}")
    content_type = request.headers.get("content-type") or "application/octet-stream"
    name = _file_name(request.headers.get("x-fal-file-name"), content_type)
    file_id = uuid.uuid4().hex
    store.files[file_id] = StoredFile(
        file_id, name, content_type, data, None if lifetime is None else now + lifetime
    )
    return json_response({"access_url": f"{root_url(request)}{CDN_PREFIX}/files/{file_id}/{quote(name)}"})


async def serve_file(request: Request, file_id: str, name: str) -> Response:
    state = get_state(request)
    stored = store_of(state).live_file(file_id, state.clock.wall())
    if stored is None or stored.name != name:
        return error_response("fal", 404, "File not found")
    plan = plan_range(request.headers.get("range"), len(stored.data))
    if not plan.satisfiable:
        return Response(status_code=416, headers=plan.headers)
    headers = {
        "Content-Type": stored.content_type,
        "ETag": f'"{file_id}"',
        "Cache-Control": "public, max-age=31536000, immutable",
        **plan.headers,
    }
    if request.method == "HEAD":
        return Response(status_code=plan.status, headers=headers)
    return Response(stored.data[plan.start : plan.end + 1], status_code=plan.status, headers=headers)


#: route name -> handler (see :data:`.routes.ROUTES`)
HANDLERS: Handlers = {
    "fal.storage_token": issue_token,
    "fal.storage_upload": upload,
    "fal.storage_file": serve_file,
}
