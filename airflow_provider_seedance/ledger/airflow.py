"""The ledger's thin Airflow layer: the ledger connection, budget limits, and the operator's hook points.

**The ledger connection** (``ledger_conn_id``): any SQLAlchemy URL in the extra
(``{"sqlalchemy_url": "postgresql+psycopg2://..."}``) or in ``host`` (``sqlite:////data/ledger.db``),
or a standard ``postgres`` / ``sqlite`` connection. Other extra keys: ``schema`` (PostgreSQL),
``fail_open`` (submit anyway when the database is unreachable; default false: fail closed),
``reservation_ttl_seconds`` (default 3600), ``ark_usd_per_million`` and ``cny_per_usd`` (Ark
pricing). Without a connection the ledger is the SQLite file ``$AIRFLOW_HOME/seedance_ledger.db``
(one machine only). Airflow's own metadata database is refused.

**Budgets**: the Seedance connection's extra ``budgets`` (scoped to that connection unless a
budget sets ``account``) plus the JSON Airflow Variable ``seedance_budgets`` (global), see
:mod:`.budgets` for the format.

**Hook points** (:class:`LedgerGuard`): the operator calls ``reserve`` before its submit,
``before_send`` right before the POST, then ``submitted`` / ``ambiguous`` / ``not_submitted``,
and ``succeeded`` / ``failed`` at the end. All are keyed by the task instance, never by the try:
a retry that reconnects to its job does not reserve or record twice.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Required, TypedDict, Unpack

from airflow_provider_seedance.client.errors import (
    SeedanceAmbiguousSubmitError,
    SeedanceBudgetExceeded,
    SeedanceError,
    SeedanceValidationError,
)
from airflow_provider_seedance.ledger.budgets import Budget, normalize_campaign, parse_budgets

if TYPE_CHECKING:
    from airflow_provider_seedance.client.models import JobRef, SeedanceRequest
    from airflow_provider_seedance.client.pricing import CostEstimate
    from airflow_provider_seedance.ledger.store import Entry, Ledger, TaskIdentity

log = logging.getLogger(__name__)

BUDGETS_VARIABLE = "seedance_budgets"
DEFAULT_SQLITE_NAME = "seedance_ledger.db"


class BudgetWindowWait(Exception):
    """The budget is spent for this window and the task asked to wait: defer until ``next_window_at``."""

    def __init__(self, exceeded: SeedanceBudgetExceeded, next_window_at: datetime) -> None:
        super().__init__(f"{exceeded}; waiting for the next window at {next_window_at.isoformat()}")
        self.exceeded = exceeded
        self.next_window_at = next_window_at


def ledger_url_from_connection(conn: Any) -> str:
    """The SQLAlchemy URL a connection names (see the module doc)."""
    extra = conn.extra_dejson or {}
    url = extra.get("sqlalchemy_url") or extra.get("url")
    if url:
        return str(url)
    host = conn.host or ""
    if "://" in host:
        return host
    conn_type = (conn.conn_type or "").lower()
    if conn_type == "sqlite":
        return f"sqlite:///{host}" if host else "sqlite://"
    if conn_type in ("postgres", "postgresql"):
        # From the fields, not get_uri(): that would turn ledger options in the extra into
        # query parameters the database driver rejects.
        from sqlalchemy.engine import URL

        url = URL.create(
            "postgresql+psycopg2",
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host or None,
            port=conn.port or None,
            database=conn.schema or None,
        )
        return url.render_as_string(hide_password=False)
    return str(conn.get_uri())


def _is_airflow_metadata_db(url: str) -> bool:
    try:
        from airflow.configuration import conf

        meta = conf.get("database", "sql_alchemy_conn", fallback="")
    except Exception:
        return False
    if not meta:
        return False
    from sqlalchemy.engine import make_url

    try:
        a, b = make_url(url), make_url(meta)
    except Exception:
        return False
    same_db = (a.host, a.port, a.database) == (b.host, b.port, b.database)
    return bool(same_db and a.get_backend_name() == b.get_backend_name())


def default_ledger_url() -> str:
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return f"sqlite:///{os.path.join(home, DEFAULT_SQLITE_NAME)}"


def ledger_settings(ledger_conn_id: str | None) -> dict[str, Any]:
    """``{"url", "schema", "fail_open", "reservation_ttl", "pricing"}`` for a ledger connection id."""
    if not ledger_conn_id:
        return {
            "url": default_ledger_url(),
            "schema": None,
            "fail_open": False,
            "reservation_ttl": timedelta(hours=1),
            "pricing": {},
        }
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(ledger_conn_id)
    extra = conn.extra_dejson or {}
    url = ledger_url_from_connection(conn)
    if _is_airflow_metadata_db(url):
        raise SeedanceValidationError(
            [
                _field(
                    "ledger_conn_id",
                    f"{ledger_conn_id!r} names Airflow's metadata database; use a database of its own",
                )
            ]
        )
    pricing: dict[str, Any] = {}
    if isinstance(extra.get("ark_usd_per_million"), dict):
        pricing["usd_per_million"] = {str(k): float(v) for k, v in extra["ark_usd_per_million"].items()}
    if extra.get("cny_per_usd"):
        pricing["cny_per_usd"] = float(extra["cny_per_usd"])
    return {
        "url": url,
        "schema": extra.get("schema"),
        "fail_open": bool(extra.get("fail_open", False)),
        "reservation_ttl": timedelta(seconds=float(extra.get("reservation_ttl_seconds", 3600))),
        "pricing": pricing,
    }


def _field(name: str, message: str) -> Any:
    from airflow_provider_seedance.client.errors import FieldError

    return FieldError(name, message)


@lru_cache(maxsize=8)
def _cached_ledger(url: str, schema: str | None, ttl_seconds: float) -> Ledger:
    from airflow_provider_seedance.ledger.store import Ledger

    return Ledger(url, schema=schema, reservation_ttl=timedelta(seconds=ttl_seconds))


def get_ledger(ledger_conn_id: str | None) -> Ledger:
    """The ledger a connection names (one engine per process and URL)."""
    s = ledger_settings(ledger_conn_id)
    return _cached_ledger(s["url"], s["schema"], s["reservation_ttl"].total_seconds())


def read_budgets(
    seedance_conn_id: str | None = None,
    *,
    variable: str | None = BUDGETS_VARIABLE,
    extra_budgets: Mapping[str, Any] | None = None,
) -> list[Budget]:
    """Budgets from the Seedance connection's ``budgets`` extra, the Variable, and ``extra_budgets``.

    A name defined twice is an error (which limit holds would be a guess).
    """
    found: dict[str, Budget] = {}

    def add(budgets: Sequence[Budget], where: str) -> None:
        for budget in budgets:
            if budget.name in found:
                raise SeedanceValidationError(
                    [_field(where, f'budget "{budget.name}" is defined more than once')]
                )
            found[budget.name] = budget

    if seedance_conn_id:
        from airflow.sdk import BaseHook

        extra = BaseHook.get_connection(seedance_conn_id).extra_dejson or {}
        raw = extra.get("budgets")
        if isinstance(raw, str):
            raw = json.loads(raw)
        if raw:
            where = f"connection {seedance_conn_id} extra budgets"
            add(parse_budgets(raw, defaults={"account": seedance_conn_id}, source=where), where)
    if variable:
        from airflow.sdk import Variable

        value = Variable.get(variable, default=None)
        if value:
            data = json.loads(value) if isinstance(value, str) else value
            add(parse_budgets(data, source=f"Variable {variable}"), f"Variable {variable}")
    if extra_budgets:
        add(parse_budgets(extra_budgets, source="budgets"), "budgets")
    return sorted(found.values(), key=lambda b: b.name)


def identity_from_context(context: Mapping[str, Any]) -> TaskIdentity:
    """The task instance's try-independent identity."""
    from airflow_provider_seedance.ledger.store import TaskIdentity

    ti = context["ti"]
    map_index = getattr(ti, "map_index", -1)
    return TaskIdentity(ti.dag_id, ti.run_id, ti.task_id, -1 if map_index is None else int(map_index))


