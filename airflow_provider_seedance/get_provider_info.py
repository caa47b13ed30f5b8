"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point.

Also the connection form: :data:`CONNECTION_FIELDS` (the ``platform`` choice, derived from the
platform registry ``client.platforms.DIALECTS``, and the ``timeout`` extra) and
:data:`CONNECTION_UI_FIELD_BEHAVIOUR` (hidden, relabelled and placeholder fields).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from airflow_provider_seedance import __version__
from airflow_provider_seedance.client.platforms.registry import DEFAULT_PLATFORM, DIALECTS

#: The form's behaviour in the shape a hook's ``get_ui_field_behaviour()`` returns (Airflow's
#: ``customized_form_field_behaviours.schema.json``: ``hidden_fields``, ``relabeling``,
#: ``placeholders``). ``get_provider_info`` declares it under provider.yaml's keys instead.
CONNECTION_UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden_fields": ["schema", "port", "login"],
    "relabeling": {"password": "API Key", "host": "Base URL (optional)"},
    "placeholders": {
        "password": "the platform's API key (fal.ai: FAL_KEY)",
        "host": "leave empty for the platform's default, or e.g. http://127.0.0.1:8787 for the emulator",
        "extra": json.dumps({"platform": DEFAULT_PLATFORM}),
    },
}


def _platform_choices() -> str:
    """``fal (default), oxen, ... or volcengine``: the registry's keys, for the field's help."""
    keys = [f"{key} (default)" if key == DEFAULT_PLATFORM else key for key in DIALECTS]
    return f"{', '.join(keys[:-1])} or {keys[-1]}"


CONNECTION_FIELDS: dict[str, Any] = {
    "platform": {
        "label": "Platform",
        "description": f"Which platform sells the model: {_platform_choices()}.",
        "schema": {"type": ["string", "null"], "enum": [*DIALECTS, None], "default": DEFAULT_PLATFORM},
    },
    "timeout": {
        "label": "Request timeout (s)",
        "description": "Seconds for one HTTP request to the platform (default 60).",
        "schema": {"type": ["number", "null"], "minimum": 1},
    },
}


def _provider_yaml_behaviour(behaviour: Mapping[str, Any]) -> dict[str, Any]:
    """``behaviour`` under provider.yaml's ``ui-field-behaviour`` keys (``hidden_fields`` ->
    ``hidden-fields``), which Airflow's providers manager turns back into the hook's shape."""
    return {key.replace("_", "-"): value for key, value in behaviour.items()}


def get_provider_info() -> dict[str, Any]:
    """Describe the provider's hooks, operators, sensors, triggers, transfers and connection type."""
    return {
        "package-name": "airflow-provider-seedance",
        "name": "Seedance",
        "description": "ByteDance Seedance 2.0 reference-to-video generation on fal.ai, Oxen.ai, "
        "AIHubMax and BytePlus ModelArk / Volcengine Ark, with archiving to Google Cloud Storage.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Seedance",
                "external-doc-url": "https://fal.ai/models/bytedance/seedance-2.0/reference-to-video",
                "tags": ["software"],
            }
        ],
        "hooks": [
            {"integration-name": "Seedance", "python-modules": ["airflow_provider_seedance.hooks.seedance"]}
        ],
        "operators": [
            {
                "integration-name": "Seedance",
                "python-modules": [
                    "airflow_provider_seedance.operators.seedance",
                    "airflow_provider_seedance.operators.ledger",
                ],
            }
        ],
        "sensors": [
            {"integration-name": "Seedance", "python-modules": ["airflow_provider_seedance.sensors.seedance"]}
        ],
        "triggers": [
            {
                "integration-name": "Seedance",
                "python-modules": ["airflow_provider_seedance.triggers.seedance"],
            }
        ],
        "transfers": [
            {
                "source-integration-name": "Seedance",
                "target-integration-name": "Google Cloud Storage (GCS)",
                "python-module": "airflow_provider_seedance.transfers.seedance_to_gcs",
            }
        ],
        "extra-links": [
            "airflow_provider_seedance.operators.seedance.SeedanceJobLink",
            "airflow_provider_seedance.review.links.SeedanceArchivedVideoLink",
        ],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_seedance.hooks.seedance.SeedanceHook",
                "hook-name": "Seedance",
                "connection-type": "seedance",
                "conn-fields": CONNECTION_FIELDS,
                "ui-field-behaviour": _provider_yaml_behaviour(CONNECTION_UI_FIELD_BEHAVIOUR),
            }
        ],
    }
