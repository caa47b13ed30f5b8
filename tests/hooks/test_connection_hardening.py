"""A Seedance connection that cannot work is a clear error before any request (issue 10: defects 3, 4, 5).

An unreadable extra never silently becomes fal, a wrong-typed field is named, a key with
surrounding whitespace is stripped and one with a control character inside is refused without
being echoed, and the connection's ``allow_fallbacks`` reaches the client.
"""

from __future__ import annotations

import json
import math

import pytest
from airflow.sdk import Connection

from airflow_provider_seedance.client.errors import SeedanceValidationError
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from tests.conftest import TEST_API_KEY
from tests.hooks.test_seedance_hook import config_of, connection

FIELD = "connection 'seedance_default'"


def problems(conn: Connection) -> SeedanceValidationError:
    with pytest.raises(SeedanceValidationError) as info:
        config_of(conn)
    return info.value


def no_run_of(key: str, text: str) -> bool:
    return not any(key[i : i + 8] in text for i in range(len(key) - 7))


# -- defect 5: an unreadable extra ---------------------------------------------------------------
@pytest.mark.parametrize(
    "extra",
    ['{"platform": "byteplus",}', "{platform: byteplus}", "[1, 2]", '"byteplus"', "5", "null", "not json"],
)
def test_an_extra_that_is_not_a_json_object_is_an_error_not_fal(extra: str) -> None:
    error = problems(connection(extra=extra))
    assert error.fields == [f"{FIELD} extra"]
    assert "JSON object" in str(error)


@pytest.mark.parametrize("extra", [None, "", "  ", "{}"])
def test_an_empty_extra_means_the_defaults(extra: str | None) -> None:
    assert config_of(connection(extra=extra)).platform == "fal"


@pytest.mark.parametrize("platform", [5, ["fal"], {"name": "fal"}, True, 0, False])
def test_a_platform_that_is_not_a_string_is_an_error(platform: object) -> None:
    error = problems(connection(extra=json.dumps({"platform": platform})))
    assert error.fields == [f"{FIELD} extra.platform"]


@pytest.mark.parametrize("timeout", [True, False, "soon", "nan", "inf", "-5", [5], {"s": 5}, 1e300])
def test_a_timeout_that_is_not_a_finite_positive_number_is_an_error(timeout: object) -> None:
    error = problems(connection(extra=json.dumps({"timeout": timeout})))
    assert error.fields == [f"{FIELD} extra.timeout"]


@pytest.mark.parametrize("timeout", [math.nan, math.inf, -math.inf])
def test_a_hook_timeout_that_is_not_finite_is_an_error(timeout: float) -> None:
    with pytest.raises(SeedanceValidationError, match="timeout"):
        SeedanceHook(timeout=timeout).config_from_connection(connection())


@pytest.mark.parametrize("value", ["true", "yes", 1, 0, None, [True]])
def test_allow_fallbacks_must_be_a_json_bool(value: object) -> None:
    error = problems(connection(extra=json.dumps({"allow_fallbacks": value})))
    assert error.fields == [f"{FIELD} extra.allow_fallbacks"]


@pytest.mark.parametrize("value", [True, False])
def test_allow_fallbacks_reaches_the_client(value: bool) -> None:
    hook = SeedanceHook()
    hook.__dict__["config"] = config_of(connection(extra=json.dumps({"allow_fallbacks": value})))
    assert hook.config.allow_fallbacks is value
    headers = hook.client.dialect.build_submit(
        hook.build_request(prompt="a surfer", image_urls=["https://x.test/a.jpg"])
    ).headers
    assert ("x-fal-disable-fallbacks" in {k.lower() for k in headers}) is (not value)


def test_allow_fallbacks_defaults_to_false() -> None:
    assert config_of(connection()).allow_fallbacks is False


# -- defect 3: the key ---------------------------------------------------------------------------
@pytest.mark.parametrize("password", [f"{TEST_API_KEY}\n", f"  {TEST_API_KEY}\t", f"\r\n{TEST_API_KEY}\r\n"])
def test_whitespace_around_the_key_is_stripped(password: str) -> None:
    assert config_of(connection(password=password)).api_key == TEST_API_KEY


@pytest.mark.parametrize(
    "password",
    [f"{TEST_API_KEY[:9]}\n{TEST_API_KEY[9:]}", f"{TEST_API_KEY}\x00", f"{TEST_API_KEY}\u00e9", " \n "],
)
def test_a_key_that_cannot_be_sent_is_refused_naming_the_password_field_without_the_key(
    password: str,
) -> None:
    error = problems(connection(password=password))
    assert error.fields == [f"{FIELD} password"]
    assert no_run_of(TEST_API_KEY, str(error))
