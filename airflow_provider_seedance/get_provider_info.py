"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_seedance import __version__

_PLATFORMS = ["fal", "oxen", "aihubmax", "byteplus", "volcengine"]

CONNECTION_UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port", "login"],
    "relabeling": {"password": "API Key", "host": "Base URL (optional)"},
    "placeholders": {
        "password": "the platform's API key (fal.ai: FAL_KEY)",
        "host": "leave empty for the platform's default, or e.g. http://127.0.0.1:8787 for the emulator",
        "extra": '{"platform": "fal"}',
    },
}

CONNECTION_FIELDS: dict[str, Any] = {
    "platform": {
        "label": "Platform",
        "description": "Which platform sells the model: "
        "fal (default), oxen, aihubmax, byteplus or volcengine.",
        "schema": {"type": ["string", "null"], "enum": [*_PLATFORMS, None], "default": "fal"},
    },
    "timeout": {
        "label": "Request timeout (s)",
        "description": "Seconds for one HTTP request to the platform (default 60).",
        "schema": {"type": ["number", "null"], "minimum": 1},
    },
}


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
                "python-modules": ["airflow_provider_seedance.operators.seedance"],
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
        "extra-links": ["airflow_provider_seedance.operators.seedance.SeedanceJobLink"],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_seedance.hooks.seedance.SeedanceHook",
                "hook-name": "Seedance",
                "connection-type": "seedance",
                "conn-fields": CONNECTION_FIELDS,
                "ui-field-behaviour": CONNECTION_UI_FIELD_BEHAVIOUR,
            }
        ],
    }
