"""The streaming download helper on exact wire responses (respx), and storage client selection."""

from __future__ import annotations

import sys
import types

import httpx
import pytest
import respx

from airflow_provider_seedance.client.download import (
    MediaSource,
    SeedanceDownloadError,
    SeedanceIncompleteDownloadError,
    open_download,
    run_download_attempts,
    safe_url,
)
from airflow_provider_seedance.transfers import gcs_archive

URL = "https://media.example.com/v/clip.mp4?X-Goog-Signature=secret-signature"


def drain(stream) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    for _ in stream.iter_chunks(4):
        pass
    return stream.crc32c, stream.size


@respx.mock
def test_error_page_with_status_200_is_not_taken_for_a_video() -> None:
    respx.get(URL).respond(200, html="<html>Access denied</html>")
    with httpx.Client() as client, pytest.raises(SeedanceDownloadError, match="not a video") as info:
        run_download_attempts(client, MediaSource(URL), drain, sleep=lambda s: None)
    assert not info.value.retryable
    assert "secret-signature" not in str(info.value)


@respx.mock
def test_retry_after_is_honoured_on_429() -> None:
    respx.get(URL).side_effect = [
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(200, content=b"video", headers={"Content-Type": "video/mp4"}),
    ]
    slept: list[float] = []
    with httpx.Client() as client:
        assert run_download_attempts(client, MediaSource(URL, 5), drain, sleep=slept.append)[1] == 5
    assert slept == [7.0]


@respx.mock
def test_other_client_errors_are_not_retried() -> None:
    route = respx.get(URL).respond(400)
    with httpx.Client() as client, pytest.raises(SeedanceDownloadError, match="HTTP 400"):
        run_download_attempts(client, MediaSource(URL), drain, sleep=lambda s: None)
    assert route.call_count == 1


@respx.mock
def test_content_length_disagreeing_with_file_size_fails_before_reading() -> None:
    respx.get(URL).respond(200, content=b"12345", headers={"Content-Type": "video/mp4"})
    with (
        httpx.Client() as client,
        pytest.raises(SeedanceIncompleteDownloadError, match="file_size 6"),
        open_download(client, URL, expected_size=6),
    ):
        pass


@respx.mock
def test_connection_errors_are_retried() -> None:
    respx.get(URL).side_effect = [httpx.ConnectError("refused"), httpx.Response(200, content=b"ok")]
    with httpx.Client() as client:
        assert run_download_attempts(client, MediaSource(URL), drain, sleep=lambda s: None)[1] == 2


def test_safe_url_drops_the_query_string() -> None:
    assert safe_url(URL) == "https://media.example.com/v/clip.mp4?…"
    assert safe_url("https://h/p") == "https://h/p"


# -- which storage client -------------------------------------------------------------------------


def test_emulator_host_means_anonymous_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    from google.auth.credentials import AnonymousCredentials

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:1")
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    client = gcs_archive.make_storage_client("google_cloud_default")
    assert isinstance(client._credentials, AnonymousCredentials)
    assert client.project == "seedance-local"


def test_gcs_hook_is_used_when_the_google_provider_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    seen: dict[str, object] = {}

    class GCSHook:
        def __init__(self, gcp_conn_id: str, impersonation_chain: object = None) -> None:
            seen.update(gcp_conn_id=gcp_conn_id, impersonation_chain=impersonation_chain)

        def get_conn(self) -> str:
            return "client-from-gcs-hook"

    module = types.ModuleType("airflow.providers.google.cloud.hooks.gcs")
    module.GCSHook = GCSHook  # type: ignore[attr-defined]
    for name in (
        "airflow.providers.google",
        "airflow.providers.google.cloud",
        "airflow.providers.google.cloud.hooks",
    ):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "airflow.providers.google.cloud.hooks.gcs", module)

    client = gcs_archive.make_storage_client("my_gcp", ("a@p.iam.gserviceaccount.com",))

    assert client == "client-from-gcs-hook"
    assert seen == {"gcp_conn_id": "my_gcp", "impersonation_chain": ["a@p.iam.gserviceaccount.com"]}


def test_adc_with_impersonation_without_the_google_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    import google.auth
    from google.auth import impersonated_credentials
    from google.auth.credentials import AnonymousCredentials

    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.setitem(sys.modules, "airflow.providers.google.cloud.hooks.gcs", None)  # not installed
    monkeypatch.setattr(google.auth, "default", lambda scopes=None: (AnonymousCredentials(), "adc-project"))

    client = gcs_archive.make_storage_client(
        "google_cloud_default", ["delegate@p.iam.gserviceaccount.com", "archiver@p.iam.gserviceaccount.com"]
    )

    assert isinstance(client._credentials, impersonated_credentials.Credentials)
    assert client._credentials.service_account_email == "archiver@p.iam.gserviceaccount.com"
    assert client.project == "adc-project"
