"""Where the operator spends money (issue 10): never pay twice, never pay past the budget.

Against the emulator over HTTP. Each test pins one behaviour a careless change would break:
the unknown-outcome state after any submit that may have created a job (defect 2), a key that
never left the machine (defect 3), numbers that are not numbers (defect 4), rendered inputs
(defect 6), moderation refusals (no retry), the task state store's writes around the POST,
reconnecting instead of resubmitting, the budget guard's edges and ``cancel_on_kill=False``.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from pytest_mock import MockerFixture

from airflow_provider_seedance.client.errors import (
    SeedanceAPIError,
    SeedanceAuthError,
    SeedanceError,
    SeedanceNotFoundError,
    SeedanceProtocolError,
    SeedanceRateLimitError,
    SeedanceRequestRejected,
    SeedanceServerError,
    SeedanceSubmitContentRejected,
    SeedanceTransportError,
    SeedanceValidationError,
)
from airflow_provider_seedance.client.models import ReferenceToVideoRequest
from airflow_provider_seedance.client.pricing import estimate_cost
from airflow_provider_seedance.emulator.testing import EmulatorHandle
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.operators.seedance import (
    PHASE_AMBIGUOUS,
    STATE_KEY,
    XCOM_JOB_KEY,
    SeedanceReferenceToVideoOperator,
)
from tests.operators.test_seedance_operator import INPUTS, defer
from tests.operators.test_seedance_operator import make_operator as base_operator
from tests.support.tasks import FakeTaskStateStore, FakeTI, first_event


def make_operator(**overrides: Any) -> SeedanceReferenceToVideoOperator:
    """The operator of the other operator tests, waiting in the worker unless told otherwise."""
    return base_operator(**{"deferrable": False, **overrides})


def use_connection(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorHandle, **fields: Any) -> None:
    conn = {**emulator.connection_dict(fields.pop("platform", "fal")), **fields}
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DEFAULT", json.dumps(conn))


def no_run_of(key: str, text: str) -> bool:
    return not any(key[i : i + 8] in text for i in range(len(key) - 7))


# -- defect 2: a submit that may have created a job ------------------------------------------------
def test_a_garbage_2xx_submit_answer_leaves_the_outcome_unknown_and_the_retry_sends_nothing(
    emulator: EmulatorHandle, context: dict
) -> None:
    emulator.add_fault("fal.submit", "garbage")

    with pytest.raises(AirflowFailException, match="may have been created"):
        make_operator().execute(context)
    assert context["task_state_store"].data[STATE_KEY]["phase"] == PHASE_AMBIGUOUS
    with pytest.raises(AirflowFailException, match="outcome is unknown"):
        make_operator().execute(context)  # the retry

    assert len(emulator.requests("fal.submit")) == 1


#: What provably created no job: the state is cleared. (error, whether Airflow may retry)
SAFE = [
    (SeedanceTransportError("connect refused", request_sent=False), True),
    (SeedanceRateLimitError("slow down", status_code=429), True),
    (SeedanceRequestRejected("bad prompt", status_code=422), False),
    (SeedanceSubmitContentRejected("refused the image", status_code=400, refused_input="image"), False),
    (SeedanceAuthError("bad key", status_code=401), False),
    (SeedanceNotFoundError("no route", status_code=404), False),
    (SeedanceValidationError([]), False),
]
#: Everything else may have created a job: the state says "unknown".
UNKNOWN = [
    SeedanceProtocolError("unreadable 200", status_code=200),
    SeedanceProtocolError("no status code"),
    SeedanceTransportError("read timeout", request_sent=True),
    SeedanceServerError("bad gateway", status_code=502),
    SeedanceAPIError("a 3xx nobody expected", status_code=302),
    SeedanceError("a new subclass nobody classified"),
    RuntimeError("a bug after the POST"),
]


@pytest.mark.parametrize(("error", "retryable"), SAFE, ids=lambda e: type(e).__name__)
def test_only_outcomes_that_created_nothing_clear_the_state(
    emulator: EmulatorHandle, context: dict, mocker: MockerFixture, error: Exception, retryable: bool
) -> None:
    mocker.patch.object(SeedanceHook, "submit", side_effect=error)
    with pytest.raises(Exception) as info:
        make_operator().execute(context)
    assert STATE_KEY not in context["task_state_store"].data
    assert isinstance(info.value, AirflowFailException) is (not retryable)


@pytest.mark.parametrize("error", UNKNOWN, ids=lambda e: f"{type(e).__name__}-{e}")
def test_any_other_outcome_leaves_the_task_in_the_unknown_outcome_state(
    emulator: EmulatorHandle, context: dict, mocker: MockerFixture, error: Exception
) -> None:
    mocker.patch.object(SeedanceHook, "submit", side_effect=error)
    with pytest.raises(AirflowFailException):
        make_operator().execute(context)
    assert context["task_state_store"].data[STATE_KEY]["phase"] == PHASE_AMBIGUOUS
    mocker.stopall()

    with pytest.raises(AirflowFailException, match="outcome is unknown"):
        make_operator().execute(context)
    assert emulator.requests("fal.submit") == []


def test_with_resubmit_unknown_an_unknown_outcome_is_retried_and_submits_once(
    emulator: EmulatorHandle, context: dict
) -> None:
    emulator.add_fault("fal.submit", "garbage")
    with pytest.raises(AirflowException) as info:
        make_operator(resubmit_unknown=True).execute(context)
    assert not isinstance(info.value, AirflowFailException)  # Airflow may retry
    assert context["task_state_store"].data[STATE_KEY]["phase"] == PHASE_AMBIGUOUS

    result = make_operator(resubmit_unknown=True).execute(context)

    assert result["status"] == "succeeded"
    assert len(emulator.requests("fal.submit")) == 2


# -- issue 10: a crash between the POST and storing the job id -----------------------------------
class CrashAfterPost(FakeTaskStateStore):
    """A store whose worker dies (SIGKILL: nothing below runs) when the job id would be written."""

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        if value.get("phase") == "submitted":
            raise SystemExit("worker killed")
        super().set(key, value, retention=retention)


def test_a_crash_after_the_post_before_the_id_is_stored_makes_the_retry_send_nothing(
    emulator: EmulatorHandle,
) -> None:
    store = CrashAfterPost()
    with pytest.raises(SystemExit):
        make_operator().execute({"ti": FakeTI(), "task_state_store": store})
    assert store.data[STATE_KEY]["phase"] == "submitting"
    assert len(emulator.requests("fal.submit")) == 1

    store.__class__ = FakeTaskStateStore  # the next try's worker is healthy
    with pytest.raises(AirflowFailException, match="outcome is unknown"):
        make_operator().execute({"ti": FakeTI(), "task_state_store": store})
    assert len(emulator.requests("fal.submit")) == 1

    result = make_operator(resubmit_unknown=True).execute({"ti": FakeTI(), "task_state_store": store})
    assert result["status"] == "succeeded"
    assert len(emulator.requests("fal.submit")) == 2  # exactly one more


class RecordingStore(FakeTaskStateStore):
    """Records each write's phase with the number of submits the platform had received by then."""

    def __init__(self, emulator: EmulatorHandle) -> None:
        super().__init__()
        self.emulator = emulator
        self.log: list[tuple[str, int, str | None]] = []

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        assert key == STATE_KEY
        assert retention is not None
        job = value.get("job") or {}
        self.log.append((value["phase"], len(self.emulator.requests("fal.submit")), job.get("request_id")))
        super().set(key, value, retention=retention)


