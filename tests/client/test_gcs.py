"""client.gcs over real HTTP (a local media server) and the strict GCS emulator: the verified
exactly-once write, and the read side (stat, ranged reads, V4 signed URLs)."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import google_crc32c
import httpx
import pytest
from google.cloud import storage

from airflow_provider_seedance.client.errors import (
    ChecksumMismatchError,
    ObjectExistsError,
    SeedanceDownloadError,
    SeedanceIncompleteDownloadError,
)
from airflow_provider_seedance.client.gcs import (
    METADATA_LIMIT_BYTES,
    VERIFIED_CRC32C_KEY,
    ArchiveResult,
    GCSObject,
    GCSVideoArchiver,
    build_metadata,
    open_object,
    signed_url,
    stat_object,
    truncate_utf8,
)
from airflow_provider_seedance.client.media import MediaSource, MediaURLPolicy
from airflow_provider_seedance.emulator.gcs import GCSEmulator
from tests.support.media_server import MediaServer
from tests.support.retry import NO_WAIT

CHUNK = 256 * 1024
META = {"seedance-platform": "fal", "seedance-request-id": "req-1", "seedance-seed": "42"}


def crc(data: bytes) -> str:
    return base64.b64encode(google_crc32c.Checksum(data).digest()).decode()


@dataclasses.dataclass
class Rig:
    """What an archive test runs on: the media server, a GCS client and bucket on the strict
    emulator, an HTTP client, and archivers of ``META`` in ``CHUNK`` pieces over them."""

    media: MediaServer
    gcs: storage.Client
    bucket: str
    http: httpx.Client
    emulator: GCSEmulator

    def archiver(self, name: str = "clips/a.mp4", **kwargs: object) -> GCSVideoArchiver:
        kwargs.setdefault("metadata", META)
        kwargs.setdefault("chunk_size", CHUNK)
        return GCSVideoArchiver(self.gcs, self.bucket, name, **kwargs)  # type: ignore[arg-type]

    def archive(
        self,
        source: MediaSource,
        *,
        max_attempts: int = 3,
        arch: GCSVideoArchiver | None = None,
        **archiver: object,
    ) -> ArchiveResult:
        """Archive ``source`` with ``arch`` (default: a new archiver of ``archiver`` options)."""
        source.policy = MediaURLPolicy(allow_local=True)  # the media server is on 127.0.0.1
        arch = arch or self.archiver(**archiver)  # type: ignore[arg-type]
        return arch.archive(self.http, source, retry=dataclasses.replace(NO_WAIT, max_attempts=max_attempts))

    def blob(self, name: str = "clips/a.mp4") -> storage.Blob:
        return self.gcs.bucket(self.bucket).blob(name)

    def stored(self, name: str = "clips/a.mp4") -> storage.Blob | None:
        """The object as GCS has it now, or None."""
        return self.gcs.bucket(self.bucket).get_blob(name)


@pytest.fixture
def rig(
    media_server: MediaServer, gcs_client: storage.Client, gcs_bucket: str, gcs_emulator: GCSEmulator
) -> Iterator[Rig]:
    with httpx.Client(timeout=10) as http:
        yield Rig(media_server, gcs_client, gcs_bucket, http, gcs_emulator)


def test_video_is_streamed_into_gcs_with_metadata_and_verified(rig: Rig) -> None:
    url = rig.media.add("v1", size=3 * CHUNK + 12345)
    result = rig.archive(MediaSource(url, 3 * CHUNK + 12345))

    assert result.uri == f"gs://{rig.bucket}/clips/a.mp4"
    assert result.uploaded
    blob = rig.stored()
    assert blob.download_as_bytes() == rig.media.content("v1")
    assert blob.content_type == "video/mp4"
    assert blob.crc32c == crc(rig.media.content("v1")) == result.crc32c
    assert blob.metadata["seedance-request-id"] == "req-1"
    assert blob.metadata[VERIFIED_CRC32C_KEY] == blob.crc32c


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("truncate", r"broke off|incomplete"),
        # No Content-Length: only the platform's file_size can tell that the body is short.
        ("chunked_short", r"received 524288 bytes, the platform's file_size says 1048576"),
    ],
    ids=["truncated", "chunked_shorter_than_file_size"],
)
def test_short_download_leaves_no_object(
    rig: Rig,
    fault: str,
    message: str,
) -> None:
    url = rig.media.add("v1", size=4 * CHUNK)
    rig.media.add_fault(fault, times=2)
    before = rig.emulator.stats()

    with pytest.raises(SeedanceIncompleteDownloadError, match=message):
        rig.archive(MediaSource(url, 4 * CHUNK), max_attempts=2)

    assert rig.media.gets("v1") == [200, 200]
    assert rig.stored() is None
    after = rig.emulator.stats()
    assert after["resumable_sessions"] > before["resumable_sessions"]  # the upload had started...
    assert after["objects_written"] == before["objects_written"]  # ...and was never finalized


def test_truncated_download_is_retried_from_the_first_byte(rig: Rig) -> None:
    url = rig.media.add("v1", size=4 * CHUNK + 7)
    rig.media.add_fault("truncate")

    rig.archive(MediaSource(url, 4 * CHUNK + 7))

    assert rig.media.gets("v1") == [200, 200]
    assert rig.blob().download_as_bytes() == rig.media.content("v1")


def test_size_disagreeing_with_platform_file_size_fails_before_upload(rig: Rig) -> None:
    url = rig.media.add("v1", size=2 * CHUNK)
    before = rig.emulator.stats()
    with pytest.raises(SeedanceIncompleteDownloadError, match="file_size 999"):
        rig.archive(MediaSource(url, 999), max_attempts=1)
    assert rig.emulator.stats()["resumable_sessions"] == before["resumable_sessions"]
    assert rig.stored() is None


def test_server_errors_are_retried_a_bounded_number_of_times(rig: Rig) -> None:
    url = rig.media.add("v1", size=CHUNK)
    rig.media.add_fault("status", code=503, times=2)
    rig.archive(MediaSource(url, CHUNK), max_attempts=3)
    assert rig.media.gets("v1") == [503, 503, 200]

    rig.media.add_fault("status", code=502, times=5)
    with pytest.raises(SeedanceDownloadError, match="HTTP 502") as info:
        rig.archive(MediaSource(url, CHUNK), max_attempts=3, name="clips/b.mp4")
    assert info.value.retryable
    assert rig.media.gets("v1")[3:] == [502, 502, 502]
    assert rig.stored("clips/b.mp4") is None


def test_checksum_mismatch_deletes_the_object_and_a_rerun_succeeds(rig: Rig) -> None:
    url = rig.media.add("v1", size=2 * CHUNK + 1)
    rig.emulator.add_fault("corrupt_upload")

    with pytest.raises(ChecksumMismatchError, match="corrupt object was deleted"):
        rig.archive(MediaSource(url, 2 * CHUNK + 1))
    assert rig.stored() is None

    rig.archive(MediaSource(rig.media.fresh_url("v1"), 2 * CHUNK + 1))
    assert rig.blob().download_as_bytes() == rig.media.content("v1")


def test_retry_after_success_neither_downloads_nor_uploads(rig: Rig) -> None:
    url = rig.media.add("v1", size=CHUNK + 3)
    first = rig.archive(MediaSource(url, CHUNK + 3))
    stats = rig.emulator.stats()
    rig.media.expire("v1")  # even with a dead link the retry succeeds

    second = rig.archive(MediaSource(url, CHUNK + 3))

    assert second.uri == first.uri
    assert not second.uploaded
    assert second.generation == first.generation
    assert rig.emulator.stats()["resumable_sessions"] == stats["resumable_sessions"]
    assert rig.media.gets("v1") == [200]


def test_existing_identical_bytes_without_record_are_accepted_after_comparing_checksums(rig: Rig) -> None:
    url = rig.media.add("v1", size=CHUNK)
    blob = rig.blob()
    blob.upload_from_string(rig.media.content("v1"), if_generation_match=0)
    generation = rig.stored().generation
    stats = rig.emulator.stats()

    result = rig.archive(MediaSource(url, CHUNK))

    assert not result.uploaded
    assert result.generation == generation
    assert rig.emulator.stats()["objects_written"] == stats["objects_written"]


@pytest.mark.parametrize("other", [b"somebody else's video", b"x" * CHUNK], ids=["other-size", "same-size"])
def test_existing_different_object_is_an_error_and_left_untouched(rig: Rig, other: bytes) -> None:
    url = rig.media.add("v1", size=CHUNK)
    rig.blob().upload_from_string(other, if_generation_match=0)
    before = rig.stored()

    with pytest.raises(ObjectExistsError, match=r"already exists with different content.*replace=True"):
        rig.archive(MediaSource(url, CHUNK))

    after = rig.stored()
    assert after.generation == before.generation
    assert after.download_as_bytes() == other


def test_replace_true_overwrites_a_different_object(rig: Rig) -> None:
    url = rig.media.add("v1", size=CHUNK)
    rig.blob().upload_from_string(b"old take", if_generation_match=0)

    result = rig.archive(MediaSource(url, CHUNK), replace=True)

    assert result.uploaded
    blob = rig.stored()
    assert blob.download_as_bytes() == rig.media.content("v1")
    assert blob.metadata["seedance-request-id"] == "req-1"


@pytest.mark.parametrize("dead", [403, 410], ids=["expired_403", "gone_410"])
def test_expired_link_is_refreshed_once(rig: Rig, dead: int) -> None:
    url = rig.media.add("v1", size=CHUNK)
    if dead == 403:
        rig.media.expire("v1")  # the signature has expired
    else:
        rig.media.add_fault("status", code=410)
    calls: list[str] = []

    def refresh() -> tuple[str, int | None]:
        calls.append("refresh")
        return rig.media.fresh_url("v1"), CHUNK

    rig.archive(MediaSource(url, CHUNK, refresh=refresh))

    assert calls == ["refresh"]
    assert rig.media.gets("v1") == [dead, 200]
    assert rig.blob().download_as_bytes() == rig.media.content("v1")


def test_expired_link_without_a_way_to_refresh_fails_clearly(rig: Rig) -> None:
    url = rig.media.add("v1", size=CHUNK)
    rig.media.expire("v1")
    with pytest.raises(SeedanceDownloadError, match=r"HTTP 403.*expired") as info:
        rig.archive(MediaSource(url, CHUNK))
    assert info.value.expired
    assert "token" not in str(info.value)  # signed query strings never reach messages


@pytest.mark.parametrize(("existing", "expected_error"), [("same", None), ("other", ObjectExistsError)])
def test_object_created_concurrently_during_upload_is_never_overwritten(
    rig: Rig,
    existing: str,
    expected_error: type[Exception] | None,
) -> None:
    url = rig.media.add("v1", size=CHUNK)
    content = rig.media.content("v1") if existing == "same" else b"a concurrent writer's bytes"
    rig.blob().upload_from_string(content, if_generation_match=0)
    arch = rig.archiver()
    real_get_blob = arch.bucket.get_blob
    calls = {"n": 0}

    def get_blob_missing_first(name: str, **kwargs: object) -> storage.Blob | None:
        calls["n"] += 1
        return None if calls["n"] == 1 else real_get_blob(name, **kwargs)  # type: ignore[arg-type]

    arch.bucket.get_blob = get_blob_missing_first  # type: ignore[method-assign]

    if expected_error is None:
        assert not rig.archive(MediaSource(url, CHUNK), arch=arch).uploaded
    else:
        with pytest.raises(expected_error):
            rig.archive(MediaSource(url, CHUNK), arch=arch)
    assert rig.blob().download_as_bytes() == content


def test_metadata_stays_within_the_8_kib_gcs_limit() -> None:
    prompt = "镜头缓缓推进 @Image1 中的模特在海边奔跑。" * 300  # ~ 20 KB of UTF-8
    metadata = build_metadata({**META, "airflow-run-id": "manual__2026-01-01T00:00:00+00:00"}, prompt=prompt)
    total = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
    assert total <= METADATA_LIMIT_BYTES - 64
    assert prompt.startswith(metadata["seedance-prompt"])
    assert metadata["seedance-prompt-truncated"] == "true"
    assert build_metadata({"seedance-generate-audio": True, "x": None}, prompt="short") == {
        "seedance-generate-audio": "true",
        "seedance-prompt": "short",
    }


def test_truncate_utf8_never_splits_a_character() -> None:
    assert truncate_utf8("ab猫c", 4) == "ab"
    assert truncate_utf8("ab猫c", 5) == "ab猫"
    assert truncate_utf8("abc", 10) == "abc"


def test_chunk_size_must_be_a_multiple_of_256_kib(gcs_client: storage.Client) -> None:
    with pytest.raises(ValueError, match="256 KiB"):
        GCSVideoArchiver(gcs_client, "b", "o", metadata={}, chunk_size=1000)


# -- the read side ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "bucket", "name"),
    [("gs://brand/shots/hero.png", "brand", "shots/hero.png"), ("gs://b/o", "b", "o")],
)
def test_gs_uri_is_parsed_into_bucket_and_object(uri: str, bucket: str, name: str) -> None:
    obj = GCSObject.from_uri(uri)
    assert (obj.bucket, obj.name, obj.uri) == (bucket, name, uri)


@pytest.mark.parametrize("uri", ["https://b/o", "gs://", "gs://bucket", "gs://bucket/", "gs://b/dir/", "b/o"])
def test_malformed_gs_uri_is_refused(uri: str) -> None:
    with pytest.raises(ValueError, match="gs://"):
        GCSObject.from_uri(uri)


def test_stat_and_open_read_an_existing_object(gcs_client: storage.Client, gcs_bucket: str) -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"x" * 1000
    gcs_client.bucket(gcs_bucket).blob("shots/hero.png").upload_from_string(data, content_type="image/png")
    obj = GCSObject(gcs_bucket, "shots/hero.png")

    info = stat_object(gcs_client, obj)

    assert info is not None
    assert (info.size, info.content_type, info.crc32c) == (len(data), "image/png", crc(data))
    with open_object(gcs_client, obj, generation=info.generation) as reader:
        assert reader.read(8) == b"\x89PNG\r\n\x1a\n"
        assert reader.read() == data[8:]


def test_stat_of_a_missing_object_is_none(gcs_client: storage.Client, gcs_bucket: str) -> None:
    assert stat_object(gcs_client, GCSObject(gcs_bucket, "no/such.png")) is None


def test_signed_url_is_v4_short_lived_and_signed_with_the_service_account_key(
    gcs_client: storage.Client, gcs_bucket: str
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from google.oauth2 import service_account

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    email = "archiver@project.iam.gserviceaccount.com"
    credentials = service_account.Credentials.from_service_account_info(
        {"client_email": email, "private_key": pem, "token_uri": "https://oauth2.googleapis.com/token"}
    )

    url = signed_url(
        gcs_client,
        GCSObject(gcs_bucket, "shots/hero.png"),
        expires_in=timedelta(minutes=10),
        credentials=credentials,
    )

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.path == f"/{gcs_bucket}/shots/hero.png"
    assert f"{parts.scheme}://{parts.netloc}" == gcs_client.api_endpoint  # the emulator here
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    assert query["X-Goog-Expires"] == ["600"]
    assert query["X-Goog-Credential"][0].startswith(email + "/")
    assert len(query["X-Goog-Signature"][0]) == 512  # hex of a 2048-bit RSA signature


# -- money paths: each test fails when the line it guards is removed ---------------------------------


def test_post_upload_crc32c_check_catches_corruption_on_its_own(
    rig: Rig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The upload library's own checksum is switched off: only the archiver's check is left."""
    real_open = storage.Blob.open

    def open_without_library_checksum(self: storage.Blob, *args: object, **kwargs: object) -> object:
        kwargs["checksum"] = None
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(storage.Blob, "open", open_without_library_checksum)
    url = rig.media.add("v1", size=CHUNK + 5)
    rig.emulator.add_fault("corrupt_upload")

    with pytest.raises(ChecksumMismatchError, match=r"GCS reports crc32c .* corrupt object was deleted"):
        rig.archive(MediaSource(url, CHUNK + 5))

    assert rig.emulator.stats()["corrupted_uploads"] >= 1
    assert rig.stored() is None


