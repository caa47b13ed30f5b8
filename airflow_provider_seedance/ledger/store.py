"""The spend ledger: atomic reservations against budgets, and the life of each submit.

An entry's states::

    reserved --(POST sent, answer read)--> submitted --> succeeded   (spent: actual cost)
       |  \\                                  \\------> failed      (spent: what was billed, 0 by default)
       |   \\--(POST outcome unknown)--> unknown --(reconciled)--> submitted / succeeded / failed / released
       \\--(provably never sent / expired before sending)--> released

Money moves only on a state transition, and every transition is one conditional ``UPDATE ...
WHERE state IN (...)`` in the same transaction as the money: two processes settling the same
entry (the operator and the reconciliation sweep) cannot both move it.

**Reservation** (:meth:`Ledger.reserve`) runs in one transaction that locks each covering
budget's window row (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite ``BEGIN IMMEDIATE``, which
takes the database's write lock when the transaction starts), in budget-name order (no
deadlocks), checks ``limit - reserved - spent >= estimate`` for each, and only then adds the
estimate to ``reserved`` and writes the entry and its holds. So N racing reservations for a cap
that fits k jobs admit exactly k.

**Keys.** An entry is keyed by the task instance (``dag_id|run_id|task_id|map_index``, the same
for every try) and an attempt number. :meth:`Ledger.reserve` for a task instance whose latest
attempt is still ``reserved`` reuses it (a retry after a crash before the submit): a retry never
reserves twice.

**Expiry** (:meth:`Ledger.expire`): a ``reserved`` entry past ``expires_at`` that never reached
:meth:`Ledger.mark_sending` provably sent nothing and is released; one that did may have
created a job and becomes ``unknown``, still held, until reconciliation decides.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, create_engine, event, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import InterfaceError as SAInterfaceError

from airflow_provider_seedance.client.errors import (  # the ledger's errors live with the rest
    LedgerError,
    LedgerUnavailableError,
    ReservationLostError,
    SeedanceBudgetExceeded,
)
from airflow_provider_seedance.ledger import schema
from airflow_provider_seedance.ledger.budgets import Budget, covering, to_micros, to_usd

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine, RowMapping

    from airflow_provider_seedance.client.models import SeedanceRequest
    from airflow_provider_seedance.client.pricing import CostEstimate

log = logging.getLogger(__name__)

RESERVED = "reserved"
SUBMITTED = "submitted"
SUCCEEDED = "succeeded"
FAILED = "failed"
RELEASED = "released"
UNKNOWN = "unknown"
STATES: tuple[str, ...] = (RESERVED, SUBMITTED, SUCCEEDED, FAILED, RELEASED, UNKNOWN)
#: States whose estimate still counts against the budgets.
HELD_STATES: tuple[str, ...] = (RESERVED, SUBMITTED, UNKNOWN)
FINAL_STATES: tuple[str, ...] = (SUCCEEDED, FAILED, RELEASED)
#: The cost basis of an entry whose platform reports no usage.
ESTIMATE_BASIS_PREFIX = "estimate"

DEFAULT_RESERVATION_TTL = timedelta(hours=1)


@dataclass(frozen=True)
class TaskIdentity:
    """A task instance, independent of its try number."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1

    @property
    def key(self) -> str:
        return f"{self.dag_id}|{self.run_id}|{self.task_id}|{self.map_index}"

    def columns(self) -> dict[str, Any]:
        """The entry columns this identity fills (``ti_key`` and one column per field)."""
        return {"ti_key": self.key, **dataclasses.asdict(self)}


#: The :class:`JobSpec` fields a request fills as it holds them.
_REQUEST_FIELDS = (
    "tier", "resolution", "duration", "aspect_ratio", "seed", "generate_audio", "has_video_inputs", "prompt"
)  # fmt: skip