def test_the_state_writes_around_the_post_in_order_sync(emulator: EmulatorHandle) -> None:
    store = RecordingStore(emulator)
    ti = FakeTI()
    result = make_operator().execute({"ti": ti, "task_state_store": store})

    rid = result["request_id"]
    assert store.log == [("submitting", 0, None), ("submitted", 1, rid), ("succeeded", 1, rid)]
    assert ti.pushed[0] == (XCOM_JOB_KEY, store.writes[1][1]["job"])


def test_the_state_writes_around_the_post_in_order_deferred(emulator: EmulatorHandle) -> None:
    store = RecordingStore(emulator)
    context = {"ti": FakeTI(), "task_state_store": store}
    deferred = defer(make_operator(deferrable=True), context)
    rid = deferred.trigger.job["request_id"]
    assert store.log == [("submitting", 0, None), ("submitted", 1, rid)]

    make_operator(deferrable=True).execute_complete(context, first_event(deferred.trigger))

    assert store.log[-1] == ("succeeded", 1, rid)
    assert len(store.log) == 3


def test_a_retry_while_the_stored_job_runs_reconnects_and_never_submits(
    emulator: EmulatorHandle, context: dict
) -> None:
    emulator.add_fault("fal.submit", "never_finish")
    first = defer(make_operator(deferrable=True), context)
    statuses = len(emulator.requests("fal.status"))

    second = defer(make_operator(deferrable=True), context)  # the retry

    assert second.trigger.job == first.trigger.job
    assert len(emulator.requests("fal.submit")) == 1
    assert len(emulator.requests("fal.status")) == statuses + 1  # it looked at the job
    assert emulator.requests("fal.cancel") == []