class GuardOptions(TypedDict, total=False):
    """The :class:`LedgerGuard` settings :meth:`LedgerGuard.for_operator` passes on as given."""

    platform: Required[str]
    wait_for_budget: bool
    fail_open: bool | None


class LedgerGuard:
    """The operator's hook points into the ledger (see ``docs/budgets.md``).

    :param seedance_conn_id: The Seedance connection (the account; its ``budgets`` extra).
    :param platform: The connection's platform key.
    :param ledger_conn_id: The ledger connection (None: the local SQLite file).
    :param budgets: Budgets given on the operator, added to the connection's and the Variable's.
    :param campaign: Campaign tags of the job.
    :param wait_for_budget: Raise :class:`BudgetWindowWait` (defer) instead of failing when a
        windowed budget is spent.
    :param fail_open: Submit without a reservation when the ledger is unreachable (default:
        the connection's ``fail_open``, else False).
    """

    def __init__(
        self,
        *,
        seedance_conn_id: str,
        platform: str,
        ledger_conn_id: str | None = None,
        budgets: Mapping[str, Any] | None = None,
        budgets_variable: str | None = BUDGETS_VARIABLE,
        campaign: str | Sequence[str] | None = None,
        wait_for_budget: bool = False,
        fail_open: bool | None = None,
    ) -> None:
        self.seedance_conn_id = seedance_conn_id
        self.platform = platform
        self.ledger_conn_id = ledger_conn_id
        self.budgets = budgets
        self.budgets_variable = budgets_variable
        self.campaign = normalize_campaign(campaign)
        self.wait_for_budget = wait_for_budget
        self._fail_open = fail_open
        self._disabled = False  # fail-open after an unreachable ledger: record nothing this try

    @classmethod
    def for_operator(
        cls,
        *,
        seedance_conn_id: str,
        ledger_conn_id: str | None = None,
        budgets: Mapping[str, Any] | None = None,
        campaign: str | Sequence[str] | None = None,
        **options: Unpack[GuardOptions],
    ) -> LedgerGuard | None:
        """The guard for an operator, or None when nothing turns the ledger on.

        On when the operator sets ``ledger_conn_id``, ``budgets`` or ``campaign``, or when the
        Seedance connection's extra names a ``ledger_conn_id`` (a deployment can then cap every
        task of an account without touching DAG code) or has ``budgets``.
        """
        from airflow.sdk import BaseHook

        extra = BaseHook.get_connection(seedance_conn_id).extra_dejson or {}
        ledger_conn_id = ledger_conn_id or extra.get("ledger_conn_id") or None
        if not (ledger_conn_id or budgets or campaign or extra.get("budgets")):
            return None
        return cls(
            seedance_conn_id=seedance_conn_id,
            ledger_conn_id=ledger_conn_id,
            budgets=budgets,
            campaign=campaign,
            **options,
        )

    def _settings(self) -> dict[str, Any]:
        return ledger_settings(self.ledger_conn_id)

    def _ledger(self) -> Ledger:
        return get_ledger(self.ledger_conn_id)

    def _unavailable(self, exc: Exception, what: str) -> None:
        """Fail closed (AirflowException: retryable) unless configured fail-open."""
        from airflow.sdk.exceptions import AirflowException

        fail_open = self._fail_open if self._fail_open is not None else self._settings()["fail_open"]
        if fail_open:
            log.warning("%s; fail_open is set: submitting without a budget reservation", exc)
            self._disabled = True
            return
        raise AirflowException(
            f"{exc}. Nothing was submitted ({what}); set fail_open to submit anyway."
        ) from None

    # -- before the submit ---------------------------------------------------------------
    def reserve(
        self, context: Mapping[str, Any], request: SeedanceRequest, estimate: CostEstimate
    ) -> Entry | None:
        """Reserve the estimate in every covering budget. Call only when about to submit a new job.

        :raises AirflowFailException: a budget cannot hold the job (the message names it).
        :raises BudgetWindowWait: the same, with ``wait_for_budget``: defer to ``next_window_at``.
        :raises AirflowException: the ledger is unreachable (fail closed; retryable).
        """
        from airflow.sdk.exceptions import AirflowFailException

        from airflow_provider_seedance.ledger.store import JobSpec, LedgerUnavailableError

        try:
            budgets = read_budgets(
                self.seedance_conn_id, variable=self.budgets_variable, extra_budgets=self.budgets
            )
        except SeedanceValidationError as exc:
            raise AirflowFailException(str(exc)) from exc
        spec = JobSpec.of(
            request,
            platform=self.platform,
            account=self.seedance_conn_id,
            estimate=estimate,
            campaign=self.campaign,
        )
        ti = context["ti"]
        try:
            reservation = self._ledger().reserve(
                identity_from_context(context),
                spec,
                budgets,
                try_number=int(getattr(ti, "try_number", 1) or 1),
            )
        except LedgerUnavailableError as exc:
            self._unavailable(exc, "the budget could not be checked")
            return None
        except SeedanceBudgetExceeded as exc:
            if self.wait_for_budget and isinstance(exc.next_window_at, datetime):
                raise BudgetWindowWait(exc, exc.next_window_at) from exc
            raise AirflowFailException(f"{exc}; nothing was submitted.") from exc
        entry = reservation.entry
        log.info(
            "Reserved $%.4f for this job in %s (ledger entry %s%s)",
            entry.estimate_usd,
            ", ".join(reservation.budgets) or "no budget",
            entry.id,
            ", reused from an earlier try" if reservation.reused else "",
        )
        return entry

    def before_send(
        self, context: Mapping[str, Any], request: SeedanceRequest, estimate: CostEstimate
    ) -> None:
        """Right before the POST: mark the reservation as sending (re-reserve if it expired)."""
        if self._disabled:
            return
        from airflow_provider_seedance.ledger.store import LedgerUnavailableError, ReservationLostError

        identity = identity_from_context(context)
        try:
            try:
                self._ledger().mark_sending(identity)
            except ReservationLostError:
                self.reserve(context, request, estimate)
                if not self._disabled:
                    self._ledger().mark_sending(identity)
        except LedgerUnavailableError as exc:
            self._unavailable(exc, "the reservation could not be confirmed")

    # -- after the submit ----------------------------------------------------------------
    def _best_effort(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """A record after the POST: the job exists whatever the ledger says, so never fail the task."""
        if self._disabled:
            return None
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            log.warning("Could not record %s in the spend ledger (%s); reconciliation will", what, exc)
            return None

    def submitted(self, context: Mapping[str, Any], ref: JobRef) -> None:
        self._best_effort(
            "the submit", self._ledger().mark_submitted, identity_from_context(context), ref.request_id
        )

    def ambiguous(self, context: Mapping[str, Any], message: str) -> None:
        self._best_effort(
            "the unknown submit", self._ledger().mark_unknown, identity_from_context(context), message[:500]
        )

    def not_submitted(self, context: Mapping[str, Any], reason: str) -> None:
        self._best_effort("the release", self._ledger().release, identity_from_context(context), reason[:500])

    def succeeded(self, context: Mapping[str, Any], ref: JobRef, *, usage_tokens: int | None = None) -> None:
        """Settle at the actual cost where known (Ark usage), else the estimate, labelled."""
        from airflow_provider_seedance.ledger.costs import ARK_PLATFORMS, ark_cost

        ledger = self._ledger()
        identity = identity_from_context(context)
        cost = basis = None
        if usage_tokens is None and self.platform in ARK_PLATFORMS:
            usage_tokens = self._best_effort("Ark's usage", self._ark_usage, ref.request_id)
        if usage_tokens is not None and self.platform in ARK_PLATFORMS:
            entry = self._best_effort("the success", ledger.latest, identity)
            if entry is not None:
                cost, basis = ark_cost(
                    usage_tokens,
                    tier=entry.tier,
                    has_video_inputs=entry.has_video_inputs,
                    **self._settings()["pricing"],
                )
        self._best_effort(
            "the success",
            ledger.settle,
            identity,
            succeeded=True,
            cost_usd=cost,
            cost_basis=basis,
            usage_tokens=usage_tokens,
            request_id=ref.request_id,
        )

    def _ark_usage(self, request_id: str) -> int | None:
        """The task's ``usage.completion_tokens``, read from Ark's task list (one GET)."""
        from airflow.sdk import BaseHook

        from airflow_provider_seedance.ledger.reconcile import ARK_DEFAULT_BASE_URLS, ArkTaskLister

        conn = BaseHook.get_connection(self.seedance_conn_id)
        base_url = conn.host if conn.host and "://" in conn.host else ARK_DEFAULT_BASE_URLS[self.platform]
        jobs = ArkTaskLister(base_url, conn.password or "").get_jobs([request_id])
        return next((j.usage_tokens for j in jobs if j.request_id == request_id), None)

    def failed(self, context: Mapping[str, Any], ref: JobRef, status: str) -> None:
        """The job ended: failed/cancelled are not billed; timeout/error stay held (``unknown``)."""
        ledger = self._ledger()
        identity = identity_from_context(context)
        if status in ("failed", "cancelled"):
            self._best_effort(
                "the failure",
                ledger.settle,
                identity,
                succeeded=False,
                cost_usd=0.0,
                cost_basis=f"no charge: the job {status}",
                request_id=ref.request_id,
            )
        else:
            self._best_effort(
                "the unfinished job",
                ledger.mark_unknown,
                identity,
                f"waiting ended with {status} and a cancel was attempted: the job may still run and bill",
            )


def guarded_submit(
    guard: LedgerGuard | None,
    context: Mapping[str, Any],
    request: SeedanceRequest,
    estimate: CostEstimate,
    submit: Callable[[], JobRef],
) -> JobRef:
    """Reserve, mark sending, run ``submit`` (the operator's own submit-once path), record the outcome.

    The outcome follows the operator's classification of submit errors: a
    :class:`SeedanceAmbiguousSubmitError` (raised, or the cause of the raised error) keeps the
    estimate held as ``unknown``; any other :class:`SeedanceError` provably created no job and
    releases it; anything else (a task-state-store failure after the POST, say) is treated as
    ambiguous: held, never silently released.
    """
    if guard is None:
        return submit()
    guard.reserve(context, request, estimate)
    guard.before_send(context, request, estimate)
    try:
        ref = submit()
    except BaseException as exc:
        cause = exc if isinstance(exc, SeedanceError) else exc.__cause__
        if isinstance(cause, SeedanceAmbiguousSubmitError):
            guard.ambiguous(context, str(cause))
        elif isinstance(cause, SeedanceError):
            guard.not_submitted(context, f"{type(cause).__name__}: {cause}")
        else:
            guard.ambiguous(context, f"the submit raised {type(exc).__name__}: a job may exist")
        raise
    guard.submitted(context, ref)
    return ref
