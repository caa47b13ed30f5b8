"""The emulated dialects: which platforms of the provider's registry each serves, and its auth.

The list of platforms is the provider's registry,
:data:`airflow_provider_seedance.client.platforms.DIALECTS` (its keys); everything else here is
the emulator's *own* knowledge of each platform's wire, written from the platforms' documents and
not taken from the client code, so that the emulator catches client bugs instead of copying them.
:func:`dialect_for` fails for a registry platform that no emulated dialect serves (and a test
checks every registry key).

Importing this module is cheap (no FastAPI).
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_seedance.client.platforms import DIALECTS as REGISTRY


@dataclass(frozen=True)
class EmulatedDialect:
    """One wire dialect the emulator serves.

    ``name`` prefixes its route names and selects its error shape; ``auth_scheme`` is the only
    ``Authorization`` scheme it accepts; ``platforms`` are the registry keys it serves.
    """

    name: str
    auth_scheme: str
    platforms: tuple[str, ...]


EMULATED: dict[str, EmulatedDialect] = {
    d.name: d
    for d in (
        EmulatedDialect("fal", "Key", ("fal",)),
        EmulatedDialect("oxen", "Bearer", ("oxen",)),
        EmulatedDialect("aihubmax", "Bearer", ("aihubmax",)),
        EmulatedDialect("ark", "Bearer", ("byteplus", "volcengine")),
    )
}


def dialect_for(platform: str) -> EmulatedDialect:
    """The emulated dialect serving registry ``platform``; ``KeyError`` if none does."""
    for dialect in EMULATED.values():
        if platform in dialect.platforms:
            return dialect
    raise KeyError(f"the emulator serves no dialect for platform {platform!r}")


def served_platforms() -> tuple[str, ...]:
    """The registry's platform keys, in registry order, that an emulated dialect serves."""
    served = {key for dialect in EMULATED.values() for key in dialect.platforms}
    return tuple(key for key in REGISTRY if key in served)