# -- the budget guard at its edges -------------------------------------------------------------
def _estimate() -> float:
    request = ReferenceToVideoRequest(**INPUTS)
    return estimate_cost(request, platform="fal").usd


def test_an_estimate_equal_to_max_cost_usd_is_allowed(emulator: EmulatorHandle, context: dict) -> None:
    result = make_operator(max_cost_usd=_estimate()).execute(context)
    assert result["status"] == "succeeded"
    assert len(emulator.requests("fal.submit")) == 1


@pytest.mark.parametrize("limit", [0.0, 0, "just below"])
def test_a_budget_below_the_estimate_refuses_every_paid_job(
    emulator: EmulatorHandle, context: dict, limit: object
) -> None:
    max_cost = math.nextafter(_estimate(), 0.0) if limit == "just below" else limit
    with pytest.raises(AirflowFailException, match="nothing was submitted"):
        make_operator(max_cost_usd=max_cost).execute(context)
    assert emulator.requests() == []


# -- cancel_on_kill=False ------------------------------------------------------------------------
def test_cancel_on_kill_false_never_cancels_on_kill_sync(emulator: EmulatorHandle, context: dict) -> None:
    emulator.add_fault("fal.submit", "never_finish")
    op = make_operator(cancel_on_kill=False, wait_for_completion=False)
    op.execute(context)  # submitted; op._ref is set as during a sync wait

    op.on_kill()

    assert emulator.requests("fal.cancel") == []
    # The guarded line: with cancel_on_kill=True the same kill cancels.
    armed = make_operator()
    armed._ref = op._ref
    armed.on_kill()
    assert len(emulator.requests("fal.cancel")) == 1


def test_cancel_on_kill_false_never_cancels_on_kill_deferred(emulator: EmulatorHandle, context: dict) -> None:
    emulator.add_fault("fal.submit", "never_finish")
    trigger = defer(make_operator(deferrable=True, cancel_on_kill=False), context).trigger
    assert trigger.cancel_on_kill is False

    asyncio.run(trigger.on_kill())

    assert emulator.requests("fal.cancel") == []


