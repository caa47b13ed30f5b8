"""Generate the emulator's sample clip: ``airflow_provider_seedance/emulator/assets/sample.mp4``.

Run once (the output is committed)::

    python scripts/make_sample_video.py

It writes a 1 second, 64x64, 24 fps H.264 clip (a moving gradient) with PyAV. The emulator
serves this clip for every finished job, with a per-job MP4 ``free`` box appended.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import av

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "airflow_provider_seedance/emulator/assets/sample.mp4"


def make_sample(out: Path, *, size: int = 64, fps: int = 24, seconds: int = 1) -> int:
    """Encode the clip to ``out`` and return its size in bytes."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(out), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = size
        stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "35", "preset": "veryslow", "tune": "zerolatency"}
        frames = fps * seconds
        for i in range(frames):
            blue = (i * 255) // frames
            pixels = bytearray()
            for y in range(size):
                for x in range(size):
                    pixels += bytes(((x * 4 + i * 10) % 256, (y * 4) % 256, blue))
            frame = av.VideoFrame(size, size, "rgb24")
            plane = frame.planes[0]
            stride = plane.line_size
            rows = b"".join(
                bytes(pixels[y * size * 3 : (y + 1) * size * 3]).ljust(stride, b"\0") for y in range(size)
            )
            plane.update(rows)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    print(f"wrote {args.out} ({make_sample(args.out)} bytes)")


if __name__ == "__main__":
    main()
