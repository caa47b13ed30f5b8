"""The strict GCS emulator serves objects like GCS: ``Range`` (206 / 416), ``HEAD``, and V4 signed
URLs that stop working when ``X-Goog-Date`` + ``X-Goog-Expires`` has passed."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from airflow_provider_seedance.client.references import _emulator_signer
from airflow_provider_seedance.emulator.gcs import parse_range, signed_url_problem

if TYPE_CHECKING:
    from google.cloud import storage

DATA = bytes(range(256)) * 40  # 10 240 bytes


@pytest.fixture
def blob(gcs_client: storage.Client, gcs_bucket: str) -> storage.Blob:
    b = gcs_client.bucket(gcs_bucket).blob("refs/clip.bin")
    b.metadata = {"origin": "test"}
    b.upload_from_string(DATA, content_type="application/octet-stream")
    return b


def sign(blob: storage.Blob, seconds: float) -> str:
    url: str = blob.generate_signed_url(
        version="v4", expiration=timedelta(seconds=seconds), credentials=_emulator_signer()
    )
    return url


def test_ranged_reads_through_the_real_client(blob: storage.Blob) -> None:
    assert blob.download_as_bytes(start=100, end=199) == DATA[100:200]
    assert blob.download_as_bytes(start=10_000) == DATA[10_000:]
    with blob.open("rb", chunk_size=256 * 1024) as f:
        f.seek(5000)
        assert f.read(17) == DATA[5000:5017]
    assert blob.download_as_bytes() == DATA  # whole object: checksum validated by the client


@pytest.mark.parametrize(
    ("header", "status", "content_range", "body"),
    [
        ("bytes=0-0", 206, "bytes 0-0/10240", DATA[:1]),
        ("bytes=10-19", 206, "bytes 10-19/10240", DATA[10:20]),
        ("bytes=10000-", 206, "bytes 10000-10239/10240", DATA[10000:]),
        ("bytes=-16", 206, "bytes 10224-10239/10240", DATA[-16:]),
        ("bytes=10200-99999", 206, "bytes 10200-10239/10240", DATA[10200:]),
        ("bytes=10240-", 416, "bytes */10240", None),
        ("bytes=-0", 416, "bytes */10240", None),
        ("bytes=5-2", 200, None, DATA),  # invalid: ignored, like GCS
        ("bytes=0-1,5-6", 200, None, DATA),  # multi-range: the whole object
    ],
)
def test_range_on_signed_url_and_json_api(
    blob: storage.Blob,
    gcs_client: storage.Client,
    header: str,
    status: int,
    content_range: str | None,
    body: bytes | None,
) -> None:
    signed = sign(blob, 600)
    json_api = (
        f"{gcs_client._connection.API_BASE_URL}/storage/v1/b/{blob.bucket.name}/o/refs%2Fclip.bin?alt=media"
    )
    for url in (signed, json_api):
        resp = httpx.get(url, headers={"Range": header})
        assert resp.status_code == status, (url, resp.text)
        assert resp.headers.get("Content-Range") == content_range
        if body is not None:
            assert resp.content == body
            assert int(resp.headers["Content-Length"]) == len(body)
    if status == 416:
        assert "<Code>InvalidRange</Code>" in httpx.get(signed, headers={"Range": header}).text


def test_head_on_a_signed_url_has_the_gets_headers_and_no_body(blob: storage.Blob) -> None:
    url = sign(blob, 600)
    head = httpx.head(url)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["Content-Length"] == str(len(DATA))
    assert head.headers["x-goog-meta-origin"] == "test"
    assert head.headers["Accept-Ranges"] == "bytes"
    ranged = httpx.head(url, headers={"Range": "bytes=0-99"})
    assert (ranged.status_code, ranged.headers["Content-Range"]) == (206, "bytes 0-99/10240")
    missing = httpx.head(url.replace("clip.bin", "nothing.bin"))
    assert missing.status_code == 404


def test_a_signed_url_stops_working_when_it_expires(blob: storage.Blob) -> None:
    url = sign(blob, 2)
    assert httpx.get(url).content == DATA
    time.sleep(3.1)
    resp = httpx.get(url)
    assert resp.status_code == 400  # GCS answers an expired V4 URL with 400 ExpiredToken
    assert "<Code>ExpiredToken</Code>" in resp.text
    assert "Request signature expired at:" in resp.text
    assert httpx.head(url).status_code == 400
    assert httpx.get(url, headers={"Range": "bytes=0-0"}).status_code == 400
    # the object itself is still there for its owner
    assert blob.download_as_bytes(start=0, end=3) == DATA[:4]


def test_lifetime_over_seven_days_is_refused(blob: storage.Blob) -> None:
    parts = urlsplit(sign(blob, 600))
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["X-Goog-Expires"] = str(7 * 24 * 3600 + 1)
    resp = httpx.get(urlunsplit(parts._replace(query=urlencode(query))))
    assert resp.status_code == 400
    assert "seven days" in resp.text


def test_signed_url_window_rules() -> None:
    q = {"X-Goog-Date": ["20260101T000000Z"], "X-Goog-Expires": ["60"]}
    start = 1767225600  # 2026-01-01T00:00:00Z
    assert signed_url_problem(q, now=start + 60) is None
    problem = signed_url_problem(q, now=start + 61)
    assert problem is not None
    assert problem[0] == "ExpiredToken"
    assert "2026-01-01T00:01:00+00:00" in problem[2]
    assert signed_url_problem({}, now=0) is None  # not a signed URL
    bad = signed_url_problem({"X-Goog-Date": ["yesterday"], "X-Goog-Expires": ["60"]})
    assert bad is not None
    assert bad[0] == "InvalidArgument"


def test_parse_range_rules() -> None:
    assert parse_range(None, 10) is None
    assert parse_range("bytes=0-", 10) == (0, 9)
    assert parse_range("bytes=-20", 10) == (0, 9)
    assert parse_range("items=0-1", 10) is None
    with pytest.raises(ValueError):
        parse_range("bytes=0-0", 0)  # nothing to serve from an empty object
