"""Reference media from where brand assets live: ``https://``, ``gs://`` and local paths.

Three steps, each usable alone, and :func:`prepare_references` running them in order:

1. :func:`parse_references` -- every item of ``image_urls`` / ``video_urls`` / ``audio_urls``
   (and the single ``image_url`` / ``end_image_url`` of image-to-video) becomes a
   :class:`Reference`: an http(s) URL, a ``gs://bucket/object``, a ``data:`` URI or a local
   path. Local paths are absolute or relative to ``local_base`` (e.g. the DAG folder); after
   resolving symlinks they must lie inside ``local_base`` or one of ``local_roots`` (no ``../``
   escape, no symlink out). All problems are reported at once, naming ``video_urls[2]``.
2. :func:`~airflow_provider_seedance.client.preflight.preflight` -- every documented limit,
   from headers, before anything is uploaded or submitted.
3. :class:`ReferenceResolver` -- a URL the platform can fetch: http(s) and ``data:`` as given;
   ``gs://`` as a V4 signed URL (``signed_url_lifetime``, default 6 h: enough for a queued job,
   short enough to be useless soon after); local files uploaded, content-addressed, to the
   platform's own storage where it has one (fal.ai) or to a staging GCS prefix, then signed
   (:mod:`.reference_storage`). Objects are never made public.

Against the GCS emulator (``STORAGE_EMULATOR_HOST`` with anonymous credentials) gs:// works
with no configuration: URLs are V4-signed with a throwaway key the emulator does not check.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes, urlsplit

from airflow_provider_seedance.client.errors import (
    FieldError,
    ReferenceFieldError,
    ReferenceResolutionError,
    SeedanceValidationError,
)
from airflow_provider_seedance.client.gcs import GCSObject
from airflow_provider_seedance.client.media import safe_url
from airflow_provider_seedance.client.retry import RetryPolicy

if TYPE_CHECKING:
    import google.auth.credentials
    import httpx
    from google.cloud import storage

    from airflow_provider_seedance.client.preflight import PreflightReport
    from airflow_provider_seedance.client.reference_storage import FalStorage, GCSStaging

log = logging.getLogger(__name__)

#: Default lifetime of signed URLs: covers a job's queue time (hours on a busy day) with margin.
DEFAULT_SIGNED_URL_LIFETIME = timedelta(hours=6)
#: GCS V4 signatures are valid for at most 7 days.
MAX_SIGNED_URL_LIFETIME = timedelta(days=7)
MIN_SIGNED_URL_LIFETIME = timedelta(minutes=5)
#: Bounded retries of signing and uploading.
RESOLVE_RETRY = RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=8.0, max_elapsed=120.0)


class MediaKind(enum.Enum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"


class SourceKind(enum.Enum):
    HTTP = "http"
    GCS = "gcs"
    LOCAL = "local"
    DATA = "data"


#: Request inputs that hold references, and what they hold.
REFERENCE_FIELDS: dict[str, MediaKind] = {
    "image_urls": MediaKind.IMAGE,
    "video_urls": MediaKind.VIDEO,
    "audio_urls": MediaKind.AUDIO,
    "image_url": MediaKind.IMAGE,
    "end_image_url": MediaKind.IMAGE,
}
_LIST_FIELDS = ("image_urls", "video_urls", "audio_urls")


@dataclass(frozen=True)
class Reference:
    """One parsed reference. ``field`` names it the way errors do (``video_urls[2]``)."""

    field: str
    kind: MediaKind
    original: str
    source: SourceKind
    url: str | None = None
    gcs: GCSObject | None = None
    path: Path | None = None
    data: bytes | None = dataclasses.field(default=None, repr=False)
    data_mime: str | None = None

    @property
    def input_name(self) -> str:
        """The request input this reference belongs to (``video_urls``)."""
        return self.field.split("[", 1)[0]

    @property
    def display(self) -> str:
        """A form safe for logs and messages (no query strings, no inline data)."""
        if self.source is SourceKind.HTTP:
            return safe_url(self.original)
        if self.source is SourceKind.DATA:
            return f"data:{self.data_mime or ''} ({len(self.data or b'')} bytes)"
        if self.source is SourceKind.LOCAL:
            return str(self.path)
        return self.original


# -- parsing ----------------------------------------------------------------------------------------


def _within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _parse_one(
    name: str,
    kind: MediaKind,
    value: object,
    base: Path | None,
    roots: Sequence[Path],
) -> Reference | str:
    """A :class:`Reference`, or the sentence saying what is wrong with ``value``."""
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string: an https:// URL, a gs://bucket/object or a local path"
    text = value.strip()
    if text.startswith("data:"):
        header, sep, payload = text[5:].partition(",")
        if not sep:
            return "is a malformed data: URI (no comma)"
        mime = header.split(";", 1)[0].strip().lower()
        try:
            data = (
                base64.b64decode(payload, validate=True)
                if header.endswith(";base64")
                else unquote_to_bytes(payload)
            )
        except (binascii.Error, ValueError):
            return "is a data: URI whose base64 payload does not decode"
        return Reference(name, kind, value, SourceKind.DATA, url=value, data=data, data_mime=mime or None)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if not parts.netloc:
            return f"is an {scheme} URL without a host: {safe_url(text)!r}"
        return Reference(name, kind, value, SourceKind.HTTP, url=text)
    if scheme == "gs":
        try:
            obj = GCSObject.from_uri(text)
        except ValueError as exc:
            return str(exc)
        return Reference(name, kind, value, SourceKind.GCS, gcs=obj)
    if "://" in text or scheme in ("file", "ftp", "s3"):
        return f"has an unsupported scheme {scheme!r}: use https://, gs:// or a local path"
    # A local path.
    if not roots and base is None:
        return (
            f"is a local path ({text!r}) but no local base directory is configured; "
            "set local_base (e.g. the DAG folder) or use an https:// or gs:// reference"
        )
    raw = Path(text)
    if ".." in PurePosixPath(text.replace(os.sep, "/")).parts:
        return f"is a local path with '..' ({text!r}); '..' is not allowed in references"
    if not raw.is_absolute():
        if base is None:
            return f"is a relative path ({text!r}) but no local_base is configured"
        raw = base / raw
    resolved = Path(os.path.realpath(raw))
    allowed = [Path(os.path.realpath(r)) for r in ((base,) if base else ()) + tuple(roots)]
    if not any(_within(resolved, root) for root in allowed):
        where = ", ".join(str(r) for r in allowed)
        via = " (through a symlink)" if os.path.realpath(raw) != os.path.abspath(raw) else ""
        return f"local path {text!r} resolves{via} to {resolved}, outside the allowed base ({where})"
    if resolved.exists() and not resolved.is_file():
        return f"local path {text!r} is not a regular file"
    return Reference(name, kind, value, SourceKind.LOCAL, path=resolved)


def parse_references(
    inputs: Mapping[str, Any],
    *,
    local_base: str | os.PathLike[str] | None = None,
    local_roots: Sequence[str | os.PathLike[str]] = (),
) -> list[Reference]:
    """Parse every reference in ``inputs`` (request inputs by name); others are ignored.

    :param local_base: Relative local paths are resolved against it; it is also an allowed root.
    :param local_roots: Further directories local files may live in (absolute paths).
    :raises SeedanceValidationError: all problems at once, each naming its item.
    """
    base = Path(local_base) if local_base is not None else None
    roots = [Path(r) for r in local_roots]
    refs: list[Reference] = []
    errors: list[FieldError] = []
    for name, kind in REFERENCE_FIELDS.items():
        value = inputs.get(name)
        if value is None:
            continue
        if name in _LIST_FIELDS:
            if isinstance(value, str | bytes) or not isinstance(value, Sequence):
                errors.append(FieldError(name, "must be a list of references"))
                continue
            items = [(f"{name}[{i}]", v) for i, v in enumerate(value)]
        else:
            items = [(name, value)]
        for label, item in items:
            parsed = _parse_one(label, kind, item, base, roots)
            if isinstance(parsed, str):
                errors.append(ReferenceFieldError(label, parsed))
            else:
                refs.append(parsed)
    if errors:
        raise SeedanceValidationError(errors)
    return refs


# -- resolution -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedReference:
    """Where the platform fetches a reference from, and how that URL came to be."""

    reference: Reference
    url: str
    #: ``as-given``, ``signed`` (gs://), ``uploaded`` (platform storage) or ``staged`` (GCS).
    method: str
    expires_at: datetime | None = None
    #: The GCS object behind the URL (the reference itself, or its staging copy).
    gcs_object: GCSObject | None = None

    def as_record(self) -> dict[str, object]:
        """For the XCom result / archive metadata: the original, never the signed query."""
        return {
            "field": self.reference.field,
            "reference": self.reference.display,
            "resolved": safe_url(self.url) if not self.url.startswith("data:") else "data:",
            "method": self.method,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


_EPHEMERAL_SIGNER: list[Any] = []


def _emulator_signer() -> google.auth.credentials.Credentials:
    """A throwaway service-account key for signing URLs the GCS emulator serves (it does not
    check signatures); the URL keeps the real V4 shape and expiry."""
    if not _EPHEMERAL_SIGNER:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from google.oauth2 import service_account

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        _EPHEMERAL_SIGNER.append(
            service_account.Credentials.from_service_account_info(
                {
                    "client_email": "seedance-emulator@seedance-local.iam.gserviceaccount.com",
                    "private_key": pem,
                    "token_uri": "http://127.0.0.1/token",
                }
            )
        )
    creds: google.auth.credentials.Credentials = _EPHEMERAL_SIGNER[0]
    return creds


def _is_emulator(client: storage.Client) -> bool:
    from google.auth.credentials import AnonymousCredentials

    return bool(os.environ.get("STORAGE_EMULATOR_HOST")) and isinstance(
        getattr(client, "_credentials", None), AnonymousCredentials
    )


def _retrying(
    op: Callable[[], Any], *, what: str, field_name: str, retry: RetryPolicy, sleep: Callable[[float], None]
) -> Any:
    """Run ``op`` under ``retry``: transient GCS/HTTP faults retried, others raised at once."""
    started, failures = time.monotonic(), 0
    while True:
        err: Exception
        try:
            return op()
        except ReferenceResolutionError as exc:
            transient, err = exc.retryable, exc
        except Exception as exc:
            transient, err = _is_transient(exc), exc
        failures += 1
        delay = retry.next_delay(err, failures, retryable=transient, elapsed=time.monotonic() - started)
        if delay is None:
            reason = str(err)
            if isinstance(err, ReferenceResolutionError) and reason.startswith(f"{err.field}: "):
                reason = reason[len(err.field) + 2 :]
            raise ReferenceResolutionError(
                f"{what} failed after {failures} attempt(s): {reason}",
                field=field_name,
                retryable=transient,
            ) from err
        log.warning("%s: %s failed (%s); retrying in %.1f s", field_name, what, err, delay)
        sleep(delay)


def _is_transient(exc: BaseException) -> bool:
    import httpx

    try:
        from google.api_core import exceptions as gexc
    except ImportError:  # pragma: no cover
        gexc = None  # type: ignore[assignment]
    if isinstance(exc, httpx.TransportError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in (408, 429) or exc.response.status_code >= 500
    if gexc is not None and isinstance(
        exc, gexc.ServerError | gexc.TooManyRequests | gexc.RequestRangeNotSatisfiable
    ):
        return not isinstance(exc, gexc.RequestRangeNotSatisfiable)
    import requests

    return isinstance(exc, requests.ConnectionError | requests.Timeout)


@dataclass
class ReferenceResolver:
    """Turns parsed references into URLs the platform can fetch. See the module docstring.

    :param storage_client: GCS client (signing gs:// and staging); created lazily by
        ``storage_client_factory`` when only that is given.
    :param signing_credentials: Sign with these instead of the client's credentials.
    :param signed_url_lifetime: Lifetime of every signed URL (5 min .. 7 days; default 6 h).
    :param platform_storage: The platform's own file storage (fal.ai's), for local files.
    :param staging: A staging GCS prefix for local files, where the platform has no storage (or
        ``prefer_staging``).
    """

    storage_client: storage.Client | None = None
    storage_client_factory: Callable[[], storage.Client] | None = None
    signing_credentials: google.auth.credentials.Credentials | None = None
    signed_url_lifetime: timedelta = DEFAULT_SIGNED_URL_LIFETIME
    platform_storage: FalStorage | None = None
    staging: GCSStaging | None = None
    prefer_staging: bool = False
    retry: RetryPolicy = RESOLVE_RETRY
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc), repr=False)

    def __post_init__(self) -> None:
        if not MIN_SIGNED_URL_LIFETIME <= self.signed_url_lifetime <= MAX_SIGNED_URL_LIFETIME:
            raise ValueError(
                f"signed_url_lifetime must be between {MIN_SIGNED_URL_LIFETIME} and "
                f"{MAX_SIGNED_URL_LIFETIME} (GCS V4 limit), got {self.signed_url_lifetime}"
            )

    def _client(self) -> storage.Client:
        if self.storage_client is None:
            if self.storage_client_factory is None:
                raise ReferenceResolutionError("no GCS client configured", field="gcs")
            self.storage_client = self.storage_client_factory()
        return self.storage_client

    def check(self, references: Sequence[Reference]) -> list[FieldError]:
        """Configuration problems that would stop resolution (no I/O): report them early."""
        errors: list[FieldError] = []
        for ref in references:
            if ref.source is SourceKind.LOCAL and not (self.staging or self.platform_storage):
                errors.append(
                    ReferenceFieldError(
                        ref.field,
                        f"is a local file ({ref.display}) but this platform has no file storage and "
                        "no staging GCS prefix is configured (staging_uri='gs://bucket/prefix/')",
                    )
                )
            if (
                ref.source is SourceKind.GCS
                and self.storage_client is None
                and self.storage_client_factory is None
            ):
                errors.append(
                    ReferenceFieldError(ref.field, "is a gs:// reference but no GCS connection is configured")
                )
        return errors

    def sign(self, obj: GCSObject, *, field_name: str) -> tuple[str, datetime]:
        """A V4 signed GET URL of ``obj`` valid for :attr:`signed_url_lifetime`."""
        from airflow_provider_seedance.client.gcs import signed_url

        client = self._client()
        creds = self.signing_credentials
        if creds is None and _is_emulator(client):
            creds = _emulator_signer()
        expires = self.now() + self.signed_url_lifetime

        def op() -> str:
            try:
                return signed_url(client, obj, expires_in=self.signed_url_lifetime, credentials=creds)
            except ValueError as exc:  # no key and no service account: a configuration problem
                raise ReferenceResolutionError(str(exc), field=field_name) from exc

        url: str = _retrying(
            op, what=f"signing {obj.uri}", field_name=field_name, retry=self.retry, sleep=self.sleep
        )
        return url, expires

    def resolve_one(self, ref: Reference) -> ResolvedReference:
        if ref.source in (SourceKind.HTTP, SourceKind.DATA):
            assert ref.url is not None
            return ResolvedReference(ref, ref.url, "as-given")
        if ref.source is SourceKind.GCS:
            assert ref.gcs is not None
            url, expires = self.sign(ref.gcs, field_name=ref.field)
            return ResolvedReference(ref, url, "signed", expires, ref.gcs)
        assert ref.path is not None
        if self.platform_storage is not None and not (self.prefer_staging and self.staging):
            storage_ = self.platform_storage
            url, expires_at = _retrying(
                lambda: storage_.upload(ref.path, min_lifetime=self.signed_url_lifetime),  # type: ignore[arg-type]
                what=f"uploading {ref.display} to the platform's storage",
                field_name=ref.field,
                retry=self.retry,
                sleep=self.sleep,
            )
            return ResolvedReference(ref, url, "uploaded", expires_at)
        if self.staging is None:
            raise ReferenceResolutionError(
                "is a local file but no staging GCS prefix is configured", field=ref.field
            )
        staging = self.staging
        obj = _retrying(
            lambda: staging.stage(self._client(), ref.path),  # type: ignore[arg-type]
            what=f"staging {ref.display}",
            field_name=ref.field,
            retry=self.retry,
            sleep=self.sleep,
        )
        url, expires = self.sign(obj, field_name=ref.field)
        return ResolvedReference(ref, url, "staged", expires, obj)

    def resolve(self, references: Sequence[Reference]) -> list[ResolvedReference]:
        return [self.resolve_one(r) for r in references]


# -- all together -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedReferences:
    """The outcome of :func:`prepare_references`."""

    #: The request inputs with every reference replaced by its resolved URL.
    inputs: dict[str, Any]
    resolved: tuple[ResolvedReference, ...]
    report: PreflightReport | None

    @property
    def input_video_seconds(self) -> float | None:
        """Measured combined input-video duration (None when preflight was skipped)."""
        return None if self.report is None else self.report.input_video_seconds

    @property
    def originals(self) -> dict[str, Any]:
        """The references as the user wrote them, per input (lists stay lists)."""
        out: dict[str, Any] = {}
        for r in self.resolved:
            ref = r.reference
            if ref.input_name in _LIST_FIELDS:
                out.setdefault(ref.input_name, []).append(ref.display)
            else:
                out[ref.input_name] = ref.display
        return out

    @property
    def gcs_inputs(self) -> list[GCSObject]:
        """gs:// objects the job reads (OpenLineage input datasets); staging copies excluded."""
        return [r.reference.gcs for r in self.resolved if r.reference.gcs is not None]

    def records(self) -> list[dict[str, object]]:
        return [r.as_record() for r in self.resolved]


