"""e2e only: nobody answers the review step -> the configured outcome, never a default choice."""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import dag

from airflow_provider_seedance.review.operators import SeedanceTakeReviewOperator

REVIEW = {
    "options": ["#01 p1-16x9-seed1", "#02 p1-16x9-seed2"],
    "sheet_uris": [],
    "run": "timeout test",
    "dag_id": "seedance_review_timeout",
    "run_id": "-",
}


@dag(dag_id="seedance_review_timeout", schedule=None, catchup=False, tags=["e2e"])
def seedance_review_timeout() -> None:
    skip = SeedanceTakeReviewOperator(
        task_id="review_skip", review=REVIEW, response_timeout=timedelta(seconds=2), on_timeout="skip"
    )
    skip >> EmptyOperator(task_id="publish_after_skip")
    SeedanceTakeReviewOperator(
        task_id="review_fail", review=REVIEW, response_timeout=timedelta(seconds=2), retries=0
    )


seedance_review_timeout()
