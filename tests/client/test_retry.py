"""One retry policy for both transports: reads retry, a submit is never re-sent once it may have landed."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
import respx

from airflow_provider_seedance.client.errors import (
    SeedanceAmbiguousSubmitError,
    SeedanceAuthError,
    SeedanceRateLimitError,
    SeedanceServerError,
    SeedanceTransportError,
)
from airflow_provider_seedance.client.models import JobRef, JobState
from airflow_provider_seedance.client.platforms.base import Operation
from airflow_provider_seedance.client.retry import RetryPolicy, parse_retry_after
from airflow_provider_seedance.client.transport import AsyncSeedanceClient, SeedanceClient
from tests.client.helpers import (
    API_KEY,
    REQUEST_ID,
    STANDARD_URL,
    STATUS_URL,
    ClientFacade,
    policy,
    simple_request,
    submit_body,
)
from tests.support.retry import NO_WAIT

REF = JobRef(platform="fal", request_id=REQUEST_ID, status_url=STATUS_URL)
QUEUED = httpx.Response(202, json={"status": "IN_QUEUE", "queue_position": 0})


@pytest.fixture
def fal() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def test_retry_after_is_honoured_on_429(
    fal: respx.MockRouter, make_client: Callable[..., ClientFacade], sleeps: list[float]
) -> None:
    fal.get(STATUS_URL).mock(
        side_effect=[httpx.Response(429, json={"detail": "slow down"}, headers={"Retry-After": "7"}), QUEUED]
    )
    status = make_client(retry=policy(retry_after_jitter=0.0)).status(REF)
    assert status.state is JobState.QUEUED
    assert sleeps == [7.0]


def test_retry_after_as_an_http_date_is_honoured() -> None:
    assert parse_retry_after("Sun, 22 Nov 2026 02:00:30 GMT", now=1795312800.0) == 30.0


def test_retry_after_is_capped_by_the_policy(
    fal: respx.MockRouter, make_client: Callable[..., ClientFacade], sleeps: list[float]
) -> None:
    fal.get(STATUS_URL).mock(side_effect=[httpx.Response(429, headers={"Retry-After": "3600"}), QUEUED])
    make_client(retry=policy(max_retry_after=20.0, retry_after_jitter=0.0)).status(REF)
    assert sleeps == [20.0]


def test_429_on_submit_is_retried_after_retry_after(
    fal: respx.MockRouter, make_client: Callable[..., ClientFacade], sleeps: list[float]
) -> None:
    """A 429 means the platform refused the job: re-sending cannot create a duplicate."""
    route = fal.post(STANDARD_URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(200, json=submit_body()),
        ]
    )
    job = make_client(retry=policy(retry_after_jitter=0.0)).submit(simple_request())
    assert job.request_id == REQUEST_ID
    assert route.call_count == 2
    assert sleeps == [2.0]


def test_retry_after_is_waited_with_jitter_above_the_hint(
    fal: respx.MockRouter, make_client: Callable[..., ClientFacade], sleeps: list[float]
) -> None:
    """Waiters told the same Retry-After must not all come back in the same instant (issue 13)."""
    fal.get(STATUS_URL).mock(side_effect=[httpx.Response(429, headers={"Retry-After": "2"})] * 4 + [QUEUED])
    make_client(retry=policy(max_attempts=5)).status(REF)
    assert len(sleeps) == 4
    assert all(2.0 <= s <= 3.0 for s in sleeps), sleeps
    assert len(set(sleeps)) > 1, sleeps


def test_429_on_submit_is_retried_past_max_attempts_until_the_deadline(
    fal: respx.MockRouter, make_client: Callable[..., ClientFacade], sleeps: list[float]
) -> None:
    """A 429 is a refusal, so a submit keeps trying (max_attempts does not bound it)."""
    route = fal.post(STANDARD_URL).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "1"})] * 12
        + [httpx.Response(200, json=submit_body())]
    )
    job = make_client(retry=policy(max_attempts=3)).submit(simple_request())
    assert job.request_id == REQUEST_ID
    assert route.call_count == 13
    assert len(sleeps) == 12


def test_429_on_submit_gives_up_at_the_deadline(
    fal: respx.MockRouter, make_client: Callable[..., ClientFacade]
) -> None:
    route = fal.post(STANDARD_URL).respond(429, headers={"Retry-After": "1"})
    with pytest.raises(SeedanceRateLimitError):
        make_client(retry=policy(submit_rate_limit_deadline=0.0)).submit(simple_request())
    assert route.call_count == 1


def test_gives_up_decisions() -> None:
    rate_limited = SeedanceRateLimitError("slow down", status_code=429, retry_after=1.0)
    pol = RetryPolicy(max_attempts=2, submit_rate_limit_deadline=60.0)
    assert not pol.gives_up(rate_limited, 50, 59.0, Operation.SUBMIT)
    assert pol.gives_up(rate_limited, 1, 60.0, Operation.SUBMIT)
    assert pol.gives_up(rate_limited, 2, 1.0, Operation.STATUS)
    assert pol.next_delay(rate_limited, 5, retryable=True, elapsed=1.0) is None  # reads: bounded


@pytest.mark.parametrize("code", [500, 502, 503])
def test_5xx_on_a_poll_is_retried_then_succeeds(
    fal: respx.MockRouter, client: ClientFacade, code: int, sleeps: list[float]
) -> None:
    route = fal.get(STATUS_URL).mock(
        side_effect=[
            httpx.Response(code, json={"detail": "x"}),
            httpx.Response(code, text="<html>oops</html>"),
            QUEUED,
        ]
    )
    assert client.status(REF).state is JobState.QUEUED
    assert route.call_count == 3
    assert len(sleeps) == 2


def test_backoff_grows_exponentially_with_jitter(
    fal: respx.MockRouter, make_client: Callable[..., ClientFacade], sleeps: list[float]
) -> None:
    fal.get(STATUS_URL).mock(side_effect=[httpx.Response(503)] * 3 + [QUEUED])
    make_client(retry=RetryPolicy(base_delay=1.0, max_delay=30.0)).status(REF)
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps, start=1):
        base = 2 ** (attempt - 1)
        assert 0.5 * base <= delay <= 1.5 * base


def test_read_timeout_on_a_poll_is_retried(fal: respx.MockRouter, client: ClientFacade) -> None:
    route = fal.get(STATUS_URL).mock(side_effect=[httpx.ReadTimeout("slow"), QUEUED])
    assert client.status(REF).state is JobState.QUEUED
    assert route.call_count == 2


def test_read_timeout_on_submit_is_ambiguous_and_sent_exactly_once(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    route = fal.post(STANDARD_URL).mock(side_effect=httpx.ReadTimeout("no answer"))
    with pytest.raises(SeedanceAmbiguousSubmitError) as info:
        client.submit(simple_request())
    assert route.call_count == 1
    assert info.value.cause == "ReadTimeout"
    assert info.value.platform == "fal"
    assert "may have been created and billed" in str(info.value)


@pytest.mark.parametrize(
    "exc",
    [httpx.WriteTimeout("w"), httpx.RemoteProtocolError("dropped"), httpx.ReadError("reset")],
    ids=["write-timeout", "dropped-connection", "read-error"],
)
def test_other_failures_after_sending_a_submit_are_ambiguous_and_not_resent(
    fal: respx.MockRouter, client: ClientFacade, exc: Exception
) -> None:
    route = fal.post(STANDARD_URL).mock(side_effect=exc)
    with pytest.raises(SeedanceAmbiguousSubmitError):
        client.submit(simple_request())
    assert route.call_count == 1


def test_5xx_on_submit_is_ambiguous_and_sent_exactly_once(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    route = fal.post(STANDARD_URL).respond(503, json={"detail": "Runner scheduling failure"})
    with pytest.raises(SeedanceAmbiguousSubmitError, match="HTTP 503"):
        client.submit(simple_request())
    assert route.call_count == 1


def test_connection_refused_on_submit_is_retried_into_one_job(
    fal: respx.MockRouter, client: ClientFacade
) -> None:
    route = fal.post(STANDARD_URL).mock(
        side_effect=[
            httpx.ConnectError("connection refused"),
            httpx.ConnectError("connection refused"),
            httpx.Response(200, json=submit_body()),
        ]
    )
    job = client.submit(simple_request())
    assert job.request_id == REQUEST_ID
    assert route.call_count == 3


def test_connection_refused_on_submit_gives_up_after_max_attempts(
    fal: respx.MockRouter, make_client: Callable[..., ClientFacade]
) -> None:
    route = fal.post(STANDARD_URL).mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(SeedanceTransportError, match="ConnectError") as info:
        make_client(retry=policy(max_attempts=3)).submit(simple_request())
    assert not info.value.request_sent
    assert route.call_count == 3


@pytest.mark.parametrize("max_attempts", [1, 4])
def test_polls_give_up_after_max_attempts(
    fal: respx.MockRouter, make_client: Callable[..., ClientFacade], max_attempts: int
) -> None:
    route = fal.get(STATUS_URL).respond(503, json={"detail": "down"})
    with pytest.raises(SeedanceServerError):
        make_client(retry=policy(max_attempts=max_attempts)).status(REF)
    assert route.call_count == max_attempts


def test_polls_give_up_once_max_elapsed_has_passed(
    fal: respx.MockRouter, make_client: Callable[..., ClientFacade]
) -> None:
    route = fal.get(STATUS_URL).respond(503)
    with pytest.raises(SeedanceServerError):
        make_client(retry=policy(max_attempts=50, max_elapsed=0.0)).status(REF)
    assert route.call_count == 1


def test_401_is_not_retried(fal: respx.MockRouter, client: ClientFacade) -> None:
    route = fal.get(STATUS_URL).respond(401, json={"detail": "bad key"})
    with pytest.raises(SeedanceAuthError):
        client.status(REF)
    assert route.call_count == 1


def test_401_with_a_wrong_key_never_shows_the_key(
    fal: respx.MockRouter, make_client: Callable[..., ClientFacade]
) -> None:
    wrong = "sk-wrong-key-31415926535"
    fal.post(STANDARD_URL).respond(401, json={"detail": f"No user found for Key {wrong}"})
    with pytest.raises(SeedanceAuthError) as info:
        make_client(api_key=wrong).submit(simple_request())
    assert wrong not in str(info.value)
    assert wrong not in repr(info.value.detail)


@pytest.mark.parametrize("cls", [SeedanceClient, AsyncSeedanceClient])
def test_client_repr_never_contains_the_key(cls: type) -> None:
    client = cls(api_key=API_KEY, base_url="http://127.0.0.1:8787")
    assert API_KEY not in repr(client)
    assert repr(client) == f"{cls.__name__}(platform='fal', base_url='http://127.0.0.1:8787')"


def test_transport_error_messages_never_contain_the_key(fal: respx.MockRouter, client: ClientFacade) -> None:
    key = client.kwargs["api_key"]
    fal.get(STATUS_URL).mock(side_effect=httpx.ConnectError(f"proxy said: bad header Key {key}"))
    with pytest.raises(SeedanceTransportError) as info:
        client.status(REF)
    assert key not in str(info.value)


def test_rate_limit_error_is_raised_once_attempts_run_out_on_a_poll(
    fal: respx.MockRouter, make_client: Callable[..., ClientFacade], sleeps: list[float]
) -> None:
    route = fal.get(STATUS_URL).respond(429, headers={"Retry-After": "1"})
    with pytest.raises(SeedanceRateLimitError):
        make_client(retry=policy(max_attempts=3, retry_after_jitter=0.0)).status(REF)
    assert route.call_count == 3
    assert sleeps == [1.0, 1.0]


@pytest.mark.parametrize(
    ("exc", "op", "expected"),
    [
        (SeedanceTransportError("x", request_sent=False), Operation.SUBMIT, True),
        (SeedanceTransportError("x", request_sent=True), Operation.SUBMIT, False),
        (SeedanceRateLimitError("x", status_code=429), Operation.SUBMIT, True),
        (SeedanceServerError("x", status_code=503), Operation.SUBMIT, False),
        (SeedanceTransportError("x", request_sent=True), Operation.STATUS, True),
        (SeedanceServerError("x", status_code=500), Operation.RESULT, True),
        (SeedanceServerError("x", status_code=502), Operation.CANCEL, True),
        (SeedanceAuthError("x", status_code=401), Operation.STATUS, False),
        (ValueError("x"), Operation.STATUS, False),
    ],
)
def test_retry_policy_tells_reads_from_writes(exc: BaseException, op: Operation, expected: bool) -> None:
    assert NO_WAIT.is_retryable(exc, op) is expected


def test_retry_policy_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(base_delay=-1)
