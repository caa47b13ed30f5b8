"""Where local reference files are uploaded so the platform can fetch them. Airflow-free.

* :class:`FalStorage` -- fal.ai's own file storage, the flow ``fal_client.upload_file`` uses,
  written with httpx against a configurable REST base URL (so the Seedance emulator can serve
  it): ``POST {rest}/storage/auth/token?storage_type=fal-cdn-v3`` (``Authorization: Key …``,
  body ``{}``) answers ``{token, token_type, base_url, expires_at}``; then
  ``POST {base_url}/files/upload`` with the raw bytes (streamed from disk), ``Authorization:
  <token_type> <token>``, ``Content-Type``, ``X-Fal-File-Name`` and ``X-Fal-Object-Lifecycle:
  {"expiration_duration_seconds": N}`` answers ``{"access_url": …}``. fal's storage offers no
  lookup by content, so :class:`FalStorage` remembers ``sha256 -> access_url`` in an
  :class:`UploadCache` (a directory shared by the workers, or memory) and reuses a URL while it
  has at least the needed lifetime left.
* :class:`GCSStaging` -- a staging prefix the user names (``gs://bucket/prefix/``). The object
  name holds the file's SHA-256 (``<prefix><sha256>.<ext>``); an existing object is reused when
  its size and CRC32C match the file, so a grid of 500 tasks uploads a file once. New objects
  are created with ``if_generation_match=0`` and verified against the CRC32C computed while
  hashing; a mismatching object (a foreign or corrupt one) is deleted, by generation, and never
  referenced.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import mimetypes
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from airflow_provider_seedance.client.errors import ReferenceResolutionError
from airflow_provider_seedance.client.gcs import GCSObject
from airflow_provider_seedance.client.media import crc32c_b64, safe_url

if TYPE_CHECKING:
    import httpx
    from google.cloud import storage

log = logging.getLogger(__name__)

DEFAULT_FAL_REST_URL = "https://rest.fal.ai"
#: How long fal keeps an uploaded reference (then the CDN deletes it).
DEFAULT_FAL_UPLOAD_LIFETIME = timedelta(days=2)
SHA256_KEY = "seedance-sha256"
_HASH_CHUNK = 1024 * 1024
_UPLOAD_CHUNK = 4 * 256 * 1024
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass(frozen=True)
class FileDigest:
    """A local file's size, SHA-256 (hex) and CRC32C (GCS's base64 form), from one pass."""

    path: Path
    size: int
    sha256: str
    crc32c: str

    @property
    def extension(self) -> str:
        return self.path.suffix.lower().lstrip(".")

    @property
    def content_type(self) -> str:
        return mimetypes.guess_type(self.path.name)[0] or "application/octet-stream"

    @property
    def object_basename(self) -> str:
        return f"{self.sha256}.{self.extension}" if self.extension else self.sha256


def digest_file(path: Path) -> FileDigest:
    """Hash ``path`` in 1 MiB chunks (constant memory)."""
    import google_crc32c

    sha, crc, size = hashlib.sha256(), google_crc32c.Checksum(), 0
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            sha.update(chunk)
            crc.update(chunk)
            size += len(chunk)
    return FileDigest(path, size, sha.hexdigest(), crc32c_b64(crc))


def _iter_file(path: Path, size: int) -> Iterator[bytes]:
    sent = 0
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            sent += len(chunk)
            yield chunk
    if sent != size:
        raise OSError(f"{path} changed while uploading ({sent} bytes read, {size} expected)")


# -- fal.ai storage -----------------------------------------------------------------------------------


class UploadCache(Protocol):
    """Remembers ``sha256 -> (url, expires_at)`` of uploads."""

    def get(self, key: str) -> tuple[str, datetime] | None: ...

    def put(self, key: str, url: str, expires_at: datetime) -> None: ...


@dataclass
class MemoryUploadCache:
    """A per-process cache (tests, one worker)."""

    entries: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    def get(self, key: str) -> tuple[str, datetime] | None:
        return self.entries.get(key)

    def put(self, key: str, url: str, expires_at: datetime) -> None:
        self.entries[key] = (url, expires_at)


@dataclass
class DirectoryUploadCache:
    """One small JSON file per upload in ``directory`` (shared by the workers of one host or a
    shared volume); written atomically (temp file + rename), so concurrent tasks never read half
    a record. Holds the access URL, which is as sensitive as the file: keep the directory private.
    """

    directory: Path

    def _file(self, key: str) -> Path:
        return Path(self.directory) / f"{key}.json"

    def get(self, key: str) -> tuple[str, datetime] | None:
        try:
            record = json.loads(self._file(key).read_text())
            return str(record["url"]), datetime.fromisoformat(record["expires_at"])
        except (OSError, ValueError, KeyError):
            return None

    def put(self, key: str, url: str, expires_at: datetime) -> None:
        Path(self.directory).mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump({"url": url, "expires_at": expires_at.isoformat()}, f)
        os.replace(tmp, self._file(key))


@dataclass
class _Token:
    token: str = field(repr=False)
    token_type: str
    base_url: str
    expires_at: datetime


class FalStorage:
    """Uploads local files to fal.ai's file storage (see the module docstring).

    :param api_key: The fal key (sent only to ``rest_url``; the upload host gets the token).
    :param http: A plain httpx client (no platform auth headers).
    :param rest_url: fal's REST API (the emulator's base URL in tests and demos).
    :param upload_lifetime: How long fal keeps the uploaded file (``X-Fal-Object-Lifecycle``).
    :param cache: Where ``sha256 -> access_url`` is remembered.
    """

    def __init__(
        self,
        *,
        api_key: str,
        http: httpx.Client,
        rest_url: str = DEFAULT_FAL_REST_URL,
        upload_lifetime: timedelta = DEFAULT_FAL_UPLOAD_LIFETIME,
        cache: UploadCache | None = None,
        timeout: float = 120.0,
    ) -> None:
        self._api_key = api_key
        self.http = http
        self.rest_url = rest_url.rstrip("/")
        self.upload_lifetime = upload_lifetime
        self.cache: UploadCache = cache if cache is not None else MemoryUploadCache()
        self.timeout = timeout
        self._token: _Token | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FalStorage(rest_url={self.rest_url!r})"

    def _allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)

    def _get_token(self) -> _Token:
        with self._lock:
            now = datetime.now(timezone.utc)
            if self._token is not None and self._token.expires_at - timedelta(seconds=60) > now:
                return self._token
            resp = self.http.post(
                f"{self.rest_url}/storage/auth/token",
                params={"storage_type": "fal-cdn-v3"},
                json={},
                headers={"Authorization": f"Key {self._api_key}", "Accept": "application/json"},
                timeout=self.timeout,
            )
            if resp.status_code >= 400:
                raise self._http_error("getting an upload token", resp)
            try:
                data = resp.json()
                expires = datetime.fromisoformat(str(data["expires_at"]).replace("Z", "+00:00"))
                if expires.tzinfo is None:
                    expires = expires.replace(tzinfo=timezone.utc)
                token = _Token(
                    str(data["token"]), str(data["token_type"]), str(data["base_url"]).rstrip("/"), expires
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ReferenceResolutionError(
                    f"fal storage answered an unreadable token response ({type(exc).__name__})", field="fal"
                ) from exc
            if not self._allowed(token.base_url):
                raise ReferenceResolutionError(
                    f"fal storage named a non-https upload host {safe_url(token.base_url)}", field="fal"
                )
            self._token = token
            return token

    @staticmethod
    def _http_error(what: str, resp: httpx.Response) -> ReferenceResolutionError:
        status = resp.status_code
        return ReferenceResolutionError(
            f"fal storage refused {what}: HTTP {status}",
            field="fal",
            retryable=status in (408, 429) or status >= 500,
        )

    def upload(self, path: Path, *, min_lifetime: timedelta) -> tuple[str, datetime]:
        """Upload ``path`` once per content; return ``(access_url, expires_at)``."""
        digest = digest_file(path)
        now = datetime.now(timezone.utc)
        cached = self.cache.get(digest.sha256)
        if cached is not None and cached[1] - now >= min_lifetime:
            log.info("%s (sha256 %s) is already on fal storage; reusing it", path.name, digest.sha256[:12])
            return cached
        token = self._get_token()
        expires_at = now + self.upload_lifetime
        headers = {
            "Authorization": f"{token.token_type} {token.token}",
            "Content-Type": digest.content_type,
            "Content-Length": str(digest.size),
            "X-Fal-File-Name": digest.object_basename,
            "X-Fal-Object-Lifecycle": json.dumps(
                {"expiration_duration_seconds": int(self.upload_lifetime.total_seconds())}
            ),
        }
        resp = self.http.post(
            f"{token.base_url}/files/upload",
            content=_iter_file(path, digest.size),
            headers=headers,
            timeout=self.timeout,
        )
        if resp.status_code in (401, 403):
            with self._lock:
                self._token = None  # a revoked/expired token: the next attempt fetches a new one
            raise ReferenceResolutionError(
                f"fal storage refused the upload token: HTTP {resp.status_code}", field="fal", retryable=True
            )
        if resp.status_code >= 400:
            raise self._http_error(f"the upload of {path.name}", resp)
        try:
            url = str(resp.json()["access_url"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ReferenceResolutionError("fal storage answered without an access_url", field="fal") from exc
        if not self._allowed(url):
            raise ReferenceResolutionError(
                f"fal storage answered a non-https URL {safe_url(url)}", field="fal"
            )
        self.cache.put(digest.sha256, url, expires_at)
        log.info(
            "Uploaded %s (%d bytes, sha256 %s) to fal storage", path.name, digest.size, digest.sha256[:12]
        )
        return url, expires_at


# -- GCS staging ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GCSStaging:
    """A staging prefix ``gs://bucket/prefix/`` for local reference files (content-addressed)."""

    bucket: str
    prefix: str = ""
    timeout: float = 120.0

    @classmethod
    def from_uri(cls, uri: str) -> GCSStaging:
        scheme, sep, rest = uri.partition("://")
        if scheme != "gs" or not sep or not rest.split("/", 1)[0]:
            raise ValueError(f"staging_uri must be gs://bucket/ or gs://bucket/prefix/, got {uri!r}")
        bucket, _, prefix = rest.partition("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return cls(bucket, prefix)

    def object_for(self, digest: FileDigest) -> GCSObject:
        return GCSObject(self.bucket, f"{self.prefix}{digest.object_basename}")

    def stage(self, client: storage.Client, path: Path) -> GCSObject:
        """Make ``gs://bucket/prefix/<sha256>.<ext>`` hold ``path``'s bytes; return the object."""
        from google.api_core.exceptions import PreconditionFailed
        from google.cloud.storage.exceptions import DataCorruption

        digest = digest_file(path)
        obj = self.object_for(digest)
        bucket = client.bucket(obj.bucket)
        for _ in range(3):  # bounded: each round reacts to one concurrent writer or foreign object
            existing = bucket.get_blob(obj.name, timeout=self.timeout)
            if existing is not None:
                if existing.crc32c == digest.crc32c and int(existing.size or -1) == digest.size:
                    log.info("%s already holds %s; not uploading it again", obj.uri, path.name)
                    return obj
                log.warning(
                    "%s exists with other bytes (%s/%s, expected %s/%s); deleting that generation",
                    obj.uri,
                    existing.size,
                    existing.crc32c,
                    digest.size,
                    digest.crc32c,
                )
                with contextlib.suppress(Exception):
                    bucket.blob(obj.name).delete(
                        if_generation_match=existing.generation, timeout=self.timeout
                    )
                continue
            # A chunk size makes the upload resumable: constant memory, finalized only when complete.
            blob = bucket.blob(obj.name, chunk_size=_UPLOAD_CHUNK)
            blob.metadata = {SHA256_KEY: digest.sha256}
            try:
                with open(path, "rb") as f:
                    blob.upload_from_file(
                        f,
                        size=digest.size,
                        content_type=digest.content_type,
                        if_generation_match=0,
                        checksum="crc32c",
                        timeout=self.timeout,
                    )
            except PreconditionFailed:
                log.info("%s was created concurrently; checking it", obj.uri)
                continue
            except DataCorruption:
                pass  # GCS holds other bytes than were sent: verified (and deleted) below
            stored = bucket.get_blob(obj.name, timeout=self.timeout)
            if (
                stored is not None
                and stored.crc32c == digest.crc32c
                and int(stored.size or -1) == digest.size
            ):
                log.info("Staged %s (%d bytes) as %s", path.name, digest.size, obj.uri)
                return obj
            if stored is not None:
                with contextlib.suppress(Exception):
                    bucket.blob(obj.name).delete(if_generation_match=stored.generation, timeout=self.timeout)
            raise ReferenceResolutionError(
                f"the staged copy {obj.uri} does not match {path.name} after upload; it was deleted",
                field=str(path.name),
                retryable=True,
            )
        raise ReferenceResolutionError(f"{obj.uri} keeps changing while staging {path.name}", field=path.name)


__all__ = [
    "DEFAULT_FAL_REST_URL",
    "DirectoryUploadCache",
    "FalStorage",
    "FileDigest",
    "GCSStaging",
    "MemoryUploadCache",
    "UploadCache",
    "digest_file",
]
