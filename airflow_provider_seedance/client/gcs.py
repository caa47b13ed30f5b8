"""Google Cloud Storage for the client: the verified, exactly-once video write. Airflow-free.

Holds the write side, :class:`GCSVideoArchiver` with :class:`ArchiveResult` and the object
metadata rules (:func:`build_metadata`, the ``seedance-*`` keys), and a small read side for
objects the user already has: :class:`GCSObject` (a parsed ``gs://`` URI), :func:`stat_object`,
:func:`open_object` (ranged reads, constant memory) and :func:`signed_url` (V4, short-lived).
The caller brings a ``google.cloud.storage.Client`` (in Airflow:
:func:`airflow_provider_seedance.hooks.gcs.make_storage_client`); the errors live in
:mod:`airflow_provider_seedance.client.errors`.

:class:`GCSVideoArchiver` pipes a :class:`~airflow_provider_seedance.client.media.DownloadStream`
into a resumable upload (``blob.open("wb")``, constant memory) and guarantees:

* **Nothing partial.** The upload is finalized only after the download delivered exactly the
  announced number of bytes; a broken download abandons the upload session, so no object appears.
  A body whose first bytes cannot start a ``content_type`` video (MP4/MOV, WebM/MKV: an error
  page or garbage served as ``200 video/mp4``) is refused before anything is written (a
  retryable :class:`SeedanceDownloadError`).
* **Verified.** The CRC32C computed while streaming must equal the ``crc32c`` GCS reports for the
  new object (and the size must match); otherwise the new generation is deleted and
  :class:`ChecksumMismatchError` is raised.
* **Exactly once.** Objects are created with ``if_generation_match=0`` (or, with
  ``replace=True``, the generation that was inspected), so a concurrent writer is never
  overwritten. After verification the object's metadata gets ``seedance-crc32c``: a retry that
  finds an object from the same platform job whose GCS checksum equals that recorded value is
  done without downloading or uploading anything. An object that records another job
  (another ``seedance-platform`` or ``seedance-request-id``) is never taken for ours, even with
  identical bytes: :class:`ObjectExistsError`, left untouched, unless ``replace=True``. Any other
  existing object (no record of a job) is compared by checksum (streaming the video once, without
  uploading); different content raises :class:`ObjectExistsError` likewise.

google-cloud-storage is imported only inside functions.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from airflow_provider_seedance.client.errors import (
    ChecksumMismatchError,
    GCSArchiveError,
    ObjectExistsError,
    SeedanceDownloadError,
)
from airflow_provider_seedance.client.media import (
    DEFAULT_CHUNK_SIZE,
    DownloadStream,
    MediaSource,
    looks_like_video,
    run_download_attempts,
    safe_url,
)
from airflow_provider_seedance.client.retry import DOWNLOAD_RETRY, RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from datetime import timedelta

    import google.auth.credentials
    import httpx
    from google.cloud import storage

log = logging.getLogger(__name__)

#: Metadata key holding the CRC32C verified at upload time (marks a complete, verified archive).
VERIFIED_CRC32C_KEY = "seedance-crc32c"
PLATFORM_KEY = "seedance-platform"
REQUEST_ID_KEY = "seedance-request-id"
#: GCS limit: custom metadata keys and values together at most 8 KiB.
METADATA_LIMIT_BYTES = 8 * 1024
#: The prompt gets at most this many bytes of metadata (it is also capped by the total limit).
PROMPT_LIMIT_BYTES = 4 * 1024
#: Any other metadata value is cut to this many bytes.
VALUE_LIMIT_BYTES = 512
#: Room kept free for ``seedance-crc32c`` (added after upload) and ``seedance-prompt-truncated``.
_RESERVED_BYTES = 128
#: Resumable uploads need chunk sizes in multiples of 256 KiB.
CHUNK_MULTIPLE = 256 * 1024
DEFAULT_UPLOAD_CHUNK_SIZE = 8 * 1024 * 1024


@dataclass(frozen=True)
class ArchiveResult:
    """Where the video now lives, and whether this call uploaded it."""

    bucket: str
    object_name: str
    size: int
    crc32c: str
    generation: int | None
    uploaded: bool

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.object_name}"


class _PreconditionLost(Exception):
    """Somebody else created the object while we were uploading (HTTP 412)."""

    def __init__(self, crc32c: str | None, size: int | None) -> None:
        super().__init__("precondition failed")
        self.crc32c = crc32c
        self.size = size


def truncate_utf8(text: str, max_bytes: int) -> str:
    """Cut ``text`` so its UTF-8 encoding fits in ``max_bytes``, never splitting a character."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[: max(0, max_bytes)].decode("utf-8", errors="ignore")


