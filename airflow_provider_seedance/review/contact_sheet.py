"""Contact sheets: every take of a grid side by side, one image per page. Airflow-free.

:func:`build_review` reads each archived take from GCS **streaming** (ranged reads through
:func:`~airflow_provider_seedance.client.gcs.open_object`, a few hundred KiB at a time, whatever
the video's size), decodes :data:`FRAMES_PER_TAKE` frames spread over the take with PyAV (seeking,
not decoding everything), and

* writes a **poster frame** per take beside it (``<take>.poster.jpg``, the middle frame, long
  side at most :data:`POSTER_LONG_SIDE`),
* composes **contact sheets** (Pillow): a header naming the run and the page, then one tile per
  take -- its frames as a strip, the take's label (``#03 p1-16x9-seed42``, the reviewer's option),
  seed, aspect ratio, tier and a shortened prompt. A sheet holds at most
  :data:`DEFAULT_COLUMNS` x :data:`DEFAULT_ROWS` takes, so its size is bounded (about
  1700 x 1400 px); 500 takes make 21 pages.
* writes them beside the manifest (``contact-sheet-001.png``, ...) and a ``review.json`` index
  (the takes, posters and sheets) that the review view in the Airflow UI reads.

Only one take's frames (as small thumbnails) are held in memory at a time, plus the page being
drawn. The caller brings a ``google.cloud.storage.Client``.
"""

from __future__ import annotations

import json
import logging
import math
import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from typing import TYPE_CHECKING, Any, BinaryIO

from airflow_provider_seedance.client.gcs import GCSObject, open_object, stat_object

if TYPE_CHECKING:
    from google.cloud import storage
    from PIL import Image

    from airflow_provider_seedance.review.takes import Take

log = logging.getLogger(__name__)

FRAMES_PER_TAKE = 3
#: Each frame is fitted into a square of this many pixels on the sheet.
THUMB = 128
GAP = 8
CAPTION_HEIGHT = 58
HEADER_HEIGHT = 56
DEFAULT_COLUMNS = 4
DEFAULT_ROWS = 6
POSTER_LONG_SIDE = 640
#: Ranged-read size when streaming a take from GCS.
READ_CHUNK = 256 * 1024
BACKGROUND = (24, 26, 31)
TILE = (40, 43, 51)
TEXT = (235, 235, 235)
MUTED = (160, 165, 175)
REVIEW_INDEX_NAME = "review.json"
SHEET_NAME = "contact-sheet-{page:03d}.png"


class TakeReadError(RuntimeError):
    """A take could not be read or decoded (names the take's URI)."""


@dataclass
class TakeFrames:
    """What was read from one take: thumbnails for the sheet, a poster, and the video's facts."""

    thumbnails: list[Image.Image]
    poster: Image.Image
    width: int
    height: int
    duration_seconds: float | None
    has_audio: bool


@dataclass
class ReviewResult:
    """Where everything went (``gs://`` URIs) -- small enough for XCom via :meth:`to_dict`."""

    index_uri: str
    sheet_uris: list[str]
    poster_uris: list[str]
    takes: int
    run: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index_uri": self.index_uri,
            "sheet_uris": self.sheet_uris,
            "takes": self.takes,
            "run": self.run,
            **self.extra,
        }


# -- frames ------------------------------------------------------------------------------------


