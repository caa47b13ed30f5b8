"""The strict GCS emulator layer enforces generation preconditions like real GCS does."""

from __future__ import annotations

import httpx
import pytest
from google.api_core.exceptions import PreconditionFailed
from google.cloud import storage
from google.cloud.storage.exceptions import DataCorruption, InvalidResponse

from airflow_provider_seedance.emulator.gcs import GCSEmulator

CHUNK = 256 * 1024


def status_of(exc: BaseException) -> int | None:
    code = getattr(exc, "code", None)
    return code if isinstance(code, int) else getattr(getattr(exc, "response", None), "status_code", None)


def media_upload(emulator: GCSEmulator, bucket: str, name: str, data: bytes, **conds: str) -> httpx.Response:
    return httpx.post(
        f"{emulator.url}/upload/storage/v1/b/{bucket}/o",
        params={"uploadType": "media", "name": name, **conds},
        content=data,
        headers={"Content-Type": "video/mp4"},
        timeout=10,
    )


def test_multipart_upload_with_if_generation_match_0_cannot_overwrite(
    gcs_client: storage.Client, gcs_bucket: str
) -> None:
    bucket = gcs_client.bucket(gcs_bucket)
    bucket.blob("a").upload_from_string(b"first", if_generation_match=0)
    with pytest.raises(PreconditionFailed):
        bucket.blob("a").upload_from_string(b"second", if_generation_match=0)
    assert bucket.blob("a").download_as_bytes() == b"first"


def test_media_upload_preconditions(gcs_emulator: GCSEmulator, gcs_bucket: str) -> None:
    assert media_upload(gcs_emulator, gcs_bucket, "m", b"1", ifGenerationMatch="0").status_code == 200
    assert media_upload(gcs_emulator, gcs_bucket, "m", b"2", ifGenerationMatch="0").status_code == 412
    assert media_upload(gcs_emulator, gcs_bucket, "new", b"x", ifGenerationNotMatch="0").status_code == 412


def test_wrong_generation_fails_and_current_generation_overwrites(
    gcs_client: storage.Client, gcs_bucket: str
) -> None:
    bucket = gcs_client.bucket(gcs_bucket)
    bucket.blob("a").upload_from_string(b"first", if_generation_match=0)
    generation = bucket.get_blob("a").generation
    with pytest.raises(PreconditionFailed):
        bucket.blob("a").upload_from_string(b"second", if_generation_match=generation + 1)
    bucket.blob("a").upload_from_string(b"third", if_generation_match=generation)
    assert bucket.blob("a").download_as_bytes() == b"third"


def test_resumable_session_cannot_be_opened_over_an_existing_object(
    gcs_client: storage.Client, gcs_bucket: str
) -> None:
    bucket = gcs_client.bucket(gcs_bucket)
    bucket.blob("v.mp4").upload_from_string(b"archived", if_generation_match=0)
    writer = bucket.blob("v.mp4").open("wb", chunk_size=CHUNK, if_generation_match=0)
    with pytest.raises((InvalidResponse, PreconditionFailed)) as info:
        writer.write(b"z" * (CHUNK + 1))  # the first full chunk opens the session
    writer.terminate()  # or its finalizer would try to open a session again
    assert status_of(info.value) == 412
    assert bucket.blob("v.mp4").download_as_bytes() == b"archived"


def test_precondition_is_checked_again_when_a_resumable_upload_finalizes(
    gcs_client: storage.Client, gcs_bucket: str, gcs_emulator: GCSEmulator
) -> None:
    bucket = gcs_client.bucket(gcs_bucket)
    writer = bucket.blob("v.mp4").open("wb", chunk_size=CHUNK, if_generation_match=0)
    writer.write(b"q" * (CHUNK + 10))  # opens the session while the object does not exist
    bucket.blob("v.mp4").upload_from_string(b"someone else", if_generation_match=0)

    with pytest.raises(InvalidResponse) as info:
        writer.close()
    writer.terminate()

    assert status_of(info.value) == 412
    assert bucket.blob("v.mp4").download_as_bytes() == b"someone else"
    assert gcs_emulator.stats()["precondition_failures"] >= 1


def test_non_latin1_metadata_survives_a_download(gcs_client: storage.Client, gcs_bucket: str) -> None:
    blob = gcs_client.bucket(gcs_bucket).blob("v.mp4")
    blob.metadata = {"seedance-prompt": "海边奔跑的模特 🌊"}
    blob.upload_from_string(b"video", if_generation_match=0)
    stored = gcs_client.bucket(gcs_bucket).get_blob("v.mp4")
    assert stored.metadata["seedance-prompt"] == "海边奔跑的模特 🌊"
    assert stored.download_as_bytes() == b"video"


def test_corrupt_upload_fault_changes_the_stored_bytes(
    gcs_client: storage.Client, gcs_bucket: str, gcs_emulator: GCSEmulator
) -> None:
    gcs_emulator.add_fault("corrupt_upload")
    blob = gcs_client.bucket(gcs_bucket).blob("v.mp4")
    writer = blob.open("wb", chunk_size=CHUNK, if_generation_match=0, checksum="crc32c")
    writer.write(b"d" * (CHUNK + 5))
    with pytest.raises(DataCorruption):
        writer.close()
    writer.terminate()
    assert gcs_client.bucket(gcs_bucket).blob("v.mp4").download_as_bytes()[:1] != b"d"
    assert gcs_emulator.stats()["corrupted_uploads"] >= 1


def test_a_412_reaches_the_client_even_when_the_body_is_large(
    gcs_emulator: GCSEmulator, gcs_bucket: str
) -> None:
    """The server reads the body before answering; otherwise a TCP reset can eat the 412."""
    assert media_upload(gcs_emulator, gcs_bucket, "big", b"1", ifGenerationMatch="0").status_code == 200
    body = b"x" * (2 * 1024 * 1024)
    statuses = {
        media_upload(gcs_emulator, gcs_bucket, "big", body, ifGenerationMatch="0").status_code
        for _ in range(10)
    }
    assert statuses == {412}
