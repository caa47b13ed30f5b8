"""Contact sheets checked as images: size, non-blank tiles, distinct tiles for distinct seeds."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image, ImageChops, ImageStat

from airflow_provider_seedance.review.contact_sheet import (
    BACKGROUND,
    Layout,
    TakeReadError,
    build_review,
    read_frames,
)
from airflow_provider_seedance.review.takes import Take, takes_from_manifest


def _image(gcs_client, uri: str) -> Image.Image:  # type: ignore[no-untyped-def]
    bucket, _, name = uri.removeprefix("gs://").partition("/")
    return Image.open(io.BytesIO(gcs_client.bucket(bucket).blob(name).download_as_bytes())).convert("RGB")


def _thumb_box(layout: Layout, slot: int) -> tuple[int, int, int, int]:
    x, y = layout.tile_origin(slot)
    width = layout.frames * layout.thumb + (layout.frames + 1) * 8
    return x, y, x + width, y + layout.thumb + 16


def _spread(image: Image.Image) -> float:
    return max(ImageStat.Stat(image).stddev)


def test_sheet_has_a_tile_per_take_and_distinct_seeds_look_distinct(
    gcs_client, gcs_bucket, archive_takes
) -> None:  # type: ignore[no-untyped-def]
    takes = archive_takes([11, 42, 7], ["16:9", "9:16"])
    layout = Layout(columns=3, rows=2)
    result = build_review(gcs_client, takes, run="grid / manual__1", layout=layout)

    assert result.sheet_uris == [f"gs://{gcs_bucket}/grid/2026-03-01/contact-sheet-001.png"]
    sheet = _image(gcs_client, result.sheet_uris[0])
    assert sheet.size == layout.sheet_size == layout.sheet_size_for(6)
    tiles = [sheet.crop(_thumb_box(layout, slot)) for slot in range(6)]
    # Every tile shows a picture (not the flat tile background).
    for slot, tile in enumerate(tiles):
        assert _spread(tile) > 15, f"tile {slot} looks blank"
    # The empty area after the last tile would be background: sheet is exactly full here.
    # Distinct seeds -> distinct tiles (same ratio: slots 0, 2, 4 are 16:9 seeds 11, 42, 7).
    for a, b in ((0, 2), (0, 4), (2, 4)):
        diff = sum(ImageStat.Stat(ImageChops.difference(tiles[a], tiles[b])).mean) / 3
        assert diff > 10, (a, b, diff)
    # Posters beside each take, at the take's aspect ratio.
    poster = _image(gcs_client, takes[1].poster_uri)
    assert poster.size == (180, 320)
    index = json.loads(gcs_client.bucket(gcs_bucket).blob("grid/2026-03-01/review.json").download_as_bytes())
    assert [t["label"] for t in index["takes"]] == [t.label for t in takes]
    assert index["takes"][0]["width"] == 320


def test_500_takes_page_into_bounded_sheets() -> None:
    layout = Layout()
    assert layout.pages(500) == 21
    width, height = layout.sheet_size
    assert width <= 1800
    assert height <= 1600
    assert layout.sheet_size_for(3)[1] < height  # a short page is only as tall as its rows


def test_pages_split_and_the_last_page_leaves_empty_slots_blank(
    gcs_client, gcs_bucket, archive_takes
) -> None:  # type: ignore[no-untyped-def]
    takes = archive_takes([1, 2, 3, 4, 5])
    layout = Layout(columns=2, rows=1)
    result = build_review(gcs_client, takes, run="r", layout=layout)
    assert len(result.sheet_uris) == 3
    last = _image(gcs_client, result.sheet_uris[-1])
    assert last.size == layout.sheet_size
    empty = last.crop(_thumb_box(layout, 1))
    assert ImageStat.Stat(empty).extrema == [(c, c) for c in BACKGROUND]


def test_unreadable_take_gets_a_marked_tile_and_all_unreadable_fails(
    gcs_client, gcs_bucket, archive_takes
) -> None:  # type: ignore[no-untyped-def]
    takes = archive_takes([1])
    gcs_client.bucket(gcs_bucket).blob("grid/2026-03-01/broken.mp4").upload_from_string(b"not a video")
    broken = Take(number=2, uri=f"gs://{gcs_bucket}/grid/2026-03-01/broken.mp4", seed=2)
    result = build_review(gcs_client, [*takes, broken], run="r")
    assert result.poster_uris == [takes[0].poster_uri]
    with pytest.raises(TakeReadError, match=r"broken\.mp4"):
        build_review(gcs_client, [broken], run="r")


def test_frames_are_read_with_ranged_reads_not_whole_downloads(gcs_client, gcs_bucket, archive_takes) -> None:  # type: ignore[no-untyped-def]
    from airflow_provider_seedance.client.gcs import open_object

    (take,) = archive_takes([9], audio=True)
    with open_object(gcs_client, take.object, chunk_size=16 * 1024) as reader:
        frames = read_frames(reader, count=3)
    assert len(frames.thumbnails) == 3
    assert frames.has_audio
    assert frames.duration_seconds == pytest.approx(2.0, abs=0.1)
    assert frames.thumbnails[0].tobytes() != frames.thumbnails[2].tobytes()  # motion


def test_manifest_takes_need_uris() -> None:
    with pytest.raises(ValueError, match="no takes"):
        takes_from_manifest({"takes": []})
    with pytest.raises(ValueError, match="take 1 has no 'uri'"):
        takes_from_manifest({"takes": [{"seed": 1}]})
    (take,) = takes_from_manifest({"takes": [{"uri": "gs://b/x/p1-16x9-seed4.mp4", "seed": 4}]})
    assert take.label == "#01 p1-16x9-seed4"
    assert take.poster_uri == "gs://b/x/p1-16x9-seed4.poster.jpg"
