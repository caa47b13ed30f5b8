"""The takes of one review: archived videos and what produced them. Airflow-free.

A :class:`Take` is one archived video (``gs://`` URI) plus the request's seed, aspect ratio,
tier, prompt and estimated cost. Takes come from the grid's manifest (:func:`takes_from_manifest`)
or from a transfer's results zipped with the generation results (:func:`takes_from_results`).
Each take has a short, unique :attr:`Take.label` (``#03 p1-16x9-seed42``): the reviewer's option
in Airflow, printed on the contact sheet under the thumbnail.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from airflow_provider_seedance.client.gcs import GCSObject

#: Characters of the prompt printed under a thumbnail.
SHORT_PROMPT_CHARS = 60


@dataclass(frozen=True)
class Take:
    """One archived take. ``number`` is 1-based, in grid order."""

    number: int
    uri: str
    seed: int | None = None
    aspect_ratio: str | None = None
    tier: str | None = None
    prompt: str = ""
    estimated_cost_usd: float | None = None
    request_id: str | None = None
    platform: str | None = None

    def __post_init__(self) -> None:
        GCSObject.from_uri(self.uri)  # a clear ValueError naming the URI
        if self.number < 1:
            raise ValueError(f"take number must be >= 1, got {self.number}")

    @property
    def object(self) -> GCSObject:
        return GCSObject.from_uri(self.uri)

    @property
    def stem(self) -> str:
        """The object's file name without extension (``p1-16x9-seed42``)."""
        return posixpath.splitext(posixpath.basename(self.object.name))[0]

    @property
    def label(self) -> str:
        """``#03 p1-16x9-seed42``: unique within a review, the HITL option for this take."""
        return f"#{self.number:02d} {self.stem}"

    @property
    def short_prompt(self) -> str:
        text = " ".join(self.prompt.split())
        return text if len(text) <= SHORT_PROMPT_CHARS else text[: SHORT_PROMPT_CHARS - 1] + "…"

    @property
    def poster_uri(self) -> str:
        """Where the take's poster frame goes: beside it, ``<stem>.poster.jpg``."""
        obj = self.object
        folder = posixpath.dirname(obj.name)
        name = f"{self.stem}.poster.jpg"
        return f"gs://{obj.bucket}/{folder + '/' if folder else ''}{name}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(label=self.label, poster_uri=self.poster_uri)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Take:
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in fields})


def _number(value: Any) -> int | None:
    return None if value is None else int(value)


def takes_from_manifest(manifest: Mapping[str, Any]) -> list[Take]:
    """The takes of a grid manifest (``{"takes": [{"uri", "seed", "aspect_ratio", ...}]}``)."""
    entries = manifest.get("takes")
    if not isinstance(entries, list) or not entries:
        raise ValueError("the manifest has no takes (expected a non-empty 'takes' list)")
    takes = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, Mapping) or "uri" not in entry:
            raise ValueError(f"manifest take {number} has no 'uri'")
        cost = entry.get("estimated_cost_usd")
        takes.append(
            Take(
                number=number,
                uri=str(entry["uri"]),
                seed=_number(entry.get("seed")),
                aspect_ratio=entry.get("aspect_ratio"),
                tier=entry.get("tier"),
                prompt=str(entry.get("prompt") or ""),
                estimated_cost_usd=None if cost is None else float(cost),
                request_id=entry.get("request_id"),
                platform=entry.get("platform"),
            )
        )
    check_unique(takes)
    return takes


def takes_from_results(uris: Sequence[str], clips: Sequence[Mapping[str, Any]] | None = None) -> list[Take]:
    """Takes from the transfer's results (``gs://`` URIs) and, in the same order, the generation
    operator's results (their ``seed``, ``request``, ``tier``, ``estimated_cost_usd``...)."""
    if clips is not None and len(clips) != len(uris):
        raise ValueError(f"{len(uris)} archived takes but {len(clips)} generation results")
    takes = []
    for number, uri in enumerate(uris, 1):
        clip: Mapping[str, Any] = clips[number - 1] if clips is not None else {}
        request: Mapping[str, Any] = clip.get("request") or {}
        cost = clip.get("estimated_cost_usd")
        takes.append(
            Take(
                number=number,
                uri=str(uri),
                seed=_number(clip.get("seed", request.get("seed"))),
                aspect_ratio=request.get("aspect_ratio"),
                tier=clip.get("tier", request.get("tier")),
                prompt=str(request.get("prompt") or clip.get("prompt") or ""),
                estimated_cost_usd=None if cost is None else float(cost),
                request_id=clip.get("request_id"),
                platform=clip.get("platform"),
            )
        )
    check_unique(takes)
    return takes


def check_unique(takes: Iterable[Take]) -> None:
    """Labels are the reviewer's options: refuse two takes with one label (or one URI)."""
    seen: dict[str, str] = {}
    for take in takes:
        for key in (take.label, take.uri):
            if key in seen:
                raise ValueError(f"two takes share {key!r}; every take needs its own object")
            seen[key] = take.uri


def by_label(takes: Iterable[Take]) -> dict[str, Take]:
    return {take.label: take for take in takes}
