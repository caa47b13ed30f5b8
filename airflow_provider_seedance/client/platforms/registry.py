"""The platform registry: every platform key, which dialect serves it, and the default.

:data:`DIALECTS` is the one list of platforms; the connection form (``get_provider_info``),
the hook and the emulator derive theirs from its keys. It is plain data (the dialect as an
import path, loaded on first use), so reading the list imports no dialect module.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_seedance.client.platforms.base import Dialect

__all__ = ["DEFAULT_PLATFORM", "DIALECTS", "PlatformSpec"]


@dataclass(frozen=True)
class PlatformSpec:
    """One platform: its key (the connection's ``platform`` extra) and its dialect class as
    ``"module:Class"``."""

    key: str
    dialect: str

    def load(self) -> type[Dialect]:
        """The dialect class (imports its module)."""
        module_name, _, class_name = self.dialect.partition(":")
        cls: type[Dialect] = getattr(importlib.import_module(module_name), class_name)
        return cls


_PACKAGE = "airflow_provider_seedance.client.platforms"

#: platform key -> :class:`PlatformSpec`, in the order the connection form offers them.
DIALECTS: Mapping[str, PlatformSpec] = {
    spec.key: spec
    for spec in (
        PlatformSpec("fal", f"{_PACKAGE}.fal:FalDialect"),
        PlatformSpec("oxen", f"{_PACKAGE}.oxen:OxenDialect"),
        PlatformSpec("aihubmax", f"{_PACKAGE}.aihubmax:AIHubMaxDialect"),
        PlatformSpec("byteplus", f"{_PACKAGE}.ark:BytePlusArkDialect"),
        PlatformSpec("volcengine", f"{_PACKAGE}.ark:VolcengineArkDialect"),
    )
}

#: The platform of a connection without a ``platform`` extra.
DEFAULT_PLATFORM = "fal"
