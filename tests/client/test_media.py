"""The streaming media download on exact wire responses (respx)."""

from __future__ import annotations

import httpx
import pytest
import respx

from airflow_provider_seedance.client.errors import SeedanceDownloadError, SeedanceIncompleteDownloadError
from airflow_provider_seedance.client.media import (
    MediaSource,
    open_download,
    run_download_attempts,
    safe_url,
)
from tests.support.retry import NO_WAIT

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