def _replace_inputs(inputs: Mapping[str, Any], resolved: Sequence[ResolvedReference]) -> dict[str, Any]:
    out = dict(inputs)
    by_field = {r.reference.field: r.url for r in resolved}
    for name in REFERENCE_FIELDS:
        value = inputs.get(name)
        if value is None:
            continue
        if name in _LIST_FIELDS:
            out[name] = [by_field.get(f"{name}[{i}]", v) for i, v in enumerate(value)]
        else:
            out[name] = by_field.get(name, value)
    return out


def prepare_references(
    inputs: Mapping[str, Any],
    *,
    platform: str,
    resolver: ReferenceResolver,
    preflight: bool = True,
    http: httpx.Client | None = None,
    local_base: str | os.PathLike[str] | None = None,
    local_roots: Sequence[str | os.PathLike[str]] = (),
    timeout: float = 30.0,
) -> PreparedReferences:
    """Parse, preflight (unless ``preflight=False``) and resolve every reference of ``inputs``.

    Nothing is uploaded or signed unless every reference passed; the platform is not contacted
    (fal.ai's storage only for uploads, after preflight).

    :raises SeedanceValidationError: parse or configuration problems (all at once).
    :raises SeedancePreflightError: limits broken or references unreadable (all at once).
    :raises ReferenceResolutionError: signing or uploading failed after bounded retries.
    """
    from airflow_provider_seedance.client import preflight as preflight_mod

    refs = parse_references(inputs, local_base=local_base, local_roots=local_roots)
    config_errors = resolver.check(refs)
    if config_errors:
        raise SeedanceValidationError(config_errors)
    report = None
    if preflight and refs:
        client = None
        if any(r.source is SourceKind.GCS for r in refs):
            client = resolver._client()
        report = preflight_mod.preflight(
            refs, platform=platform, http=http, storage_client=client, timeout=timeout
        )
    resolved = resolver.resolve(refs)
    return PreparedReferences(_replace_inputs(inputs, resolved), tuple(resolved), report)


__all__ = [
    "DEFAULT_SIGNED_URL_LIFETIME",
    "REFERENCE_FIELDS",
    "MediaKind",
    "PreparedReferences",
    "Reference",
    "ReferenceResolver",
    "ResolvedReference",
    "SourceKind",
    "parse_references",
    "prepare_references",
]
