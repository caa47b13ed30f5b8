"""Platform dialects, one small module each, looked up by the connection's ``platform`` extra.

Layout: ``registry.py`` the platform list (:data:`DIALECTS`); ``base.py`` the
:class:`Dialect` interface and the wire mappings platforms share; ``task.py`` the skeleton of
the task APIs; ``http.py`` the HTTP value types; ``json_fields.py`` readers for untrusted JSON;
``error_mapping.py`` HTTP answer -> shared error; ``cancel.py`` the look-before-cancel plan;
then ``fal.py``, ``oxen.py``, ``aihubmax.py`` and ``ark.py``, one per API. Importing this package
imports no dialect module: :func:`get_dialect` loads the one a connection names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_seedance.client.errors import FieldError, SeedanceValidationError
from airflow_provider_seedance.client.platforms.base import Dialect
from airflow_provider_seedance.client.platforms.http import HttpRequest, HttpResponse, Operation
from airflow_provider_seedance.client.platforms.registry import DEFAULT_PLATFORM, DIALECTS, PlatformSpec

if TYPE_CHECKING:
    from airflow_provider_seedance.client.models import Mode

__all__ = [
    "DEFAULT_PLATFORM",
    "DIALECTS",
    "Dialect",
    "HttpRequest",
    "HttpResponse",
    "Operation",
    "PlatformSpec",
    "dialect_class",
    "dialect_options",
    "get_dialect",
    "mode_refusal",
]


def dialect_class(platform: str) -> type[Dialect]:
    """The dialect class of ``platform`` (imports its module only); refuses an unknown platform."""
    spec = DIALECTS.get(platform)
    if spec is None:
        raise SeedanceValidationError(
            [
                FieldError(
                    "platform", f"unknown platform {platform!r}; supported: {', '.join(sorted(DIALECTS))}"
                )
            ]
        )
    return spec.load()


def get_dialect(
    platform: str,
    base_url: str | None = None,
    *,
    allow_fallbacks: bool = False,
    model_overrides: Mapping[str, str] | None = None,
) -> Dialect:
    """An instance of the dialect for ``platform`` talking to ``base_url`` (or its default);
    ``allow_fallbacks`` lets a platform that reroutes failing requests (fal.ai) do so;
    ``model_overrides`` replaces model ids (Ark: ``ep-...`` endpoint ids), see :func:`dialect_options`."""
    return dialect_class(platform)(base_url, allow_fallbacks=allow_fallbacks, model_overrides=model_overrides)


def mode_refusal(platform: str, mode: Mode | str, tier: str = "standard") -> FieldError | None:
    """Why ``platform`` cannot run ``mode`` on ``tier`` (a message naming both), or None.

    Cheap and I/O-free, for DAG parse time: it loads the dialect class, no connection.
    """
    return dialect_class(platform).refusal(mode, tier)


def dialect_options(extra: Mapping[str, Any]) -> dict[str, Any]:
    """The dialect options a connection's extra carries: ``model_overrides`` (a JSON object, or
    its JSON text as the connection form stores it) -> ``{"model_overrides": {...}}``.

    Raises :class:`SeedanceValidationError` naming ``extra.model_overrides`` when it is not an
    object; the dialect checks the keys and ids.
    """
    raw = extra.get("model_overrides")
    if raw in (None, "", {}):
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) for k in raw):
        raise SeedanceValidationError(
            [
                FieldError(
                    "extra.model_overrides",
                    'must be a JSON object like {"standard": "ep-2026...-abcde", "fast": "ep-..."}',
                )
            ]
        )
    return {"model_overrides": dict(raw)}
