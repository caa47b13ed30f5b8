"""The job sensor: :class:`SeedanceJobSensor` waits for a Seedance job submitted elsewhere.

For example by the generation operator with ``wait_for_completion=False``. It pokes, or defers
to :class:`~airflow_provider_seedance.triggers.seedance.SeedanceJobTrigger`, never cancels (the
job is not its own) and returns the same :class:`~.client.models.JobOutput` dict as the operator.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue, conf
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_seedance.client.checks import check_numbers, seconds_problem
from airflow_provider_seedance.client.errors import (
    FieldError,
    SeedanceContentRejected,
    SeedanceValidationError,
)
from airflow_provider_seedance.client.events import JobEvent
from airflow_provider_seedance.client.models import TIERS, JobOutput, JobRef, JobState, OutputStatus
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.triggers.seedance import SeedanceJobTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


def _number_problems(poke_interval: Any, timeout: Any) -> list[FieldError | None]:
    return [seconds_problem("poke_interval", poke_interval), seconds_problem("timeout", timeout)]


class SeedanceJobSensor(BaseSensorOperator):
    """
    Wait for a Seedance job by its request id; return the same dict the generation operator does.

    Naturally idempotent across retries: it only reads. A failed, cancelled or expired job
    fails the task without retrying.

    :param request_id: The job's request id (templated), e.g. from the operator's XCom.
    :param tier: The job's tier (fal.ai status URLs do not depend on it, other platforms may).
    :param seedance_conn_id: The Seedance connection.
    :param deferrable: Wait in the triggerer; defaults to ``[operators] default_deferrable``.
    :param poke_interval: Seconds between status checks (default 15): the poke interval when
        waiting in a worker, the trigger's poll interval when deferred.
    :param timeout: Seconds to wait for the job to end (default 3600); past it the sensor fails.
        It never cancels the job: the sensor does not own it.
    """

    template_fields: Sequence[str] = ("request_id", "tier", "seedance_conn_id")

    def __init__(
        self,
        *,
        request_id: str,
        tier: str = "standard",
        seedance_conn_id: str = SeedanceHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: float = 15.0,
        timeout: float = 3600.0,
        **kwargs: Any,
    ) -> None:
        check_numbers(_number_problems(poke_interval, timeout))
        super().__init__(poke_interval=poke_interval, timeout=timeout, **kwargs)
        self.request_id = request_id
        self.tier = tier
        self.seedance_conn_id = seedance_conn_id
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> SeedanceHook:
        return SeedanceHook(seedance_conn_id=self.seedance_conn_id)

    def _ref(self) -> JobRef:
        try:
            check_numbers(_number_problems(self.poke_interval, self.timeout))
        except SeedanceValidationError as exc:
            raise AirflowFailException(str(exc)) from exc
        if self.tier not in TIERS:
            raise AirflowFailException(f"tier must be 'standard' or 'fast', got {self.tier!r}")
        if not self.request_id or not str(self.request_id).strip():
            raise AirflowFailException("request_id is empty")
        try:
            return JobRef.from_dict(
                {
                    "platform": self.hook.platform,
                    "request_id": str(self.request_id).strip(),
                    "tier": self.tier,
                }
            )
        except SeedanceValidationError as exc:
            raise AirflowFailException(str(exc)) from exc

    def _output(self, ref: JobRef) -> dict[str, Any]:
        try:
            result = self.hook.get_result(ref)
        except SeedanceContentRejected as exc:  # fal: the refusal shows when the result is fetched
            raise AirflowFailException(f"{exc}; the job will not succeed: change the refused input") from exc
        return JobOutput.from_job(ref, result, status=OutputStatus.SUCCEEDED).to_xcom()

    def poke(self, context: Context) -> bool | PokeReturnValue:
        ref = self._ref()
        try:
            status = self.hook.get_status(ref)
        except SeedanceValidationError as exc:  # an id this platform cannot have: no retry helps
            raise AirflowFailException(str(exc)) from exc
        self.log.info("Seedance job %s: %s", ref.request_id, status.describe())
        if status.state is JobState.SUCCEEDED:
            return PokeReturnValue(is_done=True, xcom_value=self._output(ref))
        if status.is_terminal:
            raise AirflowFailException(f"Seedance job {ref.request_id} {status.describe()}")
        return False

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        done = self.poke(context)
        if isinstance(done, PokeReturnValue):
            return done.xcom_value
        self.defer(
            trigger=SeedanceJobTrigger(
                job=self._ref().to_dict(),
                seedance_conn_id=self.seedance_conn_id,
                end_time=time.time() + self.timeout,
                poll_interval=self.poke_interval,
                # The sensor does not own the job: never cancel someone else's job.
                cancel_on_kill=False,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout + self.poke_interval + 60),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            job_event = JobEvent.from_payload(event)
        except ValueError as exc:
            raise AirflowException(str(exc)) from exc
        if not job_event.status.is_success:
            raise AirflowFailException(
                f"Seedance job {job_event.request_id} {job_event.status.value}: {job_event.message}"
            )
        return self._output(job_event.job)
