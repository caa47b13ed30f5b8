"""Preflight of reference media: every documented limit (just inside and just outside), bad
files and unreachable sources, each with a clear error naming the input, and no platform call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from airflow_provider_seedance.client.errors import SeedancePreflightError, SeedanceValidationError
from airflow_provider_seedance.client.preflight import BLOCK_SIZE, preflight, sniff_format
from airflow_provider_seedance.client.references import parse_references
from tests.support.reference_media import committed, make_audio, make_image, make_video
from tests.support.reference_server import ReferenceServer

if TYPE_CHECKING:
    from google.cloud import storage

MB = 1_000_000
Build = Callable[[Path], dict[str, list[str]]]


def _img(name: str, w: int, h: int, pad: int | None = None) -> Build:
    return lambda d: {"image_urls": [str(make_image(d / name, w, h, pad_to=pad))]}


def _vids(*specs: tuple[float, int, int, int, int | None]) -> Build:
    def build(d: Path) -> dict[str, list[str]]:
        return {
            "video_urls": [
                str(make_video(d / f"v{i}.mp4", s, width=w, height=h, fps=fps, pad_to=pad))
                for i, (s, w, h, fps, pad) in enumerate(specs)
            ]
        }

    return build


def _auds(*specs: tuple[float, int | None]) -> Build:
    def build(d: Path) -> dict[str, list[str]]:
        return {
            "audio_urls": [
                str(make_audio(d / f"a{i}.wav", s, pad_to=pad)) for i, (s, pad) in enumerate(specs)
            ]
        }

    return build


@dataclass(frozen=True)
class Case:
    id: str
    platform: str
    build: Build
    #: None: passes; else substrings that the one error line must contain.
    error: tuple[str, ...] | None


F24 = 24
CASES = [
    # images: <= 30 MB each
    Case("image 30 MB inside", "fal", _img("big.png", 640, 480, 30 * MB), None),
    Case(
        "image 30 MB outside",
        "fal",
        _img("big.png", 640, 480, 30 * MB + 1),
        ("image_urls[0]", "30.00 MB", "30,000,001"),
    ),
    # images on Ark: 300..6000 px per side, aspect 0.4..2.5
    Case("ark side 300 inside", "ark", _img("s.png", 300, 300), None),
    Case(
        "ark side 299 outside",
        "ark",
        _img("s.png", 299, 400),
        ("image_urls[0]", "width is 299 px", "minimum 300"),
    ),
    Case("ark side 6000 inside", "ark", _img("s.png", 6000, 3000), None),
    Case("ark side 6001 outside", "ark", _img("s.png", 6001, 3000), ("width is 6001 px", "maximum 6000")),
    Case("ark aspect 0.4 inside", "ark", _img("s.png", 300, 750), None),
    Case("ark aspect 0.4 outside", "ark", _img("s.png", 300, 751), ("aspect ratio", "0.3995", "minimum 0.4")),
    Case("ark aspect 2.5 inside", "ark", _img("s.png", 750, 300), None),
    Case("ark aspect 2.5 outside", "ark", _img("s.png", 751, 300), ("aspect ratio", "2.5033", "maximum 2.5")),
    Case("fal has no side limit", "fal", _img("s.png", 299, 400), None),
    # videos: combined duration 2..15 s
    Case("video 2 s inside", "fal", _vids((2.0, 640, 640, F24, None)), None),
    Case(
        "video 2 s outside",
        "fal",
        _vids((47 / 24, 640, 640, F24, None)),
        ("video_urls (combined)", "1.958 s", "minimum 2 s"),
    ),
    Case("videos 15 s inside", "fal", _vids((8.0, 640, 640, F24, None), (7.0, 640, 640, F24, None)), None),
    Case(
        "videos 15 s outside",
        "fal",
        _vids((8.0, 640, 640, F24, None), (7 + 1 / 24, 640, 640, F24, None)),
        ("video_urls (combined)", "15.042 s", "maximum 15 s"),
    ),
    # videos: total size under 50 MB
    Case(
        "videos 50 MB inside",
        "fal",
        _vids((2.0, 640, 640, F24, 25 * MB), (1.0, 640, 640, F24, 25 * MB - 1)),
        None,
    ),
    Case(
        "videos 50 MB outside",
        "fal",
        _vids((2.0, 640, 640, F24, 25 * MB), (1.0, 640, 640, F24, 25 * MB)),
        ("video_urls (combined)", "50,000,000 bytes", "under 50.00 MB"),
    ),
    # videos: each between 640x640 and 834x1112 pixels
    Case("video 640x640 inside", "fal", _vids((2.0, 640, 640, F24, None)), None),
    Case(
        "video 640x638 outside",
        "fal",
        _vids((2.0, 640, 638, F24, None)),
        ("video_urls[0]", "408,320 pixels", "409,600"),
    ),
    Case("video 834x1112 inside", "fal", _vids((2.0, 834, 1112, F24, None)), None),
    Case(
        "video 834x1114 outside",
        "fal",
        _vids((2.0, 834, 1114, F24, None)),
        ("video_urls[0]", "929,076 pixels", "927,408"),
    ),
    # videos on Ark: each >= 2 s, 24..60 fps
    Case(
        "ark each video 2 s inside",
        "ark",
        _vids((2.0, 640, 640, F24, None), (2.0, 640, 640, F24, None)),
        None,
    ),
    Case(
        "ark each video 2 s outside",
        "ark",
        _vids((2.0, 640, 640, F24, None), (47 / 24, 640, 640, F24, None)),
        ("video_urls[1]", "duration is 1.958 s", "minimum 2 s"),
    ),
    Case(
        "fal each video may be short",
        "fal",
        _vids((1.5, 640, 640, F24, None), (1.0, 640, 640, F24, None)),
        None,
    ),
    Case("ark 24 fps inside", "ark", _vids((2.0, 640, 640, 24, None)), None),
    Case(
        "ark 23 fps outside",
        "ark",
        _vids((2.0, 640, 640, 23, None)),
        ("video_urls[0]", "frame rate is 23 fps", "minimum 24 fps"),
    ),
    # audio: <= 15 MB each, combined <= 15 s (AIHubMax: each <= 15 s)
    Case("audio 15 MB inside", "fal", _auds((1.0, 15 * MB)), None),
    Case(
        "audio 15 MB outside",
        "fal",
        _auds((1.0, 15 * MB + 2)),
        ("audio_urls[0]", "15,000,002 bytes", "at most 15.00 MB"),
    ),
    Case("audio 15 s inside", "fal", _auds((10.0, None), (5.0, None)), None),
    Case(
        "audio 15 s outside",
        "fal",
        _auds((10.0, None), (5.5, None)),
        ("audio_urls (combined)", "15.500 s", "maximum 15 s"),
    ),
    Case("aihubmax audio per clip inside", "aihubmax", _auds((10.0, None), (5.5, None)), None),
    Case(
        "aihubmax audio per clip outside",
        "aihubmax",
        _auds(
            (15.5, None),
        ),
        ("audio_urls[0]", "duration is 15.5 s", "maximum 15 s"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_documented_limit_just_inside_and_just_outside(case: Case, tmp_path: Path) -> None:
    refs = parse_references(case.build(tmp_path), local_base=tmp_path)
    if case.error is None:
        report = preflight(refs, platform=case.platform)
        assert all(i.format for i in report.infos)
        return
    with pytest.raises(SeedancePreflightError) as info:
        preflight(refs, platform=case.platform)
    assert len(info.value.errors) == 1, str(info.value)
    line = str(info.value.errors[0])
    for part in case.error:
        assert part in line, line
    assert not info.value.transient


def test_all_violations_are_reported_at_once_naming_each_input(tmp_path: Path) -> None:
    make_image(tmp_path / "ok.png", 640, 480)
    make_image(tmp_path / "huge.png", 640, 480, pad_to=31 * MB)
    make_image(tmp_path / "shot.mp4", 640, 640)  # a PNG named .mp4
    (tmp_path / "empty.wav").write_bytes(b"")
    refs = parse_references(
        {"image_urls": ["ok.png", "huge.png"], "video_urls": ["shot.mp4"], "audio_urls": ["empty.wav"]},
        local_base=tmp_path,
    )
    with pytest.raises(SeedancePreflightError) as info:
        preflight(refs, platform="fal")
    text = str(info.value)
    assert info.value.fields == ["image_urls[1]", "video_urls[0]", "audio_urls[0]"], text
    assert "is an image in PNG format by content; expected MP4 or MOV" in text
    assert "is empty (0 bytes)" in text


def test_measured_video_duration_is_returned_for_the_cost_estimate() -> None:
    refs = parse_references(
        {
            "video_urls": ["motion.mp4", "motion.mp4"],
            "image_urls": ["brand.png"],
            "audio_urls": ["voice.wav"],
        },
        local_base=committed(""),
    )
    report = preflight(refs, platform="fal")
    assert report.input_video_seconds == pytest.approx(6.0)
    assert [(i.width, i.height) for i in report.infos[:1]] == [(640, 480)]


def test_a_truncated_mp4_is_named_truncated(tmp_path: Path) -> None:
    full = make_video(tmp_path / "full.mp4", 3.0).read_bytes()
    (tmp_path / "cut.mp4").write_bytes(full[: len(full) // 2])
    refs = parse_references({"video_urls": ["cut.mp4"]}, local_base=tmp_path)
    with pytest.raises(SeedancePreflightError, match=r"video_urls\[0\]: is truncated"):
        preflight(refs, platform="fal")


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"\xff\xd8\xff\xe0", "JPEG"),
        (b"\x89PNG\r\n\x1a\n", "PNG"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "WEBP"),
        (b"RIFF\0\0\0\0WAVEfmt ", "WAV"),
        (b"\0\0\0\x18ftypisom", "MP4"),
        (b"\0\0\0\x14ftypqt  ", "MOV"),
        (b"\0\0\0\x08moov", "MOV"),
        (b"ID3\x04", "MP3"),
        (b"\xff\xfb\x90\x00", "MP3"),
        (b"GIF89a", "GIF"),
        (b"<html>", None),
    ],
)
def test_formats_are_recognised_by_content(head: bytes, fmt: str | None) -> None:
    assert sniff_format(head + b"\0" * 16) == fmt


def test_mp3_and_webp_and_jpeg_pass(tmp_path: Path) -> None:
    make_audio(tmp_path / "a.mp3", 2.0, fmt="mp3")
    make_image(tmp_path / "a.webp", 640, 480, fmt="WEBP")
    make_image(tmp_path / "a.jpg", 640, 480, fmt="JPEG")
    refs = parse_references(
        {
            "image_urls": ["a.webp", "a.jpg"],
            "audio_urls": ["a.mp3"],
            "video_urls": [str(committed("motion.mp4"))],
        },
        local_base=tmp_path,
        local_roots=[committed("")],
    )
    report = preflight(refs, platform="fal")
    assert [i.format for i in report.infos] == ["WEBP", "JPEG", "MP4", "MP3"]
    assert report.infos[3].duration == pytest.approx(2.0, abs=0.1)


# -- over HTTP: reachability, ranged reads ---------------------------------------------------------


def test_https_reference_is_read_with_ranged_gets_not_downloaded_whole(
    reference_server: ReferenceServer, tmp_path: Path
) -> None:
    big = make_video(tmp_path / "big.mp4", 3.0, pad_to=40 * MB)
    url = reference_server.add("big.mp4", path=big, content_type="video/mp4")
    report = preflight(parse_references({"video_urls": [url]}), platform="fal")
    assert report.infos[0].duration == pytest.approx(3.0)
    assert report.infos[0].size == 40 * MB
    assert reference_server.bytes_sent < 8 * BLOCK_SIZE  # a few blocks of a 40 MB file
    assert all(rng and rng.startswith("bytes=") for _, rng in reference_server.log)


@pytest.mark.parametrize(
    ("route", "message", "transient"),
    [
        ({"status": 404}, "answered HTTP 404 (not found)", False),
        ({"status": 403}, "answered HTTP 403 (forbidden: a signed URL that expired?)", False),
        ({"status": 503}, "answered HTTP 503", True),
        ({"redirect": "ftp://example.com/x.png"}, "redirects to another scheme", False),
        ({"data": b"<html>login</html>", "content_type": "text/html"}, "is served as 'text/html'", False),
        ({"delay": 2.0, "data": b"x"}, "timed out", True),
    ],
    ids=["404", "expired-403", "503", "scheme-redirect", "html", "timeout"],
)
def test_unreachable_references_are_named(
    reference_server: ReferenceServer, route: dict[str, object], message: str, transient: bool
) -> None:
    url = reference_server.add("ref.png", **route)
    refs = parse_references({"image_urls": [url + "?X-Goog-Signature=secret"]})
    with pytest.raises(SeedancePreflightError) as info:
        preflight(refs, platform="fal", timeout=0.5)
    text = str(info.value)
    assert info.value.fields == ["image_urls[0]"]
    assert message in text
    assert "secret" not in text  # signed query strings never reach messages
    assert info.value.transient is transient


def test_same_scheme_redirects_are_followed(reference_server: ReferenceServer) -> None:
    target = reference_server.add("real.png", path=committed("brand.png"), content_type="image/png")
    url = reference_server.add("moved.png", redirect=target)
    report = preflight(parse_references({"image_urls": [url]}), platform="fal")
    assert (report.infos[0].width, report.infos[0].height) == (640, 480)


def test_servers_that_ignore_range_still_work(reference_server: ReferenceServer) -> None:
    url = reference_server.add("v.mp4", path=committed("motion.mp4"), content_type="video/mp4", ranges=False)
    report = preflight(parse_references({"video_urls": [url]}), platform="fal")
    assert report.infos[0].duration == pytest.approx(3.0)


# -- gs:// -----------------------------------------------------------------------------------------


def test_gs_references_are_probed_through_the_storage_api(
    gcs_client: storage.Client, gcs_bucket: str
) -> None:
    bucket = gcs_client.bucket(gcs_bucket)
    bucket.blob("shots/hero.png").upload_from_filename(str(committed("brand.png")), content_type="image/png")
    bucket.blob("clips/motion.mp4").upload_from_filename(
        str(committed("motion.mp4")), content_type="video/mp4"
    )
    refs = parse_references(
        {
            "image_urls": [f"gs://{gcs_bucket}/shots/hero.png", f"gs://{gcs_bucket}/shots/missing.png"],
            "video_urls": [f"gs://{gcs_bucket}/clips/motion.mp4"],
        }
    )
    with pytest.raises(SeedancePreflightError) as info:
        preflight(refs, platform="fal", storage_client=gcs_client)
    assert [str(e) for e in info.value.errors] == [
        f"image_urls[1]: gs://{gcs_bucket}/shots/missing.png does not exist"
    ]
    report = preflight(refs[::2], platform="fal", storage_client=gcs_client)
    assert report.input_video_seconds == pytest.approx(3.0)


def test_a_bucket_without_permission_is_named(reference_server: ReferenceServer) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    reference_server.add("storage/v1/b/private/o/logo.png", status=403)
    client = storage.Client(
        project="p",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": reference_server.base_url},
    )
    refs = parse_references({"image_urls": ["gs://private/logo.png"]})
    with pytest.raises(
        SeedancePreflightError, match=r"image_urls\[0\]: no permission to read gs://private/logo.png"
    ):
        preflight(refs, platform="fal", storage_client=client)


def test_preflight_never_contacts_the_platform(tmp_path: Path) -> None:
    """Preflight reads the references only: a platform transport that fails any request proves it."""
    calls: list[httpx.Request] = []

    def platform(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500)

    (tmp_path / "zero.png").write_bytes(b"")
    with (
        httpx.Client(transport=httpx.MockTransport(platform)) as _unused,
        pytest.raises(SeedanceValidationError),
    ):
        preflight(parse_references({"image_urls": ["zero.png"]}, local_base=tmp_path), platform="fal")
    assert calls == []