@dataclass(frozen=True)
class JobSpec:
    """What is about to be submitted, and its upper-bound estimate."""

    platform: str
    account: str
    estimate_usd: float
    estimate_basis: str
    tier: str = "standard"
    resolution: str = "720p"
    duration: str = "auto"
    mode: str = "reference-to-video"  # a Mode value
    aspect_ratio: str | None = None
    seed: int | None = None
    generate_audio: bool | None = None
    has_video_inputs: bool = False
    prompt: str | None = None
    campaign: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        request: SeedanceRequest,
        *,
        platform: str,
        account: str,
        estimate: CostEstimate,
        campaign: tuple[str, ...],
    ) -> JobSpec:
        """The spec of ``request`` on ``account``: its creative fields as the request holds them."""
        fields = {name: getattr(request, name) for name in _REQUEST_FIELDS}
        return cls(
            platform=platform,
            account=account,
            estimate_usd=estimate.usd,
            estimate_basis=estimate.basis,
            mode=request.mode.value,
            campaign=campaign,
            **fields,
        )

    @property
    def estimate_micros(self) -> int:
        return to_micros(self.estimate_usd)

    @property
    def prompt_sha256(self) -> str | None:
        return hashlib.sha256(self.prompt.encode()).hexdigest() if self.prompt is not None else None

    def columns(self) -> dict[str, Any]:
        """The entry columns this spec fills: its fields as they are, but the estimate in
        micro-dollars, the prompt as its SHA-256 and the campaign tags as one column."""
        values = dataclasses.asdict(self)
        del values["estimate_usd"], values["prompt"], values["campaign"]
        return {
            **values,
            "estimate_micros": self.estimate_micros,
            "prompt_sha256": self.prompt_sha256,
            "campaign_tags": _campaign_column(self.campaign),
        }


@dataclass(frozen=True)
class Entry:
    """One ledger row, as read."""

    id: int
    ti_key: str
    attempt: int
    state: str
    platform: str
    account: str
    request_id: str | None
    mode: str
    tier: str
    resolution: str
    duration: str
    aspect_ratio: str | None
    seed: int | None
    generate_audio: bool | None
    has_video_inputs: bool
    prompt_sha256: str | None
    estimate_micros: int
    estimate_basis: str
    cost_micros: int | None
    cost_basis: str | None
    usage_tokens: int | None
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    campaign_tags: str
    reserved_at: datetime
    expires_at: datetime | None
    sending_at: datetime | None
    submitted_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    note: str | None

    @classmethod
    def from_row(cls, row: RowMapping) -> Entry:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    @property
    def campaign(self) -> tuple[str, ...]:
        return tuple(t for t in self.campaign_tags.split(",") if t)

    @property
    def estimate_usd(self) -> float:
        return to_usd(self.estimate_micros)

    @property
    def cost_usd(self) -> float | None:
        return None if self.cost_micros is None else to_usd(self.cost_micros)

    @property
    def is_held(self) -> bool:
        return self.state in HELD_STATES


@dataclass(frozen=True)
class Reservation:
    """The outcome of :meth:`Ledger.reserve`: the entry and whether an earlier one was reused."""

    entry: Entry
    reused: bool
    budgets: tuple[str, ...] = ()


@dataclass(frozen=True)
class WindowState:
    """A budget window as stored."""

    budget: str
    window: str
    window_start: datetime | None
    window_end: datetime | None
    limit_micros: int
    reserved_micros: int
    spent_micros: int

    @property
    def remaining_micros(self) -> int:
        return self.limit_micros - self.reserved_micros - self.spent_micros


@dataclass
class _Clock:
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))


def _campaign_column(tags: Iterable[str]) -> str:
    tags = sorted(set(tags))
    return f",{','.join(tags)}," if tags else ""