@pytest.mark.parametrize(
    "owner",
    [
        {"seedance-platform": "fal", "seedance-request-id": "req-OTHER"},
        {"seedance-platform": "oxen", "seedance-request-id": "req-1"},
    ],
    ids=["other_request_id", "other_platform"],
)
def test_an_object_archived_for_another_job_is_never_taken_as_already_archived(
    rig: Rig,
    owner: dict[str, str],
) -> None:
    """Same bytes, same verified crc32c -- but another job's archive: not ours, left untouched."""
    url = rig.media.add("v1", size=CHUNK)
    content = rig.media.content("v1")
    blob = rig.blob()
    blob.metadata = {**owner, VERIFIED_CRC32C_KEY: crc(content)}
    blob.upload_from_string(content, if_generation_match=0)
    before = rig.stored()
    assert before.crc32c == crc(content)

    with pytest.raises(ObjectExistsError, match=r"archived for another Seedance job"):
        rig.archive(MediaSource(url, CHUNK))

    after = rig.stored()
    assert (after.generation, after.metadata) == (before.generation, before.metadata)
    assert rig.media.gets("v1") == []  # refused on its record alone, before any download


def test_a_link_answering_410_again_after_its_refresh_fails_without_a_second_refresh(rig: Rig) -> None:
    url = rig.media.add("v1", size=CHUNK)
    rig.media.add_fault("status", code=410, times=3)
    calls: list[str] = []

    def refresh() -> tuple[str, int | None]:
        calls.append("refresh")
        return rig.media.fresh_url("v1"), CHUNK

    with pytest.raises(SeedanceDownloadError, match="HTTP 410") as info:
        rig.archive(MediaSource(url, CHUNK, refresh=refresh))
    assert info.value.expired
    assert calls == ["refresh"]
    assert rig.media.gets("v1") == [410, 410]
    assert rig.stored() is None


def test_a_200_video_mp4_answer_whose_body_is_not_a_video_is_never_archived(rig: Rig) -> None:
    """No file_size to check against (Oxen, AIHubMax, Ark): the bytes themselves must be a video."""
    url = rig.media.add("v1", data=b"<html>Service busy, try later</html>")
    before = rig.emulator.stats()
    with pytest.raises(SeedanceDownloadError, match=r"does not look like a video/mp4 video") as info:
        rig.archive(MediaSource(url), max_attempts=2)
    assert info.value.retryable
    assert rig.media.gets("v1") == [200, 200]
    assert rig.emulator.stats()["objects_written"] == before["objects_written"]
    assert rig.stored() is None
