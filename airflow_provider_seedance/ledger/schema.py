"""The ledger's tables (SQLAlchemy Core) and their migrations.

The provider owns these tables and creates or upgrades them itself, in the database the ledger
connection names (never Airflow's metadata database):

* ``seedance_ledger_schema``: one row per applied schema version.
* ``seedance_ledger_entries``: one row per submit attempt of a task instance.
* ``seedance_budget_windows``: one row per budget and window (a day, a month, or ``total``):
  its limit and the micro-dollars held (``reserved``) and spent in it. Reservations lock this
  row, so concurrent reservations for one window are serialised by the database.
* ``seedance_ledger_holds``: what an entry holds or spent in each budget window it counts
  against, so a release or a settlement moves exactly what was reserved.

:func:`migrate` is idempotent and safe to run from many processes at once: PostgreSQL takes an
advisory transaction lock, SQLite a ``BEGIN IMMEDIATE`` write lock, before reading the version.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    insert,
    select,
    text,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

#: The schema version this code writes. Add a step to :data:`MIGRATIONS` to change the tables.
SCHEMA_VERSION = 1
#: PostgreSQL advisory lock id of the migration (any constant; "seedance" in ASCII, truncated).
_MIGRATION_LOCK = 0x5EEDA7CE


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database (SQLite keeps no offsets)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("ledger timestamps must be timezone-aware")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


metadata = MetaData()

schema_versions = Table(
    "seedance_ledger_schema",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

entries = Table(
    "seedance_ledger_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # The task instance, try-independent: dag_id|run_id|task_id|map_index.
    Column("ti_key", String(750), nullable=False),
    # 1, 2, ...: a task instance that submits a new job after its earlier job ended gets a new row.
    Column("attempt", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("platform", String(32), nullable=False),
    Column("account", String(250), nullable=False),
    Column("request_id", String(250), nullable=True),
    Column("mode", String(32), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("resolution", String(16), nullable=False),
    Column("duration", String(8), nullable=False),
    Column("aspect_ratio", String(8), nullable=True),
    Column("seed", BigInteger, nullable=True),
    Column("generate_audio", Boolean, nullable=True),
    Column("has_video_inputs", Boolean, nullable=False, default=False),
    Column("prompt_sha256", String(64), nullable=True),
    Column("estimate_micros", BigInteger, nullable=False),
    Column("estimate_basis", Text, nullable=False),
    Column("cost_micros", BigInteger, nullable=True),
    Column("cost_basis", Text, nullable=True),
    Column("usage_tokens", BigInteger, nullable=True),
    Column("dag_id", String(250), nullable=False),
    Column("run_id", String(250), nullable=False),
    Column("task_id", String(250), nullable=False),
    Column("map_index", Integer, nullable=False),
    Column("try_number", Integer, nullable=False),
    # Campaign tags as ",a,b," (sorted), so one LIKE finds a tag; "" without tags.
    Column("campaign_tags", String(1000), nullable=False, default=""),
    Column("reserved_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("sending_at", UTCDateTime, nullable=True),
    Column("submitted_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("note", Text, nullable=True),
    UniqueConstraint("ti_key", "attempt", name="uq_seedance_ledger_ti_attempt"),
    Index("ix_seedance_ledger_request", "platform", "request_id"),
    Index("ix_seedance_ledger_state", "state", "expires_at"),
    Index("ix_seedance_ledger_reserved_at", "reserved_at"),
)

windows = Table(
    "seedance_budget_windows",
    metadata,
    Column("budget", String(250), primary_key=True),
    Column("window", String(32), primary_key=True),
    Column("window_start", UTCDateTime, nullable=True),
    Column("window_end", UTCDateTime, nullable=True),
    Column("limit_micros", BigInteger, nullable=False),
    Column("reserved_micros", BigInteger, nullable=False, default=0),
    Column("spent_micros", BigInteger, nullable=False, default=0),
    Column("updated_at", UTCDateTime, nullable=False),
)

holds = Table(
    "seedance_ledger_holds",
    metadata,
    Column("entry_id", Integer, primary_key=True, autoincrement=False),
    Column("budget", String(250), primary_key=True),
    Column("window", String(32), nullable=False),
    Column("reserved_micros", BigInteger, nullable=False),
    Column("spent_micros", BigInteger, nullable=False, default=0),
)

_V1_TABLES = (entries, windows, holds)


def _v1(conn: Connection) -> None:
    for table in _V1_TABLES:
        table.create(conn, checkfirst=True)


#: version -> step that brings the tables from version-1 to version.
MIGRATIONS = {1: _v1}


def current_version(conn: Connection) -> int:
    """The highest applied version, 0 for an empty database."""
    if not conn.dialect.has_table(conn, schema_versions.name, schema=_schema_of(conn)):
        return 0
    value = conn.execute(select(func.max(schema_versions.c.version))).scalar()
    return int(value or 0)


def _schema_of(conn: Connection) -> str | None:
    translate = conn.get_execution_options().get("schema_translate_map") or {}
    schema: str | None = translate.get(None)
    return schema


def migrate(engine: Engine) -> int:
    """Create or upgrade the ledger's tables; return the schema version. Idempotent, concurrent-safe."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            schema = _schema_of(conn)
            if schema:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        version = current_version(conn)
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"the ledger database has schema version {version}, newer than this provider's "
                f"{SCHEMA_VERSION}: upgrade airflow-provider-seedance"
            )
        schema_versions.create(conn, checkfirst=True)
        for step in range(version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[step](conn)
            conn.execute(insert(schema_versions).values(version=step, applied_at=datetime.now(timezone.utc)))
    return SCHEMA_VERSION
