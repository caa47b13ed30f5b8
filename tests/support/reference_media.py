"""Small, real reference media for tests, generated with PyAV and Pillow (no numpy).

``scripts/make_reference_media.py`` writes the committed trio (``tests/data/references/``:
``brand.png``, ``motion.mp4`` (3 s, 640x640, 24 fps), ``voice.wav`` (2 s)); tests build
over-limit variants at test time with the same functions. Sizes past a limit are reached with
padding that keeps the file valid (a trailing MP4 ``free`` box, a WAV ``JUNK`` chunk, bytes after
a PNG's ``IEND``) written sparsely, so a 50 MB file costs no time or disk.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "references"


def make_image(path: Path, width: int, height: int, *, fmt: str = "PNG", pad_to: int | None = None) -> Path:
    """A flat-colour image; ``pad_to`` appends zeros after the image data up to that size."""
    from PIL import Image

    Image.new("RGB", (width, height), (200, 40, 90)).save(path, format=fmt)
    if pad_to is not None:
        with open(path, "r+b") as f:
            f.truncate(pad_to)
    return path


def make_video(
    path: Path,
    seconds: float,
    *,
    width: int = 640,
    height: int = 640,
    fps: int = 24,
    fmt: str = "mp4",
    pad_to: int | None = None,
) -> Path:
    """A flat-colour H.264 clip of exactly ``round(seconds * fps)`` frames."""
    with av.open(str(path), mode="w", format=fmt) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "40"}
        frame = av.VideoFrame(width, height, "rgb24")
        plane = frame.planes[0]
        plane.update(
            bytes([30, 120, 200]) * (plane.line_size // 3) * height + b"\0" * ((plane.line_size % 3) * height)
        )
        for i in range(round(seconds * fps)):
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    if pad_to is not None:
        _pad_mp4(path, pad_to)
    return path


def _pad_mp4(path: Path, size: int) -> None:
    """Append one ``free`` box so the file is ``size`` bytes (sparse; still a valid MP4)."""
    current = path.stat().st_size
    need = size - current
    if need < 8:
        raise ValueError("pad_to must exceed the file size by at least 8 bytes")
    with open(path, "r+b") as f:
        f.seek(current)
        f.write(struct.pack(">I4s", need, b"free"))
        f.truncate(size)


def make_audio(
    path: Path, seconds: float, *, rate: int = 8000, fmt: str = "wav", pad_to: int | None = None
) -> Path:
    """A quiet tone: 16-bit mono WAV (``fmt="wav"``) or MP3 (``fmt="mp3"``)."""
    codec = "pcm_s16le" if fmt == "wav" else "libmp3lame"
    rate = rate if fmt == "wav" else 22050
    with av.open(str(path), mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        assert isinstance(stream, av.AudioStream)
        stream.layout = "mono"
        samples = round(seconds * rate)
        chunk = 1152 if fmt == "mp3" else 1000
        fmt_name = "s16" if fmt == "wav" else "s16p"
        done = 0
        while done < samples:
            n = min(chunk, samples - done)
            frame = av.AudioFrame(format=fmt_name, layout="mono", samples=n)
            frame.planes[0].update(struct.pack("<h", 500) * n + b"\0" * (frame.planes[0].buffer_size - 2 * n))
            frame.sample_rate = rate
            frame.pts = done
            for packet in stream.encode(frame):
                container.mux(packet)
            done += n
        for packet in stream.encode():
            container.mux(packet)
    if pad_to is not None:
        if fmt != "wav":
            raise ValueError("pad_to is supported for WAV only")
        _pad_wav(path, pad_to)
    return path


def _pad_wav(path: Path, size: int) -> None:
    """Append a ``JUNK`` chunk so the file is ``size`` bytes and fix the RIFF size."""
    current = path.stat().st_size
    need = size - current - 8
    if need < 0 or need % 2:
        raise ValueError("pad_to must exceed the size by 8 + an even number of bytes")
    with open(path, "r+b") as f:
        f.seek(current)
        f.write(b"JUNK" + struct.pack("<I", need))
        f.truncate(size)
        f.seek(4)
        f.write(struct.pack("<I", size - 8))


def committed(name: str) -> Path:
    """A committed reference file (``brand.png``, ``motion.mp4``, ``voice.wav``)."""
    return DATA_DIR / name


def write_committed(directory: Path = DATA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    return [
        make_image(directory / "brand.png", 640, 480),
        make_video(directory / "motion.mp4", 3.0),
        make_audio(directory / "voice.wav", 2.0),
    ]