# -- defect 3: a key with a trailing newline -----------------------------------------------------
def test_a_key_with_a_trailing_newline_is_stripped_and_the_job_submitted_once(
    emulator: EmulatorHandle, context: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_connection(monkeypatch, emulator, password=emulator.api_key + "\n")
    result = make_operator().execute(context)
    assert result["status"] == "succeeded"
    assert len(emulator.requests("fal.submit")) == 1


def test_a_key_with_a_line_break_inside_fails_before_any_request_without_the_key(
    emulator: EmulatorHandle, context: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "fal-key-0123456789:abcdef"
    use_connection(monkeypatch, emulator, password=key[:10] + "\n" + key[10:])
    with pytest.raises(AirflowFailException, match="connection 'seedance_default' password") as info:
        make_operator().execute(context)
    assert no_run_of(key, str(info.value))
    assert emulator.requests() == []
    assert STATE_KEY not in context["task_state_store"].data


# -- defect 4: numbers that are not numbers -------------------------------------------------------
BAD_NUMBERS: list[tuple[str, object]] = [
    *[(name, v) for name in ("poll_interval", "timeout") for v in (math.nan, math.inf, -1.0, 0, True, "5")],
    *[("max_cost_usd", v) for v in (math.nan, math.inf, -0.01, True, "1")],
    *[("input_video_seconds", v) for v in (math.nan, math.inf, -1.0, True, "3")],
    ("timeout", 1e12),
]


@pytest.mark.parametrize(("name", "value"), BAD_NUMBERS)
def test_a_bad_number_fails_at_construction_naming_it(name: str, value: object) -> None:
    with pytest.raises(SeedanceValidationError) as info:
        make_operator(**{name: value})
    assert info.value.fields == [name]


@pytest.mark.parametrize(("name", "value"), BAD_NUMBERS)
def test_a_bad_number_set_later_fails_at_execute_before_any_request(
    emulator: EmulatorHandle, context: dict, name: str, value: object
) -> None:
    op = make_operator()
    setattr(op, name, value)  # what a rendered / overridden value would be
    with pytest.raises(AirflowFailException, match=name):
        op.execute(context)
    assert emulator.requests() == []


# -- defect 6: rendered inputs -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "rendered"),
    [
        ("seed", "²"),
        ("seed", "7.5"),
        ("seed", "seven"),
        ("seed", "\uff11\uff12"),  # fullwidth digits: isdigit() is True
        ("duration", "²"),
        ("duration", "x"),
    ],
)
def test_a_rendered_value_that_is_not_valid_fails_naming_the_field_without_retry(
    emulator: EmulatorHandle, context: dict, field: str, rendered: str
) -> None:
    op = make_operator(**{field: "{{ params.x }}"})
    setattr(op, field, rendered)  # what rendering produced
    with pytest.raises(AirflowFailException, match=rf"{field}: "):
        op.execute(context)
    assert emulator.requests() == []


@pytest.mark.parametrize(
    ("field", "rendered", "sent"), [("seed", " 12 ", 12), ("seed", "+3", 3), ("duration", "6", "6")]
)
def test_a_rendered_number_is_accepted_like_a_literal(
    emulator: EmulatorHandle, context: dict, field: str, rendered: str, sent: object
) -> None:
    op = make_operator(**{field: "{{ params.x }}"}, wait_for_completion=False)
    setattr(op, field, rendered)
    op.execute(context)
    assert emulator.requests("fal.submit")[0]["json"][field] == sent


# -- moderation ------------------------------------------------------------------------------------
@pytest.mark.parametrize("deferrable", [False, True])
def test_a_job_refused_for_its_content_fails_without_retry_naming_the_input(
    emulator: EmulatorHandle, context: dict, monkeypatch: pytest.MonkeyPatch, deferrable: bool
) -> None:
    use_connection(monkeypatch, emulator, platform="byteplus")
    emulator.add_fault("ark.submit", "fail_job", error="InputImageSensitiveContentDetected")
    op = make_operator(deferrable=deferrable)
    if deferrable:
        event = first_event(defer(op, context).trigger)
        with pytest.raises(AirflowFailException, match="image") as info:
            make_operator().execute_complete(context, event)
    else:
        with pytest.raises(AirflowFailException, match="image") as info:
            op.execute(context)
    assert "content" in str(info.value)
    assert len(emulator.requests("ark.submit")) == 1


def test_a_content_rejection_when_the_result_is_fetched_fails_without_retry(
    emulator: EmulatorHandle, context: dict
) -> None:
    emulator.add_fault("fal.submit", "fail_job", error="content_policy_violation", status=422, body="flagged")
    with pytest.raises(AirflowFailException):
        make_operator().execute(context)


def test_an_ordinary_job_failure_stays_retryable(emulator: EmulatorHandle, context: dict) -> None:
    emulator.add_fault("fal.submit", "fail_job", error="runner_disconnected", body="Runner disconnected")
    with pytest.raises(AirflowException) as info:
        make_operator().execute(context)
    assert not isinstance(info.value, AirflowFailException)


# -- defect 7a: a failure message echoing the key ---------------------------------------------------
@pytest.mark.parametrize("deferrable", [False, True])
def test_a_job_failure_echoing_the_key_is_redacted_in_the_event_and_the_error(
    emulator: EmulatorHandle, context: dict, deferrable: bool
) -> None:
    key = emulator.api_key
    emulator.add_fault("fal.submit", "fail_job", error="runner_disconnected", body=f"bad key {key} {key[:9]}")
    if deferrable:
        event = first_event(defer(make_operator(deferrable=True), context).trigger)
        assert no_run_of(key, json.dumps(event))
        with pytest.raises(AirflowException) as info:
            make_operator().execute_complete(context, event)
    else:
        with pytest.raises(AirflowException) as info:
            make_operator().execute(context)
    assert no_run_of(key, str(info.value))


# -- JobRef data crossing a boundary -------------------------------------------------------------------
def test_a_corrupt_stored_job_is_an_unknown_outcome_naming_the_field(emulator: EmulatorHandle) -> None:
    store = FakeTaskStateStore()
    store.data[STATE_KEY] = {"phase": "submitted", "job": {"platform": "fal", "request_id": ""}}
    with pytest.raises(AirflowFailException, match="request_id"):
        make_operator().execute({"ti": FakeTI(), "task_state_store": store})
    assert emulator.requests("fal.submit") == []
