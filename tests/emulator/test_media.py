"""Served videos: real playable MP4s, per-job bytes, expiring signed URLs, ranges, truncation."""

from __future__ import annotations

import io
import struct

import av
import httpx
import pytest

from airflow_provider_seedance.emulator import media
from airflow_provider_seedance.emulator.testing import EmulatorHandle
from tests.emulator.conftest import FAL_STANDARD


def _finished_video(emu: EmulatorHandle, fal: httpx.Client, seed: int = 5) -> tuple[str, dict]:
    sub = fal.post(FAL_STANDARD, json={"prompt": "p", "seed": seed}).json()
    emu.advance(60)
    return sub["request_id"], fal.get(sub["response_url"]).json()["video"]


def test_served_mp4_decodes_with_pyav(emu: EmulatorHandle, fal: httpx.Client) -> None:
    rid, video = _finished_video(emu, fal)
    data = httpx.get(video["url"]).content
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == (64, 64)
    # the trailing free box carries the job id and seed
    assert f"job={rid} seed=5".encode() in data
    tail_start = len(media.sample_bytes())
    size, kind = struct.unpack(">I4s", data[tail_start : tail_start + 8])
    assert (kind, tail_start + size) == (b"free", len(data))


def test_each_job_gets_distinct_deterministic_bytes(emu: EmulatorHandle, fal: httpx.Client) -> None:
    rid1, v1 = _finished_video(emu, fal, seed=1)
    rid2, v2 = _finished_video(emu, fal, seed=1)
    b1, b2 = httpx.get(v1["url"]).content, httpx.get(v2["url"]).content
    assert b1 != b2
    assert b1 == httpx.get(v1["url"]).content == emu.video_bytes(rid1)
    assert b2 == emu.video_bytes(rid2)


def test_url_expires_like_a_signed_url(emu: EmulatorHandle, fal: httpx.Client) -> None:
    emu.configure(video_ttl_seconds=100)
    rid, video = _finished_video(emu, fal)
    assert httpx.get(video["url"]).status_code == 200
    emu.advance(101)
    expired = httpx.get(video["url"])
    assert expired.status_code == 403
    assert b"ExpiredToken" in expired.content
    # asking the platform again mints a fresh URL
    fresh = fal.get(f"/bytedance/seedance-2.0/requests/{rid}").json()["video"]["url"]
    assert fresh != video["url"]
    assert httpx.get(fresh).status_code == 200
    assert httpx.get(emu.video_url(rid)).status_code == 200


def test_tampered_signature_is_rejected(emu: EmulatorHandle, fal: httpx.Client) -> None:
    _, video = _finished_video(emu, fal)
    bad = video["url"].replace("sig=", "sig=0")
    assert httpx.get(bad).status_code == 403
    assert httpx.get(video["url"].split("?")[0]).status_code == 403


def test_unfinished_job_has_no_media(emu: EmulatorHandle, fal: httpx.Client) -> None:
    rid = fal.post(FAL_STANDARD, json={"prompt": "p"}).json()["request_id"]
    assert httpx.get(emu.video_url(rid)).status_code == 404


def test_range_and_head(emu: EmulatorHandle, fal: httpx.Client) -> None:
    rid, video = _finished_video(emu, fal)
    full = emu.video_bytes(rid)
    head = httpx.head(video["url"])
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == len(full)
    assert head.headers["accept-ranges"] == "bytes"
    part = httpx.get(video["url"], headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == full[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(full)}"
    suffix = httpx.get(video["url"], headers={"Range": "bytes=-7"})
    assert suffix.content == full[-7:]
    assert httpx.get(video["url"], headers={"Range": f"bytes={len(full)}-"}).status_code == 416


def test_truncated_download(emu: EmulatorHandle, fal: httpx.Client) -> None:
    _, video = _finished_video(emu, fal)
    emu.add_fault("media", "truncate")
    received = bytearray()
    with httpx.stream("GET", video["url"]) as response:
        assert int(response.headers["content-length"]) == video["file_size"]
        with pytest.raises(httpx.RemoteProtocolError):  # noqa: PT012 - the error comes mid-stream
            for chunk in response.iter_bytes():
                received += chunk
    assert 0 < len(received) < video["file_size"]
    assert httpx.get(video["url"]).status_code == 200  # times=1: next download is whole


def test_dropped_download(emu: EmulatorHandle, fal: httpx.Client) -> None:
    _, video = _finished_video(emu, fal)
    emu.add_fault("media", "drop")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.get(video["url"])


def test_video_size_padding_matches_file_size(emu: EmulatorHandle, fal: httpx.Client) -> None:
    emu.configure(video_size_bytes=3 * 1024 * 1024 + 17)
    _rid, video = _finished_video(emu, fal)
    assert video["file_size"] == 3 * 1024 * 1024 + 17
    data = httpx.get(video["url"]).content
    assert len(data) == video["file_size"]
    with av.open(io.BytesIO(data)) as container:
        assert next(container.decode(video=0)).width == 64


def test_layout_sizes_and_largesize_header() -> None:
    small = media.video_layout("r", 1)
    assert small.size == len(small.read_all())
    big = media.video_layout("r", 1, 5 * 2**30)  # > 4 GiB: 64-bit free box
    assert big.size == 5 * 2**30
    header = big.head[len(media.sample_bytes()) :][:16]
    assert struct.unpack(">I4sQ", header) == (1, b"free", 5 * 2**30 - len(media.sample_bytes()))
    assert sum(len(c) for c in media.video_layout("r", 1, 3_000_001).iter_bytes()) == 3_000_001
