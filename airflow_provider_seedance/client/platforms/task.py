"""The skeleton of the task APIs (Oxen.ai, AIHubMax, Ark): a job is one resource whose GET
answers both its status and its result.

:class:`TaskDialect` builds the status and result calls (the same ``GET
{base}{task_path}/{id}``), the probe (that GET for an id that cannot exist) and a ``DELETE``
cancel where the platform has one; it reads the body's ``status`` name through the subclass'
:attr:`~TaskDialect.states`, and the video URL and seed out of the same body. A subclass maps
the body to a :class:`JobStatus` and names where the URL is.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from airflow_provider_seedance.client.errors import SeedanceProtocolError
from airflow_provider_seedance.client.models import (
    JobRef,
    JobResult,
    JobState,
    JobStatus,
    SeedanceRequest,
)
from airflow_provider_seedance.client.platforms.base import Dialect
from airflow_provider_seedance.client.platforms.http import HttpRequest, HttpResponse, Operation

__all__ = ["TaskDialect", "task_states"]

#: Both spellings of a cancelled task: the platforms (and EvoLink's callbacks) use either.
_CANCELLED_NAMES = ("cancelled", "canceled")


def task_states(
    queued: str, running: str, succeeded: str, failed: str, /, **others: JobState
) -> tuple[Mapping[str, JobState], str]:
    """A task API's status names and the states they mean, plus the documented names for messages.

    The names for queued, running, succeeded and failed, in that order, come first (every task
    API has the four); ``others`` adds the rest by name (``expired=JobState.EXPIRED``).
    Both spellings of a cancelled task are accepted on every platform, documented or not, so a
    wait never fails on one; they are named in the message only where ``others`` names them.
    """
    documented = {
        queued: JobState.QUEUED,
        running: JobState.RUNNING,
        succeeded: JobState.SUCCEEDED,
        failed: JobState.FAILED,
        **others,
    }
    names = list(documented)
    expected = f"{', '.join(names[:-1])} or {names[-1]}"
    return {**documented, **dict.fromkeys(_CANCELLED_NAMES, JobState.CANCELLED)}, expected


class TaskDialect(Dialect):
    """A dialect whose job is the resource ``{base}{task_path}/{id}``; status is the result."""

    #: The path under which ``/{id}`` is one job.
    task_path: ClassVar[str]
    #: The body's ``status`` names and the states they mean.
    states: ClassVar[Mapping[str, JobState]]
    #: The documented names, for the unknown-status message.
    expected_states: ClassVar[str]
    #: What the platform calls a job, for messages.
    noun: ClassVar[str] = "task"
    #: Where a user can look for a job whose submit answer carried no id, for messages.
    job_list: ClassVar[str]
    #: The id of a job that cannot exist: the probe reads its status (404 with a good key).
    probe_id: ClassVar[str]
    #: The method that cancels a job on its URL, or None where there is no cancel endpoint.
    cancel_method: ClassVar[str | None] = "DELETE"

    def task_url(self, request_id: str) -> str:
        """``{base}{task_path}/{id}``, the id checked and quoted (:meth:`Dialect.id_segment`)."""
        return f"{self.base_url}{self.task_path}/{self.id_segment(request_id)}"

    # -- submit --------------------------------------------------------------------------
    def parse_submit(self, request: SeedanceRequest, response: HttpResponse) -> JobRef:
        """The new task's ``id`` from the submit answer's top level."""
        data = self.submitted_data(response)
        task_id = self.require_job_id(data.get("id"), response, field="task id", where=self.job_list)
        return JobRef(platform=self.name, request_id=task_id, tier=request.tier)

    # -- status and result: the same GET -------------------------------------------------
    def build_status(self, ref: JobRef) -> HttpRequest:
        return HttpRequest("GET", self.task_url(ref.request_id))

    def build_result(self, ref: JobRef) -> HttpRequest:
        return HttpRequest("GET", self.task_url(ref.request_id))

    def parse_status(self, ref: JobRef, response: HttpResponse) -> JobStatus:
        data, raw, state = self.read_task(ref, response, Operation.STATUS)
        return self.task_status(ref, data, raw, state)

    def parse_result(self, ref: JobRef, response: HttpResponse) -> JobResult:
        data, raw, state = self.read_task(ref, response, Operation.RESULT)
        status = self.task_status(ref, data, raw, state)
        return self.video_result(ref, status, response, self.video_url(data), self.video_seed(data))

    def read_task(
        self, ref: JobRef, response: HttpResponse, op: Operation
    ) -> tuple[dict[str, Any], str, JobState]:
        """The task's JSON body, its ``status`` name and the state :attr:`states` maps it to.

        A non-2xx answer raises the mapped error; a name missing from :attr:`states` raises a
        :class:`SeedanceProtocolError` naming the job and the :attr:`expected_states`.
        """
        if not 200 <= response.status_code < 300:
            raise self.error_from_response(op, response)
        data = response.json_object(self.label, op.value)
        raw = data.get("status")
        state = self.states.get(raw) if isinstance(raw, str) else None
        if state is None:
            raise SeedanceProtocolError(
                f"{self.label} reported an unknown status {raw!r} for {self.noun} {ref.request_id}; "
                f"expected {self.expected_states}",
                status_code=response.status_code,
            )
        return data, str(raw), state

    @abstractmethod
    def task_status(self, ref: JobRef, data: dict[str, Any], raw: str, state: JobState) -> JobStatus:
        """The :class:`JobStatus` of a task body whose ``status`` ``raw`` maps to ``state``."""

    @abstractmethod
    def video_url(self, data: dict[str, Any]) -> object:
        """Where a task body holds the video URL (checked by :meth:`video_result`)."""

    def video_seed(self, data: dict[str, Any]) -> object:
        """Where a task body holds the seed used, if anywhere."""
        return data.get("seed")

    # -- cancel and probe ----------------------------------------------------------------
    def build_cancel(self, ref: JobRef) -> HttpRequest | None:
        if self.cancel_method is None:
            self.id_segment(ref.request_id)  # an invalid id is refused even where nothing is sent
            return None
        return HttpRequest(self.cancel_method, self.task_url(ref.request_id))

    def build_probe(self) -> HttpRequest:
        """The status of a task that cannot exist: 404 with a good key, 401 with a bad one."""
        return HttpRequest("GET", self.task_url(self.probe_id))
