"""The streaming media download on exact wire responses (respx), and the media URL policy."""

from __future__ import annotations

import httpx
import pytest
import respx

from airflow_provider_seedance.client import media
from airflow_provider_seedance.client.errors import (
    MediaURLRefusedError,
    SeedanceDownloadError,
    SeedanceIncompleteDownloadError,
)
from airflow_provider_seedance.client.media import (
    MediaSource,
    MediaURLPolicy,
    open_download,
    run_download_attempts,
    safe_url,
)
from tests.support.retry import NO_WAIT

URL = "https://media.example.com/v/clip.mp4?X-Goog-Signature=secret-signature"
#: What the fake resolver answers: example.com names are public, a few names are not.
FAKE_DNS = {
    "media.example.com": "93.184.215.14",
    "cdn.example.com": "93.184.215.15",
    "metadata.google.internal": "169.254.169.254",
    "rebind.example.com": "10.1.2.3",
}


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test here depends on real DNS: names resolve through FAKE_DNS."""
    real = media.resolve_host

    def resolve(host: str, port: int | None = None) -> list:  # type: ignore[type-arg]
        if host in FAKE_DNS:
            return real(FAKE_DNS[host])
        return real(host, port)

    monkeypatch.setattr(media, "resolve_host", resolve)


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


@pytest.mark.parametrize(
    ("status", "retry_after", "slept"),
    [(429, "7", 7.0), (503, "3600", 30.0)],
    ids=["honoured_on_429", "capped_at_30_s"],
)
@respx.mock
def test_retry_after_is_honoured_up_to_its_cap(status: int, retry_after: str, slept: float) -> None:
    respx.get(URL).side_effect = [
        httpx.Response(status, headers={"Retry-After": retry_after}),
        httpx.Response(200, content=b"video", headers={"Content-Type": "video/mp4"}),
    ]
    sleeps: list[float] = []
    with httpx.Client() as client:
        assert run_download_attempts(client, MediaSource(URL, 5), drain, sleep=sleeps.append)[1] == 5
    assert sleeps == [slept]


@respx.mock
def test_transient_failures_are_retried_at_most_max_attempts_times() -> None:
    route = respx.get(URL).respond(503)
    with httpx.Client() as client, pytest.raises(SeedanceDownloadError, match="HTTP 503"):
        run_download_attempts(client, MediaSource(URL), drain, retry=NO_WAIT, sleep=lambda s: None)
    assert route.call_count == NO_WAIT.max_attempts


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


# -- the media URL policy (defect 10) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://cdn.example.com/v/clip.mp4", "must use https"),
        ("https://169.254.169.254/latest/meta-data/?token=secret-token", "169.254.169.254, a link-local"),
        ("https://metadata.google.internal/computeMetadata/v1/", "169.254.169.254, a link-local"),
        ("https://10.0.0.8/v/clip.mp4", "10.0.0.8, a private"),
        ("https://rebind.example.com/v/clip.mp4", "10.1.2.3, a private"),
        ("https://127.0.0.1:8787/_media/x.mp4", "127.0.0.1, a loopback"),
        ("https://[::ffff:169.254.169.254]/x", "link-local"),
        ("https://100.64.0.1/x", "not a public address"),
        ("ftp://cdn.example.com/x.mp4", "must be an https URL"),
    ],
)
@respx.mock(assert_all_mocked=True)
def test_media_urls_off_the_policy_are_refused_before_any_request(url: str, why: str) -> None:
    with httpx.Client() as client, pytest.raises(MediaURLRefusedError, match=why) as info:
        run_download_attempts(client, MediaSource(url), drain, retry=NO_WAIT, sleep=lambda s: None)
    assert str(info.value).startswith("video.url: ")
    assert not info.value.retryable
    assert "secret-token" not in str(info.value)
    assert not respx.calls  # refused before any byte was fetched


@respx.mock
def test_a_redirect_to_a_loopback_address_is_refused_when_the_connection_is_not_local() -> None:
    first = respx.get(URL).respond(302, headers={"Location": "http://127.0.0.1:8787/_media/x.mp4"})
    inner = respx.get("http://127.0.0.1:8787/_media/x.mp4").respond(200, content=b"video")
    with (
        httpx.Client(follow_redirects=True) as client,
        pytest.raises(MediaURLRefusedError, match=r"video.url \(redirect\): .*must use https"),
    ):
        run_download_attempts(client, MediaSource(URL), drain, retry=NO_WAIT, sleep=lambda s: None)
    assert first.call_count == 1
    assert inner.call_count == 0


@respx.mock
def test_a_redirect_to_another_public_https_host_is_followed() -> None:
    respx.get(URL).respond(307, headers={"Location": "https://cdn.example.com/v/clip.mp4"})
    respx.get("https://cdn.example.com/v/clip.mp4").respond(200, content=b"video")
    with httpx.Client() as client:
        assert run_download_attempts(client, MediaSource(URL, 5), drain, sleep=lambda s: None)[1] == 5


@respx.mock
def test_a_local_connection_allows_http_and_local_addresses() -> None:
    local = MediaURLPolicy.for_connection("http://127.0.0.1:8787")
    assert local.allow_local
    respx.get("http://127.0.0.1:8787/_media/x.mp4").respond(200, content=b"video")
    with httpx.Client() as client:
        source = MediaSource("http://127.0.0.1:8787/_media/x.mp4", 5, policy=local)
        assert run_download_attempts(client, source, drain, sleep=lambda s: None)[1] == 5


@pytest.mark.parametrize(
    ("base_url", "local"),
    [
        (None, False),
        ("https://queue.fal.run", False),  # public, or unresolvable here: strict either way
        ("https://media.example.com", False),
        ("http://127.0.0.1:8787", True),
        ("http://[::1]:8787", True),
        ("https://10.0.0.8/proxy", True),
        ("https://metadata.google.internal", True),
    ],
)
def test_the_policy_follows_the_connection_host(base_url: str | None, local: bool) -> None:
    assert MediaURLPolicy.for_connection(base_url).allow_local is local
