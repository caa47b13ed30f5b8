"""Local emulator of every Seedance 2.0 reference-to-video platform dialect.

Start it with ``seedance-emulator --port 8787`` (or ``python -m airflow_provider_seedance.emulator``)
and point a ``seedance`` Airflow connection's ``host`` at ``http://127.0.0.1:8787``. It serves the
fal.ai queue API (standard and fast tiers), the Oxen.ai async queue, AIHubMax unified tasks and
BytePlus ModelArk / Volcengine Ark content generation tasks from one root, with fault injection
and an inspection API under ``/_emulator/``. See ``docs/emulator.md``.

Importing this package is cheap: the server (FastAPI, uvicorn) is only imported by
:mod:`.app` and :mod:`.__main__`. Tests use :class:`.testing.EmulatorServer` /
:class:`.testing.EmulatorHandle` or the pytest fixtures of :mod:`.pytest_plugin`. The routes are
one table (:mod:`.routes`); the platforms served are the provider's registry (:mod:`.dialects`).
The strict local GCS emulator for archive tests and demos is :mod:`.gcs` (fixtures:
:mod:`.gcs_pytest_plugin`). This module holds the CLI's port and API-key defaults.
"""

from __future__ import annotations

DEFAULT_PORT = 8787
DEFAULT_API_KEY = "emulator-key"
API_KEY_ENV = "SEEDANCE_EMULATOR_API_KEY"

__all__ = ["API_KEY_ENV", "DEFAULT_API_KEY", "DEFAULT_PORT"]
