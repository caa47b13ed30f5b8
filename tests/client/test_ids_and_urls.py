"""Request ids and reference URLs cannot steer an authenticated request (issue 10, defect 7).

A request id is put into URL paths; an id like ``../../x?y`` once sent the key to another path
on the platform's host with a query of the caller's choosing. Ids are validated per platform
(before any HTTP request, naming ``request_id``) and quoted; returned fal URLs that leave the
configured path are not used; reference URLs with whitespace or control characters are refused.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
import respx

from airflow_provider_seedance.client.errors import SeedanceProtocolError, SeedanceValidationError
from airflow_provider_seedance.client.models import JobRef, ReferenceToVideoRequest
from airflow_provider_seedance.client.platforms import DIALECTS, get_dialect
from airflow_provider_seedance.client.platforms.http import HttpResponse
from tests.client.helpers import ClientFacade

#: A real-looking id per platform, and the path its status call must use.
REAL_IDS = {
    "fal": ("80e732af-660e-45cd-bd63-580e4f2a94cc", "/bytedance/seedance-2.0/requests/"),
    "oxen": ("5b0d4c8e-2f1a-4d6b-9c3e-7a8f9e0d1c2b", "/api/ai/queue/"),
    "aihubmax": ("task-unified-1757165031-uyujaw3d", "/v1/tasks/"),
    "byteplus": ("cgt-20260405024433-sbj8r", "/api/v3/contents/generations/tasks/"),
    "volcengine": ("cgt-20260405024433-sbj8r", "/api/v3/contents/generations/tasks/"),
}
HOSTILE_IDS = [
    "../../x?y",
    "..",
    ".",
    "a/b",
    "a?b=1",
    "a#b",
    "a%2F..",
    "a b",
    "a\nb",
    "a\x00",
    "",
    "x" * 300,
    "ünïcode",
    "a;b",
    "\\..\\x",
]


@pytest.mark.parametrize("platform", sorted(DIALECTS))
def test_real_ids_stay_under_the_job_path(platform: str) -> None:
    request_id, path = REAL_IDS[platform]
    dialect = get_dialect(platform)
    ref = JobRef(platform=dialect.name, request_id=request_id)
    calls = [dialect.build_status(ref), dialect.build_result(ref)]
    if (cancel := dialect.build_cancel(ref)) is not None:
        calls.append(cancel)
    for call in calls:
        parts = urlsplit(call.url)
        assert parts.path.startswith(path + request_id), call.url
        assert not parts.query
        assert not parts.fragment


@pytest.mark.parametrize("platform", sorted(DIALECTS))
@pytest.mark.parametrize("request_id", HOSTILE_IDS)
def test_hostile_ids_are_refused_naming_request_id(platform: str, request_id: str) -> None:
    dialect = get_dialect(platform)
    # model_construct: the dialect refuses what JobRef's own validation would refuse too.
    ref = JobRef.model_construct(platform=platform, request_id=request_id, tier="standard")
    builders = [dialect.build_status, dialect.build_result, dialect.build_cancel, dialect.plan_cancel]
    for build in builders:
        with pytest.raises(SeedanceValidationError) as caught:
            build(ref)
        assert caught.value.fields == ["request_id"]


@pytest.mark.parametrize("platform", sorted(DIALECTS))
@pytest.mark.parametrize("request_id", ["../../x?y", "a/../../../admin", "id\r\nX-Evil: 1"])
def test_hostile_ids_send_no_request(platform: str, request_id: str, make_client: type[ClientFacade]) -> None:
    client = make_client(platform=platform)
    ref = JobRef(platform=platform, request_id=request_id)
    with respx.mock(assert_all_called=False) as router:
        catch_all = router.route().respond(200, json={})
        for call in (client.status, client.result, client.cancel):
            with pytest.raises(SeedanceValidationError, match="request_id"):
                call(ref)
    assert catch_all.call_count == 0


def test_fal_returned_urls_that_leave_the_requests_path_are_not_used() -> None:
    """A stored ref's URLs are on the right origin but point elsewhere: derive them instead."""
    dialect = get_dialect("fal")
    request_id, path = REAL_IDS["fal"]
    ref = JobRef(
        platform="fal",
        request_id=request_id,
        status_url="https://queue.fal.run/bytedance/seedance-2.0/requests/../../../admin?delete=1",
        response_url="https://queue.fal.run/other-app/requests/x",
        cancel_url="https://queue.fal.run/bytedance/seedance-2.0/requests/a/cancel#frag",
    )
    for call in (dialect.build_status(ref), dialect.build_result(ref), dialect.build_cancel(ref)):
        assert urlsplit(call.url).path.startswith(path + request_id), call.url
        assert "admin" not in call.url
        assert "other-app" not in call.url
        assert "#" not in call.url


@pytest.mark.parametrize("platform", sorted(DIALECTS))
def test_a_submit_answer_with_a_hostile_id_is_a_protocol_error_saying_a_job_may_exist(platform: str) -> None:
    dialect = get_dialect(platform)
    bad = "../../x?y"
    body = {
        "fal": {"request_id": bad},
        "oxen": {"generations": [{"generation_id": bad, "status": "queued"}]},
    }.get(platform, {"id": bad})
    response = HttpResponse(200, {}, json.dumps(body).encode())
    request = ReferenceToVideoRequest(prompt="p")
    with pytest.raises(SeedanceProtocolError, match="may exist"):
        dialect.parse_submit(request, response)


@pytest.mark.parametrize(
    "url",
    [
        "https://x.test/a b.jpg",
        " https://x.test/a.jpg",
        "https://x.test/a.jpg\n",
        "https://x.test/a.jpg\r\nX-Evil: 1",
        "https://x.test/\ta.jpg",
        "https://x.test/a.jpg\x00",
        "https://x.test/a\x7f.jpg",
        "https://x.test/a\u2028.jpg",
        "https://x.test/a\u00a0.jpg",
        "https://x.test/a\u200b.jpg",
    ],
)
def test_reference_urls_with_whitespace_or_control_characters_are_refused(url: str) -> None:
    with pytest.raises(SeedanceValidationError) as caught:
        ReferenceToVideoRequest(prompt="p @Image1", image_urls=[url])
    assert caught.value.fields == ["image_urls"]
    assert "whitespace or a control character" in str(caught.value)


def test_percent_encoded_reference_urls_still_pass() -> None:
    request = ReferenceToVideoRequest(prompt="p @Image1", image_urls=["https://x.test/a%20b.jpg?sig=a%2Bb"])
    assert request.image_urls == ("https://x.test/a%20b.jpg?sig=a%2Bb",)
