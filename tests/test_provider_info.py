"""get_provider_info(): valid against Airflow's own schemas, and everything it lists exists.

Airflow 3.3 ships three schemas that apply: ``provider_info.schema.json`` (the whole dict),
``provider.yaml.schema.json`` (``connection-types`` with ``ui-field-behaviour`` under
provider.yaml's hyphenated keys) and ``customized_form_field_behaviours.schema.json`` (what a
hook's ``get_ui_field_behaviour()`` returns: ``hidden_fields`` / ``relabeling`` / ``placeholders``).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import airflow
import jsonschema
import pytest

from airflow_provider_seedance import __version__
from airflow_provider_seedance.client.platforms import DEFAULT_PLATFORM, DIALECTS
from airflow_provider_seedance.get_provider_info import CONNECTION_UI_FIELD_BEHAVIOUR, get_provider_info
from airflow_provider_seedance.hooks.seedance import SeedanceHook

INFO = get_provider_info()
AIRFLOW_DIR = Path(airflow.__file__).parent


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((AIRFLOW_DIR / name).read_text())
    return schema


def _listed_modules() -> list[str]:
    modules = [
        m
        for kind in ("hooks", "operators", "sensors", "triggers")
        for e in INFO[kind]
        for m in e["python-modules"]
    ]
    modules += [t["python-module"] for t in INFO["transfers"]]
    return modules


def _import_if_present(module: str) -> Any:
    """Import ``module``; skip (until it lands) only while its file does not exist."""
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not written yet; this test turns real when it lands")
    return importlib.import_module(module)


def test_provider_info_validates_against_airflows_schema() -> None:
    jsonschema.validate(INFO, _schema("provider_info.schema.json"))


def test_connection_types_validate_against_the_provider_yaml_schema() -> None:
    """The provider.yaml schema is the one that spells out ``ui-field-behaviour`` (hyphenated
    keys, nothing else allowed) and ``conn-fields``."""
    item = _schema("provider.yaml.schema.json")["properties"]["connection-types"]["items"]
    for conn_type in INFO["connection-types"]:
        jsonschema.validate(conn_type, item)


def test_required_keys_are_present_and_the_version_is_the_packages() -> None:
    assert INFO["package-name"] == "airflow-provider-seedance"
    assert INFO["name"] == "Seedance"
    assert INFO["description"]
    assert INFO["versions"] == [__version__]


def test_every_integration_name_used_is_declared() -> None:
    declared = {i["integration-name"] for i in INFO["integrations"]}
    used = {
        e["integration-name"] for kind in ("hooks", "operators", "sensors", "triggers") for e in INFO[kind]
    }
    used |= {t["source-integration-name"] for t in INFO["transfers"]}
    assert used <= declared


@pytest.mark.parametrize("module", _listed_modules())
def test_every_listed_module_is_importable(module: str) -> None:
    assert _import_if_present(module) is not None


@pytest.mark.parametrize("path", INFO["extra-links"])
def test_every_extra_link_class_is_importable(path: str) -> None:
    module, _, name = path.rpartition(".")
    assert hasattr(_import_if_present(module), name), f"{module} has no {name}"


def test_hook_conn_type_matches_the_declared_connection_type() -> None:
    (conn_type,) = INFO["connection-types"]
    module, _, name = conn_type["hook-class-name"].rpartition(".")
    hook = getattr(importlib.import_module(module), name)
    assert hook is SeedanceHook
    assert hook.conn_type == conn_type["connection-type"] == "seedance"
    assert hook.hook_name == conn_type["hook-name"]
    assert hook.default_conn_name == "seedance_default"
    assert hook.conn_name_attr == "seedance_conn_id"


def test_the_hooks_field_behaviour_validates_against_airflows_form_schema() -> None:
    behaviour = SeedanceHook.get_ui_field_behaviour()
    jsonschema.validate(behaviour, _schema("customized_form_field_behaviours.schema.json"))
    assert behaviour["relabeling"]["password"] == "API Key"
    assert {"schema", "port", "login"} <= set(behaviour["hidden_fields"])


def test_airflow_reads_the_declared_form_behaviour_as_the_hook_states_it() -> None:
    """Airflow's providers manager turns the declared ``ui-field-behaviour`` into the form's
    behaviour: it is exactly the hook's (placeholders name built-in fields only, so unprefixed)."""
    from airflow.providers_manager import ProvidersManager

    assert ProvidersManager().field_behaviours["seedance"] == CONNECTION_UI_FIELD_BEHAVIOUR
    assert SeedanceHook.get_ui_field_behaviour() == CONNECTION_UI_FIELD_BEHAVIOUR


def test_conn_fields_are_valid_json_schemas_defaulting_to_fal() -> None:
    (conn_type,) = INFO["connection-types"]
    fields = conn_type["conn-fields"]
    for spec in fields.values():
        jsonschema.Draft7Validator.check_schema(spec["schema"])
    jsonschema.validate("fal", fields["platform"]["schema"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate("replicate", fields["platform"]["schema"])
    assert fields["platform"]["schema"]["default"] == "fal"


def test_the_platform_choice_is_the_registry() -> None:
    (conn_type,) = INFO["connection-types"]
    platform = conn_type["conn-fields"]["platform"]
    assert platform["schema"]["enum"] == [*DIALECTS, None]
    assert platform["schema"]["default"] == DEFAULT_PLATFORM
    assert platform["description"] == (
        "Which platform sells the model: fal (default), oxen, aihubmax, byteplus or volcengine."
    )


def test_provider_info_is_json_serialisable() -> None:
    assert json.loads(json.dumps(INFO)) == INFO
