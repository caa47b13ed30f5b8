"""The platform route handlers, one module per emulated dialect (fal, oxen, aihubmax, ark).

Each module holds its dialect's wire behaviour (models, validation, statuses, answers) and a
``HANDLERS`` dict, route name -> handler; :data:`HANDLERS` merges them for the app, which binds
each entry of :data:`..routes.ROUTES` to its handler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_provider_seedance.emulator.platforms import aihubmax, ark, fal, fal_storage, oxen

HANDLERS: dict[str, Callable[..., Any]] = {
    **fal.HANDLERS,
    **fal_storage.HANDLERS,
    **oxen.HANDLERS,
    **aihubmax.HANDLERS,
    **ark.HANDLERS,
}
