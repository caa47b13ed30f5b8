"""The deferrable wait: :class:`SeedanceJobTrigger` polls a Seedance job in the triggerer (no worker slot).

It runs the shared poll loop (:func:`~airflow_provider_seedance.client.polling.wait_async`)
over one pooled async client and yields exactly one :class:`~airflow_provider_seedance.client.events.JobEvent`
payload. It never cancels at its deadline: the deferring operator decides that from the event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_seedance.client.batch import batcher_for
from airflow_provider_seedance.client.checks import check_numbers, number_problem, seconds_problem
from airflow_provider_seedance.client.errors import SeedanceAuthError
from airflow_provider_seedance.client.events import EventStatus, JobEvent
from airflow_provider_seedance.client.models import CancelOutcome, JobRef, JobStatus
from airflow_provider_seedance.client.polling import (
    DEFAULT_MAX_POLL_ERRORS,
    SCALE_SCHEDULE,
    Poller,
    wait_async,
)
from airflow_provider_seedance.hooks.seedance import SeedanceHook

#: Seconds one best-effort cancel may take (well under ``[triggerer] on_kill_timeout``).
CANCEL_TIMEOUT = 10.0
#: ``on_kill``'s cancel tasks, referenced until done (Airflow may stop awaiting ``on_kill``).
_ON_KILL_TASKS: set[asyncio.Future[None]] = set()


class SeedanceJobTrigger(BaseTrigger):
    """
    Poll a Seedance job until it ends, then yield exactly one small event.

    Its kwargs hold only the job's ids (and the unsigned queue URLs fal.ai returned), the
    connection id and numbers: never a key. The connection is read with ``aget_connection``;
    one async HTTP client serves the whole run. Past the deadline it yields a ``timeout`` event
    and leaves the job alone: the operator that deferred cancels it in ``execute_complete``.

    :param job: The job reference (``JobRef.to_dict()``).
    :param seedance_conn_id: The Seedance connection.
    :param end_time: Wall-clock deadline (epoch seconds); past it a ``timeout`` event is yielded.
    :param poll_interval: Seconds between status calls.
    :param max_consecutive_errors: Failed polls in a row tolerated (with backoff) before an ``error`` event.
    :param cancel_on_kill: Cancel the remote job when a user clears or marks the deferred task.
    :param submitted_at: When the job was submitted (epoch seconds), if known: with it the poller
        sleeps through the part of the job's run that jobs of its kind never end in (the low
        quantile of the durations this triggerer has seen, or ``expected_seconds``). None (a
        reconnected job, or a trigger serialized by an older version): no such hint.
    :param expected_seconds: Seconds from submit before which a job like this one (almost) never
        ends, if known; used only with ``submitted_at``.
    :param cancel_on_timeout: Ignored. Accepted so that triggers serialized by version 0.1 (which
        cancelled at the deadline) still load; the deferring operator now owns that cancel.
    """

    def __init__(
        self,
        *,
        job: dict[str, str],
        seedance_conn_id: str = SeedanceHook.default_conn_name,
        end_time: float,
        poll_interval: float = 15.0,
        max_consecutive_errors: int = DEFAULT_MAX_POLL_ERRORS,
        cancel_on_kill: bool = True,
        cancel_on_timeout: bool | None = None,
        submitted_at: float | None = None,
        expected_seconds: float | None = None,
    ) -> None:
        super().__init__()
        # Kwargs cross Airflow's serialization boundary: fail before storing invalid state,
        # naming the field (SeedanceValidationError, a ValueError).
        ref = JobRef.from_dict(job)
        check_numbers(
            [
                number_problem("end_time", end_time),
                seconds_problem("poll_interval", poll_interval),
                number_problem("max_consecutive_errors", max_consecutive_errors, minimum=1, integer=True),
                None if submitted_at is None else number_problem("submitted_at", submitted_at, minimum=0.0),
                None
                if expected_seconds is None
                else seconds_problem("expected_seconds", expected_seconds, allow_zero=True),
            ]
        )
        self.job = ref.to_dict()
        self.seedance_conn_id = seedance_conn_id
        self.end_time = float(end_time)
        self.poll_interval = float(poll_interval)
        self.max_consecutive_errors = int(max_consecutive_errors)
        self.cancel_on_kill = bool(cancel_on_kill)
        self.submitted_at = None if submitted_at is None else float(submitted_at)
        self.expected_seconds = None if expected_seconds is None else float(expected_seconds)
        self._fired_event = False

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airflow_provider_seedance.triggers.seedance.SeedanceJobTrigger",
            {
                "job": dict(self.job),
                "seedance_conn_id": self.seedance_conn_id,
                "end_time": self.end_time,
                "poll_interval": self.poll_interval,
                "max_consecutive_errors": self.max_consecutive_errors,
                "cancel_on_kill": self.cancel_on_kill,
                "submitted_at": self.submitted_at,
                "expected_seconds": self.expected_seconds,
            },
        )

    @property
    def ref(self) -> JobRef:
        return JobRef.from_dict(self.job)

    def _hook(self) -> SeedanceHook:
        return SeedanceHook(seedance_conn_id=self.seedance_conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        ref = self.ref
        try:
            event = await self._wait(ref)
        except Exception as exc:  # never BaseException: CancelledError must propagate to reach on_kill
            event = JobEvent(status=EventStatus.ERROR, job=ref, message=f"{type(exc).__name__}: {exc}")
        yield self._fire(event.to_payload())

    async def _wait(self, ref: JobRef) -> JobEvent:
        """Wait with the shared poll loop, driven asynchronously over one pooled client."""
        poller = Poller(
            ref=ref,
            end_time=self.end_time,
            poll_interval=self.poll_interval,
            max_consecutive_errors=self.max_consecutive_errors,
            log=self.log,
            started_at=self.submitted_at,
            expected_seconds=self.expected_seconds,
            # Thousands of triggers in one triggerer: jittered, phased and adaptive polls.
            **SCALE_SCHEDULE,
        )
        hook = self._hook()
        lease = contextlib.AsyncExitStack()
        try:
            status = await self._lease_status(hook, lease, ref)

            async def poll(job: JobRef) -> JobStatus:
                nonlocal status, lease
                try:
                    return await status(job)
                except SeedanceAuthError:
                    # 401/403: perhaps a rotated key. Read the connection again (once for all
                    # the runs refused with this key) and poll over its client from now on.
                    hook.forget_shared_config()
                    await lease.aclose()
                    lease = contextlib.AsyncExitStack()
                    status = await self._lease_status(hook, lease, ref)
                    raise  # this poll failed all the same: the poller counts it

            return await wait_async(poller, poll)
        finally:
            await lease.aclose()

    async def _lease_status(
        self, hook: SeedanceHook, lease: contextlib.AsyncExitStack, ref: JobRef
    ) -> Callable[[JobRef], Awaitable[JobStatus]]:
        """Lease the hook's pooled client into ``lease``; its status call for ``ref``."""
        client = await lease.enter_async_context(hook.async_client())
        if client.platform != ref.platform:
            raise ValueError(
                f"job {ref.request_id} belongs to platform {ref.platform!r} but connection "
                f"{self.seedance_conn_id!r} is for {client.platform!r}"
            )
        batcher = batcher_for(client)  # Ark: many jobs' statuses in one task-list call
        if batcher is None:
            return client.status
        return lambda r: batcher.status(r, client)

    def _fire(self, event: dict[str, Any]) -> TriggerEvent:
        self._fired_event = True
        return TriggerEvent(event)

    async def _cancel_quietly(self, cancel: Any) -> str:
        """Await a cancel call, bounded and best-effort; return a note for logs and the event."""
        try:
            outcome: CancelOutcome = await asyncio.wait_for(cancel, timeout=CANCEL_TIMEOUT)
        except Exception as exc:
            self.log.warning("Cancelling Seedance job %s failed: %s", self.job["request_id"], exc)
            return f"failed ({type(exc).__name__})"
        self.log.info("Cancel of Seedance job %s: %s", self.job["request_id"], outcome.value)
        return outcome.value

    async def _still_deferred(self) -> bool:
        """True when the task instance is not finished, so a try will come back to this job.

        ``deferred``: the trigger was reassigned to another triggerer (apache/airflow#73454), not
        killed. Not yet run again (``None``, ``scheduled``, ``queued``, ``running``, ...): the
        task was cleared and its next try reconnects to the job through the task state store.
        Only a finished task instance (marked ``failed``, ``success`` or ``skipped``) lets
        ``on_kill`` cancel. No task instance or an unreadable state: False (cancel, as before).
        """
        ti = self.task_instance
        if ti is None:
            return False
        try:
            from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
            from asgiref.sync import sync_to_async

            # The triggerer answers this in-process; its first call there builds the execution
            # API app, which took ~3 s on a 2-core machine. Bounded so a cancel still fits.
            states = await asyncio.wait_for(
                sync_to_async(RuntimeTaskInstance.get_task_states)(
                    dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id], map_index=ti.map_index
                ),
                timeout=CANCEL_TIMEOUT / 2,
            )
        except Exception as exc:
            self.log.warning("Could not read the task's state before cancelling: %s", exc)
            return False
        # Airflow keys a mapped task instance's state as "<task_id>_<map_index>".
        key = ti.task_id if ti.map_index is None or ti.map_index < 0 else f"{ti.task_id}_{ti.map_index}"
        state = states.get(ti.run_id, {}).get(key)
        if state in ("failed", "success", "skipped", "upstream_failed", "removed"):
            return False
        self.log.info("Task instance is %s, not finished", state or "not yet scheduled")
        return True

    async def on_kill(self) -> None:
        """Cancel the remote job, best-effort and bounded, when a user marks the deferred task.

        Airflow 3.3 re-sends the user-action cancel to the trigger's asyncio task on every
        triggerer sync (about once a second) until the task ends, and swallows the
        ``CancelledError`` that interrupts ``on_kill``. So the work runs in a task of its own,
        kept alive in ``_ON_KILL_TASKS``, and the repeated cancels are absorbed here until it
        ends (it is bounded by ``CANCEL_TIMEOUT``); were ``on_kill`` abandoned anyway, the
        cancel still completes.
        """
        if not self.cancel_on_kill or self._fired_event:
            return

        async def cancel_unless_a_try_comes_back() -> None:
            if await self._still_deferred():
                self.log.info("The task will run again; not cancelling %s", self.job["request_id"])
                return
            note = await self._cancel_quietly(self._hook().acancel(self.ref))
            self.log.info("on_kill: Seedance job %s cancel %s", self.job["request_id"], note)

        work = asyncio.ensure_future(asyncio.wait_for(cancel_unless_a_try_comes_back(), CANCEL_TIMEOUT))
        _ON_KILL_TASKS.add(work)
        work.add_done_callback(_ON_KILL_TASKS.discard)
        current = asyncio.current_task()
        while not work.done():
            try:
                await asyncio.shield(work)
            except asyncio.CancelledError:
                if work.done():
                    break
                if current is not None:
                    current.uncancel()  # absorbed: the repeated cancel of a task already ending
            except Exception as exc:  # wait_for's TimeoutError, or anything the work raised
                self.log.warning("on_kill: cancelling Seedance job %s: %r", self.job["request_id"], exc)
                return
        if not work.cancelled() and (error := work.exception()) is not None:
            self.log.warning("on_kill: cancelling Seedance job %s: %r", self.job["request_id"], error)