def read_frames(reader: BinaryIO, *, count: int = FRAMES_PER_TAKE, thumb: int = THUMB) -> TakeFrames:
    """Decode ``count`` frames spread over the video in ``reader`` (seekable) with PyAV.

    Seeks to each point (keyframe before it, then decodes forward to it), so a long video is not
    decoded in full. Thumbnails are fitted into ``thumb`` x ``thumb``; the poster (the middle
    point) into :data:`POSTER_LONG_SIDE`.
    """
    import av

    with av.open(reader, mode="r") as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        has_audio = bool(container.streams.audio)
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        points = [(i + 0.5) / count for i in range(count)]
        thumbnails: list[Image.Image] = []
        poster: Image.Image | None = None
        width = height = 0
        for index, point in enumerate(points):
            image = _frame_at(container, stream, None if duration is None else duration * point)
            if image is None:
                continue
            width, height = image.size
            if index == count // 2:
                poster = image.copy()
                poster.thumbnail((POSTER_LONG_SIDE, POSTER_LONG_SIDE))
            image.thumbnail((thumb, thumb))
            thumbnails.append(image)
        if not thumbnails:
            raise ValueError("no frame could be decoded")
        if poster is None:
            poster = thumbnails[len(thumbnails) // 2]
        return TakeFrames(thumbnails, poster, width, height, duration, has_audio)


def _frame_at(container: Any, stream: Any, seconds: float | None) -> Image.Image | None:
    """The first frame at or after ``seconds`` (the first frame when unknown)."""
    if seconds is not None and stream.time_base:
        target = int(seconds / stream.time_base)
        container.seek(target, stream=stream, backward=True, any_frame=False)
    else:
        target = None
    last = None
    for frame in container.decode(stream):
        last = frame
        if target is None or frame.pts is None or frame.pts >= target:
            return frame.to_image()
    return None if last is None else last.to_image()


def read_take(client: storage.Client, take: Take, *, count: int = FRAMES_PER_TAKE) -> TakeFrames:
    """:func:`read_frames` of a take streamed from GCS (ranged reads of :data:`READ_CHUNK`)."""
    info = stat_object(client, take.object)
    if info is None:
        raise TakeReadError(f"take {take.label}: {take.uri} does not exist")
    try:
        with open_object(client, take.object, generation=info.generation, chunk_size=READ_CHUNK) as reader:
            return read_frames(reader, count=count)
    except Exception as exc:
        raise TakeReadError(f"take {take.label}: cannot decode {take.uri}: {exc}") from exc


# -- drawing -----------------------------------------------------------------------------------


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # pragma: no cover - Pillow < 10.1
        return ImageFont.load_default()


@dataclass(frozen=True)
class Layout:
    """Bounded sheet geometry: ``columns`` x ``rows`` tiles per page."""

    columns: int = DEFAULT_COLUMNS
    rows: int = DEFAULT_ROWS
    frames: int = FRAMES_PER_TAKE
    thumb: int = THUMB

    def __post_init__(self) -> None:
        if not (1 <= self.columns <= 12 and 1 <= self.rows <= 20 and 1 <= self.frames <= 6):
            raise ValueError("layout: columns 1..12, rows 1..20, frames 1..6")

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    @property
    def tile_size(self) -> tuple[int, int]:
        return self.frames * self.thumb + (self.frames + 1) * GAP, self.thumb + 2 * GAP + CAPTION_HEIGHT

    @property
    def sheet_size(self) -> tuple[int, int]:
        tw, th = self.tile_size
        return self.columns * tw + (self.columns + 1) * GAP, HEADER_HEIGHT + self.rows * th + (
            self.rows + 1
        ) * GAP

    def sheet_size_for(self, count: int) -> tuple[int, int]:
        """The size of a page holding ``count`` takes: only the rows it needs."""
        rows = max(1, min(self.rows, math.ceil(count / self.columns)))
        width, _ = self.sheet_size
        return width, HEADER_HEIGHT + rows * self.tile_size[1] + (rows + 1) * GAP

    def pages(self, takes: int) -> int:
        return max(1, math.ceil(takes / self.per_page))

    def tile_origin(self, slot: int) -> tuple[int, int]:
        """Top-left pixel of tile ``slot`` (0-based within its page)."""
        tw, th = self.tile_size
        row, column = divmod(slot, self.columns)
        return GAP + column * (tw + GAP), HEADER_HEIGHT + GAP + row * (th + GAP)


def caption_lines(take: Take) -> list[str]:
    """The text under a thumbnail: label; seed, ratio, tier; the shortened prompt."""
    facts = [
        f"seed {take.seed}" if take.seed is not None else "seed ?",
        take.aspect_ratio or "?",
        take.tier or "",
    ]
    if take.estimated_cost_usd is not None:
        facts.append(f"${take.estimated_cost_usd:.2f}")
    return [take.label, "  ".join(f for f in facts if f), take.short_prompt]


def new_sheet(layout: Layout, header: str, page: int, pages: int, takes: int) -> Image.Image:
    """A blank page with its header (the run, page x/y, how many takes); as tall as its rows."""
    from PIL import Image, ImageDraw

    on_page = min(layout.per_page, takes - (page - 1) * layout.per_page)
    sheet = Image.new("RGB", layout.sheet_size_for(on_page), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((GAP * 2, 10), header, fill=TEXT, font=_font(20))
    draw.text((GAP * 2, 34), f"page {page} of {pages} - {takes} takes", fill=MUTED, font=_font(14))
    return sheet


def draw_tile(sheet: Image.Image, layout: Layout, slot: int, take: Take, frames: TakeFrames | None) -> None:
    """Draw one take's tile at ``slot``; ``frames=None`` draws an 'unreadable' tile."""
    from PIL import ImageDraw

    x0, y0 = layout.tile_origin(slot)
    tw, th = layout.tile_size
    draw = ImageDraw.Draw(sheet)
    draw.rectangle((x0, y0, x0 + tw - 1, y0 + th - 1), fill=TILE)
    if frames is None:
        draw.text(
            (x0 + GAP, y0 + layout.thumb // 2),
            "could not read this take",
            fill=(255, 120, 120),
            font=_font(14),
        )
    else:
        for index, thumb in enumerate(frames.thumbnails[: layout.frames]):
            bx = x0 + GAP + index * (layout.thumb + GAP)
            by = y0 + GAP
            sheet.paste(
                thumb, (bx + (layout.thumb - thumb.width) // 2, by + (layout.thumb - thumb.height) // 2)
            )
    ty = y0 + layout.thumb + 2 * GAP
    label, facts, prompt = caption_lines(take)
    draw.text((x0 + GAP, ty), label, fill=TEXT, font=_font(15))
    draw.text((x0 + GAP, ty + 19), facts, fill=MUTED, font=_font(13))
    draw.text((x0 + GAP, ty + 37), _fit(prompt, tw - 2 * GAP, 12), fill=MUTED, font=_font(12))


def _fit(text: str, width: int, size: int) -> str:
    font = _font(size)
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


# -- the whole review --------------------------------------------------------------------------


def _upload(client: storage.Client, uri: str, data: bytes, content_type: str) -> None:
    obj = GCSObject.from_uri(uri)
    blob = client.bucket(obj.bucket).blob(obj.name)
    blob.cache_control = "private, max-age=300"
    blob.upload_from_string(data, content_type=content_type)


def _encode(image: Image.Image, kind: str) -> bytes:
    out = BytesIO()
    if kind == "PNG":
        image.save(out, format="PNG", optimize=False, compress_level=6)
    else:
        image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def review_folder(takes: Sequence[Take], folder_uri: str | None) -> tuple[str, str]:
    """``(bucket, folder)`` for the sheets: ``folder_uri`` (``gs://b/f``) or the first take's folder."""
    if folder_uri:
        scheme, _, rest = folder_uri.partition("://")
        bucket, _, folder = rest.partition("/")
        if scheme != "gs" or not bucket:
            raise ValueError(f"folder_uri must be gs://bucket/folder, got {folder_uri!r}")
        return bucket, folder.strip("/")
    first = takes[0].object
    return first.bucket, posixpath.dirname(first.name)


def build_review(
    client: storage.Client,
    takes: Sequence[Take],
    *,
    run: str,
    folder_uri: str | None = None,
    layout: Layout | None = None,
    manifest_uri: str | None = None,
    extra: dict[str, Any] | None = None,
    on_take: Callable[[Take, TakeFrames | None], None] | None = None,
) -> ReviewResult:
    """Posters, paged contact sheets and ``review.json`` for ``takes``; see the module docstring.

    :param client: A ``google.cloud.storage.Client`` (in Airflow: ``make_storage_client()``).
    :param takes: The takes, in the order they appear on the sheets.
    :param run: Names the run in each sheet's header (e.g. ``seedance_seed_grid_backfill / manual__…``).
    :param folder_uri: ``gs://bucket/folder`` for the sheets and index (default: the first take's
        folder, i.e. beside the manifest).
    :param layout: Tiles per page and frames per tile (default 4 x 6, 3 frames).
    :param manifest_uri: Recorded in ``review.json``.
    :param extra: More keys for ``review.json`` (e.g. ``dag_id``, ``run_id``).
    :param on_take: Called after each take is read (progress logging).
    """
    if not takes:
        raise ValueError("no takes to review")
    layout = layout or Layout()
    bucket, folder = review_folder(takes, folder_uri)
    prefix = f"gs://{bucket}/{folder + '/' if folder else ''}"
    pages = layout.pages(len(takes))
    sheet_uris: list[str] = []
    entries: list[dict[str, Any]] = []
    failures: list[str] = []
    sheet: Image.Image | None = None
    for position, take in enumerate(takes):
        page, slot = divmod(position, layout.per_page)
        if slot == 0:
            sheet = new_sheet(layout, run, page + 1, pages, len(takes))
        try:
            frames: TakeFrames | None = read_take(client, take, count=layout.frames)
        except TakeReadError as exc:
            log.warning("%s", exc)
            failures.append(str(exc))
            frames = None
        assert sheet is not None
        draw_tile(sheet, layout, slot, take, frames)
        entry = take.to_dict()
        entry["page"] = page + 1
        if frames is not None:
            _upload(client, take.poster_uri, _encode(frames.poster.convert("RGB"), "JPEG"), "image/jpeg")
            entry.update(
                width=frames.width,
                height=frames.height,
                duration_seconds=frames.duration_seconds,
                has_audio=frames.has_audio,
            )
        else:
            entry["poster_uri"] = None
        entries.append(entry)
        if on_take is not None:
            on_take(take, frames)
        if slot == layout.per_page - 1 or position == len(takes) - 1:
            uri = prefix + SHEET_NAME.format(page=page + 1)
            _upload(client, uri, _encode(sheet, "PNG"), "image/png")
            sheet_uris.append(uri)
            sheet = None
    if len(failures) == len(takes):
        raise TakeReadError(f"none of the {len(takes)} takes could be read; first: {failures[0]}")
    index_uri = prefix + REVIEW_INDEX_NAME
    index = {
        "run": run,
        "manifest_uri": manifest_uri,
        "sheet_uris": sheet_uris,
        "layout": {"columns": layout.columns, "rows": layout.rows, "frames": layout.frames},
        "takes": entries,
        "unreadable": failures,
        **(extra or {}),
    }
    _upload(client, index_uri, json.dumps(index, indent=1).encode(), "application/json")
    return ReviewResult(
        index_uri=index_uri,
        sheet_uris=sheet_uris,
        poster_uris=[e["poster_uri"] for e in entries if e.get("poster_uri")],
        takes=len(takes),
        run=run,
        extra=dict(extra or {}),
    )


def read_json(client: storage.Client, uri: str) -> Any:
    """Download and parse a (small) JSON object such as the manifest or ``review.json``."""
    obj = GCSObject.from_uri(uri)
    blob = client.bucket(obj.bucket).get_blob(obj.name)
    if blob is None:
        raise FileNotFoundError(f"{uri} does not exist")
    return json.loads(blob.download_as_bytes())
