"""Publishing the chosen take: a server-side GCS copy to ``published/``, exactly once. Airflow-free.

:func:`publish_take` rewrites the take to ``gs://<bucket>/published/<folder>/<file>`` with

* ``if_source_generation_match`` = the generation that was inspected (the bytes reviewed are the
  bytes published) and ``if_generation_match=0`` (never overwrite a published object);
* metadata naming the choice: ``seedance-review-choice`` (the option), ``-reviewer``, ``-run``,
  ``-source``, ``seedance-seed``, ``seedance-prompt`` (and the take's archive metadata).

A retry that finds the published object already there is done when it is the same content
(same CRC32C and size as the source) from the same run; anything else raises
:class:`~airflow_provider_seedance.client.errors.ObjectExistsError` and leaves it untouched.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_seedance.client.errors import ObjectExistsError
from airflow_provider_seedance.client.gcs import GCSObject, build_metadata, stat_object

if TYPE_CHECKING:
    from google.cloud import storage

    from airflow_provider_seedance.review.takes import Take

log = logging.getLogger(__name__)

PUBLISHED_PREFIX = "published"
CHOICE_KEY = "seedance-review-choice"
REVIEWER_KEY = "seedance-review-reviewer"
RUN_KEY = "seedance-review-run"
SOURCE_KEY = "seedance-review-source"
RESPONDED_AT_KEY = "seedance-review-responded-at"


@dataclass(frozen=True)
class PublishResult:
    uri: str
    source_uri: str
    generation: int | None
    size: int
    crc32c: str | None
    copied: bool
    metadata: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "source_uri": self.source_uri,
            "generation": self.generation,
            "size": self.size,
            "crc32c": self.crc32c,
            "copied": self.copied,
        }


def published_uri(take: Take, *, prefix: str = PUBLISHED_PREFIX, bucket: str | None = None) -> str:
    """``gs://<bucket>/published/<the take's object name>`` (same bucket unless ``bucket``)."""
    obj = take.object
    return f"gs://{bucket or obj.bucket}/{posixpath.join(prefix.strip('/'), obj.name)}"


def publish_take(
    client: storage.Client,
    take: Take,
    *,
    reviewer: str | None,
    run: str,
    responded_at: str | None = None,
    destination_uri: str | None = None,
    timeout: float = 60.0,
) -> PublishResult:
    """Copy ``take`` to ``destination_uri`` (default :func:`published_uri`) exactly once."""
    source = take.object
    dest = GCSObject.from_uri(destination_uri or published_uri(take))
    info = stat_object(client, source, timeout=timeout)
    if info is None:
        raise FileNotFoundError(f"the chosen take {take.uri} does not exist")
    values: dict[str, object] = {
        **{k: v for k, v in info.metadata.items() if k != "seedance-prompt"},
        CHOICE_KEY: take.label,
        REVIEWER_KEY: reviewer or "unknown",
        RUN_KEY: run,
        SOURCE_KEY: take.uri,
        RESPONDED_AT_KEY: responded_at,
        "seedance-seed": take.seed,
    }
    metadata = build_metadata(values, prompt=take.prompt or info.metadata.get("seedance-prompt"))
    existing = stat_object(client, dest, timeout=timeout)
    if existing is None:
        from google.api_core.exceptions import PreconditionFailed

        src_blob = client.bucket(source.bucket).blob(source.name, generation=info.generation)
        dest_blob = client.bucket(dest.bucket).blob(dest.name)
        dest_blob.metadata = metadata
        dest_blob.content_type = info.content_type or "video/mp4"
        try:
            token, _, _ = dest_blob.rewrite(
                src_blob,
                if_generation_match=0,
                if_source_generation_match=info.generation,
                timeout=timeout,
            )
            while token is not None:  # large cross-location copies come back in steps
                token, _, _ = dest_blob.rewrite(src_blob, token=token, if_generation_match=0, timeout=timeout)
        except PreconditionFailed:
            existing = stat_object(client, dest, timeout=timeout)
            if existing is None:  # the source changed under us
                raise
        else:
            done = stat_object(client, dest, timeout=timeout)
            assert done is not None
            if done.crc32c != info.crc32c or done.size != info.size:
                raise ObjectExistsError(f"{dest.uri} does not match {take.uri} after the copy")
            log.info("Published %s as %s (generation %s)", take.uri, dest.uri, done.generation)
            return PublishResult(dest.uri, take.uri, done.generation, done.size, done.crc32c, True, metadata)
    # Already there: done if it is this take from this run; refuse anything else.
    assert existing is not None
    same_bytes = existing.crc32c == info.crc32c and existing.size == info.size
    same_run = existing.metadata.get(RUN_KEY) == run and existing.metadata.get(SOURCE_KEY) == take.uri
    if same_bytes and same_run:
        log.info("%s was already published from %s; nothing to do", dest.uri, take.uri)
        return PublishResult(
            dest.uri, take.uri, existing.generation, existing.size, existing.crc32c, False, existing.metadata
        )
    why = "other content" if not same_bytes else f"published by {existing.metadata.get(RUN_KEY)!r}"
    raise ObjectExistsError(
        f"{dest.uri} already exists ({why}); a published take is never overwritten. "
        "Delete it first to publish again."
    )


def asset_event_extra(
    result: PublishResult, take: Take, *, reviewer: str | None, run: str
) -> Mapping[str, Any]:
    """The Asset event's ``extra``: what a downstream DAG needs about the published take."""
    return {
        "uri": result.uri,
        "source_uri": take.uri,
        "choice": take.label,
        "reviewer": reviewer,
        "run": run,
        "seed": take.seed,
        "aspect_ratio": take.aspect_ratio,
        "prompt": take.prompt,
        "generation": result.generation,
    }
