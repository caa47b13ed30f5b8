"""The generation operator: :class:`SeedanceReferenceToVideoOperator` and its job link.

It submits one Seedance 2.0 reference-to-video job (never twice: the job id goes to the task
state store before waiting), waits for it (in the worker, or deferred to
:class:`~airflow_provider_seedance.triggers.seedance.SeedanceJobTrigger`), cancels it when the
wait ends without the job ending, and returns a :class:`~.client.models.JobOutput` as XCom.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, BaseOperatorLink, conf
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_seedance.client.checks import check_numbers, number_problem, seconds_problem
from airflow_provider_seedance.client.errors import (
    CONTENT_REJECTED,
    FieldError,
    SeedanceAmbiguousSubmitError,
    SeedanceAuthError,
    SeedanceContentRejected,
    SeedanceNotFoundError,
    SeedanceRateLimitError,
    SeedanceRequestRejected,
    SeedanceTransportError,
    SeedanceValidationError,
)
from airflow_provider_seedance.client.events import JobEvent
from airflow_provider_seedance.client.models import (
    INPUT_FIELDS,
    JobOutput,
    JobRef,
    JobState,
    OutputStatus,
    ReferenceToVideoRequest,
)
from airflow_provider_seedance.client.polling import Poller, wait_sync
from airflow_provider_seedance.client.pricing import CostEstimate, estimate_cost
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.triggers.seedance import SeedanceJobTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.types import TaskInstanceKey

#: Task-state-store key holding this task instance's job. Renaming it breaks in-flight retries.
STATE_KEY = "seedance_job"
#: XCom keys pushed right after submitting, before waiting.
XCOM_JOB_KEY = "seedance_job"
XCOM_JOB_URL_KEY = "seedance_job_url"
#: How long the job id is kept in the task state store.
STATE_RETENTION = timedelta(days=7)

#: The validated request and its cost estimate, made once per execute.
_Prepared = tuple[ReferenceToVideoRequest, CostEstimate]

PHASE_SUBMITTING = "submitting"
PHASE_SUBMITTED = "submitted"
PHASE_AMBIGUOUS = "ambiguous"
PHASE_SUCCEEDED = "succeeded"
PHASE_FAILED = "failed"


#: A rendered integer: ASCII digits only, optionally signed.
_INTEGER = re.compile(r"[+-]?[0-9]+")

_CHANGE_INPUT = (
    "The platform refused the content; retrying the same inputs would be refused again, so the task "
    "is not retried: change the refused input"
)

#: Submit outcomes that provably created no job: the request never left the machine or never
#: reached a handler that creates jobs ("retry": Airflow may retry) or the platform refused it
#: (4xx: "refused", failing the task). Everything else may have created a job.
_NOTHING_CREATED_RETRY = (SeedanceRateLimitError,)
_NOTHING_CREATED_REFUSED = (SeedanceValidationError,)


def _created_nothing(exc: BaseException) -> str | None:
    """``"retry"`` / ``"refused"`` when a submit that raised ``exc`` provably created no job; else None."""
    if isinstance(exc, SeedanceTransportError):
        return None if exc.request_sent else "retry"
    if isinstance(exc, _NOTHING_CREATED_RETRY):
        return "retry"
    if isinstance(exc, _NOTHING_CREATED_REFUSED):
        return "refused"
    if (
        isinstance(exc, SeedanceRequestRejected | SeedanceAuthError | SeedanceNotFoundError)
        and 400 <= exc.status_code < 500
    ):
        return "refused"
    return None


def _unknown_message(exc: BaseException) -> str:
    return (
        f"The submit ended with {type(exc).__name__}: {exc}. A job may have been created and billed; "
        "its outcome is unknown. Check the platform's request list before running this task again."
    )


class SeedanceJobLink(BaseOperatorLink):
    """Link to the job's page on the platform, where the platform has one."""

    name = "Seedance Job"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        return XCom.get_value(key=XCOM_JOB_URL_KEY, ti_key=ti_key) or ""


def _is_plain(value: Any) -> bool:
    """True for a literal value that will not change at render time (no Jinja, no XComArg)."""
    if value is None or isinstance(value, bool | int | float):
        return True
    if isinstance(value, str):
        return "{{" not in value and "{%" not in value
    if isinstance(value, list | tuple):
        return all(_is_plain(v) for v in value)
    return False


