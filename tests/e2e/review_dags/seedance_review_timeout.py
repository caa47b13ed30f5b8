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


# Ten seconds, not two: Airflow 3.3's scheduler fails a HITL task whose deadline sweep resumes it
# before the scheduler has read the executor's "success" event for the process that parked it (the
# stale event then looks like a task killed externally). Under CI load that event can lag by
# seconds; real review deadlines are hours, so only a test ever waits this little.
DEADLINE = timedelta(seconds=10)


@dag(dag_id="seedance_review_timeout", schedule=None, catchup=False, tags=["e2e"])
def seedance_review_timeout() -> None:
    skip = SeedanceTakeReviewOperator(
        task_id="review_skip", review=REVIEW, response_timeout=DEADLINE, on_timeout="skip"
    )
    skip >> EmptyOperator(task_id="publish_after_skip")
    SeedanceTakeReviewOperator(task_id="review_fail", review=REVIEW, response_timeout=DEADLINE, retries=0)


seedance_review_timeout()
