"""The review operators' own rules (no Airflow services needed): options from the contact sheet,
no default choice, timeout -> fail or skip, the HITL body."""

from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.providers.standard.exceptions import HITLTimeoutError
from airflow.sdk.exceptions import AirflowSkipException

from airflow_provider_seedance.review.operators import SeedanceTakeReviewOperator, review_body

REVIEW = {
    "options": ["#01 p1-16x9-seed11", "#02 p1-16x9-seed42"],
    "sheet_uris": ["gs://b/g/contact-sheet-001.png"],
    "run": "grid / manual__1",
    "dag_id": "grid",
    "run_id": "manual__1",
    "review_url": "http://127.0.0.1:8080/seedance-review/runs/grid/manual__1",
}
TIMEOUT_EVENT = {"error": "timed out", "error_type": "timeout"}


def _op(**kwargs: object) -> SeedanceTakeReviewOperator:
    return SeedanceTakeReviewOperator(
        task_id="review", review=REVIEW, response_timeout=timedelta(hours=1), **kwargs
    )  # type: ignore[arg-type]


def test_options_are_the_takes_and_there_is_no_default() -> None:
    op = _op()
    op._load_options()
    assert op.options == REVIEW["options"]
    assert op.defaults is None
    assert op.multiple is False


@pytest.mark.parametrize("kwarg", ["options", "defaults", "multiple"])
def test_choices_cannot_be_overridden(kwarg: str) -> None:
    with pytest.raises(ValueError, match=kwarg):
        _op(**{kwarg: ["x"]})


def test_bad_on_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="on_timeout"):
        _op(on_timeout="pick-first")


def test_timeout_fails_by_default_and_skips_when_asked() -> None:
    with pytest.raises(HITLTimeoutError):
        _op().process_trigger_event_error(TIMEOUT_EVENT)
    with pytest.raises(AirflowSkipException, match="No take was chosen"):
        _op(on_timeout="skip").process_trigger_event_error(TIMEOUT_EVENT)


def test_a_review_without_takes_is_an_error() -> None:
    op = SeedanceTakeReviewOperator(task_id="review", review={"options": []})
    with pytest.raises(ValueError, match="non-empty 'options'"):
        op._load_options()


def test_body_shows_the_sheet_and_links_the_review_page() -> None:
    body = review_body(REVIEW, base_url="http://af")
    assert "**2 takes**" in body
    assert "](http://127.0.0.1:8080/seedance-review/runs/grid/manual__1)" in body
    assert (
        "![contact sheet page 1](http://af/seedance-review/runs/grid/manual__1/object?"
        "uri=gs%3A%2F%2Fb%2Fg%2Fcontact-sheet-001.png)" in body
    )
