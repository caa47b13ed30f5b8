"""The emulated fal.ai file storage, driven by the provider's own :class:`FalStorage` (and raw
httpx for what it never sends) against the emulator over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from airflow_provider_seedance.client.errors import ReferenceResolutionError
from airflow_provider_seedance.client.reference_storage import FalStorage, digest_file
from airflow_provider_seedance.emulator.testing import EmulatorHandle
from tests.support.reference_media import committed


@pytest.fixture
def brand(tmp_path: Path) -> Path:
    src = tmp_path / "brand.png"
    src.write_bytes(committed("brand.png").read_bytes())
    return src


def storage(emu: EmulatorHandle, http: httpx.Client, key: str | None = None) -> FalStorage:
    return FalStorage(api_key=key or emu.api_key, http=http, rest_url=emu.base_url)


def test_upload_through_fal_storage_then_fetch_with_range_and_head(emu: EmulatorHandle, brand: Path) -> None:
    data = brand.read_bytes()
    with httpx.Client() as http:
        url, _expires = storage(emu, http).upload(brand, min_lifetime=timedelta(hours=1))
        assert url.startswith(f"{emu.base_url}/fal-cdn/files/")
        assert url.endswith(f"/{digest_file(brand).sha256}.png")
        whole = http.get(url)
        assert whole.status_code == 200
        assert whole.content == data
        assert whole.headers["Content-Type"] == "image/png"
        part = http.get(url, headers={"Range": "bytes=0-7"})
        assert part.status_code == 206
        assert part.content == data[:8] == b"\x89PNG\r\n\x1a\n"
        assert part.headers["Content-Range"] == f"bytes 0-7/{len(data)}"
        assert http.get(url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416
        head = http.head(url)
        assert (head.status_code, head.content, head.headers["Content-Length"]) == (200, b"", str(len(data)))
        assert http.get(url.rsplit("/", 1)[0] + "/other.png").status_code == 404

    [tok] = emu.requests("fal.storage_token")
    assert tok["auth_scheme"] == "Key"
    assert tok["query"] == "storage_type=fal-cdn-v3"
    [up] = emu.requests("fal.storage_upload")
    assert up["auth_scheme"] == "Bearer"
    assert up["body_size"] == len(data)
    assert json.loads(up["headers"]["x-fal-object-lifecycle"]) == {"expiration_duration_seconds": 2 * 86400}
    assert emu.api_key not in json.dumps(emu.requests())


def test_the_token_route_checks_the_fal_key(emu: EmulatorHandle, brand: Path) -> None:
    with httpx.Client() as http, pytest.raises(ReferenceResolutionError, match="HTTP 401"):
        storage(emu, http, key="wrong-key").upload(brand, min_lifetime=timedelta(hours=1))
    resp = httpx.post(
        f"{emu.base_url}/storage/auth/token",
        params={"storage_type": "fal-cdn-v3"},
        json={},
        headers={"Authorization": f"Bearer {emu.api_key}"},
    )
    assert resp.status_code == 401  # fal wants "Key", like its other routes
    assert resp.json()["error_type"] == "unauthorized"


def test_the_upload_route_accepts_only_tokens_it_issued_and_not_expired(emu: EmulatorHandle) -> None:
    upload = f"{emu.base_url}/fal-cdn/files/upload"
    for auth in (None, f"Key {emu.api_key}", "Bearer made-up-token"):
        headers = {"Authorization": auth} if auth else {}
        assert httpx.post(upload, content=b"x", headers=headers).status_code == 401
    token = httpx.post(
        f"{emu.base_url}/storage/auth/token?storage_type=fal-cdn-v3",
        json={},
        headers={"Authorization": f"Key {emu.api_key}"},
    ).json()
    assert token["token_type"] == "Bearer"
    assert token["base_url"] == f"{emu.base_url}/fal-cdn"
    bearer = {"Authorization": f"Bearer {token['token']}", "X-Fal-File-Name": "a.bin"}
    ok = httpx.post(upload, content=b"abc", headers=bearer)
    assert ok.status_code == 200, ok.text
    emu.advance(3601)  # the token's lifetime on the emulator clock
    expired = httpx.post(upload, content=b"abc", headers=bearer)
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]


def test_an_uploaded_file_disappears_after_its_lifecycle(emu: EmulatorHandle, brand: Path) -> None:
    with httpx.Client() as http:
        fal = FalStorage(
            api_key=emu.api_key, http=http, rest_url=emu.base_url, upload_lifetime=timedelta(seconds=60)
        )
        url, _ = fal.upload(brand, min_lifetime=timedelta(seconds=1))
        assert http.head(url).status_code == 200
        emu.advance(61)
        assert http.get(url).status_code == 404


def test_faults_apply_to_the_storage_routes_and_reset_forgets_files(emu: EmulatorHandle, brand: Path) -> None:
    emu.add_fault("fal.storage_upload", "status", status=503)
    with httpx.Client() as http:
        fal = storage(emu, http)
        with pytest.raises(ReferenceResolutionError, match="HTTP 503") as info:
            fal.upload(brand, min_lifetime=timedelta(hours=1))
        assert info.value.retryable
        url, _ = fal.upload(brand, min_lifetime=timedelta(hours=1))  # the fault fired once
        emu.add_fault("fal.storage_file", "status", status=500)
        assert http.get(url).status_code == 500
        assert http.get(url).status_code == 200
        emu.reset()
        assert http.get(url).status_code == 404
