"""Persistence: SQLAlchemy Core tables and their queries; the URL alone picks SQLite or PostgreSQL.

Each submodule holds the tables and queries of one concern and registers its tables on `metadata`:
`publications` (what the feeds published, so SEQUENCE survives restarts), `subscriptions`, `ledger`
(reminders and their delivery attempts). Nothing in the pure core imports this package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine

metadata = MetaData()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so a web thread and the scheduler share it."""
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1] if "///" in url else ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def create_schema(engine: Engine) -> None:
    """Create every table that does not exist yet (idempotent, safe from several processes)."""
    # Import for the side effect of registering each concern's tables on `metadata`.
    from . import _registry  # noqa: F401

    metadata.create_all(engine, checkfirst=True)
