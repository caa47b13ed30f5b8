"""The generation operators, one per Seedance 2.0 mode, and their job link.

:class:`SeedanceReferenceToVideoOperator`, :class:`SeedanceTextToVideoOperator` and
:class:`SeedanceImageToVideoOperator` are thin subclasses of one implementation,
:class:`_SeedanceGenerationOperator`, parametrised by its ``mode`` (the mode registry
:data:`~.client.models.MODES` gives the media inputs and the request class). Each submits one
job (never twice: the job id goes to the task state store before waiting), after resolving and
preflighting its reference media and reserving its estimate in the spend ledger when one is
configured; waits for it (in the worker, or deferred to
:class:`~airflow_provider_seedance.triggers.seedance.SeedanceJobTrigger`), cancels it when the
wait ends without the job ending, and returns a :class:`~.client.models.JobOutput` as XCom.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from airflow.sdk import BaseOperator, BaseOperatorLink, conf
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_seedance.client.checks import check_numbers, number_problem, seconds_problem
from airflow_provider_seedance.client.errors import (
    CONTENT_REJECTED,
    FieldError,
    ReferenceResolutionError,
    SeedanceAmbiguousSubmitError,
    SeedanceAuthError,
    SeedanceContentRejected,
    SeedanceNotFoundError,
    SeedancePreflightError,
    SeedanceRateLimitError,
    SeedanceRequestRejected,
    SeedanceTransportError,
    SeedanceValidationError,
)
from airflow_provider_seedance.client.events import JobEvent
from airflow_provider_seedance.client.models import (
    MODES,
    JobOutput,
    JobRef,
    JobState,
    Mode,
    OutputStatus,
    SeedanceRequest,
    build_request,
)
from airflow_provider_seedance.client.polling import Poller, wait_sync
from airflow_provider_seedance.client.pricing import CostEstimate, budget_problem, estimate_cost
from airflow_provider_seedance.hooks.seedance import DEFAULT_PLATFORM, SeedanceHook
from airflow_provider_seedance.ledger.airflow import BudgetWindowWait, LedgerGuard, guarded_submit
from airflow_provider_seedance.triggers.seedance import SeedanceJobTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.types import TaskInstanceKey

    from airflow_provider_seedance.client.references import PreparedReferences

#: Task-state-store key holding this task instance's job. Renaming it breaks in-flight retries.
STATE_KEY = "seedance_job"
#: XCom keys pushed right after submitting, before waiting.
XCOM_JOB_KEY = "seedance_job"
XCOM_JOB_URL_KEY = "seedance_job_url"
#: Task-state-store key holding the submitted job's references (originals and how each was
#: resolved, never a signed URL), so the result has them after a deferral or a retry.
REFERENCES_STATE_KEY = "seedance_references"
#: How long the job id is kept in the task state store.
STATE_RETENTION = timedelta(days=7)

#: The validated request and its cost estimate, made once per execute.
_Prepared = tuple[SeedanceRequest, CostEstimate]

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


def platform_from_environment(conn_id: object) -> str | None:
    """The platform of connection ``conn_id`` when ``AIRFLOW_CONN_<ID>`` (JSON or URI form) says
    it cheaply, for parse-time checks; None when unknown (no variable, a templated id, unreadable)."""
    if not isinstance(conn_id, str) or not _is_plain(conn_id):
        return None
    raw = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if not raw:
        return None
    extra: Any = None
    try:
        if raw.lstrip().startswith("{"):
            extra = json.loads(raw).get("extra")
            if isinstance(extra, str):
                extra = json.loads(extra) if extra.strip() else {}
        else:
            query = parse_qs(urlsplit(raw).query)
            extra = {k: v[-1] for k, v in query.items()}
            if "__extra__" in extra:
                extra = json.loads(extra["__extra__"])
    except (ValueError, AttributeError):
        return None
    if extra is None:
        extra = {}
    if not isinstance(extra, Mapping):
        return None
    return str(extra.get("platform") or DEFAULT_PLATFORM).strip().lower()


def _template_fields(mode: Mode) -> tuple[str, ...]:
    """A mode's templated fields: its inputs (but the boolean ``generate_audio``) and the common ones."""
    inputs = tuple(f for f in MODES[mode].input_fields if f != "generate_audio")
    return (*inputs, "seedance_conn_id", "staging_uri", "campaign")


