"""The operator with the ledger wired in exactly as docs/budgets.md tells the integrator to.

Only the hook calls are added; everything else is the shipped operator. Used by the operator
tests and by the real-Airflow seed-grid test (its DAG file imports this module).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk.exceptions import AirflowException

from airflow_provider_seedance.client.events import JobEvent
from airflow_provider_seedance.client.models import JobRef, ReferenceToVideoRequest
from airflow_provider_seedance.ledger.airflow import BudgetWindowWait, LedgerGuard, guarded_submit
from airflow_provider_seedance.operators.seedance import SeedanceReferenceToVideoOperator


class LedgeredReferenceToVideoOperator(SeedanceReferenceToVideoOperator):
    def __init__(
        self,
        *,
        ledger_conn_id: str | None = None,
        budgets: dict[str, Any] | None = None,
        campaign: str | list[str] | None = None,
        wait_for_budget: bool = False,
        ledger_fail_open: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.ledger_conn_id = ledger_conn_id
        self.budgets = budgets
        self.campaign = campaign
        self.wait_for_budget = wait_for_budget
        self.ledger_fail_open = ledger_fail_open

    @cached_property
    def ledger_guard(self) -> LedgerGuard | None:
        return LedgerGuard.for_operator(
            seedance_conn_id=self.seedance_conn_id,
            platform=self.hook.platform,
            ledger_conn_id=self.ledger_conn_id,
            budgets=self.budgets,
            campaign=self.campaign,
            wait_for_budget=self.wait_for_budget,
            fail_open=self.ledger_fail_open,
        )

    # (1) execute: a spent windowed budget with wait_for_budget=True defers to the next window.
    def execute(self, context: Any) -> dict[str, Any]:
        try:
            return super().execute(context)
        except BudgetWindowWait as wait:
            from airflow.providers.standard.triggers.temporal import DateTimeTrigger

            self.log.info("%s", wait)
            self.defer(
                trigger=DateTimeTrigger(moment=wait.next_window_at), method_name="execute_after_budget_wait"
            )
            raise  # unreachable: defer raises

    def execute_after_budget_wait(self, context: Any, event: Any = None) -> dict[str, Any]:
        return self.execute(context)

    # (2) _submit: reserve / mark sending / record the outcome around the operator's own submit.
    def _submit(self, context: Any, request: ReferenceToVideoRequest) -> JobRef:
        _, estimate = self._request_and_estimate()
        return guarded_submit(
            self.ledger_guard,
            context,
            request,
            estimate,
            lambda: super(LedgeredReferenceToVideoOperator, self)._submit(context, request),
        )

    # (3) _complete: settle at the actual cost (Ark usage) or the estimate, labelled.
    def _complete(self, context: Any, ref: JobRef, prepared: Any = None) -> dict[str, Any]:
        output = super()._complete(context, ref, prepared)
        if self.ledger_guard is not None:
            self.ledger_guard.succeeded(context, ref)
        return output

    # (4) _finish: a failed/cancelled job releases its hold; timeout/error keep it (unknown).
    def _finish(self, context: Any, event: JobEvent, prepared: Any = None) -> dict[str, Any]:
        try:
            return super()._finish(context, event, prepared)
        except AirflowException:
            if not event.status.is_success and self.ledger_guard is not None:
                self.ledger_guard.failed(context, event.job, event.status.value)
            raise


__all__ = ["LedgeredReferenceToVideoOperator"]
