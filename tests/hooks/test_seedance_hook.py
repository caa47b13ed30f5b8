"""SeedanceHook: Airflow connection -> Seedance client, the async path and the connection test."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest
import respx
from airflow.sdk import Connection
from pytest_mock import MockerFixture

from airflow_provider_seedance.client.errors import SeedanceValidationError
from airflow_provider_seedance.client.models import CancelOutcome, JobRef, JobState
from airflow_provider_seedance.client.platforms import DIALECTS
from airflow_provider_seedance.client.pool import pool_for_running_loop
from airflow_provider_seedance.client.transport import AsyncSeedanceClient, SeedanceClient
from airflow_provider_seedance.hooks.seedance import PLATFORMS, SeedanceConnectionConfig, SeedanceHook
from tests.conftest import TEST_API_KEY
from tests.support.retry import NO_WAIT

EMULATOR = "http://127.0.0.1:8787"
PROBE_URL = f"{EMULATOR}/bytedance/seedance-2.0/requests/00000000-0000-0000-0000-000000000000/status"
STATUS_URL = f"{EMULATOR}/bytedance/seedance-2.0/requests/req-1/status"


def connection(**kwargs: object) -> Connection:
    fields: dict[str, object] = {
        "conn_id": "seedance_default",
        "conn_type": "seedance",
        "password": TEST_API_KEY,
    }
    fields.update(kwargs)
    return Connection(**fields)  # type: ignore[arg-type]


def config_of(conn: Connection) -> SeedanceConnectionConfig:
    return SeedanceHook().config_from_connection(conn)


@pytest.fixture
def fal() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


# -- connection -> config ------------------------------------------------------------------------
def test_password_is_the_api_key_and_platform_defaults_to_fal() -> None:
    config = config_of(connection())
    assert (config.api_key, config.platform, config.base_url) == (TEST_API_KEY, "fal", None)


def test_a_client_without_host_talks_to_fal_queue() -> None:
    hook = SeedanceHook()
    hook.__dict__["config"] = config_of(connection())
    assert hook.client.base_url == "https://queue.fal.run"


@pytest.mark.parametrize(
    ("fields", "base_url"),
    [
        ({"host": "http://127.0.0.1:8787"}, "http://127.0.0.1:8787"),
        ({"host": "http://127.0.0.1:8787/"}, "http://127.0.0.1:8787"),
        ({"host": "https://proxy.example.com/fal"}, "https://proxy.example.com/fal"),
        ({"host": "proxy.example.com"}, "https://proxy.example.com"),
        ({"host": "127.0.0.1", "port": 8787}, "https://127.0.0.1:8787"),
        ({"host": "127.0.0.1", "port": 8787, "schema": "http"}, "http://127.0.0.1:8787"),
        ({"host": "127.0.0.1:8787", "port": 9999}, "https://127.0.0.1:8787"),
        ({"host": "http://127.0.0.1", "port": 8787}, "http://127.0.0.1:8787"),
        ({"host": "https://proxy.example.com/fal", "port": 8443}, "https://proxy.example.com:8443/fal"),
        ({"host": "[::1]", "port": 8787, "schema": "http"}, "http://[::1]:8787"),
        ({"host": "http://[::1]:8787"}, "http://[::1]:8787"),
        ({"host": "proxy.example.com", "schema": "public"}, "https://proxy.example.com"),
        ({"host": "  "}, None),
    ],
)
def test_host_is_the_base_url_override(fields: dict[str, object], base_url: str | None) -> None:
    assert config_of(connection(**fields)).base_url == base_url


@pytest.mark.parametrize("host", ["ftp://files.example.com", "http://", "http://host:notaport"])
def test_a_host_that_is_not_an_http_url_is_rejected_naming_the_field(host: str) -> None:
    with pytest.raises(
        SeedanceValidationError, match=r"connection 'seedance_default' host: must be an http\(s\) URL"
    ):
        config_of(connection(host=host))


def test_unknown_platform_is_rejected_naming_the_field() -> None:
    with pytest.raises(SeedanceValidationError) as info:
        config_of(connection(extra=json.dumps({"platform": "replicate"})))
    assert info.value.fields == ["connection 'seedance_default' extra.platform"]
    assert "must be one of fal, oxen, aihubmax, byteplus, volcengine, got 'replicate'" in str(info.value)


def test_every_platform_the_connection_form_offers_has_a_dialect() -> None:
    from airflow_provider_seedance.get_provider_info import CONNECTION_FIELDS

    offered = [p for p in CONNECTION_FIELDS["platform"]["schema"]["enum"] if p is not None]
    assert offered == list(PLATFORMS) == list(DIALECTS)


def test_platform_is_case_insensitive() -> None:
    assert config_of(connection(extra=json.dumps({"platform": " FAL "}))).platform == "fal"


def test_missing_password_is_rejected_naming_the_field() -> None:
    with pytest.raises(
        SeedanceValidationError, match="connection 'seedance_default' password: must hold the platform"
    ):
        config_of(connection(password=None))


def test_connection_problems_are_reported_together() -> None:
    with pytest.raises(SeedanceValidationError) as info:
        config_of(connection(password="", extra=json.dumps({"platform": "nope", "timeout": "soon"})))
    assert len(info.value.errors) == 3


@pytest.mark.parametrize(
    ("extra", "timeout"), [({}, 60.0), ({"timeout": 5}, 5.0), ({"timeout": "12.5"}, 12.5)]
)
def test_timeout_comes_from_the_extra(extra: dict[str, object], timeout: float) -> None:
    assert config_of(connection(extra=json.dumps(extra))).timeout == timeout


def test_hook_timeout_argument_wins_over_the_extra() -> None:
    hook = SeedanceHook(timeout=3)
    assert hook.config_from_connection(connection(extra=json.dumps({"timeout": 30}))).timeout == 3.0


@pytest.mark.parametrize("timeout", [0, -1, "soon", True, "nan"])
def test_a_non_positive_timeout_is_rejected(timeout: object) -> None:
    with pytest.raises(SeedanceValidationError, match=r"extra\.timeout: must be a positive number"):
        config_of(connection(extra=json.dumps({"timeout": timeout})))


def test_the_key_is_absent_from_every_repr(seedance_connection: Callable[..., str]) -> None:
    seedance_connection(EMULATOR)
    hook = SeedanceHook()
    for text in (repr(hook), repr(hook.config), str(hook.config), repr(hook.client)):
        assert TEST_API_KEY not in text
    assert repr(hook) == "SeedanceHook(seedance_conn_id='seedance_default')"


def test_constructing_the_hook_reads_no_connection(mocker: MockerFixture) -> None:
    get_connection = mocker.patch.object(SeedanceHook, "get_connection")
    SeedanceHook(seedance_conn_id="anything")
    get_connection.assert_not_called()


# -- the environment connection users write ----------------------------------------------------
def test_the_documented_environment_connection_works(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_SEEDANCE_DEFAULT",
        '{"conn_type": "seedance", "password": "sk-env-123456", "host": "http://127.0.0.1:8787", '
        '"extra": {"platform": "fal"}}',
    )
    hook = SeedanceHook()
    assert hook.config == SeedanceConnectionConfig(
        platform="fal", api_key="sk-env-123456", base_url=EMULATOR, timeout=60.0
    )
    assert isinstance(hook.get_conn(), SeedanceClient)
    assert hook.client.base_url == EMULATOR


def test_hook_submits_through_the_connection(
    fal: respx.MockRouter, seedance_connection: Callable[..., str]
) -> None:
    seedance_connection(EMULATOR)
    route = fal.post(f"{EMULATOR}/bytedance/seedance-2.0/fast/reference-to-video").respond(
        200, json={"request_id": "req-1", "status_url": STATUS_URL}
    )
    hook = SeedanceHook(retry_policy=NO_WAIT)
    job = hook.submit(hook.build_request(prompt="a cat", tier="fast"))
    assert job == JobRef(platform="fal", request_id="req-1", tier="fast", status_url=STATUS_URL)
    assert route.calls.last.request.headers["authorization"] == f"Key {TEST_API_KEY}"


def test_build_request_rejects_1080p_on_fal_without_any_request(
    fal: respx.MockRouter, seedance_connection: Callable[..., str]
) -> None:
    seedance_connection(EMULATOR)
    with pytest.raises(
        SeedanceValidationError, match=r"resolution: fal\.ai sells 480p, 720p only, got '1080p'"
    ):
        SeedanceHook().build_request(prompt="a cat", resolution="1080p")
    assert fal.calls.call_count == 0


def test_build_request_reports_every_invalid_input(
    fal: respx.MockRouter, seedance_connection: Callable[..., str]
) -> None:
    seedance_connection(EMULATOR)
    with pytest.raises(SeedanceValidationError) as info:
        SeedanceHook().build_request(prompt="@Image1", duration=2, aspect_ratio="5:4")
    assert info.value.fields == ["prompt", "duration", "aspect_ratio"]
    assert fal.calls.call_count == 0


def test_build_request_checks_on_the_clients_own_dialect(
    seedance_connection: Callable[..., str], mocker: MockerFixture
) -> None:
    seedance_connection(EMULATOR)
    hook = SeedanceHook()
    check = mocker.spy(type(hook.client.dialect), "check")
    get_dialect = mocker.patch("airflow_provider_seedance.client.platforms.get_dialect")

    hook.build_request(prompt="a cat")
    hook.job_url(JobRef(platform="fal", request_id="r"))

    assert check.call_count == 1
    get_dialect.assert_not_called()


def test_sync_status_result_and_cancel(
    fal: respx.MockRouter, seedance_connection: Callable[..., str]
) -> None:
    seedance_connection(EMULATOR)
    base = f"{EMULATOR}/bytedance/seedance-2.0/requests/req-1"
    fal.get(f"{base}/status").respond(200, json={"status": "COMPLETED"})
    fal.get(base).respond(200, json={"video": {"url": "https://v3.fal.media/o.mp4"}, "seed": 3})
    fal.put(f"{base}/cancel").respond(400, json={"status": "ALREADY_COMPLETED"})
    hook = SeedanceHook(retry_policy=NO_WAIT)
    ref = JobRef(platform="fal", request_id="req-1")
    assert hook.get_status(ref).state is JobState.SUCCEEDED
    assert hook.get_result(ref).seed == 3
    assert hook.cancel(ref) is CancelOutcome.ALREADY_FINISHED
    hook.close()
    assert "client" not in hook.__dict__


def test_job_url_points_at_fal_only_for_the_real_fal(seedance_connection: Callable[..., str]) -> None:
    seedance_connection(None)
    ref = JobRef(platform="fal", request_id="r", tier="fast")
    assert (
        SeedanceHook().job_url(ref)
        == "https://fal.ai/models/bytedance/seedance-2.0/fast/reference-to-video/requests"
    )
    seedance_connection(EMULATOR)
    assert SeedanceHook().job_url(ref) is None


def test_http_client_for_downloads_carries_no_credentials(seedance_connection: Callable[..., str]) -> None:
    seedance_connection(EMULATOR)
    with SeedanceHook().get_http_client() as http:
        assert "authorization" not in http.headers
        assert http.headers["user-agent"].startswith("airflow-provider-seedance/")


def test_http_client_for_downloads_honours_the_connection_timeout(
    seedance_connection: Callable[..., str],
) -> None:
    seedance_connection(EMULATOR, timeout=7)
    with SeedanceHook().get_http_client() as http:
        assert http.timeout.read == 7.0
    with SeedanceHook(timeout=3).get_http_client() as http:
        assert http.timeout.read == 3.0


# -- async path ----------------------------------------------------------------------------------
async def test_async_path_reads_the_connection_with_aget_connection(
    fal: respx.MockRouter, mocker: MockerFixture
) -> None:
    fal.get(STATUS_URL).respond(202, json={"status": "IN_PROGRESS"})
    hook = SeedanceHook(retry_policy=NO_WAIT)
    aget = mocker.patch.object(SeedanceHook, "aget_connection", return_value=connection(host=EMULATOR))
    mocker.patch.object(
        SeedanceHook, "get_connection", side_effect=AssertionError("sync read in the event loop")
    )
    ref = JobRef(platform="fal", request_id="req-1")
    async with hook.async_client() as client:
        status = await client.status(ref)
    async with hook.async_client() as client:
        await client.status(ref)
    assert status.state is JobState.RUNNING
    aget.assert_awaited_once_with("seedance_default")


async def test_async_client_leases_the_loops_pool_and_releases_it_after_the_block(
    fal: respx.MockRouter, mocker: MockerFixture
) -> None:
    fal.get(STATUS_URL).respond(202, json={"status": "IN_QUEUE"})
    hook = SeedanceHook(retry_policy=NO_WAIT)
    mocker.patch.object(SeedanceHook, "aget_connection", return_value=connection(host=EMULATOR))
    async with hook.async_client() as client:
        assert isinstance(client, AsyncSeedanceClient)
        ref = JobRef(platform="fal", request_id="req-1")
        await client.status(ref)
        await client.status(ref)
        assert pool_for_running_loop().users == 1
    assert pool_for_running_loop().users == 0  # released: kept open for the next trigger
    assert not client._http.is_closed
    assert fal.calls.call_count == 2


async def test_async_cancel(fal: respx.MockRouter, mocker: MockerFixture) -> None:
    base = f"{EMULATOR}/bytedance/seedance-2.0/requests/req-1"
    fal.put(f"{base}/cancel").respond(202, json={"status": "CANCELLATION_REQUESTED"})
    hook = SeedanceHook(retry_policy=NO_WAIT)
    mocker.patch.object(SeedanceHook, "aget_connection", return_value=connection(host=EMULATOR))
    assert await hook.acancel(JobRef(platform="fal", request_id="req-1")) is CancelOutcome.REQUESTED


async def test_async_path_works_with_an_environment_connection(
    fal: respx.MockRouter, seedance_connection: Callable[..., str]
) -> None:
    seedance_connection(EMULATOR)
    fal.get(STATUS_URL).respond(202, json={"status": "IN_QUEUE", "queue_position": 2})
    async with SeedanceHook(retry_policy=NO_WAIT).async_client() as client:
        status = await client.status(JobRef(platform="fal", request_id="req-1"))
    assert status.queue_position == 2


# -- test_connection -------------------------------------------------------------------------------
def test_test_connection_probes_an_all_zero_request_and_404_means_ok(
    fal: respx.MockRouter, seedance_connection: Callable[..., str]
) -> None:
    seedance_connection(EMULATOR)
    probe = fal.get(PROBE_URL).respond(404, json={"detail": "Request not found"})
    ok, message = SeedanceHook().test_connection()
    assert ok
    assert message == f"Connected to fal.ai at {EMULATOR}; the API key was accepted."
    assert probe.call_count == 1
    assert [call.request.method for call in fal.calls] == ["GET"]


def test_test_connection_with_a_rejected_key_is_false_without_the_key(
    fal: respx.MockRouter, seedance_connection: Callable[..., str]
) -> None:
    seedance_connection(EMULATOR)
    fal.get(PROBE_URL).respond(401, json={"detail": f"Invalid Key {TEST_API_KEY}"})
    ok, message = SeedanceHook(retry_policy=NO_WAIT).test_connection()
    assert not ok
    assert message.startswith("The API key was rejected: fal.ai rejected the API key (HTTP 401)")
    assert TEST_API_KEY not in message
    assert all(call.request.method == "GET" for call in fal.calls)


def test_test_connection_reports_an_unreachable_platform(
    fal: respx.MockRouter, seedance_connection: Callable[..., str]
) -> None:
    seedance_connection(EMULATOR)
    route = fal.get(PROBE_URL).mock(side_effect=httpx.ConnectError("connection refused"))
    ok, message = SeedanceHook(retry_policy=NO_WAIT).test_connection()
    assert not ok
    assert "ConnectError" in message
    assert route.call_count == 2  # the probe retries once, never more


def test_test_connection_reports_a_bad_connection_without_any_request(
    fal: respx.MockRouter, seedance_connection: Callable[..., str]
) -> None:
    seedance_connection(EMULATOR, platform="replicate")
    ok, message = SeedanceHook().test_connection()
    assert not ok
    assert "extra.platform" in message
    assert fal.calls.call_count == 0


def test_test_connection_reports_a_missing_connection() -> None:
    ok, message = SeedanceHook(seedance_conn_id="no_such_seedance_conn").test_connection()
    assert (ok, message) == (False, "The connection 'no_such_seedance_conn' is not defined.")


# -- every mode, model_overrides and the operators' defaults from the extra --------------------------


def test_model_overrides_in_the_extra_reach_the_dialect(seedance_connection: Callable[..., str]) -> None:
    seedance_connection(platform="byteplus", model_overrides=json.dumps({"fast": "ep-20260101-abcde"}))
    hook = SeedanceHook()

    assert hook.config.model_overrides == {"fast": "ep-20260101-abcde"}
    assert hook.client.dialect.model_overrides == {"fast": "ep-20260101-abcde"}


def test_a_bad_model_overrides_extra_names_the_connection() -> None:
    with pytest.raises(
        SeedanceValidationError, match=r"connection 'seedance_default' extra\.model_overrides"
    ):
        config_of(connection(extra=json.dumps({"platform": "byteplus", "model_overrides": "[1]"})))


def test_preflight_and_staging_defaults_come_from_the_extra() -> None:
    config = config_of(connection(extra=json.dumps({"preflight": "false", "staging_uri": "gs://b/p/"})))
    assert (config.preflight, config.staging_uri) == (False, "gs://b/p/")
    assert config_of(connection()).preflight is None
    with pytest.raises(SeedanceValidationError, match=r"extra\.preflight: must be true or false"):
        config_of(connection(extra=json.dumps({"preflight": "sometimes"})))


def test_build_request_builds_every_mode_and_refuses_unresolved_references_by_default(
    seedance_connection: Callable[..., str],
) -> None:
    seedance_connection()
    hook = SeedanceHook()
    assert hook.build_request("text-to-video", prompt="p").mode.value == "text-to-video"
    request = hook.build_request(
        "image-to-video", references_resolved=False, prompt="p", image_url="gs://b/first.png"
    )
    assert request.image_url == "gs://b/first.png"
    with pytest.raises(SeedanceValidationError, match="not a URL the platform can fetch"):
        hook.build_request("image-to-video", prompt="p", image_url="gs://b/first.png")