class _SeedanceGenerationOperator(BaseOperator):
    """
    Generate a video with one Seedance 2.0 mode (:attr:`mode`) and return its metadata.

    The shared implementation of the generation operators; use :class:`SeedanceReferenceToVideoOperator`,
    :class:`SeedanceTextToVideoOperator` or :class:`SeedanceImageToVideoOperator`.

    The job is submitted **once**: its id is written to the task state store and to XCom right
    after the submit, so a retry (worker crash, triggerer restart) reconnects to the job
    instead of paying for a new one. In deferrable mode the worker slot is released while a
    :class:`~airflow_provider_seedance.triggers.seedance.SeedanceJobTrigger` waits. Before a new
    submit, reference media (``https://``, ``gs://`` or local paths) are preflighted against every
    documented limit and resolved to URLs the platform can fetch; with a spend ledger the
    estimate is reserved in every covering budget.

    .. seealso::
        The *Operators* how-to guide in the provider's documentation.

    :param prompt: Text prompt (<= 5000 characters); refer to inputs as ``@Image1``, ``@Video1``, ``@Audio1``.
    :param media: The mode's media inputs by name (the public subclasses pass their own parameters).
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
    :param allow_unknown_price: Let ``max_cost_usd`` accept an estimate made with fal.ai's price
        rules on a platform whose own prices are not known (otherwise such a job is refused).
    :param preflight: Check reference media against every documented limit before submitting
        (default: the connection extra ``preflight``, else True).
    :param local_base: Directory relative local paths are resolved against, and the one local
        files must lie in (default: the DAG folder, ``[core] dags_folder``).
    :param staging_uri: ``gs://bucket/prefix/`` where local files are staged (content-addressed)
        and signed (default: the connection extra ``staging_uri``); without one, local files go
        to the platform's own storage where it has one (fal.ai).
    :param signed_url_lifetime: Lifetime of the signed URLs of gs:// and staged references
        (seconds or a timedelta; default 6 h, at most 7 days).
    :param gcp_conn_id: The Google Cloud connection that reads and signs gs:// references.
    :param impersonation_chain: Service account(s) to impersonate for GCS.
    :param ledger_conn_id: The spend ledger's connection (see the *Budgets* guide); turns the ledger on.
    :param budgets: Budgets for this task, added to the connection's and the Variable's.
    :param campaign: Campaign tag(s) of the job (budgets per campaign, the spend report).
    :param wait_for_budget: When a windowed budget is spent, defer to its next window instead of failing.
    :param ledger_fail_open: Submit without a reservation when the ledger is unreachable
        (default: the ledger connection's ``fail_open``, else fail closed).
    """

    #: The mode this operator generates; set by each public subclass.
    mode: ClassVar[Mode]
    template_fields: Sequence[str] = _template_fields(Mode.REFERENCE_TO_VIDEO)
    template_fields_renderers = {"image_urls": "json", "video_urls": "json", "audio_urls": "json"}
    operator_extra_links = (SeedanceJobLink(),)
    ui_color = "#f2e6ff"

    def __init__(
        self,
        *,
        prompt: str,
        media: Mapping[str, Any] | None = None,
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
        allow_unknown_price: bool = False,
        preflight: bool | None = None,
        local_base: str | None = None,
        staging_uri: str | None = None,
        signed_url_lifetime: float | timedelta | None = None,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        ledger_conn_id: str | None = None,
        budgets: dict[str, Any] | None = None,
        campaign: str | list[str] | None = None,
        wait_for_budget: bool = False,
        ledger_fail_open: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.prompt = prompt
        for name in MODES[self.mode].media_fields:
            setattr(self, name, (media or {}).get(name))
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
        self.allow_unknown_price = allow_unknown_price
        self.preflight = preflight
        self.local_base = local_base
        self.staging_uri = staging_uri
        self.signed_url_lifetime = signed_url_lifetime
        self.gcp_conn_id = gcp_conn_id
        self.impersonation_chain = impersonation_chain
        self.ledger_conn_id = ledger_conn_id
        self.budgets = budgets
        self.campaign = campaign
        self.wait_for_budget = wait_for_budget
        self.ledger_fail_open = ledger_fail_open
        self._ref: JobRef | None = None
        self._references: PreparedReferences | None = None
        # Numbers are checked here (a bad DAG fails to parse) and again in execute (a value
        # changed after construction, e.g. by a cluster policy or a partial/expand).
        check_numbers(self._number_problems())
        # Literal inputs are checked at DAG parse time: a bad DAG never reaches a worker.
        inputs = self._raw_inputs()
        if all(_is_plain(v) for v in inputs.values()):
            build_request(self.mode, **inputs)
        self._refuse_unsold_mode()

    def _refuse_unsold_mode(self) -> None:
        """At parse time: refuse a mode (or tier) the connection's platform does not sell, when the
        platform can be read cheaply from ``AIRFLOW_CONN_<ID>``; else ``execute`` refuses it."""
        from airflow_provider_seedance.client.platforms import DIALECTS, mode_refusal

        platform = platform_from_environment(self.seedance_conn_id)
        if platform is None or platform not in DIALECTS:
            return
        tier_known = isinstance(self.tier, str) and _is_plain(self.tier)
        refusal = mode_refusal(platform, self.mode, self.tier if tier_known else "standard")
        if refusal is not None and (tier_known or refusal.field == "mode"):
            raise SeedanceValidationError([refusal])

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
        values = {name: getattr(self, name) for name in MODES[self.mode].input_fields}
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
            request = self.hook.build_request(self.mode, references_resolved=False, **self._inputs())
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
        submitted_at: float | None = None  # unknown for a job reconnected to
        if already_succeeded and ref is not None:
            self.log.info("Seedance job %s already succeeded; not submitting again", ref.request_id)
            return self._complete(context, ref, prepared)
        if ref is None:
            # Only a submit that will really happen resolves and preflights the references.
            prepared = self._with_references(context, prepared)
            request, estimate = prepared
            problem = budget_problem(
                estimate, self.max_cost_usd, allow_unknown_price=self.allow_unknown_price
            )
            if problem is not None:
                raise AirflowFailException(f"{problem}; nothing was submitted.")
            submitted_at = time.time()  # just before: never later than the platform's clock of it
            ref = self._guarded_submit(context, request, estimate)
        self._ref = ref
        if not self.wait_for_completion:
            return JobOutput.from_job(
                ref,
                status=OutputStatus.SUBMITTED,
                request=request,
                estimated_cost_usd=estimate.usd,
                **self._reference_results(context),
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
                    submitted_at=submitted_at,
                ),
                method_name="execute_complete",
                # Backstop beyond the trigger's deadline, so its clean "timeout" event wins
                # and execute_complete cancels the job.
                timeout=timedelta(seconds=self._wait_seconds() + self.poll_interval + 60),
            )
        return self._finish(context, self._wait_sync(ref, end_time), prepared)

    # -- references ----------------------------------------------------------------------
    def _with_references(self, context: Context, prepared: _Prepared) -> _Prepared:
        """Preflight and resolve the request's references; the request to submit and its estimate.

        Validation and preflight failures fail the task (a retry would fail the same way), except
        transport faults, which Airflow retries. Nothing is uploaded or signed unless every
        reference passed, and nothing is submitted unless all of them resolved.
        """
        request, estimate = prepared
        if not request.media_inputs():
            self._references = None
            return prepared
        from airflow_provider_seedance.client.references import prepare_references

        config = self.hook.config
        preflight = self.preflight if self.preflight is not None else config.preflight
        with self.hook.get_http_client() as http:
            try:
                references = prepare_references(
                    request.media_inputs(),
                    platform=self.hook.platform,
                    resolver=self._reference_resolver(http),
                    preflight=True if preflight is None else preflight,
                    http=http,
                    local_base=self.local_base or conf.get("core", "dags_folder"),
                )
            except SeedancePreflightError as exc:
                if exc.transient:
                    raise AirflowException(f"{exc}; nothing was submitted (retrying may help).") from exc
                raise AirflowFailException(f"{exc}; nothing was submitted.") from exc
            except SeedanceValidationError as exc:
                raise AirflowFailException(f"{exc}; nothing was submitted.") from exc
            except ReferenceResolutionError as exc:
                if exc.retryable:
                    raise AirflowException(f"{exc}; nothing was submitted.") from exc
                raise AirflowFailException(f"{exc}; nothing was submitted.") from exc
        for record in references.records():
            self.log.info("Reference %s: %s (%s)", record["field"], record["reference"], record["method"])
        self._references = references
        self._save_references(context, references)
        measured = references.input_video_seconds
        if references.inputs == request.media_inputs() and measured is None:
            return prepared  # every reference as given and nothing measured: the request stands
        try:
            resolved = self.hook.build_request(self.mode, **{**self._inputs(), **references.inputs})
        except SeedanceValidationError as exc:
            raise AirflowFailException(str(exc)) from exc
        estimate = estimate_cost(
            resolved,
            platform=self.hook.platform,
            input_video_seconds=measured if measured is not None else self.input_video_seconds,
        )
        if measured is not None and resolved.has_video_inputs:
            self.log.info("Estimated cost with the measured %.1f s of input video: %s", measured, estimate)
        return resolved, estimate

    def _save_references(self, context: Context, references: PreparedReferences) -> None:
        store = self._store(context)
        if store is not None:
            store.set(
                REFERENCES_STATE_KEY,
                {"references": references.originals, "reference_media": references.records()},
                retention=STATE_RETENTION,
            )

    def _reference_resolver(self, http: Any) -> Any:
        """The resolver of this task's references: GCS from ``gcp_conn_id``; local files to the
        staging prefix when one is named, else to fal's own storage on fal (at the connection's
        base URL when it is overridden, e.g. the emulator)."""
        from airflow_provider_seedance.client.reference_storage import (
            DEFAULT_FAL_REST_URL,
            FalStorage,
            GCSStaging,
        )
        from airflow_provider_seedance.client.references import DEFAULT_SIGNED_URL_LIFETIME, ReferenceResolver
        from airflow_provider_seedance.hooks.gcs import make_storage_client

        config = self.hook.config
        staging_uri = self.staging_uri or config.staging_uri
        lifetime = self.signed_url_lifetime
        if lifetime is None:
            lifetime = DEFAULT_SIGNED_URL_LIFETIME
        elif not isinstance(lifetime, timedelta):
            lifetime = timedelta(seconds=float(lifetime))
        try:
            return ReferenceResolver(
                storage_client_factory=lambda: make_storage_client(
                    self.gcp_conn_id, self.impersonation_chain
                ),
                signed_url_lifetime=lifetime,
                platform_storage=(
                    FalStorage(
                        api_key=config.api_key, http=http, rest_url=config.base_url or DEFAULT_FAL_REST_URL
                    )
                    if config.platform == "fal"
                    else None
                ),
                staging=GCSStaging.from_uri(staging_uri) if staging_uri else None,
                # A staging prefix the user names wins over fal's CDN: private, signed, short-lived.
                prefer_staging=bool(staging_uri),
            )
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from exc

    def _reference_results(self, context: Context) -> dict[str, Any]:
        """``references`` / ``reference_media`` for the result: this try's, else the submitting try's."""
        if self._references is not None:
            return {
                "references": self._references.originals,
                "reference_media": self._references.records(),
            }
        store = self._store(context)
        try:
            saved = store.get(REFERENCES_STATE_KEY) if store is not None else None
        except Exception:
            saved = None
        return dict(saved) if isinstance(saved, dict) else {}

    # -- spend ledger --------------------------------------------------------------------
    @cached_property
    def ledger_guard(self) -> LedgerGuard | None:
        """The spend ledger's hook points, or None when no ledger is configured (docs/budgets.md)."""
        return LedgerGuard.for_operator(
            seedance_conn_id=self.seedance_conn_id,
            platform=self.hook.platform,
            ledger_conn_id=self.ledger_conn_id,
            budgets=self.budgets,
            campaign=self.campaign,
            wait_for_budget=self.wait_for_budget,
            fail_open=self.ledger_fail_open,
        )

    def _guarded_submit(self, context: Context, request: SeedanceRequest, estimate: CostEstimate) -> JobRef:
        """Reserve the estimate, submit once, record the outcome; defer while a windowed budget is spent."""
        try:
            return guarded_submit(
                self.ledger_guard, context, request, estimate, lambda: self._submit(context, request)
            )
        except BudgetWindowWait as wait:
            from airflow.providers.standard.triggers.temporal import DateTimeTrigger

            self.log.info("%s", wait)
            self.defer(
                trigger=DateTimeTrigger(moment=wait.next_window_at), method_name="execute_after_budget_wait"
            )
            raise  # unreachable: defer raises

    def execute_after_budget_wait(self, context: Context, event: Any = None) -> dict[str, Any]:
        """Resume when the budget's next window opens: start over (validate, resolve, reserve)."""
        return self.execute(context)

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

    def _submit(self, context: Context, request: SeedanceRequest) -> JobRef:
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
        # Pushed even when empty (no job page, a custom base URL): Airflow reads the link when the
        # task defers or ends, and a missing key is an error line in every task log.
        ti.xcom_push(key=XCOM_JOB_URL_KEY, value=self.hook.job_url(ref) or "")

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
        if self.ledger_guard is not None:
            self.ledger_guard.failed(context, ref, event.status.value)
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
            ref,
            result,
            status=OutputStatus.SUCCEEDED,
            request=request,
            estimated_cost_usd=estimate.usd,
            **self._reference_results(context),
        )
        if self.ledger_guard is not None:
            self.ledger_guard.succeeded(context, ref)
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

    # -- lineage ---------------------------------------------------------------------------
    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: inputs the gs:// references, output the Seedance job. None without OpenLineage."""
        try:
            from airflow.providers.common.compat.openlineage.facet import Dataset
            from airflow.providers.openlineage.extractors import OperatorLineage
        except ImportError:
            return None
        if self._ref is None:
            return None
        inputs = []
        if self._references is not None:
            inputs = [Dataset(namespace=f"gs://{o.bucket}", name=o.name) for o in self._references.gcs_inputs]
        outputs = [Dataset(namespace=f"seedance://{self._ref.platform}", name=f"jobs/{self._ref.request_id}")]
        return OperatorLineage(inputs=inputs, outputs=outputs)