def make_engine(url: str, *, connect_timeout: float = 10.0) -> Engine:
    """An engine for the ledger: SQLite gets ``BEGIN IMMEDIATE`` transactions and WAL."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60.0})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event emit BEGIN (pysqlite would defer it to the first write).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            if ":memory:" not in url and url not in ("sqlite://", "sqlite:///"):
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    connect_args: dict[str, Any] = {}
    if url.startswith(("postgresql", "postgres")):
        connect_args["connect_timeout"] = int(connect_timeout)
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def redacted_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable URL>"


class Ledger:
    """The spend ledger in one SQL database (SQLAlchemy Core; PostgreSQL or SQLite tested).

    :param url: A SQLAlchemy URL, or an :class:`~sqlalchemy.engine.Engine`.
    :param schema: A PostgreSQL schema to keep the tables in (created when missing).
    :param reservation_ttl: How long a reservation may wait for its submit before it expires.
    :param now: The clock (tests pass their own).
    """

    def __init__(
        self,
        url: str | Engine,
        *,
        schema: str | None = None,
        reservation_ttl: timedelta = DEFAULT_RESERVATION_TTL,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        engine = make_engine(url) if isinstance(url, str) else url
        if schema:
            engine = engine.execution_options(schema_translate_map={None: schema})
        self.engine = engine
        self.schema = schema
        self.reservation_ttl = reservation_ttl
        self._clock = _Clock(now) if now is not None else _Clock()
        self._migrated = False

    def __repr__(self) -> str:
        return f"Ledger({redacted_url(str(self.engine.url))!r})"

    def now(self) -> datetime:
        return self._clock.now()

    # -- plumbing ------------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One transaction; an unreachable database becomes :class:`LedgerUnavailableError`."""
        if not self._migrated:
            self.migrate()
        try:
            with self.engine.begin() as conn:
                yield conn
        except (OperationalError, SAInterfaceError) as exc:
            if _is_connect_failure(exc):
                raise LedgerUnavailableError(self._unreachable(exc)) from None
            raise

    def _unreachable(self, exc: BaseException) -> str:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]
        return f"the spend ledger database {redacted_url(str(self.engine.url))} is unreachable: {reason}"

    def migrate(self) -> int:
        """Create or upgrade the tables (idempotent)."""
        try:
            version = schema.migrate(self.engine)
        except (OperationalError, SAInterfaceError) as exc:
            if _is_connect_failure(exc):
                raise LedgerUnavailableError(self._unreachable(exc)) from None
            raise
        self._migrated = True
        return version

    def dispose(self) -> None:
        self.engine.dispose()

    # -- reading -------------------------------------------------------------------------
    def latest(self, identity: TaskIdentity) -> Entry | None:
        """The task instance's latest attempt, or None."""
        with self._tx() as conn:
            return self._latest(conn, identity.key)

    def _latest(self, conn: Connection, ti_key: str) -> Entry | None:
        row = (
            conn.execute(
                select(schema.entries)
                .where(schema.entries.c.ti_key == ti_key)
                .order_by(schema.entries.c.attempt.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        return Entry.from_row(row) if row else None

    def get(self, entry_id: int) -> Entry:
        with self._tx() as conn:
            return self._get(conn, entry_id)

    def _get(self, conn: Connection, entry_id: int) -> Entry:
        row = conn.execute(select(schema.entries).where(schema.entries.c.id == entry_id)).mappings().first()
        if row is None:
            raise LedgerError(f"no ledger entry {entry_id}")
        return Entry.from_row(row)

    def entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        states: Sequence[str] | None = None,
        platform: str | Sequence[str] | None = None,
        account: str | None = None,
    ) -> list[Entry]:
        """Entries reserved in ``[since, until)``, oldest first."""
        c = schema.entries.c
        query = select(schema.entries).order_by(c.reserved_at, c.id)
        if since is not None:
            query = query.where(c.reserved_at >= since)
        if until is not None:
            query = query.where(c.reserved_at < until)
        if states:
            query = query.where(c.state.in_(list(states)))
        if platform:
            query = query.where(c.platform.in_([platform] if isinstance(platform, str) else list(platform)))
        if account:
            query = query.where(c.account == account)
        with self._tx() as conn:
            return [Entry.from_row(r) for r in conn.execute(query).mappings()]

    def find_by_request(self, platform: str, request_id: str) -> Entry | None:
        c = schema.entries.c
        with self._tx() as conn:
            row = (
                conn.execute(
                    select(schema.entries).where(and_(c.platform == platform, c.request_id == request_id))
                )
                .mappings()
                .first()
            )
        return Entry.from_row(row) if row else None

    def window(self, budget: Budget, moment: datetime | None = None) -> WindowState:
        """The budget's window holding ``moment`` (default: now); zeros when nothing was reserved."""
        win = budget.window_at(moment or self.now())
        c = schema.windows.c
        with self._tx() as conn:
            row = (
                conn.execute(select(schema.windows).where(and_(c.budget == budget.name, c.window == win.key)))
                .mappings()
                .first()
            )
        if row is None:
            return WindowState(budget.name, win.key, win.start, win.end, budget.limit_micros, 0, 0)
        return WindowState(**{k: row[k] for k in WindowState.__dataclass_fields__})

    def windows(self, budget_name: str | None = None) -> list[WindowState]:
        query = select(schema.windows).order_by(schema.windows.c.budget, schema.windows.c.window)
        if budget_name is not None:
            query = query.where(schema.windows.c.budget == budget_name)
        with self._tx() as conn:
            return [
                WindowState(**{k: r[k] for k in WindowState.__dataclass_fields__})
                for r in conn.execute(query).mappings()
            ]

    # -- reserving -----------------------------------------------------------------------
    def reserve(
        self,
        identity: TaskIdentity,
        spec: JobSpec,
        budgets: Sequence[Budget],
        *,
        try_number: int = 1,
    ) -> Reservation:
        """Reserve ``spec``'s estimate in every budget covering it, atomically, or raise.

        :raises SeedanceBudgetExceeded: a covering budget cannot hold the estimate; nothing changed.
        :raises LedgerUnavailableError: the database cannot be reached; nothing changed.
        """
        for _ in range(5):
            try:
                return self._reserve_once(identity, spec, budgets, try_number)
            except IntegrityError:
                # Another process wrote this task instance's attempt first: re-read.
                continue
            except OperationalError as exc:
                if not _is_deadlock(exc):
                    raise
                continue  # the transaction was rolled back whole: try again
        raise LedgerError(f"could not reserve for {identity.key}: concurrent writers kept conflicting")

    def _reserve_once(
        self, identity: TaskIdentity, spec: JobSpec, budgets: Sequence[Budget], try_number: int
    ) -> Reservation:
        now = self.now()
        cover = covering(
            budgets,
            account=spec.account,
            platform=spec.platform,
            campaign=spec.campaign,
            dag_id=identity.dag_id,
        )
        amount = spec.estimate_micros
        with self._tx() as conn:
            latest = self._latest(conn, identity.key)
            attempt = 1
            if latest is not None:
                if latest.state == RESERVED:
                    # A retry after a crash before the submit: the same reservation, re-armed.
                    conn.execute(
                        update(schema.entries)
                        .where(and_(schema.entries.c.id == latest.id, schema.entries.c.state == RESERVED))
                        .values(
                            try_number=try_number,
                            sending_at=None,
                            expires_at=now + self.reservation_ttl,
                            updated_at=now,
                        )
                    )
                    return Reservation(
                        self._get(conn, latest.id), reused=True, budgets=self._hold_names(conn, latest.id)
                    )
                if latest.state == SUBMITTED:
                    # The operator decided to submit anew: the earlier job ended or vanished unbilled.
                    self._transition(
                        conn,
                        latest,
                        (SUBMITTED,),
                        FAILED,
                        spent=0,
                        note="superseded: the task submitted a new job after this one ended or vanished",
                    )
                attempt = latest.attempt + 1
            checks: list[tuple[Budget, str]] = []
            for budget in cover:
                win = budget.window_at(now)
                row = self._lock_window(conn, budget, win.key, win.start, win.end, now)
                remaining = budget.limit_micros - row["reserved_micros"] - row["spent_micros"]
                if remaining < amount:
                    never = amount > budget.limit_micros
                    raise SeedanceBudgetExceeded(
                        budget=budget.name,
                        remaining_usd=to_usd(remaining),
                        needed_usd=spec.estimate_usd,
                        next_window_at=None if never else budget.next_window_at(now),
                    )
                checks.append((budget, win.key))
            result = conn.execute(
                insert(schema.entries).values(
                    **identity.columns(),
                    **spec.columns(),
                    attempt=attempt,
                    state=RESERVED,
                    try_number=try_number,
                    reserved_at=now,
                    expires_at=now + self.reservation_ttl,
                    updated_at=now,
                )
            )
            pk = result.inserted_primary_key
            assert pk is not None
            entry_id = int(pk[0])
            for budget, key in checks:
                conn.execute(
                    update(schema.windows)
                    .where(and_(schema.windows.c.budget == budget.name, schema.windows.c.window == key))
                    .values(reserved_micros=schema.windows.c.reserved_micros + amount, updated_at=now)
                )
                conn.execute(
                    insert(schema.holds).values(
                        entry_id=entry_id,
                        budget=budget.name,
                        window=key,
                        reserved_micros=amount,
                        spent_micros=0,
                    )
                )
            return Reservation(
                self._get(conn, entry_id), reused=False, budgets=tuple(b.name for b, _ in checks)
            )

    def _hold_names(self, conn: Connection, entry_id: int) -> tuple[str, ...]:
        rows = conn.execute(select(schema.holds.c.budget).where(schema.holds.c.entry_id == entry_id))
        return tuple(sorted(r[0] for r in rows))

    def _lock_window(
        self,
        conn: Connection,
        budget: Budget,
        key: str,
        start: datetime | None,
        end: datetime | None,
        now: datetime,
    ) -> RowMapping:
        """Create the window row if missing, then lock it (FOR UPDATE; SQLite holds the DB lock)."""
        c = schema.windows.c
        values = {
            "budget": budget.name,
            "window": key,
            "window_start": start,
            "window_end": end,
            "limit_micros": budget.limit_micros,
            "reserved_micros": 0,
            "spent_micros": 0,
            "updated_at": now,
        }
        name = conn.dialect.name
        if name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            conn.execute(pg_insert(schema.windows).values(**values).on_conflict_do_nothing())
        elif name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            conn.execute(sqlite_insert(schema.windows).values(**values).on_conflict_do_nothing())
        else:  # pragma: no cover - other databases: a savepoint absorbs the duplicate
            try:
                with conn.begin_nested():
                    conn.execute(insert(schema.windows).values(**values))
            except IntegrityError:
                pass
        where = and_(c.budget == budget.name, c.window == key)
        row = conn.execute(select(schema.windows).where(where).with_for_update()).mappings().one()
        if row["limit_micros"] != budget.limit_micros:
            # The configured limit changed: the window follows the configuration.
            conn.execute(update(schema.windows).where(where).values(limit_micros=budget.limit_micros))
        return row

    # -- the submit ----------------------------------------------------------------------
    def mark_sending(self, identity: TaskIdentity) -> Entry:
        """Record that the submit POST is about to be sent (call before sending; fail closed).

        :raises ReservationLostError: the reservation expired and was released: reserve again.
        """
        now = self.now()
        with self._tx() as conn:
            latest = self._require(conn, identity)
            if latest.state != RESERVED:
                if latest.state == RELEASED:
                    raise ReservationLostError(
                        f"the reservation of {identity.key} was released ({latest.note}); reserve again"
                    )
                raise LedgerError(
                    f"cannot send the submit of {identity.key}: its ledger entry is {latest.state}"
                )
            result = conn.execute(
                update(schema.entries)
                .where(and_(schema.entries.c.id == latest.id, schema.entries.c.state == RESERVED))
                .values(sending_at=now, expires_at=now + self.reservation_ttl, updated_at=now)
            )
            if result.rowcount != 1:
                raise ReservationLostError(
                    f"the reservation of {identity.key} expired concurrently; reserve again"
                )
            return self._get(conn, latest.id)

    def mark_submitted(self, identity: TaskIdentity, request_id: str) -> Entry:
        """The platform answered the submit with ``request_id``: the job exists."""
        return self._advance(
            identity, (RESERVED, UNKNOWN), SUBMITTED,
            done=lambda e: e.state == SUBMITTED and e.request_id == request_id, request_id=request_id,
        )  # fmt: skip

    def mark_unknown(self, identity: TaskIdentity, note: str) -> Entry:
        """The submit's outcome is unknown (a job may exist): keep the estimate held."""
        return self._advance(
            identity, (RESERVED, SUBMITTED), UNKNOWN, done=lambda e: e.state == UNKNOWN, note=note
        )

    def release(self, identity: TaskIdentity, note: str) -> Entry:
        """The submit provably created no job (rejected, never sent): return the estimate."""
        return self._advance(
            identity, (RESERVED,), RELEASED, done=lambda e: e.state == RELEASED, spent=0, note=note
        )

    def _advance(
        self,
        identity: TaskIdentity,
        from_states: Sequence[str],
        to_state: str,
        *,
        done: Callable[[Entry], bool],
        **values: Any,
    ) -> Entry:
        """Move the task instance's latest entry; a repeat (``done`` holds already) is a no-op."""
        with self._tx() as conn:
            latest = self._require(conn, identity)
            if done(latest):
                return latest
            return self._transition(conn, latest, from_states, to_state, **values)

    def settle(
        self,
        identity: TaskIdentity | None = None,
        *,
        entry_id: int | None = None,
        succeeded: bool,
        cost_usd: float | None = None,
        cost_basis: str | None = None,
        usage_tokens: int | None = None,
        request_id: str | None = None,
        note: str | None = None,
    ) -> Entry:
        """Turn the held estimate into spend: the job succeeded, or failed (billed ``cost_usd``, 0 default).

        A success without ``cost_usd`` is charged its estimate, labelled as such. Idempotent: a
        second call for a settled entry returns it unchanged (no double charge).
        """
        with self._tx() as conn:
            entry = self._get(conn, entry_id) if entry_id is not None else self._require(conn, identity)
            target = SUCCEEDED if succeeded else FAILED
            if entry.state in FINAL_STATES:
                return entry
            if succeeded and cost_usd is None:
                spent = entry.estimate_micros
                cost_basis = f"{ESTIMATE_BASIS_PREFIX} (the platform reports no cost): {entry.estimate_basis}"
            else:
                spent = to_micros(cost_usd or 0.0)
                if cost_basis is None:
                    cost_basis = "no charge: the job failed" if not succeeded else "reported cost"
            return self._transition(
                conn,
                entry,
                HELD_STATES,
                target,
                spent=spent,
                cost_basis=cost_basis,
                usage_tokens=usage_tokens,
                request_id=request_id or entry.request_id,
                note=note,
            )

    def set_actual_cost(
        self, entry_id: int, *, cost_usd: float, cost_basis: str, usage_tokens: int | None
    ) -> Entry:
        """Replace a succeeded entry's estimated spend by the platform's reported usage (reconciliation)."""
        now = self.now()
        new = to_micros(cost_usd)
        with self._tx() as conn:
            entry = self._get(conn, entry_id)
            if entry.state != SUCCEEDED:
                raise LedgerError(f"entry {entry_id} is {entry.state}, not succeeded")
            old = entry.cost_micros or 0
            result = conn.execute(
                update(schema.entries)
                .where(
                    and_(schema.entries.c.id == entry_id, schema.entries.c.cost_micros == entry.cost_micros)
                )
                .values(cost_micros=new, cost_basis=cost_basis, usage_tokens=usage_tokens, updated_at=now)
            )
            if result.rowcount == 1 and new != old:
                _charge_holds(conn, entry_id, now, spent=new, window_delta=new - old, release=False)
            return self._get(conn, entry_id)

    def link(self, entry_id: int, request_id: str, note: str) -> Entry:
        """Attach the job that an ``unknown`` entry created (reconciliation proved the match)."""
        with self._tx() as conn:
            entry = self._get(conn, entry_id)
            return self._transition(
                conn, entry, (UNKNOWN, RESERVED), SUBMITTED, request_id=request_id, note=note
            )

    def resolve_unknown(self, entry_id: int, note: str) -> Entry:
        """A person checked the platform: the unknown submit created no job. Release its estimate."""
        with self._tx() as conn:
            entry = self._get(conn, entry_id)
            return self._transition(conn, entry, (UNKNOWN,), RELEASED, spent=0, note=note)

    def expire(self) -> list[Entry]:
        """Expire reservations past their TTL; return the entries changed.

        Never sent (no :meth:`mark_sending`) -> ``released``; sent -> ``unknown`` (still held).
        """
        now = self.now()
        c = schema.entries.c
        changed: list[Entry] = []
        with self._tx() as conn:
            rows = (
                conn.execute(select(schema.entries).where(and_(c.state == RESERVED, c.expires_at < now)))
                .mappings()
                .all()
            )
            for row in rows:
                entry = Entry.from_row(row)
                try:
                    changed.append(self._expire_one(conn, entry, now))
                except LedgerError:  # re-armed or moved on by its task meanwhile
                    continue
        return changed

    def _expire_one(self, conn: Connection, entry: Entry, now: datetime) -> Entry:
        if entry.sending_at is None:
            return self._transition(
                conn,
                entry,
                (RESERVED,),
                RELEASED,
                spent=0,
                note="reservation expired before any submit was sent",
                only_if_expired_before=now,
            )
        return self._transition(
            conn,
            entry,
            (RESERVED,),
            UNKNOWN,
            note="reservation expired while submitting: the POST may have created a job",
            only_if_expired_before=now,
        )

    # -- transitions ---------------------------------------------------------------------
    def _require(self, conn: Connection, identity: TaskIdentity | None) -> Entry:
        if identity is None:
            raise LedgerError("an identity or an entry id is required")
        latest = self._latest(conn, identity.key)
        if latest is None:
            raise LedgerError(f"no ledger entry for {identity.key}")
        return latest

    def _transition(
        self,
        conn: Connection,
        entry: Entry,
        from_states: Sequence[str],
        to_state: str,
        *,
        spent: int | None = None,
        only_if_expired_before: datetime | None = None,
        **values: Any,
    ) -> Entry:
        """Move ``entry`` to ``to_state`` if it is still in ``from_states``; move its money once.

        ``spent`` given: the holds are taken off ``reserved`` and ``spent`` is added to ``spent``.
        """
        now = self.now()
        c = schema.entries.c
        if entry.state not in from_states:
            raise LedgerError(
                f"ledger entry {entry.id} ({entry.ti_key}) is {entry.state}, cannot become {to_state}"
            )
        where = and_(c.id == entry.id, c.state.in_(list(from_states)))
        if only_if_expired_before is not None:
            where = and_(where, c.expires_at < only_if_expired_before)
        row_values: dict[str, Any] = {"state": to_state, "updated_at": now}
        if to_state == SUBMITTED:
            row_values["submitted_at"] = now
        if to_state in FINAL_STATES:
            row_values["finished_at"] = now
            row_values["expires_at"] = None
        if to_state == UNKNOWN:
            row_values["expires_at"] = None
        if spent is not None and to_state in (SUCCEEDED, FAILED):
            row_values["cost_micros"] = spent
        row_values.update({k: v for k, v in values.items() if v is not None})
        result = conn.execute(update(schema.entries).where(where).values(**row_values))
        if result.rowcount != 1:
            raise LedgerError(f"ledger entry {entry.id} changed concurrently; not moved to {to_state}")
        if spent is not None:
            _charge_holds(conn, entry.id, now, spent=spent, window_delta=spent, release=True)
        return self._get(conn, entry.id)


def _holds_of(entry_id: int) -> Any:
    """An entry's holds in budget-name order: every transaction locks window rows in that order."""
    return select(schema.holds).where(schema.holds.c.entry_id == entry_id).order_by(schema.holds.c.budget)


def _charge_holds(
    conn: Connection, entry_id: int, now: datetime, *, spent: int, window_delta: int, release: bool
) -> None:
    """Set each of an entry's holds to ``spent`` and add ``window_delta`` to its window's spend.

    ``release`` also returns the hold's reservation to the window (a job that ended: its
    estimate stops counting, its cost starts). Windows are updated in budget-name order.
    """
    w = schema.windows.c
    for hold in conn.execute(_holds_of(entry_id)).mappings().all():
        window_values: dict[str, Any] = {"spent_micros": w.spent_micros + window_delta, "updated_at": now}
        hold_values: dict[str, Any] = {"spent_micros": spent}
        if release:
            window_values["reserved_micros"] = w.reserved_micros - hold["reserved_micros"]
            hold_values["reserved_micros"] = 0
        conn.execute(
            update(schema.windows)
            .where(and_(w.budget == hold["budget"], w.window == hold["window"]))
            .values(**window_values)
        )
        conn.execute(
            update(schema.holds)
            .where(and_(schema.holds.c.entry_id == entry_id, schema.holds.c.budget == hold["budget"]))
            .values(**hold_values)
        )


def _is_deadlock(exc: SQLAlchemyError) -> bool:
    """PostgreSQL chose this transaction as a deadlock victim (or could not serialise it)."""
    return getattr(getattr(exc, "orig", None), "pgcode", None) in ("40P01", "40001")


def _is_connect_failure(exc: SQLAlchemyError) -> bool:
    """True when the error means the database could not be reached (not a SQL error)."""
    if getattr(exc, "connection_invalidated", False):
        return True
    text_ = str(getattr(exc, "orig", exc)).lower()
    needles = (
        "could not connect",
        "connection refused",
        "could not translate host",
        "timeout expired",
        "server closed the connection",
        "unable to open database",
        "no such host",
        "name or service not known",
        "terminating connection",
        "connection to server",
    )
    return any(n in text_ for n in needles)


__all__ = [
    "FAILED",
    "HELD_STATES",
    "RELEASED",
    "RESERVED",
    "STATES",
    "SUBMITTED",
    "SUCCEEDED",
    "UNKNOWN",
    "Entry",
    "JobSpec",
    "Ledger",
    "LedgerError",
    "LedgerUnavailableError",
    "Reservation",
    "ReservationLostError",
    "TaskIdentity",
    "WindowState",
    "make_engine",
]
