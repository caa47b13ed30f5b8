"""The emulator derives its routes from one table and its platform list from the provider's registry."""

from __future__ import annotations

import pytest

from airflow_provider_seedance.client.platforms import DIALECTS
from airflow_provider_seedance.emulator import testing
from airflow_provider_seedance.emulator.__main__ import build_parser
from airflow_provider_seedance.emulator.app import HANDLERS, create_fastapi
from airflow_provider_seedance.emulator.config import LIMIT_FIELDS, EmulatorConfig
from airflow_provider_seedance.emulator.dialects import EMULATED, dialect_for, served_platforms
from airflow_provider_seedance.emulator.faults import Fault
from airflow_provider_seedance.emulator.routes import MEDIA, ROUTE_NAMES, ROUTES, UNKNOWN, Route, classify
from airflow_provider_seedance.emulator.state import EmulatorState
from airflow_provider_seedance.emulator.testing import EmulatorHandle


@pytest.mark.parametrize("platform", list(DIALECTS))
def test_every_registry_platform_is_served_by_an_emulated_dialect(platform: str) -> None:
    assert platform in dialect_for(platform).platforms


def test_emulated_dialects_serve_exactly_the_registry() -> None:
    served = [key for dialect in EMULATED.values() for key in dialect.platforms]
    assert sorted(served) == sorted(DIALECTS)
    assert served_platforms() == tuple(DIALECTS) == testing.PLATFORMS


def test_health_lists_the_registry_platforms(seedance_emulator: EmulatorHandle) -> None:
    health = seedance_emulator.health()
    assert health["platforms"] == list(DIALECTS)
    assert health["dialects"] == list(EMULATED)


def test_every_route_has_exactly_its_handler() -> None:
    assert set(HANDLERS) == set(ROUTE_NAMES)
    assert {route.dialect for route in ROUTES} == {*EMULATED, MEDIA}


def test_the_app_serves_the_table() -> None:
    app = create_fastapi(EmulatorState(EmulatorConfig()))
    served = {(r.name, m, r.path) for r in app.routes for m in getattr(r, "methods", ()) or ()}
    assert {(r.name, r.method, r.path) for r in ROUTES} <= served


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_classify_names_each_route(route: Route) -> None:
    path = route.path.replace("{request_id}", "abc").replace("{generation_id}", "g-1")
    path = path.replace("{task_id}", "cgt-1")
    assert classify(route.method, path) == (route.dialect, route.name)
    assert classify(route.method, path + "/") == (route.dialect, route.name)


def test_classify_keeps_the_dialect_of_unknown_paths() -> None:
    assert classify("GET", "/api/v3/nope") == ("ark", UNKNOWN)
    assert classify("GET", "/elsewhere") == (None, UNKNOWN)


def test_faults_accept_the_table_names_and_globs_only() -> None:
    for name in ROUTE_NAMES:
        assert Fault(route=name, kind="drop").route == name
    assert Fault(route="fal.*", kind="drop").route == "fal.*"
    with pytest.raises(ValueError, match="unknown route"):
        Fault(route="fal.submit_fast", kind="drop")


def test_cli_defaults_are_the_config_defaults() -> None:
    args = vars(build_parser().parse_args([]))
    config = {k: v for k, v in EmulatorConfig().public().items() if k not in LIMIT_FIELDS}  # no CLI flags
    assert {name: args[name] for name in config} == config