class SeedanceReferenceToVideoOperator(_SeedanceGenerationOperator):
    """
    Generate a video with Seedance 2.0 reference-to-video and return its metadata.

    Up to 9 images, 3 videos and 3 audio files (12 in all) guide the video; the prompt refers to
    them as ``@Image1``, ``@Video1``, ``@Audio1``. Each item is an ``https://`` URL, a
    ``gs://bucket/object`` or a local path. Every other parameter is described on
    :class:`_SeedanceGenerationOperator`.

    .. seealso::
        The *Operators* how-to guide in the provider's documentation.

    :param prompt: Text prompt (<= 5000 characters).
    :param image_urls: Up to 9 reference images (JPEG, PNG, WebP).
    :param video_urls: Up to 3 reference videos (MP4, MOV), 2..15 s in all.
    :param audio_urls: Up to 3 reference audio files (MP3, WAV); needs an image or a video.
    """

    mode = Mode.REFERENCE_TO_VIDEO
    template_fields: Sequence[str] = _template_fields(Mode.REFERENCE_TO_VIDEO)

    def __init__(
        self,
        *,
        prompt: str,
        image_urls: list[str] | None = None,
        video_urls: list[str] | None = None,
        audio_urls: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        media = {"image_urls": image_urls, "video_urls": video_urls, "audio_urls": audio_urls}
        super().__init__(prompt=prompt, media=media, **kwargs)


class SeedanceTextToVideoOperator(_SeedanceGenerationOperator):
    """
    Generate a video with Seedance 2.0 text-to-video (the prompt alone) and return its metadata.

    The common parameters and the result are those of :class:`SeedanceReferenceToVideoOperator`
    (see :class:`_SeedanceGenerationOperator`).

    .. seealso::
        The *Operators* how-to guide in the provider's documentation.

    :param prompt: Text prompt (<= 5000 characters); it refers to no file.
    """

    mode = Mode.TEXT_TO_VIDEO
    template_fields: Sequence[str] = _template_fields(Mode.TEXT_TO_VIDEO)
    template_fields_renderers: ClassVar[dict[str, str]] = {}

    def __init__(self, *, prompt: str, **kwargs: Any) -> None:
        super().__init__(prompt=prompt, **kwargs)


class SeedanceImageToVideoOperator(_SeedanceGenerationOperator):
    """
    Animate an image with Seedance 2.0 image-to-video and return the video's metadata.

    ``image_url`` is the first frame; ``end_image_url``, when given, the last (the same photo
    twice makes a clean loop). Each is an ``https://`` URL, a ``gs://bucket/object`` or a local
    path. The common parameters and the result are those of
    :class:`SeedanceReferenceToVideoOperator` (see :class:`_SeedanceGenerationOperator`).

    .. seealso::
        The *Operators* how-to guide in the provider's documentation.

    :param prompt: Text prompt (<= 5000 characters): the motion to give the image.
    :param image_url: The first frame (JPEG, PNG, WebP).
    :param end_image_url: The last frame (JPEG, PNG, WebP), optional.
    """

    mode = Mode.IMAGE_TO_VIDEO
    template_fields: Sequence[str] = _template_fields(Mode.IMAGE_TO_VIDEO)
    template_fields_renderers: ClassVar[dict[str, str]] = {}

    def __init__(
        self, *, prompt: str, image_url: str, end_image_url: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(
            prompt=prompt, media={"image_url": image_url, "end_image_url": end_image_url}, **kwargs
        )


#: Each mode's operator class, by mode (the registry names them: ``MODES[mode].operator_class``).
OPERATORS: Mapping[Mode, type[_SeedanceGenerationOperator]] = {
    cls.mode: cls
    for cls in (SeedanceTextToVideoOperator, SeedanceImageToVideoOperator, SeedanceReferenceToVideoOperator)
}
assert all(OPERATORS[s.mode].__name__ == s.operator_class for s in MODES.values()), "mode registry"
