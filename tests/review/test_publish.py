"""Publishing a chosen take: a server-side copy, exactly once, with the choice in its metadata."""

from __future__ import annotations

import pytest

from airflow_provider_seedance.client.errors import ObjectExistsError
from airflow_provider_seedance.review.publish import (
    CHOICE_KEY,
    REVIEWER_KEY,
    RUN_KEY,
    publish_take,
    published_uri,
)


def test_publish_copies_the_bytes_once_with_the_choice(gcs_client, gcs_bucket, archive_takes) -> None:  # type: ignore[no-untyped-def]
    take, other = archive_takes([11, 42])
    result = publish_take(gcs_client, take, reviewer="ana", run="grid/manual__1")
    assert result.copied
    assert result.uri == f"gs://{gcs_bucket}/published/grid/2026-03-01/p1-16x9-seed11.mp4"
    blob = gcs_client.bucket(gcs_bucket).get_blob("published/grid/2026-03-01/p1-16x9-seed11.mp4")
    source = gcs_client.bucket(gcs_bucket).get_blob("grid/2026-03-01/p1-16x9-seed11.mp4")
    assert blob.download_as_bytes() == source.download_as_bytes()
    assert blob.metadata[CHOICE_KEY] == take.label
    assert blob.metadata[REVIEWER_KEY] == "ana"
    assert blob.metadata[RUN_KEY] == "grid/manual__1"
    assert blob.metadata["seedance-seed"] == "11"
    assert blob.metadata["seedance-prompt"] == take.prompt
    assert blob.metadata["seedance-request-id"] == "req-11"  # the archive's provenance carried over

    # A retry of the same publish is a no-op, not a second copy.
    again = publish_take(gcs_client, take, reviewer="ana", run="grid/manual__1")
    assert not again.copied
    assert again.generation == result.generation
    # Another run (or other content) never overwrites it.
    with pytest.raises(ObjectExistsError, match="never overwritten"):
        publish_take(gcs_client, take, reviewer="bob", run="grid/manual__2")
    dest = published_uri(take)
    with pytest.raises(ObjectExistsError, match="other content"):
        publish_take(gcs_client, other, reviewer="bob", run="grid/manual__1", destination_uri=dest)
    assert gcs_client.bucket(gcs_bucket).get_blob(dest.split("/", 3)[3]).generation == result.generation


def test_strict_emulator_refuses_a_rewrite_over_an_existing_object(
    gcs_client, gcs_bucket, archive_takes
) -> None:  # type: ignore[no-untyped-def]
    from google.api_core.exceptions import PreconditionFailed

    take, other = archive_takes([1, 2])
    bucket = gcs_client.bucket(gcs_bucket)
    dest = bucket.blob(other.object.name)
    with pytest.raises(PreconditionFailed):
        dest.rewrite(bucket.blob(take.object.name), if_generation_match=0)
    with pytest.raises(PreconditionFailed):
        bucket.blob("x/new.mp4").rewrite(bucket.blob(take.object.name), if_source_generation_match=1)
