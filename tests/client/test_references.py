"""References from https, gs:// and local paths: parsing, confinement, signing, content-addressed
uploads (fal.ai's storage over respx, GCS staging on the strict emulator), and the whole flow."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from airflow_provider_seedance.client.errors import (
    ReferenceResolutionError,
    SeedancePreflightError,
    SeedanceValidationError,
)
from airflow_provider_seedance.client.gcs import GCSObject
from airflow_provider_seedance.client.reference_storage import (
    DirectoryUploadCache,
    FalStorage,
    GCSStaging,
    digest_file,
)
from airflow_provider_seedance.client.references import (
    MediaKind,
    ReferenceResolver,
    SourceKind,
    parse_references,
    prepare_references,
)
from airflow_provider_seedance.client.retry import RetryPolicy
from tests.support.reference_media import committed, make_audio

if TYPE_CHECKING:
    from google.cloud import storage

    from airflow_provider_seedance.emulator.gcs import GCSEmulator

NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)


# -- parsing --------------------------------------------------------------------------------------


def test_each_item_is_parsed_by_what_it_names(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"x")
    refs = parse_references(
        {
            "image_urls": ["https://cdn.example.com/a.png", "gs://brand/shots/hero.png", "logo.png"],
            "end_image_url": str(tmp_path / "logo.png"),
            "prompt": "ignored",
        },
        local_base=tmp_path,
    )
    assert [(r.field, r.source, r.kind) for r in refs] == [
        ("image_urls[0]", SourceKind.HTTP, MediaKind.IMAGE),
        ("image_urls[1]", SourceKind.GCS, MediaKind.IMAGE),
        ("image_urls[2]", SourceKind.LOCAL, MediaKind.IMAGE),
        ("end_image_url", SourceKind.LOCAL, MediaKind.IMAGE),
    ]
    assert refs[1].gcs == GCSObject("brand", "shots/hero.png")
    assert refs[2].path == (tmp_path / "logo.png").resolve()


def test_bad_references_are_all_named_at_once(tmp_path: Path) -> None:
    base = tmp_path / "dags"
    base.mkdir()
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"x")
    (base / "link.png").symlink_to(outside)
    with pytest.raises(SeedanceValidationError) as info:
        parse_references(
            {
                "image_urls": [
                    "../secret.png",
                    "link.png",
                    str(outside),
                    "gs://bucket-only",
                    "ftp://x/y.png",
                ],
                "video_urls": ["", "https://"],
            },
            local_base=base,
        )
    lines = [str(e) for e in info.value.errors]
    assert info.value.fields == [
        "image_urls[0]",
        "image_urls[1]",
        "image_urls[2]",
        "image_urls[3]",
        "image_urls[4]",
        "video_urls[0]",
        "video_urls[1]",
    ]
    assert "'..' is not allowed" in lines[0]
    assert "(through a symlink)" in lines[1]
    assert "outside the allowed base" in lines[1]
    assert "outside the allowed base" in lines[2]
    assert "must name a bucket and an object" in lines[3]
    assert "unsupported scheme 'ftp'" in lines[4]
    assert "non-empty string" in lines[5]
    assert "without a host" in lines[6]


def test_local_paths_need_a_configured_base() -> None:
    with pytest.raises(SeedanceValidationError, match=r"image_urls\[0\]: is a local path .* no local base"):
        parse_references({"image_urls": ["logo.png"]})


def test_extra_roots_allow_absolute_paths_elsewhere(tmp_path: Path) -> None:
    refs = parse_references(
        {"audio_urls": [str(committed("voice.wav"))]}, local_base=tmp_path, local_roots=[committed("")]
    )
    assert refs[0].path == committed("voice.wav").resolve()


# -- gs:// signing ----------------------------------------------------------------------------------


def test_gs_reference_becomes_a_v4_signed_url_the_emulator_serves(
    gcs_client: storage.Client, gcs_bucket: str
) -> None:
    data = committed("brand.png").read_bytes()
    gcs_client.bucket(gcs_bucket).blob("shots/hero.png").upload_from_string(data, content_type="image/png")
    resolver = ReferenceResolver(storage_client=gcs_client)
    prepared = prepare_references(
        {"prompt": "p", "image_urls": [f"gs://{gcs_bucket}/shots/hero.png", "https://cdn.example.com/x.png"]},
        platform="fal",
        resolver=resolver,
        preflight=False,
    )
    signed, given = prepared.inputs["image_urls"]
    query = parse_qs(urlsplit(signed).query)
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    assert query["X-Goog-Expires"] == [str(6 * 3600)]  # the default lifetime
    assert given == "https://cdn.example.com/x.png"
    assert httpx.get(signed).content == data  # what the platform would fetch
    assert prepared.originals == {
        "image_urls": [f"gs://{gcs_bucket}/shots/hero.png", "https://cdn.example.com/x.png"]
    }
    assert prepared.gcs_inputs == [GCSObject(gcs_bucket, "shots/hero.png")]
    assert "X-Goog-Signature" not in json.dumps(prepared.records())


def test_signing_lifetime_is_bounded() -> None:
    with pytest.raises(ValueError, match="signed_url_lifetime"):
        ReferenceResolver(signed_url_lifetime=timedelta(days=8))


# -- GCS staging --------------------------------------------------------------------------------


def test_local_file_is_staged_once_by_content_and_signed(
    gcs_emulator: GCSEmulator, gcs_client: storage.Client, gcs_bucket: str, tmp_path: Path
) -> None:
    src = tmp_path / "brand.png"
    src.write_bytes(committed("brand.png").read_bytes())
    digest = digest_file(src)
    staging = GCSStaging.from_uri(f"gs://{gcs_bucket}/refs")
    resolver = ReferenceResolver(
        storage_client=gcs_client, staging=staging, retry=NO_WAIT, sleep=lambda s: None
    )
    before = gcs_emulator.stats()["objects_written"]

    urls = [
        prepare_references(
            {"image_urls": ["brand.png"]}, platform="oxen", resolver=resolver, local_base=tmp_path
        ).inputs["image_urls"][0]
        for _ in range(3)
    ]

    assert gcs_emulator.stats()["objects_written"] - before == 1  # three tasks, one upload
    name = f"refs/{digest.sha256}.png"
    assert urlsplit(urls[0]).path == f"/{gcs_bucket}/{name}"
    assert httpx.get(urls[2]).content == src.read_bytes()
    blob = gcs_client.bucket(gcs_bucket).get_blob(name)
    assert blob.metadata == {"seedance-sha256": digest.sha256}


def test_a_corrupted_staging_upload_is_deleted_and_retried(
    gcs_emulator: GCSEmulator, gcs_client: storage.Client, gcs_bucket: str, tmp_path: Path
) -> None:
    src = make_audio(tmp_path / "voice.wav", 1.0, pad_to=9 * 1_000_000)  # > 8 MB: a resumable upload
    gcs_emulator.add_fault("corrupt_upload")
    resolver = ReferenceResolver(
        storage_client=gcs_client, staging=GCSStaging(gcs_bucket, "s/"), retry=NO_WAIT, sleep=lambda s: None
    )
    prepared = prepare_references(
        {"audio_urls": ["voice.wav"]}, platform="ark", resolver=resolver, local_base=tmp_path, preflight=False
    )
    assert httpx.get(prepared.inputs["audio_urls"][0]).content == src.read_bytes()
    assert gcs_emulator.stats()["corrupted_uploads"] >= 1


def test_a_foreign_object_at_the_staging_name_is_replaced(
    gcs_client: storage.Client, gcs_bucket: str, tmp_path: Path
) -> None:
    src = tmp_path / "a.png"
    src.write_bytes(committed("brand.png").read_bytes())
    staging = GCSStaging(gcs_bucket, "s/")
    obj = staging.object_for(digest_file(src))
    gcs_client.bucket(gcs_bucket).blob(obj.name).upload_from_string(b"half an upload")
    assert staging.stage(gcs_client, src) == obj
    assert gcs_client.bucket(gcs_bucket).blob(obj.name).download_as_bytes() == src.read_bytes()


def test_local_file_without_storage_or_staging_is_refused_before_any_io(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"x")
    with pytest.raises(SeedanceValidationError, match=r"image_urls\[0\]: .*no staging GCS prefix"):
        prepare_references(
            {"image_urls": ["a.png"]}, platform="ark", resolver=ReferenceResolver(), local_base=tmp_path
        )


# -- fal.ai storage (respx) ---------------------------------------------------------------------


REST = "https://rest.fal.example"
CDN = "https://v3.cdn.fal.example"


def _fal_routes(router: respx.Router) -> tuple[respx.Route, respx.Route]:
    token = router.post(f"{REST}/storage/auth/token", params={"storage_type": "fal-cdn-v3"}).respond(
        json={
            "token": "tok-1",
            "token_type": "Bearer",
            "base_url": CDN,
            "expires_at": "2999-01-01T00:00:00+00:00",
        }
    )
    upload = router.post(f"{CDN}/files/upload").respond(json={"access_url": f"{CDN}/files/abc/brand.png"})
    return token, upload


def test_fal_upload_follows_fal_clients_flow_and_is_content_addressed(tmp_path: Path) -> None:
    src = tmp_path / "brand.png"
    src.write_bytes(committed("brand.png").read_bytes())
    with respx.mock(assert_all_called=True) as router, httpx.Client() as http:
        token, upload = _fal_routes(router)
        storage = FalStorage(
            api_key="fal-secret", http=http, rest_url=REST, cache=DirectoryUploadCache(tmp_path / "c")
        )
        resolver = ReferenceResolver(platform_storage=storage, retry=NO_WAIT, sleep=lambda s: None)
        first = prepare_references(
            {"image_urls": ["brand.png"]}, platform="fal", resolver=resolver, local_base=tmp_path
        )
        # Another task (a fresh FalStorage, same cache directory) does not upload again.
        storage2 = FalStorage(
            api_key="fal-secret", http=http, rest_url=REST, cache=DirectoryUploadCache(tmp_path / "c")
        )
        second = ReferenceResolver(platform_storage=storage2).resolve([first.resolved[0].reference])

    assert first.inputs["image_urls"] == [f"{CDN}/files/abc/brand.png"] == [second[0].url]
    assert token.call_count == 1
    assert upload.call_count == 1
    tok_req = token.calls[0].request
    assert tok_req.headers["Authorization"] == "Key fal-secret"
    assert json.loads(tok_req.content) == {}
    up = upload.calls[0].request
    assert up.headers["Authorization"] == "Bearer tok-1"  # the API key never goes to the CDN
    assert up.headers["Content-Type"] == "image/png"
    assert up.headers["X-Fal-File-Name"] == f"{digest_file(src).sha256}.png"
    assert json.loads(up.headers["X-Fal-Object-Lifecycle"]) == {"expiration_duration_seconds": 2 * 86400}
    assert up.content == src.read_bytes()
    assert "fal-secret" not in repr(storage)


def test_fal_upload_faults_are_retried_within_bounds(tmp_path: Path) -> None:
    src = tmp_path / "a.png"
    src.write_bytes(committed("brand.png").read_bytes())
    with respx.mock() as router, httpx.Client() as http:
        _token, upload = _fal_routes(router)
        upload.side_effect = [
            httpx.Response(503),
            httpx.ConnectError("boom"),
            httpx.Response(200, json={"access_url": f"{CDN}/f/a.png"}),
        ]
        storage = FalStorage(api_key="k", http=http, rest_url=REST)
        resolved = ReferenceResolver(platform_storage=storage, retry=NO_WAIT, sleep=lambda s: None).resolve(
            parse_references({"image_urls": ["a.png"]}, local_base=tmp_path)
        )
        assert resolved[0].url == f"{CDN}/f/a.png"
        assert upload.call_count == 3

        upload.side_effect = None
        upload.respond(503)
        storage.cache = type(storage.cache)()  # forget the upload
        with pytest.raises(ReferenceResolutionError, match=r"image_urls\[0\]: .*after 3 attempt") as info:
            ReferenceResolver(platform_storage=storage, retry=NO_WAIT, sleep=lambda s: None).resolve(
                parse_references({"image_urls": ["a.png"]}, local_base=tmp_path)
            )
        assert info.value.retryable


def test_fal_upload_refuses_a_non_https_upload_host(tmp_path: Path) -> None:
    src = tmp_path / "a.png"
    src.write_bytes(b"x")
    with respx.mock() as router, httpx.Client() as http:
        router.post(f"{REST}/storage/auth/token").respond(
            json={
                "token": "t",
                "token_type": "Bearer",
                "base_url": "http://evil.example",
                "expires_at": "2999-01-01T00:00:00",
            }
        )
        with pytest.raises(ReferenceResolutionError, match="non-https upload host"):
            FalStorage(api_key="k", http=http, rest_url=REST).upload(src, min_lifetime=timedelta(hours=1))


# -- the whole flow ---------------------------------------------------------------------------------


def test_preflight_failure_uploads_and_signs_nothing(tmp_path: Path) -> None:
    (tmp_path / "shot.mp4").write_bytes(committed("brand.png").read_bytes())  # a PNG named .mp4
    calls: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(500))  # type: ignore[func-returns-value]
    with httpx.Client(transport=transport) as http:
        resolver = ReferenceResolver(platform_storage=FalStorage(api_key="k", http=http, rest_url=REST))
        with pytest.raises(SeedancePreflightError, match=r"video_urls\[0\]: is an image in PNG format"):
            prepare_references(
                {"video_urls": ["shot.mp4"]}, platform="fal", resolver=resolver, local_base=tmp_path
            )
    assert calls == []  # zero requests to the platform (its storage included)


def test_input_video_seconds_flow_into_the_cost_estimate(tmp_path: Path) -> None:
    from airflow_provider_seedance.client.models import ReferenceToVideoRequest
    from airflow_provider_seedance.client.pricing import estimate_cost

    os.symlink(committed("motion.mp4"), tmp_path / "m.mp4")
    from airflow_provider_seedance.client.preflight import preflight

    report = preflight(
        parse_references({"video_urls": ["m.mp4"]}, local_base=tmp_path, local_roots=[committed("")]),
        platform="oxen",
    )
    request = ReferenceToVideoRequest(prompt="p", video_urls=["https://x/v.mp4"], duration="5")
    exact = estimate_cost(request, input_video_seconds=report.input_video_seconds)
    bound = estimate_cost(request)
    assert exact.input_video_seconds == pytest.approx(3.0)
    assert exact.usd < bound.usd
