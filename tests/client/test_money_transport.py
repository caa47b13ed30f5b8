"""Where money or the key is at stake in the transport (issue 10: defects 2, 3, 7, 9).

A 2xx submit answer that cannot be used is an ambiguous submit; a request refused before a
byte left the machine is "not sent"; keys are stripped or refused; every string the client
returns from a platform, and every error, is redacted down to any 8-character run of the key.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import httpx
import pytest
import respx

from airflow_provider_seedance.client.errors import (
    SeedanceAmbiguousSubmitError,
    SeedanceAPIError,
    SeedanceTransportError,
    SeedanceValidationError,
    redact,
)
from airflow_provider_seedance.client.retry import RetryPolicy
from tests.client.helpers import (
    API_KEY,
    REQUEST_ID,
    STANDARD_URL,
    STATUS_URL,
    ClientFacade,
    simple_request,
    submit_body,
)


@pytest.fixture
def fal() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def runs_of(secret: str, size: int = 8) -> list[str]:
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


def assert_no_run_of_the_key(text: str, key: str = API_KEY) -> None:
    leaked = [run for run in runs_of(key) if run in text]
    assert not leaked, f"{leaked} in {text!r}"


# -- defect 2: a 2xx submit answer nobody can use ------------------------------------------------
@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, content=b"\x00\xffgarbage"),
        httpx.Response(200, json={"status": "IN_QUEUE"}),  # no request id
        httpx.Response(201, json=[1, 2, 3]),
        httpx.Response(200, content=b"<html>proxy</html>", headers={"content-type": "text/html"}),
    ],
    ids=["bytes", "no-id", "not-an-object", "html"],
)
def test_an_unusable_2xx_submit_answer_is_an_ambiguous_submit_and_is_never_resent(
    fal: respx.MockRouter, client: ClientFacade, answer: httpx.Response
) -> None:
    route = fal.post(STANDARD_URL).mock(return_value=answer)

    with pytest.raises(SeedanceAmbiguousSubmitError, match="may have been created"):
        client.submit(simple_request())

    assert route.call_count == 1


def test_a_4xx_submit_answer_stays_a_rejection(fal: respx.MockRouter, client: ClientFacade) -> None:
    fal.post(STANDARD_URL).mock(return_value=httpx.Response(422, json={"detail": "bad prompt"}))
    with pytest.raises(SeedanceAPIError) as info:
        client.submit(simple_request())
    assert not isinstance(info.value, SeedanceAmbiguousSubmitError)


# -- defect 3: nothing left the machine ----------------------------------------------------------
def test_a_request_refused_locally_is_not_sent_and_a_submit_may_be_retried(
    fal: respx.MockRouter, make_client: Callable[..., ClientFacade]
) -> None:
    route = fal.post(STANDARD_URL)
    route.side_effect = [
        httpx.LocalProtocolError(f"Illegal header value b'Key {API_KEY}\\n'"),
        httpx.Response(200, json=submit_body()),
    ]

    ref = make_client(retry=RetryPolicy(max_attempts=2, base_delay=0.0)).submit(simple_request())

    assert ref.request_id == REQUEST_ID
    assert route.call_count == 2


def test_a_locally_refused_request_is_reported_as_not_sent_without_the_key(
    fal: respx.MockRouter, make_client: Callable[..., ClientFacade]
) -> None:
    fal.post(STANDARD_URL).mock(side_effect=httpx.LocalProtocolError(f"Illegal header b'Key {API_KEY}\\n'"))

    with pytest.raises(SeedanceTransportError) as info:
        make_client(retry=RetryPolicy(max_attempts=1)).submit(simple_request())

    assert info.value.request_sent is False
    assert "may have been" not in str(info.value)
    assert_no_run_of_the_key(str(info.value))


def test_surrounding_whitespace_of_a_key_is_stripped(
    fal: respx.MockRouter, make_client: Callable[..., ClientFacade]
) -> None:
    route = fal.post(STANDARD_URL).mock(return_value=httpx.Response(200, json=submit_body()))

    make_client(api_key=f"  {API_KEY}\r\n").submit(simple_request())

    assert route.calls.last.request.headers["authorization"] == f"Key {API_KEY}"


@pytest.mark.parametrize("key", [f"{API_KEY[:6]}\n{API_KEY[6:]}", f"{API_KEY}\x00x", f"{API_KEY}é", "\n\t "])
def test_a_key_with_a_control_or_non_ascii_character_is_refused_without_echoing_it(
    make_client: Callable[..., ClientFacade], key: str
) -> None:
    with pytest.raises(SeedanceValidationError) as info:
        make_client(api_key=key).make()
    assert info.value.fields == ["api_key"]
    assert_no_run_of_the_key(str(info.value))


# -- defect 9: partial echoes ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        f"invalid key {API_KEY[:12]}...",
        f"key ending {API_KEY[-8:]}",
        f"middle {API_KEY[5:14]} and whole {API_KEY} and {API_KEY[:8]}",
    ],
)
def test_redact_removes_every_run_of_eight_characters_of_the_key(text: str) -> None:
    out = redact(text, API_KEY)
    assert_no_run_of_the_key(out)
    assert "***" in out


def test_redact_keeps_runs_shorter_than_eight_and_text_around_them() -> None:
    assert redact(f"prefix {API_KEY[:7]} suffix", API_KEY) == f"prefix {API_KEY[:7]} suffix"
    assert redact(f"a {API_KEY[:9]} b", API_KEY) == "a *** b"


def test_a_key_shorter_than_eight_characters_is_redacted_whole_only() -> None:
    assert redact("key abc123 or abc12", "abc123") == "key *** or abc12"


def test_redact_is_linear_on_a_large_body() -> None:
    import time

    body = ("x" * 1000 + API_KEY[:10]) * 1000
    started = time.perf_counter()
    out = redact(body, API_KEY)
    assert time.perf_counter() - started < 1.0
    assert_no_run_of_the_key(out)


def test_an_error_body_echoing_part_of_the_key_is_redacted(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    fal.get(STATUS_URL).mock(
        return_value=httpx.Response(401, json={"detail": f"Invalid key {API_KEY[:12]}..."})
    )
    with pytest.raises(SeedanceAPIError) as info:
        client.status(client.job_ref(REQUEST_ID))
    assert_no_run_of_the_key(str(info.value))
    assert_no_run_of_the_key(repr(info.value.detail))


# -- defect 7a: strings a platform returns are redacted ----------------------------------------------
def test_a_failed_jobs_error_and_logs_echoing_the_key_are_redacted(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    fal.get(STATUS_URL).mock(
        return_value=httpx.Response(
            200,
            json={
                "status": "FAILED",
                "error": f"auth with {API_KEY} failed ({API_KEY[:10]})",
                "error_type": f"bad_{API_KEY[2:12]}",
                "logs": [{"message": f"using key {API_KEY[-9:]}"}, {"message": "plain"}],
            },
        )
    )

    status = client.status(client.job_ref(REQUEST_ID))

    assert_no_run_of_the_key(repr(status))
    assert status.logs[-1] == "plain"
    assert status.error is not None
    assert status.error.startswith("auth with *** failed")


def test_redaction_never_touches_numbers(fal: respx.MockRouter, client: ClientFacade) -> None:
    fal.get(STATUS_URL).mock(
        return_value=httpx.Response(200, json={"status": "IN_QUEUE", "queue_position": 3})
    )
    status = client.status(client.job_ref(REQUEST_ID))
    assert status.queue_position == 3
    assert not math.isnan(float(status.queue_position))


# -- defect 4: RetryPolicy ------------------------------------------------------------------------
@pytest.mark.parametrize("field", ["base_delay", "max_delay", "max_retry_after", "max_elapsed"])
@pytest.mark.parametrize("value", [math.nan, -1.0])
def test_a_retry_policy_delay_that_is_nan_or_negative_is_refused(field: str, value: float) -> None:
    with pytest.raises(ValueError, match="retry delays"):
        RetryPolicy(**{field: value})


def test_a_retry_policy_may_have_no_overall_deadline() -> None:
    assert RetryPolicy(max_elapsed=math.inf).max_elapsed == math.inf
