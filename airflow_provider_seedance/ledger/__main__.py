"""``python -m airflow_provider_seedance.ledger``: create or upgrade the ledger's tables.

    python -m airflow_provider_seedance.ledger migrate --conn-id seedance_ledger [--create-database]
    python -m airflow_provider_seedance.ledger migrate --url postgresql+psycopg2://u@db/seedance_ledger

``--create-database`` first creates a missing PostgreSQL database (through the server's
``postgres`` maintenance database), for a compose file's init step. Tasks migrate on first use
anyway; this is for deployments that want the tables before the first run.
"""

from __future__ import annotations

import argparse
import sys

from airflow_provider_seedance.ledger.store import Ledger, LedgerError, redacted_url


def ensure_postgres_database(url: str) -> bool:
    """Create the database ``url`` names when it does not exist; return True if it was created."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    if target.get_backend_name() != "postgresql" or not target.database:
        return False
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}
            ).first()
            if exists:
                return False
            quoted = target.database.replace('"', '""')
            conn.execute(text(f'CREATE DATABASE "{quoted}"'))
            return True
    finally:
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_seedance.ledger")
    sub = parser.add_subparsers(dest="command", required=True)
    migrate = sub.add_parser("migrate", help="create or upgrade the ledger's tables")
    where = migrate.add_mutually_exclusive_group(required=True)
    where.add_argument("--conn-id", help="the ledger's Airflow connection id")
    where.add_argument("--url", help="a SQLAlchemy URL")
    migrate.add_argument("--schema", help="PostgreSQL schema (with --url)")
    migrate.add_argument(
        "--create-database", action="store_true", help="create a missing PostgreSQL database"
    )
    args = parser.parse_args(argv)
    if args.conn_id:
        from airflow_provider_seedance.ledger.airflow import ledger_settings

        settings = ledger_settings(args.conn_id)
        url, schema = settings["url"], settings["schema"]
    else:
        url, schema = args.url, args.schema
    try:
        if args.create_database and ensure_postgres_database(url):
            print(f"created database {redacted_url(url)}")
        version = Ledger(url, schema=schema).migrate()
    except LedgerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"ledger {redacted_url(url)} is at schema version {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