class SeedanceReferenceToVideoOperator(BaseOperator):
    """
    Generate a video with Seedance 2.0 reference-to-video and return its metadata.

    The job is submitted **once**: its id is written to the task state store and to XCom right
    after the submit, so a retry (worker crash, triggerer restart) reconnects to the job
    instead of paying for a new one. In deferrable mode the worker slot is released while a
    :class:`~airflow_provider_seedance.triggers.seedance.SeedanceJobTrigger` waits.

    .. seealso::
        The *Operators* how-to guide in the provider's documentation.

    :param prompt: Text prompt (<= 5000 characters); refer to inputs as ``@Image1``, ``@Video1``, ``@Audio1``.
    :param image_urls: Up to 9 reference images (JPEG, PNG, WebP).
    :param video_urls: Up to 3 reference videos (MP4, MOV).
    :param audio_urls: Up to 3 reference audio files (MP3, WAV); needs an image or a video.
    :param resolution: ``480p`` or ``720p`` (platform-dependent).
    :param duration: ``"auto"`` or 4..15 seconds.
    :param aspect_ratio: ``auto``, ``21:9``, ``16:9``, ``4:3``, ``1:1``, ``3:4`` or ``9:16``.
    :param generate_audio: Generate synchronized audio.
    :param seed: Seed for reproducibility (-1 = random).
    :param end_user_id: The end user's id, passed to the platform.
    :param tier: ``standard`` or ``fast``.
    :param seedance_conn_id: The Seedance connection (platform, key, base URL).
    :param deferrable: Wait in the triggerer; defaults to ``[operators] default_deferrable``.
    :param wait_for_completion: Wait for the job; if False, return right after submitting.
    :param poll_interval: Seconds between status calls.
    :param timeout: Seconds to wait for the job; the remote job is cancelled past it.
    :param max_cost_usd: Refuse to submit when the estimated cost is higher.
    :param input_video_seconds: Combined duration of the reference videos, for a tighter cost
        estimate (default: the documented maximum, 15 s).
    :param cancel_on_kill: Cancel the remote job when the task is killed.
    :param resubmit_unknown: Submit again when an earlier attempt's submit had an unknown
        outcome (a job may exist and be billed). Off by default: never pay twice.
    """

    template_fields: Sequence[str] = (
        "prompt",
        "image_urls",
        "video_urls",
        "audio_urls",
        "resolution",
        "duration",
        "aspect_ratio",
        "seed",
        "end_user_id",
        "tier",
        "seedance_conn_id",
    )
    template_fields_renderers = {"image_urls": "json", "video_urls": "json", "audio_urls": "json"}
    operator_extra_links = (SeedanceJobLink(),)
    ui_color = "#f2e6ff"

    def __init__(
        self,
        *,
        prompt: str,
        image_urls: list[str] | None = None,
        video_urls: list[str] | None = None,
        audio_urls: list[str] | None = None,
        resolution: str = "720p",
        duration: str | int = "auto",
        aspect_ratio: str = "auto",
        generate_audio: bool = True,
        seed: int | None = None,
        end_user_id: str | None = None,
        tier: str = "standard",
        seedance_conn_id: str = SeedanceHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        wait_for_completion: bool = True,
        poll_interval: float = 15.0,
        timeout: float = 3600.0,
        max_cost_usd: float | None = None,
        input_video_seconds: float | None = None,
        cancel_on_kill: bool = True,
        resubmit_unknown: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.prompt = prompt
        self.image_urls = image_urls
        self.video_urls = video_urls
        self.audio_urls = audio_urls
        self.resolution = resolution
        self.duration = duration
        self.aspect_ratio = aspect_ratio
        self.generate_audio = generate_audio
        self.seed = seed
        self.end_user_id = end_user_id
        self.tier = tier
        self.seedance_conn_id = seedance_conn_id
        self.deferrable = deferrable
        self.wait_for_completion = wait_for_completion
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.max_cost_usd = max_cost_usd
        self.input_video_seconds = input_video_seconds
        self.cancel_on_kill = cancel_on_kill
        self.resubmit_unknown = resubmit_unknown
        self._ref: JobRef | None = None
        # Numbers are checked here (a bad DAG fails to parse) and again in execute (a value
        # changed after construction, e.g. by a cluster policy or a partial/expand).
        check_numbers(self._number_problems())
        # Literal inputs are checked at DAG parse time: a bad DAG never reaches a worker.
        inputs = self._raw_inputs()
        if all(_is_plain(v) for v in inputs.values()):
            ReferenceToVideoRequest(**inputs)

    # -- inputs --------------------------------------------------------------------------
    def _number_problems(self) -> list[FieldError | None]:
        """Every numeric parameter: finite and in range (``nan`` would disable the budget guard,
        or poll without pause; ``inf`` cannot be deferred)."""
        return [
            seconds_problem("poll_interval", self.poll_interval),
            seconds_problem("timeout", self.timeout),
            None
            if self.max_cost_usd is None
            else number_problem("max_cost_usd", self.max_cost_usd, minimum=0.0),
            None
            if self.input_video_seconds is None
            else number_problem("input_video_seconds", self.input_video_seconds, minimum=0.0),
        ]

    def _raw_inputs(self) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in INPUT_FIELDS}
        return {k: v for k, v in values.items() if v is not None or k == "prompt"}

    def _inputs(self) -> dict[str, Any]:
        """Rendered inputs, with template-rendered numbers coerced back from strings."""
        inputs = self._raw_inputs()
        seed = inputs.get("seed")
        # ASCII digits only: "²".isdigit() is True but int("²") raises. Anything else stays a
        # string, which the request model refuses naming ``seed``, like a literal.
        if isinstance(seed, str) and _INTEGER.fullmatch(seed.strip()):
            inputs["seed"] = int(seed)
        return inputs

    @cached_property
    def hook(self) -> SeedanceHook:
        return SeedanceHook(seedance_conn_id=self.seedance_conn_id)

    def _request_and_estimate(self) -> _Prepared:
        """Validate the rendered inputs for this platform and estimate the cost: once per execute."""
        try:
            check_numbers(self._number_problems())
            request = self.hook.build_request(**self._inputs())
        except SeedanceValidationError as exc:
            raise AirflowFailException(str(exc)) from exc
        estimate = estimate_cost(
            request, platform=self.hook.platform, input_video_seconds=self.input_video_seconds
        )
        return request, estimate

    # -- task state store ----------------------------------------------------------------
    def _store(self, context: Context) -> Any:
        return context.get("task_state_store")

    def _read_state(self, context: Context) -> dict[str, Any] | None:
        store = self._store(context)
        if store is None:
            self.log.warning("No task_state_store in the context: a retry cannot reconnect to this job")
            return None
        try:
            value = store.get(STATE_KEY)
        except Exception as exc:
            self.log.warning("Could not read the task state store (%s); reconnect disabled", exc)
            return None
        return value if isinstance(value, dict) else None

    def _write_state(self, context: Context, phase: str, ref: JobRef | None = None) -> None:
        store = self._store(context)
        if store is None:
            return
        value: dict[str, Any] = {"phase": phase, "at": time.time()}
        if ref is not None:
            value["job"] = ref.to_dict()
        store.set(STATE_KEY, value, retention=STATE_RETENTION)

    # -- execute -------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        prepared = self._request_and_estimate()
        request, estimate = prepared
        self.log.info("Estimated cost of this Seedance job: %s", estimate)
        ref, already_succeeded = self._reconnect(context)
        if already_succeeded and ref is not None:
            self.log.info("Seedance job %s already succeeded; not submitting again", ref.request_id)
            return self._complete(context, ref, prepared)
        if ref is None:
            if self.max_cost_usd is not None and estimate.usd > self.max_cost_usd:
                raise AirflowFailException(
                    f"Estimated cost ${estimate.usd:.4f} is above max_cost_usd=${self.max_cost_usd:.4f} "
                    f"({estimate.basis}); nothing was submitted."
                )
            ref = self._submit(context, request)
        self._ref = ref
        if not self.wait_for_completion:
            return JobOutput.from_job(
                ref, status=OutputStatus.SUBMITTED, request=request, estimated_cost_usd=estimate.usd
            ).to_xcom()
        end_time = time.time() + self._wait_seconds()
        if self.deferrable:
            self.defer(
                trigger=SeedanceJobTrigger(
                    job=ref.to_dict(),
                    seedance_conn_id=self.seedance_conn_id,
                    end_time=end_time,
                    poll_interval=self.poll_interval,
                    cancel_on_kill=self.cancel_on_kill,
                ),
                method_name="execute_complete",
                # Backstop beyond the trigger's deadline, so its clean "timeout" event wins
                # and execute_complete cancels the job.
                timeout=timedelta(seconds=self._wait_seconds() + self.poll_interval + 60),
            )
        return self._finish(context, self._wait_sync(ref, end_time), prepared)

    def _wait_seconds(self) -> float:
        if self.execution_timeout is not None:
            return min(self.timeout, self.execution_timeout.total_seconds())
        return self.timeout

    def _reconnect(self, context: Context) -> tuple[JobRef | None, bool]:
        """The job an earlier attempt of this task instance submitted, if it can still be used.

        Returns ``(ref, already_succeeded)``; ``(None, False)`` means: submit a new job.
        """
        state = self._read_state(context)
        if not state:
            return None, False
        phase = state.get("phase")
        if phase in (PHASE_SUBMITTING, PHASE_AMBIGUOUS) and "job" not in state:
            if self.resubmit_unknown:
                self.log.warning(
                    "An earlier submit had an unknown outcome; resubmit_unknown=True: submitting again"
                )
                return None, False
            raise AirflowFailException(
                "An earlier attempt of this task sent a submit request whose outcome is unknown: a job may "
                "exist and be billed. Check the platform's request list before running it again; set "
                "resubmit_unknown=True to submit anyway."
            )
        job = state.get("job")
        if not isinstance(job, dict):
            return None, False
        try:
            ref = JobRef.from_dict(job)
        except SeedanceValidationError as exc:
            # A job was submitted but its stored reference is unreadable: its outcome is unknown.
            if self.resubmit_unknown:
                self.log.warning("Stored Seedance job is unreadable (%s); resubmit_unknown=True", exc)
                return None, False
            raise AirflowFailException(
                f"An earlier attempt of this task submitted a job whose stored reference is unreadable "
                f"({exc}); its outcome is unknown. Check the platform's request list; set "
                "resubmit_unknown=True to submit anyway."
            ) from exc
        try:
            status = self.hook.get_status(ref)
        except SeedanceNotFoundError:
            self.log.warning(
                "Stored Seedance job %s is unknown to the platform; submitting a new one", ref.request_id
            )
            return None, False
        if status.state in (JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED):
            self.log.info(
                "Reconnecting to Seedance job %s (%s) from an earlier attempt",
                ref.request_id,
                status.describe(),
            )
            self._push_job(context, ref)
            return ref, status.state is JobState.SUCCEEDED
        self.log.warning(
            "Stored Seedance job %s ended %s; submitting a new one", ref.request_id, status.state.value
        )
        return None, False

    def _submit(self, context: Context, request: ReferenceToVideoRequest) -> JobRef:
        """POST once, between two state writes: ``submitting`` before, ``submitted`` + job after.

        The classification is positive: only an outcome that provably created no job clears the
        state (:func:`_created_nothing`); anything else, a new error class included, leaves the
        "unknown outcome" state, which a retry refuses to resubmit unless ``resubmit_unknown``.
        A process killed mid-way leaves ``submitting``: the same unknown outcome.
        """
        self._write_state(context, PHASE_SUBMITTING)
        try:
            ref = self.hook.submit(request, checked=True)
        except Exception as exc:
            verdict = _created_nothing(exc)
            if verdict is None:
                self._write_state(context, PHASE_AMBIGUOUS)
                message = str(exc) if isinstance(exc, SeedanceAmbiguousSubmitError) else _unknown_message(exc)
                if self.resubmit_unknown:
                    raise AirflowException(
                        f"{message} (resubmit_unknown=True: a retry submits again)"
                    ) from exc
                raise AirflowFailException(message) from exc
            self._clear_state(context)
            if verdict == "refused":
                raise AirflowFailException(str(exc)) from exc
            raise  # not sent, or 429: a retry may submit
        self._write_state(context, PHASE_SUBMITTED, ref)
        self._push_job(context, ref)
        # The dialect's label, not the platform key: Airflow masks every connection-extra value in logs.
        label = self.hook.client.dialect.label
        self.log.info("Submitted Seedance job %s on %s (%s tier)", ref.request_id, label, ref.tier)
        return ref

    def _clear_state(self, context: Context) -> None:
        store = self._store(context)
        if store is not None:
            store.delete(STATE_KEY)

    def _push_job(self, context: Context, ref: JobRef) -> None:
        ti = context["ti"]
        ti.xcom_push(key=XCOM_JOB_KEY, value=ref.to_dict())
        url = self.hook.job_url(ref)
        if url:
            ti.xcom_push(key=XCOM_JOB_URL_KEY, value=url)

    # -- waiting -------------------------------------------------------------------------
    def _wait_sync(self, ref: JobRef, end_time: float) -> JobEvent:
        """Wait in the worker with the shared poll loop (the trigger runs the same loop async)."""
        poller = Poller(ref=ref, end_time=end_time, poll_interval=self.poll_interval, log=self.log)
        return wait_sync(poller, self.hook.get_status)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger: everything comes from the event (this is a fresh instance)."""
        try:
            job_event = JobEvent.from_payload(event)
        except ValueError as exc:
            raise AirflowException(str(exc)) from exc
        return self._finish(context, job_event)

    def _finish(self, context: Context, event: JobEvent, prepared: _Prepared | None = None) -> dict[str, Any]:
        """End the wait, sync or deferred: the result on success; else fail, cancelling a job that may run.

        The one place that cancels a job whose wait timed out or failed (the trigger never does).
        """
        ref = event.job
        self._ref = ref
        if event.status.is_success:
            return self._complete(context, ref, prepared)
        message = f"Seedance job {ref.request_id} {event.status.value}: {event.message}"
        if event.error_type == CONTENT_REJECTED:
            # The same inputs would be refused (and maybe billed) again: no Airflow retry.
            self._write_state(context, PHASE_FAILED, ref)
            raise AirflowFailException(f"{message}. {_CHANGE_INPUT}")
        if event.status.job_may_be_running:
            self.log.warning(
                "Waiting for Seedance job %s ended with %s; cancelling it", ref.request_id, event.status.value
            )
            message += f"; cancel: {self._cancel_quietly(ref)}"
        self._write_state(context, PHASE_FAILED, ref)
        raise AirflowException(message)

    def _complete(self, context: Context, ref: JobRef, prepared: _Prepared | None = None) -> dict[str, Any]:
        request, estimate = prepared or self._request_and_estimate()
        try:
            result = self.hook.get_result(ref)
        except SeedanceContentRejected as exc:  # fal: the refusal shows when the result is fetched
            self._write_state(context, PHASE_FAILED, ref)
            raise AirflowFailException(f"{exc}. {_CHANGE_INPUT}") from exc
        self._write_state(context, PHASE_SUCCEEDED, ref)
        output = JobOutput.from_job(
            ref, result, status=OutputStatus.SUCCEEDED, request=request, estimated_cost_usd=estimate.usd
        )
        self.log.info(
            "Seedance job %s succeeded: %s (%s bytes, seed %s)",
            ref.request_id,
            result.video.file_name or "video",
            result.video.file_size,
            result.seed,
        )
        return output.to_xcom()

    def _cancel_quietly(self, ref: JobRef) -> str:
        try:
            outcome = self.hook.cancel(ref)
        except Exception as exc:
            self.log.warning("Cancelling Seedance job %s failed: %s", ref.request_id, exc)
            return f"failed ({type(exc).__name__})"
        self.log.info("Cancel of Seedance job %s: %s", ref.request_id, outcome.value)
        return outcome.value

    def on_kill(self) -> None:
        """Cancel the remote job when a running (sync) task is killed; deferred kills go to the trigger."""
        if self.cancel_on_kill and self._ref is not None:
            self._cancel_quietly(self._ref)
