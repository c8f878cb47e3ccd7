"""Persistence: SQLAlchemy Core tables and their queries; the URL alone picks SQLite or PostgreSQL.

Each submodule holds the tables and queries of one concern and registers its tables on `metadata`:
`publications` (what the feeds published, so SEQUENCE survives restarts), `subscriptions`, `ledger`
(reminders and their delivery attempts). Nothing in the pure core imports this package.

Outages are bounded here: a PostgreSQL connect gives up after `CONNECT_TIMEOUT` seconds and a checkout
from a full pool after `POOL_TIMEOUT`, a SQLite write waits at most `SQLITE_BUSY_TIMEOUT` for a lock, so a
caller hears of an outage within seconds instead of hanging. `database_status(engine)` says whether the
last statement failed, for `/healthz` and `/readyz`.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from sqlalchemy import MetaData, Table, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.exc import DBAPIError

metadata = MetaData()

CONNECT_TIMEOUT = 5  # seconds for a PostgreSQL connection to open
POOL_TIMEOUT = 5.0  # seconds to wait for a pooled connection
SQLITE_BUSY_TIMEOUT = 5.0  # seconds a SQLite statement waits for another writer's lock

# SQLite errors after which a pooled connection must not be reused. A connection opened while the file
# was read-only stays read-only for its life ("attempt to write a readonly database" long after the
# file is writable again); one that lost its file answers "disk I/O error" for ever. Treating them as
# disconnects makes SQLAlchemy discard the pool, and the next checkout opens fresh connections.
_SQLITE_STALE = ("readonly database", "disk i/o error", "unable to open database")


def make_engine(
    url: str,
    *,
    busy_timeout: float = SQLITE_BUSY_TIMEOUT,
    connect_timeout: int = CONNECT_TIMEOUT,
    **kwargs: Any,
) -> Engine:
    """An engine for `url` whose outages surface within seconds; see the module docstring.

    SQLite gets WAL and a busy timeout so a web thread and the scheduler share it; PostgreSQL gets a
    connect timeout, a pool timeout and a liveness check on checkout (`pool_pre_ping`).
    """
    connect_args: dict[str, Any] = dict(kwargs.pop("connect_args", {}))
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1] if "///" in url else ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        connect_args.setdefault("timeout", busy_timeout)
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    else:
        connect_args.setdefault("connect_timeout", connect_timeout)
        kwargs.setdefault("pool_timeout", POOL_TIMEOUT)
        engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)
    database_status(engine)
    return engine


@dataclass
class DatabaseStatus:
    """What the last statements on one engine did, reads and writes apart (monotonic times).

    SQLite locked by another writer, or made read-only, still answers reads: a failed write must not
    be hidden by the next successful read. A failed write counts as "down" until a write succeeds,
    or for `WRITE_MEMORY` seconds when nothing tries again (a replica that only serves feeds).
    """

    read_ok_at: float | None = None
    write_ok_at: float | None = None
    read_error_at: float | None = None
    write_error_at: float | None = None
    error: str | None = None
    error_at: float | None = None  # monotonic time of the last failure of either kind
    wall_error_at: float | None = None  # time.time() of the last failure, for reports

    @property
    def down(self) -> bool:
        """Whether reads fail now, or writes failed lately with no success since."""
        read_down = _after(self.read_error_at, self.read_ok_at)
        write_down = _after(self.write_error_at, self.write_ok_at) and (
            time.monotonic() - (self.write_error_at or 0.0) < WRITE_MEMORY
        )
        return read_down or write_down


WRITE_MEMORY = 60.0


def _after(failed: float | None, ok: float | None) -> bool:
    return failed is not None and (ok is None or failed > ok)


_STATUSES: weakref.WeakKeyDictionary[Engine, DatabaseStatus] = weakref.WeakKeyDictionary()
_STATUS_LOCK = threading.Lock()


def database_status(engine: Engine) -> DatabaseStatus:
    """The live status of `engine`; the first call starts watching it (make_engine does so)."""
    with _STATUS_LOCK:
        status = _STATUSES.get(engine)
        if status is not None:
            return status
        status = _STATUSES[engine] = DatabaseStatus()

    def _ok(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        now = time.monotonic()
        if _is_write(statement):
            status.write_ok_at = now
        else:
            status.read_ok_at = now

    def _failed(context: ExceptionContext) -> None:
        exc = context.original_exception
        if not _is_input_error(engine, exc):
            now = time.monotonic()
            if context.statement is None or _is_write(context.statement):  # no connection: both fail
                status.write_error_at = now
            if context.statement is None or not _is_write(context.statement):
                status.read_error_at = now
            status.error_at, status.wall_error_at = now, time.time()
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            status.error = f"{type(exc).__name__}: {first_line}"[:300]
        if engine.dialect.name == "sqlite" and any(m in str(exc).lower() for m in _SQLITE_STALE):
            context.is_disconnect = True

    event.listen(engine, "after_cursor_execute", _ok)
    event.listen(engine, "handle_error", _failed)
    return status


def _is_write(statement: str) -> bool:
    return statement.lstrip()[:6].upper() in {"INSERT", "UPDATE", "DELETE"}


def _is_input_error(engine: Engine, exc: BaseException) -> bool:
    """Whether `exc` is about the statement or its values (a duplicate key, bad text), not an outage."""
    dbapi = engine.dialect.loaded_dbapi
    kinds = tuple(getattr(dbapi, n) for n in ("IntegrityError", "DataError", "ProgrammingError"))
    return isinstance(exc, kinds)


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
    from calendar_service.adapters.db import _registry  # noqa: F401

    for attempt in range(1, attempts + 1):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
                # One catalogue query for the tables there, then only the missing ones are made: a
                # start-up on a complete schema (every web worker's) reads the catalogue three times,
                # not three times per table.
                existing = set(inspect(conn).get_table_names())
                missing = [table for table in metadata.sorted_tables if table.name not in existing]
                if missing:
                    metadata.create_all(conn, tables=missing, checkfirst=True)
                _add_missing_columns(conn, [t for t in metadata.sorted_tables if t.name in existing])
            return
        except DBAPIError as exc:
            if attempt == attempts or "already exists" not in str(exc.orig):
                raise
            time.sleep(0.05 * attempt)


def _add_missing_columns(conn: Connection, tables: list[Table]) -> None:
    """Add the nullable columns (and indexes) a newer version declares to `tables` an older one created.

    `create_all` makes missing tables only; without this a database from before a column was added
    (the ledger's digest columns, `subscriptions.digest`) would fail every query naming it.
    """
    if not tables:
        return
    inspector = inspect(conn)
    names = [table.name for table in tables]
    # Keyed by (schema, table); the schema is None for the connection's default one.
    columns = inspector.get_multi_columns(filter_names=names)
    indexes = inspector.get_multi_indexes(filter_names=names)
    for table in tables:
        present = {column["name"] for column in columns.get((None, table.name), [])}
        for column in table.columns:
            if column.name not in present and column.nullable:
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))
        made = {index["name"] for index in indexes.get((None, table.name), [])}
        for index in table.indexes:
            if index.name not in made:
                index.create(conn)
