"""fal.ai dialect and transport, on the wire (respx), for the sync and the async client alike."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
import respx

from airflow_provider_seedance.client.errors import (
    SeedanceAmbiguousSubmitError,
    SeedanceAPIError,
    SeedanceAuthError,
    SeedanceNotFoundError,
    SeedanceProtocolError,
    SeedanceRateLimitError,
    SeedanceRequestRejected,
    SeedanceServerError,
)
from airflow_provider_seedance.client.models import CancelOutcome, JobRef, JobState
from tests.client.helpers import (
    API_KEY,
    CANCEL_URL,
    FAL,
    FAST_URL,
    REQUEST_ID,
    REQUESTS_URL,
    STANDARD_URL,
    STATUS_URL,
    VIDEO_URL,
    ClientFacade,
    assert_sent_by_us,
    mp4,
    result_body,
    router_fixture,
    sent_json,
    simple_request,
    submit_body,
)

fal = router_fixture("fal")


def ref(**urls: str) -> JobRef:
    return JobRef(platform="fal", request_id=REQUEST_ID, **urls)


RETURNED = ref(status_url=STATUS_URL, response_url=REQUESTS_URL, cancel_url=CANCEL_URL)


# -- submit -------------------------------------------------------------------------------------
def test_standard_tier_posts_the_inputs_to_the_reference_to_video_endpoint(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    route = fal.post(STANDARD_URL).respond(200, json=submit_body())
    client.submit(simple_request(duration=8, seed=7, aspect_ratio="16:9"))
    sent = route.calls.last.request
    assert sent.url == STANDARD_URL
    assert json.loads(sent.content) == {
        "prompt": "A surfer at golden hour, @Image1 sets the scene.",
        "image_urls": ["https://x.test/a.jpg"],
        "resolution": "720p",
        "duration": "8",
        "aspect_ratio": "16:9",
        "generate_audio": True,
        "seed": 7,
    }
    assert sent.headers["content-type"] == "application/json"


def test_fast_tier_posts_to_the_fast_reference_to_video_endpoint(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    route = fal.post(FAST_URL).respond(200, json=submit_body())
    job = client.submit(simple_request(tier="fast"))
    assert route.call_count == 1
    assert job.tier == "fast"
    assert "tier" not in sent_json(route)


def test_every_request_carries_the_key_and_the_user_agent(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    fal.post(STANDARD_URL).respond(200, json=submit_body())
    fal.get(STATUS_URL).respond(202, json={"status": "IN_PROGRESS"})
    fal.get(REQUESTS_URL).respond(200, json=result_body())
    fal.put(CANCEL_URL).respond(202, json={"status": "CANCELLATION_REQUESTED"})
    job = client.submit(simple_request())
    client.status(job)
    client.result(job)
    client.cancel(job)
    assert len(fal.calls) == 4
    assert_sent_by_us(fal.calls, scheme="Key")


def test_seed_minus_one_is_left_out_so_fal_picks_a_random_seed(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    route = fal.post(STANDARD_URL).respond(200, json=submit_body())
    client.submit(simple_request(seed=-1))
    assert "seed" not in sent_json(route)


def test_submit_returns_a_ref_holding_the_returned_urls(fal: respx.MockRouter, client: ClientFacade) -> None:
    fal.post(STANDARD_URL).respond(200, json=submit_body())
    job = client.submit(simple_request())
    assert job == JobRef(
        platform="fal",
        request_id=REQUEST_ID,
        tier="standard",
        status_url=STATUS_URL,
        response_url=REQUESTS_URL,
        cancel_url=CANCEL_URL,
    )


def test_submit_without_request_id_is_a_protocol_error_warning_that_a_job_may_exist(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    fal.post(STANDARD_URL).respond(200, json={"status": "IN_QUEUE"})
    with pytest.raises(SeedanceAmbiguousSubmitError, match=r"returned no request_id.*A job may exist"):
        client.submit(simple_request())


def test_submit_with_a_custom_base_url_posts_there(
    fal: respx.MockRouter, make_client: Callable[..., ClientFacade]
) -> None:
    route = fal.post("http://127.0.0.1:8787/bytedance/seedance-2.0/reference-to-video").respond(
        200, json=submit_body(base="http://127.0.0.1:8787/bytedance/seedance-2.0/requests/r1")
    )
    job = make_client(base_url="http://127.0.0.1:8787/").submit(simple_request())
    assert route.call_count == 1
    assert job.status_url == "http://127.0.0.1:8787/bytedance/seedance-2.0/requests/r1/status"


# -- returned URLs ------------------------------------------------------------------------------
def test_status_result_and_cancel_use_the_returned_urls_as_given(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    odd = f"{FAL}/bytedance/seedance-2.0/requests/{REQUEST_ID}-v2"  # not what we would build
    fal.post(STANDARD_URL).respond(200, json=submit_body(base=odd))
    status = fal.get(f"{odd}/status").respond(202, json={"status": "IN_QUEUE", "queue_position": 3})
    result = fal.get(odd).respond(200, json=result_body())
    cancel = fal.put(f"{odd}/cancel").respond(202, json={"status": "CANCELLATION_REQUESTED"})
    built = fal.route(url__startswith=REQUESTS_URL + "/")
    job = client.submit(simple_request())
    client.status(job)
    client.result(job)
    client.cancel(job)
    assert (status.call_count, result.call_count, cancel.call_count, built.call_count) == (1, 1, 1, 0)


def test_returned_urls_drop_the_reference_to_video_path_segment(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    """Status/result/cancel live under owner/app only (``bytedance/seedance-2.0``), even for the fast tier."""
    fal.post(FAST_URL).respond(200, json=submit_body())
    status = fal.get(STATUS_URL, params={"logs": "1"}).respond(202, json={"status": "IN_PROGRESS"})
    job = client.submit(simple_request(tier="fast"))
    client.status(job)
    assert status.call_count == 1
    assert "/fast/" not in str(status.calls.last.request.url)


@pytest.mark.parametrize("tier", ["standard", "fast"])
def test_urls_are_derived_like_fal_client_for_a_job_known_only_by_id(
    fal: respx.MockRouter, client: ClientFacade, tier: str
) -> None:
    status = fal.get(STATUS_URL).respond(200, json={"status": "COMPLETED"})
    result = fal.get(REQUESTS_URL).respond(200, json=result_body())
    cancel = fal.put(CANCEL_URL).respond(400, json={"status": "ALREADY_COMPLETED"})
    job = client.job_ref(REQUEST_ID, tier)
    assert job.status_url is None
    client.status(job)
    client.result(job)
    client.cancel(job)
    assert (status.call_count, result.call_count, cancel.call_count) == (1, 1, 1)


def test_returned_urls_on_a_foreign_origin_are_not_used_and_the_key_stays_home(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    foreign = fal.route(host="collector.evil.example")
    fal.post(STANDARD_URL).respond(
        200, json=submit_body(base=f"https://collector.evil.example/r/{REQUEST_ID}")
    )
    status = fal.get(STATUS_URL).respond(202, json={"status": "IN_QUEUE"})
    job = client.submit(simple_request())
    assert (job.status_url, job.response_url, job.cancel_url) == (None, None, None)
    client.status(job)
    assert status.call_count == 1
    assert foreign.call_count == 0


@pytest.mark.parametrize("scheme_swap", ["http://queue.fal.run", "https://queue.fal.run:8443"])
def test_returned_urls_with_another_scheme_or_port_are_not_used(
    fal: respx.MockRouter, client: ClientFacade, scheme_swap: str
) -> None:
    fal.post(STANDARD_URL).respond(
        200, json=submit_body(base=f"{scheme_swap}/bytedance/seedance-2.0/requests/x")
    )
    job = client.submit(simple_request())
    assert job.status_url is None


def test_a_returned_url_naming_the_default_port_counts_as_the_same_origin(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    fal.post(STANDARD_URL).respond(200, json=submit_body(base=f"https://queue.fal.run:443/x/{REQUEST_ID}"))
    assert client.submit(simple_request()).status_url == f"https://queue.fal.run:443/x/{REQUEST_ID}/status"


def test_a_stored_ref_with_a_foreign_status_url_is_not_followed(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    """A ref read back from XCom or trigger kwargs is checked again before the key is sent."""
    foreign = fal.route(host="elsewhere.example")
    derived = fal.get(STATUS_URL).respond(202, json={"status": "IN_QUEUE"})
    derived_cancel = fal.put(CANCEL_URL).respond(202, json={"status": "CANCELLATION_REQUESTED"})
    tampered = ref(status_url="https://elsewhere.example/s", cancel_url="https://elsewhere.example/c")
    client.status(tampered)
    client.cancel(tampered)
    assert (derived.call_count, derived_cancel.call_count, foreign.call_count) == (1, 1, 0)


# -- status -------------------------------------------------------------------------------------
def test_status_asks_for_logs(fal: respx.MockRouter, client: ClientFacade) -> None:
    route = fal.get(STATUS_URL).respond(202, json={"status": "IN_PROGRESS"})
    client.status(RETURNED)
    assert route.calls.last.request.url.params["logs"] == "1"


def test_202_in_queue_maps_to_queued_with_its_position(fal: respx.MockRouter, client: ClientFacade) -> None:
    fal.get(STATUS_URL).respond(202, json={"status": "IN_QUEUE", "queue_position": 4, "logs": None})
    status = client.status(RETURNED)
    assert (status.state, status.queue_position, status.raw_status) == (JobState.QUEUED, 4, "IN_QUEUE")
    assert not status.is_terminal


def test_202_in_progress_maps_to_running_with_its_log_messages(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    logs = [
        {"message": "loading model", "level": "INFO", "source": "user", "timestamp": "2026-01-01T00:00:00"}
    ]
    fal.get(STATUS_URL).respond(202, json={"status": "IN_PROGRESS", "logs": logs})
    status = client.status(RETURNED)
    assert (status.state, status.logs) == (JobState.RUNNING, ("loading model",))


def test_200_completed_without_error_maps_to_succeeded(fal: respx.MockRouter, client: ClientFacade) -> None:
    fal.get(STATUS_URL).respond(
        200,
        json={
            "status": "COMPLETED",
            "logs": [],
            "metrics": {"inference_time": 41.2},
            "response_url": REQUESTS_URL,
        },
    )
    status = client.status(RETURNED)
    assert status.state is JobState.SUCCEEDED
    assert status.is_terminal


def test_completed_with_error_and_error_type_maps_to_failed(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    fal.get(STATUS_URL).respond(
        200,
        json={
            "status": "COMPLETED",
            "logs": [],
            "metrics": {},
            "error": "Runner disconnected",
            "error_type": "runner_disconnected",
        },
    )
    status = client.status(RETURNED)
    assert (status.state, status.error, status.error_type) == (
        JobState.FAILED,
        "Runner disconnected",
        "runner_disconnected",
    )
    assert status.describe() == "failed, error: Runner disconnected (runner_disconnected)"


def test_completed_with_a_cancellation_error_type_maps_to_cancelled(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    fal.get(STATUS_URL).respond(
        200, json={"status": "COMPLETED", "error": "cancelled", "error_type": "client_cancelled"}
    )
    assert client.status(RETURNED).state is JobState.CANCELLED


def test_unknown_status_value_is_a_protocol_error_naming_it(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    fal.get(STATUS_URL).respond(200, json={"status": "PAUSED"})
    with pytest.raises(SeedanceProtocolError, match=rf"unknown status 'PAUSED' for request {REQUEST_ID}"):
        client.status(RETURNED)


def test_missing_status_value_is_a_protocol_error(fal: respx.MockRouter, client: ClientFacade) -> None:
    fal.get(STATUS_URL).respond(200, json={"queue_position": 1})
    with pytest.raises(SeedanceProtocolError, match="unknown status None"):
        client.status(RETURNED)


def test_status_of_an_unknown_job_is_not_found(fal: respx.MockRouter, client: ClientFacade) -> None:
    fal.get(STATUS_URL).respond(404, json={"detail": "Request not found"})
    with pytest.raises(SeedanceNotFoundError, match="HTTP 404: Request not found"):
        client.status(RETURNED)


# -- result -------------------------------------------------------------------------------------
def test_result_maps_the_video_file_and_seed(fal: respx.MockRouter, client: ClientFacade) -> None:
    fal.get(REQUESTS_URL).respond(200, json=result_body(seed=1234))
    result = client.result(RETURNED)
    assert (result.request_id, result.seed) == (REQUEST_ID, 1234)
    assert result.video.model_dump() == mp4(VIDEO_URL, "output.mp4", 4823041)


def test_result_with_only_a_video_url_defaults_the_content_type(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    fal.get(REQUESTS_URL).respond(200, json={"video": {"url": VIDEO_URL}, "seed": 42})
    video = client.result(RETURNED).video
    assert (video.url, video.content_type, video.file_size) == (VIDEO_URL, "video/mp4", None)


def test_result_without_a_video_url_is_a_protocol_error(fal: respx.MockRouter, client: ClientFacade) -> None:
    fal.get(REQUESTS_URL).respond(200, json={"seed": 42})
    with pytest.raises(SeedanceProtocolError, match="has no video URL"):
        client.result(RETURNED)


def test_result_of_a_failed_job_is_an_api_error_with_the_detail(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    fal.get(REQUESTS_URL).respond(
        422,
        json={
            "detail": [
                {"loc": ["body", "image_urls", 0], "msg": "image too large", "type": "image_too_large"}
            ]
        },
    )
    with pytest.raises(SeedanceRequestRejected, match=r"image_urls\.0: image too large \[image_too_large\]"):
        client.result(RETURNED)


# -- cancel -------------------------------------------------------------------------------------
def test_cancel_202_cancellation_requested_is_requested(fal: respx.MockRouter, client: ClientFacade) -> None:
    route = fal.put(CANCEL_URL).respond(202, json={"status": "CANCELLATION_REQUESTED"})
    assert client.cancel(RETURNED) is CancelOutcome.REQUESTED
    assert route.calls.last.request.method == "PUT"


def test_cancel_400_already_completed_is_already_finished(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    fal.put(CANCEL_URL).respond(400, json={"status": "ALREADY_COMPLETED"})
    assert client.cancel(RETURNED) is CancelOutcome.ALREADY_FINISHED


def test_cancel_404_is_not_found(fal: respx.MockRouter, client: ClientFacade) -> None:
    fal.put(CANCEL_URL).respond(404, json={"status": "NOT_FOUND"})
    assert client.cancel(RETURNED) is CancelOutcome.NOT_FOUND


def test_cancel_400_for_another_reason_is_a_rejected_request(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    fal.put(CANCEL_URL).respond(400, json={"status": "BAD_STATE"})
    with pytest.raises(SeedanceRequestRejected, match="HTTP 400: BAD_STATE"):
        client.cancel(RETURNED)


# -- error mapping ------------------------------------------------------------------------------
def test_422_detail_list_is_mapped_to_a_rejected_request_naming_each_field(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    detail = [
        {"loc": ["body", "prompt"], "msg": "field required", "type": "value_error.missing"},
        {
            "loc": ["body", "duration"],
            "msg": "value is not a valid enumeration member",
            "type": "type_error.enum",
        },
    ]
    fal.post(STANDARD_URL).respond(422, json={"detail": detail}, headers={"X-Fal-Retryable": "false"})
    with pytest.raises(SeedanceRequestRejected) as info:
        client.submit(simple_request())
    err = info.value
    assert err.status_code == 422
    assert not err.retryable
    assert str(err) == (
        "fal.ai answered submit with HTTP 422: prompt: field required [value_error.missing]; "
        "duration: value is not a valid enumeration member [type_error.enum]"
    )


def test_x_fal_error_type_header_is_kept_as_error_type(fal: respx.MockRouter, client: ClientFacade) -> None:
    fal.get(STATUS_URL).respond(
        504, json={"detail": "Request timed out"}, headers={"X-Fal-Error-Type": "request_timeout"}
    )
    with pytest.raises(SeedanceServerError) as info:
        client.status(RETURNED)
    assert info.value.error_type == "request_timeout"
    assert "HTTP 504 (request_timeout): Request timed out" in str(info.value)


def test_error_type_in_the_body_wins_over_the_header(fal: respx.MockRouter, client: ClientFacade) -> None:
    fal.get(STATUS_URL).respond(
        503,
        json={"detail": "Runner disconnected", "error_type": "runner_disconnected"},
        headers={"X-Fal-Error-Type": "internal_error"},
    )
    with pytest.raises(SeedanceServerError) as info:
        client.status(RETURNED)
    assert info.value.error_type == "runner_disconnected"


@pytest.mark.parametrize("code", [401, 403])
def test_401_and_403_are_auth_errors_pointing_at_the_connection_password(
    fal: respx.MockRouter, client: ClientFacade, code: int
) -> None:
    fal.get(STATUS_URL).respond(code, json={"detail": "Invalid API key"})
    with pytest.raises(
        SeedanceAuthError, match=rf"rejected the API key \(HTTP {code}\).*password of the Seedance"
    ):
        client.status(RETURNED)


def test_429_on_a_poll_is_a_rate_limit_error_once_retries_run_out(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    fal.get(STATUS_URL).respond(429, json={"detail": "Too many requests"}, headers={"Retry-After": "0"})
    with pytest.raises(SeedanceRateLimitError) as info:
        client.status(RETURNED)
    assert (info.value.status_code, info.value.retry_after, info.value.retryable) == (429, 0.0, True)


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_5xx_on_a_poll_is_a_retryable_server_error(
    fal: respx.MockRouter, client: ClientFacade, code: int
) -> None:
    fal.get(STATUS_URL).respond(code, json={"detail": "boom"})
    with pytest.raises(SeedanceServerError) as info:
        client.status(RETURNED)
    assert info.value.retryable


@pytest.mark.parametrize("code", [500, 502, 503])
def test_5xx_on_submit_is_ambiguous(fal: respx.MockRouter, client: ClientFacade, code: int) -> None:
    route = fal.post(STANDARD_URL).respond(code, json={"detail": "boom"})
    with pytest.raises(SeedanceAmbiguousSubmitError, match="NOT re-sent") as info:
        client.submit(simple_request())
    assert route.call_count == 1
    assert info.value.cause == f"HTTP {code}"
    assert isinstance(info.value.__cause__, SeedanceServerError)


def test_an_unexpected_4xx_is_a_plain_api_error(fal: respx.MockRouter, client: ClientFacade) -> None:
    fal.get(STATUS_URL).respond(418, text="teapot")
    with pytest.raises(SeedanceAPIError) as info:
        client.status(RETURNED)
    assert type(info.value) is SeedanceAPIError
    assert info.value.status_code == 418


def test_html_error_page_is_summarised_as_a_non_json_body(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    fal.get(STATUS_URL).respond(502, html="<html><body><h1>502 Bad Gateway</h1>nginx</body></html>")
    with pytest.raises(SeedanceServerError, match="HTTP 502: non-JSON body '<html>"):
        client.status(RETURNED)


def test_html_instead_of_json_on_success_is_a_protocol_error(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    fal.get(STATUS_URL).respond(200, html="<!doctype html><title>Captive portal</title>")
    with pytest.raises(SeedanceProtocolError, match="HTTP 200 and an HTML page instead of a JSON object"):
        client.status(RETURNED)


def test_malformed_json_is_a_protocol_error(fal: respx.MockRouter, client: ClientFacade) -> None:
    fal.get(STATUS_URL).respond(
        202, content=b'{"status": "IN_QUEUE",', headers={"content-type": "application/json"}
    )
    with pytest.raises(SeedanceProtocolError, match="HTTP 202 and malformed JSON"):
        client.status(RETURNED)


def test_json_that_is_not_an_object_is_a_protocol_error(fal: respx.MockRouter, client: ClientFacade) -> None:
    fal.get(REQUESTS_URL).respond(200, json=["not", "an", "object"])
    with pytest.raises(SeedanceProtocolError, match="JSON that is not an object"):
        client.result(RETURNED)


def test_an_error_body_echoing_the_key_is_scrubbed(fal: respx.MockRouter, client: ClientFacade) -> None:
    fal.get(STATUS_URL).respond(401, json={"detail": f"Invalid key {API_KEY}"})
    with pytest.raises(SeedanceAuthError) as info:
        client.status(RETURNED)
    assert API_KEY not in str(info.value)
    assert API_KEY not in repr(info.value)
    assert API_KEY not in str(info.value.detail)
    assert "Invalid key ***" in str(info.value)


def test_a_transport_error_on_a_poll_is_a_transport_error_after_retries(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    from airflow_provider_seedance.client.errors import SeedanceTransportError

    route = fal.get(STATUS_URL).mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(SeedanceTransportError, match=r"fal\.ai status GET .* failed: ReadTimeout") as info:
        client.status(RETURNED)
    assert info.value.request_sent
    assert route.call_count == 5  # RetryPolicy's default max_attempts


def test_probe_asks_for_the_status_of_an_all_zero_request_id(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    route = fal.get(
        f"{FAL}/bytedance/seedance-2.0/requests/00000000-0000-0000-0000-000000000000/status"
    ).respond(404, json={"detail": "Request not found"})
    client.probe()
    assert route.call_count == 1
    assert [c.request.method for c in fal.calls] == ["GET"]


def test_probe_with_a_rejected_key_raises_an_auth_error(fal: respx.MockRouter, client: ClientFacade) -> None:
    fal.get(url__regex=r".*/status$").respond(401, json={"detail": "Unauthorized"})
    with pytest.raises(SeedanceAuthError):
        client.probe()


# -- fallbacks (issue 10: a seed grid must be reproducible) -----------------------------------
def test_submit_opts_out_of_fal_fallbacks_by_default(fal: respx.MockRouter, client: ClientFacade) -> None:
    """fal may reroute a failing request to an "equivalent alternative endpoint"; not ours."""
    route = fal.post(STANDARD_URL).respond(200, json=submit_body())
    status = fal.get(STATUS_URL).respond(202, json={"status": "IN_QUEUE"})
    job = client.submit(simple_request(seed=7))
    client.status(job)
    assert route.calls.last.request.headers["x-fal-disable-fallbacks"] == "true"
    assert "x-fal-disable-fallbacks" not in status.calls.last.request.headers


def test_submit_allows_fal_fallbacks_when_asked(
    fal: respx.MockRouter, make_client: Callable[..., ClientFacade]
) -> None:
    route = fal.post(STANDARD_URL).respond(200, json=submit_body())
    make_client(allow_fallbacks=True).submit(simple_request())
    assert "x-fal-disable-fallbacks" not in route.calls.last.request.headers
