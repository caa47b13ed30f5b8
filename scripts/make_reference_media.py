"""Generate the committed reference media for tests and demos: ``tests/data/references/``.

Run once (the output is committed)::

    python scripts/make_reference_media.py

Writes ``brand.png`` (640x480), ``motion.mp4`` (3 s, 640x640, 24 fps H.264) and ``voice.wav``
(2 s, 8 kHz mono). Tests build their over-limit variants at test time with the same functions
(:mod:`tests.support.reference_media`).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.reference_media import write_committed


def main() -> None:
    for path in write_committed():
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