def _metadata_bytes(metadata: Mapping[str, str]) -> int:
    return sum(len(k.encode("utf-8")) + len(v.encode("utf-8")) for k, v in metadata.items())


def build_metadata(values: Mapping[str, object], *, prompt: str | None = None) -> dict[str, str]:
    """GCS custom metadata from ``values`` (None dropped) plus ``seedance-prompt``, within 8 KiB.

    Values become strings cut to 512 bytes; the prompt is cut to what is left (at most 4 KiB, on a
    character boundary) and ``seedance-prompt-truncated: "true"`` marks a cut prompt.
    """
    metadata: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        metadata[key] = truncate_utf8(text, VALUE_LIMIT_BYTES)
    if prompt:
        key = "seedance-prompt"
        room = METADATA_LIMIT_BYTES - _RESERVED_BYTES - _metadata_bytes(metadata) - len(key)
        budget = max(0, min(PROMPT_LIMIT_BYTES, room))
        cut = truncate_utf8(prompt, budget)
        if cut:
            metadata[key] = cut
        if cut != prompt:
            metadata["seedance-prompt-truncated"] = "true"
    return metadata


def _http_status(exc: BaseException) -> int | None:
    """The HTTP status of a google-cloud-storage error, whichever layer raised it."""
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


class GCSVideoArchiver:
    """Stream videos into ``gs://bucket/object_name`` exactly once. See the module docstring.

    :param client: A ``google.cloud.storage.Client``.
    :param bucket_name: Destination bucket.
    :param object_name: Destination object name.
    :param metadata: Custom metadata for the object (see :func:`build_metadata`); should contain
        ``seedance-platform`` and ``seedance-request-id`` so retries are recognised.
    :param content_type: Content-Type of the object.
    :param replace: Overwrite an existing object with different content instead of failing.
    :param chunk_size: Upload chunk size in bytes (a multiple of 256 KiB); bounds memory use.
    :param timeout: Seconds for one GCS request.
    """

    def __init__(
        self,
        client: storage.Client,
        bucket_name: str,
        object_name: str,
        *,
        metadata: Mapping[str, str],
        content_type: str = "video/mp4",
        replace: bool = False,
        chunk_size: int = DEFAULT_UPLOAD_CHUNK_SIZE,
        timeout: float = 120.0,
    ) -> None:
        if chunk_size <= 0 or chunk_size % CHUNK_MULTIPLE:
            raise ValueError(
                f"chunk_size must be a positive multiple of 256 KiB ({CHUNK_MULTIPLE}), got {chunk_size}"
            )
        self.client = client
        self.bucket_name = bucket_name
        self.object_name = object_name
        self.metadata = dict(metadata)
        self.content_type = content_type
        self.replace = replace
        self.chunk_size = chunk_size
        self.timeout = timeout
        self.bucket = client.bucket(bucket_name)

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket_name}/{self.object_name}"

    # -- public ---------------------------------------------------------------------------
    def archive(
        self,
        http: httpx.Client,
        source: MediaSource,
        *,
        retry: RetryPolicy = DOWNLOAD_RETRY,
    ) -> ArchiveResult:
        """Make ``gs://bucket/object`` hold the video of ``source``; see the module docstring.

        :param retry: How transient download failures are retried; each attempt restarts the
            download (and the upload) from the first byte.
        """
        known: tuple[str, int] | None = None
        for _ in range(3):  # bounded: each round reacts to a concurrent writer at most once
            existing = self.bucket.get_blob(self.object_name, timeout=self.timeout)
            generation_match = 0
            if existing is not None:
                decision = self._reconcile(existing, http, source, known, retry)
                if isinstance(decision, ArchiveResult):
                    return decision
                generation_match = decision
            try:
                return run_download_attempts(
                    http,
                    source,
                    functools.partial(self._upload, generation_match=generation_match),
                    retry=retry,
                )
            except _PreconditionLost as lost:
                log.warning("%s was created by someone else during the upload; re-checking it", self.uri)
                if lost.crc32c is not None and lost.size is not None:
                    known = (lost.crc32c, lost.size)
        raise GCSArchiveError(f"{self.uri} keeps changing while we archive to it; giving up")

    # -- internals ------------------------------------------------------------------------
    def _is_verified_copy(self, blob: storage.Blob) -> bool:
        meta = blob.metadata or {}
        return (
            bool(blob.crc32c)
            and meta.get(VERIFIED_CRC32C_KEY) == blob.crc32c
            and meta.get(PLATFORM_KEY) == self.metadata.get(PLATFORM_KEY)
            and meta.get(REQUEST_ID_KEY) == self.metadata.get(REQUEST_ID_KEY)
            and self.metadata.get(REQUEST_ID_KEY) is not None
        )

    @staticmethod
    def _recorded_job_of(meta: Mapping[str, str] | None) -> tuple[str | None, str | None] | None:
        """``(platform, request id)`` a metadata dict records, or None when it records neither."""
        meta = meta or {}
        platform, request_id = meta.get(PLATFORM_KEY), meta.get(REQUEST_ID_KEY)
        return None if platform is None and request_id is None else (platform, request_id)

    def _recorded_job(self, blob: storage.Blob) -> tuple[str | None, str | None] | None:
        return self._recorded_job_of(blob.metadata)

    def _done(self, blob: storage.Blob, *, uploaded: bool) -> ArchiveResult:
        return ArchiveResult(
            bucket=self.bucket_name,
            object_name=self.object_name,
            size=int(blob.size or 0),
            crc32c=str(blob.crc32c),
            generation=blob.generation,
            uploaded=uploaded,
        )

    def _reconcile(
        self,
        existing: storage.Blob,
        http: httpx.Client,
        source: MediaSource,
        known: tuple[str, int] | None,
        retry: RetryPolicy,
    ) -> ArchiveResult | int:
        """Decide about an existing object: done (a result) or overwrite (its generation)."""
        generation = int(existing.generation) if existing.generation is not None else None
        if self._is_verified_copy(existing):
            log.info(
                "%s already holds this video (request %s, crc32c %s); nothing to upload",
                self.uri,
                self.metadata.get(REQUEST_ID_KEY),
                existing.crc32c,
            )
            return self._done(existing, uploaded=False)
        if self.replace and generation is not None:
            log.info("%s exists (generation %s); replace=True, overwriting it", self.uri, generation)
            return generation
        if self._recorded_job(existing) not in (None, self._recorded_job_of(self.metadata)):
            # Another job's archive, even with identical bytes: never "already archived" for us.
            platform, request_id = self._recorded_job(existing) or (None, None)
            raise ObjectExistsError(
                f"{self.uri} already exists and was archived for another Seedance job (platform "
                f"{platform}, request {request_id}); it was left untouched. Choose another "
                "object_name, or pass replace=True to overwrite it."
            )
        if known is None and source.expected_size is not None and existing.size != source.expected_size:
            raise self._exists_error(
                existing, f"its size is {existing.size} bytes, the video's is {source.expected_size}"
            )
        if known is None:
            log.info("%s exists without a verified record of this job; comparing checksums", self.uri)
            known = run_download_attempts(http, source, self._hash_only, retry=retry)
        crc, size = known
        if existing.crc32c == crc and int(existing.size or -1) == size:
            log.info("%s already holds identical bytes (crc32c %s); nothing to upload", self.uri, crc)
            return self._done(existing, uploaded=False)
        if self.replace and generation is not None:
            return generation
        raise self._exists_error(
            existing, f"its crc32c/size are {existing.crc32c}/{existing.size}, the video's are {crc}/{size}"
        )

    def _exists_error(self, existing: storage.Blob, why: str) -> ObjectExistsError:
        meta = existing.metadata or {}
        owner = meta.get(REQUEST_ID_KEY)
        whose = f" (written for request {owner})" if owner else ""
        return ObjectExistsError(
            f"{self.uri} already exists with different content{whose}: {why}. It was left untouched; "
            "choose another object_name, or pass replace=True to overwrite it."
        )

    def _chunks(self, stream: DownloadStream, chunk_size: int) -> Iterator[bytes]:
        """The stream's chunks; the first must look like a ``content_type`` video (a retryable error)."""
        first = True
        for chunk in stream.iter_chunks(chunk_size):
            if first and not looks_like_video(chunk, self.content_type):
                raise SeedanceDownloadError(
                    f"Download of {safe_url(stream.url)} does not look like a {self.content_type} video "
                    f"(its first bytes are {chunk[:8]!r}); nothing was written",
                    retryable=True,
                )
            first = False
            yield chunk

    def _hash_only(self, stream: DownloadStream) -> tuple[str, int]:
        for _ in self._chunks(stream, self.chunk_size):
            pass
        return stream.crc32c, stream.size

    def _upload(self, stream: DownloadStream, generation_match: int) -> ArchiveResult:
        from google.api_core.exceptions import PreconditionFailed
        from google.cloud.storage.exceptions import DataCorruption, InvalidResponse

        blob = self.bucket.blob(self.object_name, chunk_size=self.chunk_size)
        blob.metadata = self.metadata
        blob.content_type = self.content_type
        writer = blob.open(
            "wb",
            chunk_size=self.chunk_size,
            ignore_flush=True,
            if_generation_match=generation_match,
            content_type=self.content_type,
            checksum="crc32c",
            timeout=self.timeout,
        )
        try:
            for chunk in self._chunks(stream, min(self.chunk_size, DEFAULT_CHUNK_SIZE)):
                writer.write(chunk)
        except (PreconditionFailed, InvalidResponse) as exc:
            with contextlib.suppress(Exception):
                writer.terminate()
            if _http_status(exc) == 412:
                raise _PreconditionLost(None, None) from exc
            raise
        except BaseException:
            # Abandon the resumable session: the object is never finalized, nothing is left behind.
            with contextlib.suppress(Exception):
                writer.terminate()
            raise
        try:
            writer.close()  # sends the last chunk: this finalizes the object
        except BaseException as exc:
            # Make the writer inert, so its finalizer never re-sends the last chunk later.
            with contextlib.suppress(Exception):
                writer.terminate()
            if isinstance(exc, DataCorruption):
                self._delete_corrupt(None)
                raise ChecksumMismatchError(
                    f"GCS stored different bytes for {self.uri} than were downloaded ({exc}); "
                    "the corrupt object was deleted"
                ) from exc
            if isinstance(exc, PreconditionFailed | InvalidResponse) and _http_status(exc) == 412:
                raise _PreconditionLost(stream.crc32c, stream.size) from exc
            raise
        return self._verify(stream)

    def _verify(self, stream: DownloadStream) -> ArchiveResult:
        stored = self.bucket.get_blob(self.object_name, timeout=self.timeout)
        if stored is None:
            raise GCSArchiveError(f"{self.uri} is missing right after its upload was finalized")
        if stored.crc32c != stream.crc32c or int(stored.size or -1) != stream.size:
            self._delete_corrupt(stored.generation)
            raise ChecksumMismatchError(
                f"GCS reports crc32c {stored.crc32c} and {stored.size} bytes for {self.uri}, but "
                f"{stream.size} bytes with crc32c {stream.crc32c} were downloaded; "
                "the corrupt object was deleted"
            )
        stored.metadata = {**(stored.metadata or {}), VERIFIED_CRC32C_KEY: stream.crc32c}
        try:
            stored.patch(
                if_generation_match=stored.generation,
                if_metageneration_match=stored.metageneration,
                timeout=self.timeout,
            )
        except Exception as exc:  # the object is verified; the marker only speeds up retries
            log.warning("Could not record the verified checksum on %s: %s", self.uri, exc)
        log.info("Archived %s bytes to %s (crc32c %s, verified)", stream.size, self.uri, stream.crc32c)
        return self._done(stored, uploaded=True)

    def _delete_corrupt(self, generation: int | None) -> None:
        """Delete the generation we just wrote (never a newer one somebody else wrote)."""
        try:
            if generation is None:
                blob = self.bucket.get_blob(self.object_name, timeout=self.timeout)
                if blob is None:
                    return
                generation = blob.generation
            self.bucket.blob(self.object_name).delete(if_generation_match=generation, timeout=self.timeout)
        except Exception as exc:
            log.error("Could not delete the corrupt object %s (generation %s): %s", self.uri, generation, exc)


