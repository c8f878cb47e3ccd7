"""Persistence: SQLAlchemy Core tables and their queries; the URL alone picks SQLite or PostgreSQL.

Each submodule holds the tables and queries of one concern and registers its tables on `metadata`:
`publications` (what the feeds published, so SEQUENCE survives restarts), `subscriptions`, `ledger`
(reminders and their delivery attempts). Nothing in the pure core imports this package.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any, overload

from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

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


@overload
def as_utc(value: None) -> None: ...
@overload
def as_utc(value: dt.datetime | str) -> dt.datetime: ...
def as_utc(value: dt.datetime | str | None) -> dt.datetime | None:
    """A stored time as an aware UTC datetime: SQLite hands back naive ones (everything stored is UTC),
    and text where an aggregate (min over a coalesce) loses the column type."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# Any constant works; it names "schema creation" among the advisory locks of this database.
_SCHEMA_LOCK = 0x7C_A1_E0_DA


def create_schema(engine: Engine, *, attempts: int = 5) -> None:
    """Create every table that does not exist yet; idempotent and safe from several processes at once.

    gunicorn boots its workers together, and each creates the schema: without care two of them both
    see a table missing and the slower one dies with "already exists". PostgreSQL serialises them on an
    advisory lock; SQLite has none, so a loser simply tries again and then finds the tables there.
    """
    # Import for the side effect of registering each concern's tables on `metadata`.
    from . import _registry  # noqa: F401

    for attempt in range(1, attempts + 1):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
                metadata.create_all(conn, checkfirst=True)
            return
        except DBAPIError as exc:
            if attempt == attempts or "already exists" not in str(exc.orig):
                raise
            time.sleep(0.05 * attempt)
