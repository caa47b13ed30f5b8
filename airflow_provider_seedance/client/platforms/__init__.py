"""Platform dialects, one small module each, looked up by the connection's ``platform`` extra.

Layout: ``registry.py`` the platform list (:data:`DIALECTS`); ``base.py`` the
:class:`Dialect` interface and the wire mappings platforms share; ``task.py`` the skeleton of
the task APIs; ``http.py`` the HTTP value types; ``json_fields.py`` readers for untrusted JSON;
``error_mapping.py`` HTTP answer -> shared error; ``cancel.py`` the look-before-cancel plan;
then ``fal.py``, ``oxen.py``, ``aihubmax.py`` and ``ark.py``, one per API. Importing this package
imports no dialect module: :func:`get_dialect` loads the one a connection names.
"""

from __future__ import annotations

from airflow_provider_seedance.client.errors import FieldError, SeedanceValidationError
from airflow_provider_seedance.client.platforms.base import Dialect
from airflow_provider_seedance.client.platforms.http import HttpRequest, HttpResponse, Operation
from airflow_provider_seedance.client.platforms.registry import DEFAULT_PLATFORM, DIALECTS, PlatformSpec

__all__ = [
    "DEFAULT_PLATFORM",
    "DIALECTS",
    "Dialect",
    "HttpRequest",
    "HttpResponse",
    "Operation",
    "PlatformSpec",
    "get_dialect",
]


def get_dialect(platform: str, base_url: str | None = None, *, allow_fallbacks: bool = False) -> Dialect:
    """An instance of the dialect for ``platform`` talking to ``base_url`` (or its default);
    ``allow_fallbacks`` lets a platform that reroutes failing requests (fal.ai) do so."""
    spec = DIALECTS.get(platform)
    if spec is None:
        raise SeedanceValidationError(
            [
                FieldError(
                    "platform", f"unknown platform {platform!r}; supported: {', '.join(sorted(DIALECTS))}"
                )
            ]
        )
    return spec.load()(base_url, allow_fallbacks=allow_fallbacks)