# -- read side: objects the user already has ----------------------------------------------------


@dataclass(frozen=True)
class GCSObject:
    """One object, ``gs://bucket/name``."""

    bucket: str
    name: str

    @classmethod
    def from_uri(cls, uri: str) -> GCSObject:
        """Parse ``gs://bucket/object``; raise :class:`ValueError` saying what is wrong."""
        scheme, sep, rest = uri.partition("://")
        if scheme != "gs" or not sep:
            raise ValueError(f"not a gs:// URI: {uri!r}")
        bucket, _, name = rest.partition("/")
        if not bucket or not name or name.endswith("/"):
            raise ValueError(f"a gs:// URI must name a bucket and an object, got {uri!r}")
        return cls(bucket, name)

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.name}"


@dataclass(frozen=True)
class ObjectInfo:
    """What GCS reports about one object generation (no bytes read)."""

    object: GCSObject
    size: int
    generation: int | None
    content_type: str | None
    crc32c: str | None
    metadata: dict[str, str] = field(default_factory=dict)


def stat_object(client: storage.Client, obj: GCSObject, *, timeout: float = 60.0) -> ObjectInfo | None:
    """The object's size, generation, type and metadata; None when it does not exist."""
    blob = client.bucket(obj.bucket).get_blob(obj.name, timeout=timeout)
    if blob is None:
        return None
    return ObjectInfo(
        object=obj,
        size=int(blob.size or 0),
        generation=blob.generation,
        content_type=blob.content_type,
        crc32c=blob.crc32c,
        metadata=dict(blob.metadata or {}),
    )


