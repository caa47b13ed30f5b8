"""The connection probe's verdict agrees with whether a submit would work (issue 10, defect 12).

Every probe asks for something harmless (a job id that cannot exist, or a one-item list). It
used to count any 404 as "key accepted", so a host with a wrong path passed the Test button and
then every submit failed with "no route". Now only the platform's own "unknown job" answer (or
the list it asked for) passes; a bare or generic 404, an HTML page or FastAPI's
``{"detail": "Not Found"}`` fails with a message naming the base URL. The base URL as the
platforms' SDKs spell it (``.../api/v3``, ``.../v1``, ``.../api``, fal's model URL) is
normalised, so the probe and the submit both work with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import respx

from airflow_provider_seedance.client.errors import (
    SeedanceError,
    SeedanceNotFoundError,
    SeedanceProtocolError,
)
from airflow_provider_seedance.client.platforms import DIALECTS, get_dialect
from tests.client.helpers import ClientFacade, simple_request

EmulatorHandle = Any

#: platform -> the base URL suffix its own SDK / docs spell
SDK_SUFFIXES = {
    "fal": "/bytedance/seedance-2.0/reference-to-video",
    "oxen": "/api",
    "aihubmax": "/v1",
    "byteplus": "/api/v3",
    "volcengine": "/api/v3",
}


@pytest.fixture
def emulator(seedance_emulator: EmulatorHandle) -> EmulatorHandle:
    seedance_emulator.configure(queue_seconds=0, run_seconds=0)
    return seedance_emulator


def _client(
    make_client: Callable[..., ClientFacade], emu: EmulatorHandle, platform: str, base: str
) -> ClientFacade:
    return make_client(api_key=emu.api_key, base_url=base, platform=platform)


@pytest.mark.parametrize("platform", sorted(DIALECTS))
@pytest.mark.parametrize("prefix", ["/wrong", "/api/v2", "/v1/v1"])
def test_a_wrong_path_prefix_fails_the_probe_naming_the_base_url_and_the_submit_fails_too(
    emulator: EmulatorHandle, make_client: Callable[..., ClientFacade], platform: str, prefix: str
) -> None:
    base = emulator.base_url + prefix
    client = _client(make_client, emulator, platform, base)
    with pytest.raises(SeedanceError) as probe:
        client.probe()
    message = str(probe.value)
    assert base in message
    assert "host" in message
    assert "submit" in message
    with pytest.raises(SeedanceError):
        client.submit(simple_request())
    assert emulator.jobs() == []


@pytest.mark.parametrize("platform", sorted(DIALECTS))
@pytest.mark.parametrize("trailing", ["", "/"])
def test_the_sdk_spelling_of_the_base_url_works_for_the_probe_and_the_submit(
    emulator: EmulatorHandle, make_client: Callable[..., ClientFacade], platform: str, trailing: str
) -> None:
    client = _client(make_client, emulator, platform, emulator.base_url + SDK_SUFFIXES[platform] + trailing)
    client.probe()
    job = client.submit(simple_request())
    assert client.status(job).request_id == job.request_id
    assert len(emulator.jobs()) == 1


@pytest.mark.parametrize("platform", sorted(DIALECTS))
def test_the_default_base_url_still_probes_ok_on_the_emulator(
    emulator: EmulatorHandle, make_client: Callable[..., ClientFacade], platform: str
) -> None:
    _client(make_client, emulator, platform, emulator.base_url).probe()
    assert emulator.jobs() == []


@pytest.mark.parametrize(
    ("platform", "base", "expected"),
    [
        (
            "byteplus",
            "https://ark.ap-southeast.bytepluses.com/api/v3",
            "https://ark.ap-southeast.bytepluses.com",
        ),
        ("volcengine", "https://ark.cn-beijing.volces.com/api/v3/", "https://ark.cn-beijing.volces.com"),
        ("byteplus", "https://proxy.example/byteplus/api/v3", "https://proxy.example/byteplus"),
        ("aihubmax", "https://api.aihubmax.com/v1", "https://api.aihubmax.com"),
        ("oxen", "https://hub.oxen.ai/api", "https://hub.oxen.ai"),
        ("fal", "https://queue.fal.run/bytedance/seedance-2.0/reference-to-video", "https://queue.fal.run"),
        (
            "fal",
            "https://queue.fal.run/bytedance/seedance-2.0/fast/reference-to-video",
            "https://queue.fal.run",
        ),
        ("fal", "https://queue.fal.run/bytedance/seedance-2.0", "https://queue.fal.run"),
        ("fal", "https://queue.fal.run/", "https://queue.fal.run"),
        ("oxen", "https://hub.oxen.ai/apis", "https://hub.oxen.ai/apis"),  # not the SDK suffix
    ],
)
def test_the_sdk_suffix_is_stripped_from_the_base_url(platform: str, base: str, expected: str) -> None:
    assert get_dialect(platform, base).base_url == expected


# -- wire: what counts as "unknown id" and what as "unknown route" ------------------------------
FAL_PROBE = (
    "https://queue.fal.run/bytedance/seedance-2.0/requests/00000000-0000-0000-0000-000000000000/status"
)
HUB_PROBE = "https://api.aihubmax.com/v1/tasks/task-unified-0-00000000"
OXEN_PROBE = "https://hub.oxen.ai/api/ai/queue"
ARK_PROBE = "https://ark.ap-southeast.bytepluses.com/api/v3/contents/generations/tasks"

ROUTE_MISSES = [
    (404, {"detail": "Not Found"}, None),  # FastAPI / Starlette
    (404, None, b"<html><body><h1>404 Not Found</h1>nginx</body></html>"),
    (404, None, b""),
    (404, None, b"Not Found"),
    (405, {"detail": "Method Not Allowed"}, None),
    (200, None, b"<!doctype html><html><body>Welcome</body></html>"),  # a web site, not the API
    (200, {"hello": "world"}, None),
]


@pytest.mark.parametrize(
    ("platform", "url"),
    [("fal", FAL_PROBE), ("aihubmax", HUB_PROBE), ("oxen", OXEN_PROBE), ("byteplus", ARK_PROBE)],
)
@pytest.mark.parametrize(("code", "body", "raw"), ROUTE_MISSES)
def test_a_generic_answer_is_not_a_good_probe(
    client: ClientFacade,
    make_client: Callable[..., ClientFacade],
    platform: str,
    url: str,
    code: int,
    body: Any,
    raw: bytes | None,
) -> None:
    client = make_client(platform=platform)
    with respx.mock() as router:
        route = router.get(url__startswith=url)
        route.respond(code, json=body) if raw is None else route.respond(code, content=raw)
        with pytest.raises((SeedanceNotFoundError, SeedanceProtocolError)) as caught:
            client.probe()
    assert "host" in str(caught.value)


@pytest.mark.parametrize(
    ("platform", "url", "body"),
    [
        ("fal", FAL_PROBE, {"detail": "Request not found"}),
        ("fal", FAL_PROBE, {"status": "NOT_FOUND", "detail": "Request 0000 not found"}),
        (
            "aihubmax",
            HUB_PROBE,
            {
                "error": {
                    "code": 404,
                    "message": "Task not found: task-unified-0-00000000",
                    "type": "not_found_error",
                    "param": "task_id",
                }
            },
        ),
        (
            "aihubmax",
            HUB_PROBE,
            {
                "error": {
                    "code": "task_not_found",
                    "message": "task does not exist",
                    "type": "invalid_request_error",
                }
            },
        ),
    ],
)
def test_the_platforms_own_unknown_job_answer_is_a_good_probe(
    make_client: Callable[..., ClientFacade], platform: str, url: str, body: Any
) -> None:
    with respx.mock() as router:
        router.get(url__startswith=url).respond(404, json=body)
        make_client(platform=platform).probe()


@pytest.mark.parametrize(
    ("platform", "url", "body"),
    [
        ("oxen", OXEN_PROBE, {"count": 0, "generations": []}),
        ("byteplus", ARK_PROBE, {"total": 0, "items": []}),
    ],
)
def test_the_list_probes_want_the_list(
    make_client: Callable[..., ClientFacade], platform: str, url: str, body: Any
) -> None:
    with respx.mock() as router:
        route = router.get(url__startswith=url).respond(200, json=body)
        make_client(platform=platform).probe()
    assert route.calls.last.request.method == "GET"
