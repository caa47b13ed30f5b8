"""Look-before-cancel as a sans-I/O plan: which calls cancel a job, and what each answer decides.

:func:`plan_cancel` returns the exchanges in order; a transport runs each one (its only I/O)
and stops at the first answer that decides a :class:`CancelOutcome`. Where cancelling a
*finished* job destroys its record (``Dialect.check_status_before_cancel``, Ark's DELETE), the
plan reads the status first: a job that is gone is NOT_FOUND, a terminal one ALREADY_FINISHED,
and the cancel is sent only while the platform still reports the job unfinished.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_seedance.client.errors import SeedanceNotFoundError
from airflow_provider_seedance.client.models import CancelOutcome, JobRef
from airflow_provider_seedance.client.platforms.http import HttpRequest, HttpResponse, Operation

if TYPE_CHECKING:
    from airflow_provider_seedance.client.platforms.base import Dialect

__all__ = ["CancelPlan", "CancelStep", "plan_cancel"]


@dataclass(frozen=True)
class CancelStep:
    """One exchange of a cancel: the call, its kind (for the retry policy) and what its answer
    decides (an outcome, or None: go on to the next step)."""

    op: Operation
    call: HttpRequest
    decide: Callable[[HttpResponse], CancelOutcome | None]


@dataclass(frozen=True)
class CancelPlan:
    """The steps that cancel one job, and the outcome when none decides one (no steps at all:
    the platform has no cancel endpoint)."""

    steps: tuple[CancelStep, ...]
    otherwise: CancelOutcome = CancelOutcome.NOT_SUPPORTED


def plan_cancel(dialect: Dialect, ref: JobRef) -> CancelPlan:
    """How to cancel ``ref`` on ``dialect``'s platform; see the module docstring."""
    call = dialect.build_cancel(ref)
    if call is None:
        return CancelPlan(())
    cancel = CancelStep(Operation.CANCEL, call, lambda response: dialect.parse_cancel(ref, response))
    if not dialect.check_status_before_cancel:
        return CancelPlan((cancel,))

    def look(response: HttpResponse) -> CancelOutcome | None:
        try:
            status = dialect.parse_status(ref, response)
        except SeedanceNotFoundError:
            return CancelOutcome.NOT_FOUND
        return CancelOutcome.ALREADY_FINISHED if status.is_terminal else None

    return CancelPlan((CancelStep(Operation.STATUS, dialect.build_status(ref), look), cancel))