def open_object(
    client: storage.Client,
    obj: GCSObject,
    *,
    generation: int | None = None,
    chunk_size: int = CHUNK_MULTIPLE,
    timeout: float = 60.0,
) -> BinaryIO:
    """A seekable binary reader of the object that fetches ``chunk_size`` bytes per ranged GET.

    Read only what you need (a container header, the first bytes for a magic number): memory
    stays at about one chunk whatever the object's size. Pin ``generation`` (from
    :func:`stat_object`) to read exactly the bytes you inspected.
    """
    blob = client.bucket(obj.bucket).blob(obj.name, generation=generation)
    reader: BinaryIO = blob.open("rb", chunk_size=chunk_size, timeout=timeout)
    return reader


def signed_url(
    client: storage.Client,
    obj: GCSObject,
    *,
    expires_in: timedelta,
    credentials: google.auth.credentials.Credentials | None = None,
    method: str = "GET",
) -> str:
    """A V4 signed URL for ``obj`` that stops working after ``expires_in``; the object stays private.

    Signed with ``credentials`` (default: the client's). Credentials that can sign (a
    service-account key, impersonated credentials) sign directly; others (e.g. a VM's metadata
    credentials) sign through IAM ``signBlob`` with their access token. The URL points at the
    client's endpoint, so with ``STORAGE_EMULATOR_HOST`` it points at the emulator.
    """
    from google.auth import credentials as auth_credentials

    creds = credentials if credentials is not None else client._credentials
    blob = client.bucket(obj.bucket).blob(obj.name)
    iam: dict[str, str] = {}
    if not isinstance(creds, auth_credentials.Signing):
        from google.auth.transport.requests import Request

        if not creds.valid:
            creds.refresh(Request())
        email = getattr(creds, "service_account_email", None)
        if not email or not creds.token:
            raise ValueError(
                f"cannot sign a URL for {obj.uri}: the credentials hold no private key and no "
                "service account to sign with through IAM"
            )
        iam = {"service_account_email": email, "access_token": creds.token}
    url: str = blob.generate_signed_url(
        version="v4", expiration=expires_in, method=method, credentials=creds, **iam
    )
    return url
