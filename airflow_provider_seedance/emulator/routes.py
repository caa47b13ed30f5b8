"""The route table: every platform route the emulator serves, named once.

Each :class:`Route` is a route *name* (what faults target and the request log records, e.g.
``fal.status``), the emulated dialect it belongs to (whose error shape it answers in), an HTTP
method and a path template as FastAPI matches it. The app registers one handler per entry
(:func:`.app.create_fastapi`), the middleware names requests with :func:`classify`, and
:mod:`.faults` accepts :data:`ROUTE_NAMES`. The control API under ``/_emulator/`` is not in the
table: it is never recorded and never faulted.

Importing this module is cheap (standard library only).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

FAL_APP = "/bytedance/seedance-2.0"
OXEN_QUEUE = "/api/ai/queue"
ARK_TASKS = "/api/v3/contents/generations/tasks"
MEDIA = "media"

#: route name -> the async handler serving it (each platform module has one such dict)
Handlers = dict[str, Callable[..., Awaitable[Any]]]

_PARAM = re.compile(r"\{[^}/]+\}")


def _pattern(path: str) -> re.Pattern[str]:
    """``/a/{id}/b`` -> ``/a/[^/]+/b/?``: a parameter is one path segment; a trailing slash is allowed."""
    return re.compile("[^/]+".join(re.escape(part) for part in _PARAM.split(path)) + "/?")


@dataclass(frozen=True)
class Route:
    """One platform route: its name, dialect (``fal`` ... ``ark``, or ``media``), method and path."""

    name: str
    dialect: str
    method: str
    path: str
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", _pattern(self.path))

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and self.pattern.fullmatch(path) is not None


#: fal's submit paths: every mode on both tiers (``/bytedance/seedance-2.0[/fast]/<mode>``), one
#: route name, so one fault targets them all.
FAL_MODES = ("text-to-video", "image-to-video", "reference-to-video")
FAL_SUBMIT_PATHS = tuple(f"{FAL_APP}{tier}/{mode}" for mode in FAL_MODES for tier in ("", "/fast"))

ROUTES: tuple[Route, ...] = (
    *(Route("fal.submit", "fal", "POST", path) for path in FAL_SUBMIT_PATHS),
    Route("fal.status", "fal", "GET", FAL_APP + "/requests/{request_id}/status"),
    Route("fal.result", "fal", "GET", FAL_APP + "/requests/{request_id}"),
    Route("fal.cancel", "fal", "PUT", FAL_APP + "/requests/{request_id}/cancel"),
    Route("fal.storage_token", "fal", "POST", "/storage/auth/token"),
    Route("fal.storage_upload", "fal", "POST", "/fal-cdn/files/upload"),
    Route("fal.storage_file", "fal", "GET", "/fal-cdn/files/{file_id}/{name}"),
    Route("fal.storage_file", "fal", "HEAD", "/fal-cdn/files/{file_id}/{name}"),
    Route("oxen.submit", "oxen", "POST", OXEN_QUEUE),
    Route("oxen.list", "oxen", "GET", OXEN_QUEUE),
    Route("oxen.status", "oxen", "GET", OXEN_QUEUE + "/{generation_id}"),
    Route("oxen.cancel", "oxen", "DELETE", OXEN_QUEUE + "/{generation_id}"),
    Route("aihubmax.submit", "aihubmax", "POST", "/v1/videos/generations"),
    Route("aihubmax.status", "aihubmax", "GET", "/v1/tasks/{task_id}"),
    Route("ark.submit", "ark", "POST", ARK_TASKS),
    Route("ark.list", "ark", "GET", ARK_TASKS),
    Route("ark.status", "ark", "GET", ARK_TASKS + "/{task_id}"),
    Route("ark.cancel", "ark", "DELETE", ARK_TASKS + "/{task_id}"),
    Route(MEDIA, MEDIA, "GET", "/_media/{request_id}.mp4"),
    Route(MEDIA, MEDIA, "HEAD", "/_media/{request_id}.mp4"),
)

#: The route names faults may target, in table order (each once).
ROUTE_NAMES: tuple[str, ...] = tuple(dict.fromkeys(route.name for route in ROUTES))

#: Path prefix -> dialect, for requests that match no route (their 404 keeps the dialect's shape).
PREFIXES = {
    "/bytedance/": "fal",
    "/api/ai/": "oxen",
    "/v1/": "aihubmax",
    "/api/v3/": "ark",
    "/_media/": MEDIA,
}

UNKNOWN = "unknown"


def classify(method: str, path: str) -> tuple[str | None, str]:
    """``(dialect, route name)`` of a request; requests matching no route get ``"unknown"``."""
    for route in ROUTES:
        if route.matches(method, path):
            return route.dialect, route.name
    for prefix, dialect in PREFIXES.items():
        if path.startswith(prefix):
            return dialect, UNKNOWN
    return None, UNKNOWN
