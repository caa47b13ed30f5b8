"""One router per platform dialect (fal, oxen, aihubmax, ark)."""

from __future__ import annotations
