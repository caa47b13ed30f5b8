"""Platform dialects, one small module each, looked up by the connection's ``platform`` extra."""

from __future__ import annotations

import importlib

from airflow_provider_seedance.client.errors import FieldError, SeedanceValidationError
from airflow_provider_seedance.client.platforms.base import Dialect, HttpRequest, HttpResponse, Operation

#: platform key -> "module:Class". Modules are imported on first use.
DIALECTS: dict[str, str] = {
    "fal": "airflow_provider_seedance.client.platforms.fal:FalDialect",
    "oxen": "airflow_provider_seedance.client.platforms.oxen:OxenDialect",
    "aihubmax": "airflow_provider_seedance.client.platforms.aihubmax:AIHubMaxDialect",
    "byteplus": "airflow_provider_seedance.client.platforms.ark:BytePlusArkDialect",
    "volcengine": "airflow_provider_seedance.client.platforms.ark:VolcengineArkDialect",
}

__all__ = ["DIALECTS", "Dialect", "HttpRequest", "HttpResponse", "Operation", "get_dialect"]


def get_dialect(platform: str, base_url: str | None = None) -> Dialect:
    """An instance of the dialect for ``platform`` talking to ``base_url`` (or its default)."""
    target = DIALECTS.get(platform)
    if target is None:
        raise SeedanceValidationError(
            [
                FieldError(
                    "platform", f"unknown platform {platform!r}; supported: {', '.join(sorted(DIALECTS))}"
                )
            ]
        )
    module_name, _, class_name = target.partition(":")
    cls: type[Dialect] = getattr(importlib.import_module(module_name), class_name)
    return cls(base_url)
