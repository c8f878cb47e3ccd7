"""Database targets for the persistence tests: a SQLite file, or a PostgreSQL schema of its own.

Parametrize a fixture with `BACKENDS` and, for the `postgres` case, open `postgres_schema(prefix)`: it
creates a uniquely named schema so parallel runs never see each other's rows, and drops it afterwards.
Point engines at the schema with `schema.connect_args` (or, for a child process, `schema.url_text()`).
`SharedTables` is the cheaper kind most tests want: one schema with every table for the whole run (per
pytest-xdist worker), emptied before each test that takes it.

The server is `TRADE_CALENDAR_TEST_POSTGRES_URL` when set (CI sets it). When it is not, the first test
that needs PostgreSQL starts one throwaway cluster for the whole run (`pgcluster.py`: its own data
directory and free port, removed at exit), so a plain `pytest` runs every test; only where no PostgreSQL
binaries exist do those tests skip, with the reason. `conftest.py` says in one line which it was. Under
pytest-xdist "the run" is each worker process: each has its own schema, and its own cluster if it
needs one (a second cluster costs a worker a few seconds once; sharing one would need the last worker
out to stop it).
"""

from __future__ import annotations

import atexit
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

from calendar_service.adapters.db import create_schema, make_engine, metadata
from tests.support.pgcluster import PgCluster, missing_reason

POSTGRES_ENV = "TRADE_CALENDAR_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_url_or_skip() -> str:
    """The test PostgreSQL URL: the configured server, else the run's own cluster (or skip, saying why)."""
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url
    reason = missing_reason()
    if reason is not None:
        pytest.skip(f"PostgreSQL: {POSTGRES_ENV} is not set and no cluster can be started here: {reason}")
    return shared_cluster().url


class _Run:
    """The run's one throwaway cluster, started on first use."""

    cluster: PgCluster | None = None


def shared_cluster() -> PgCluster:
    """Start (once per run) the cluster the PostgreSQL tests use when no server is configured."""
    if _Run.cluster is None:
        cluster = PgCluster()
        atexit.register(cluster.close)  # after the last test, whatever happened
        _Run.cluster = cluster
    return _Run.cluster


def postgres_summary() -> str:
    """One line for the end of the run: which PostgreSQL the tests used, or why they skipped."""
    if os.environ.get(POSTGRES_ENV):
        server = make_url(os.environ[POSTGRES_ENV]).render_as_string()  # the password hidden
        return f"PostgreSQL tests ran on {server} ({POSTGRES_ENV})"
    if _Run.cluster is not None:
        return f"PostgreSQL tests ran on a throwaway cluster this run started (port {_Run.cluster.port})"
    reason = missing_reason()
    if reason is not None:
        return f"PostgreSQL tests skipped: {POSTGRES_ENV} is not set and {reason}"
    return NONE_SELECTED


NONE_SELECTED = "PostgreSQL tests: none selected in this run"


def postgres_lines(from_workers: list[str]) -> list[str]:
    """The summary's PostgreSQL lines: this process's, or under pytest-xdist those of the workers.

    Each worker with no server configured starts its own cluster, so there may be one line per worker;
    a worker that happened to run no PostgreSQL test says nothing when another did.
    """
    if not from_workers:
        return [postgres_summary()]
    return [line for line in from_workers if line != NONE_SELECTED] or [NONE_SELECTED]


class PostgresSchema:
    """A throwaway schema on the test server, so parallel runs never see each other's rows."""

    def __init__(self, url: str, prefix: str) -> None:
        self.server_url = url
        self.name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.admin = make_engine(url)
        with self.admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))
        # `options` reaches libpq: every connection made with it uses the schema.
        self.connect_args: dict[str, Any] = {"options": f"-csearch_path={self.name}"}
        self.url = make_url(url).update_query_dict(self.connect_args)

    def url_text(self) -> str:
        """The URL with the schema in it, password included (for a child process)."""
        return self.url.render_as_string(hide_password=False)

    def drop(self) -> None:
        """Remove the schema and everything in it."""
        with self.admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        self.admin.dispose()


class SharedTables:
    """One schema with every table, shared by a run's tests one after the other; each gets it empty.

    Creating a schema and its tables, then dropping them, costs a PostgreSQL test about 0.3 s of setup;
    deleting the few rows a test leaves costs a tenth of that (TRUNCATE is as slow as creating: it makes
    new files). A test that leaks an open transaction holding rows cannot make the next one wait or see
    them: after `LOCK_WAIT` the next test gets a schema of its own.
    """

    LOCK_WAIT = "5s"

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.schemas: list[PostgresSchema] = []

    def empty(self) -> PostgresSchema:
        """The shared schema with every table created and no rows (sequences restarted)."""
        if self.schemas:
            try:
                self._delete_rows(self.schemas[-1])
                return self.schemas[-1]
            except OperationalError:  # lock_timeout: a leaked transaction still holds rows
                pass
        schema = PostgresSchema(postgres_url_or_skip(), self.prefix)
        self.schemas.append(schema)
        engine = make_engine(schema.url_text())
        try:
            create_schema(engine)
        finally:
            engine.dispose()
        return schema

    @staticmethod
    def _delete_rows(schema: PostgresSchema) -> None:
        known = [table.name for table in reversed(metadata.sorted_tables)]  # referencing tables first
        with schema.admin.begin() as conn:
            conn.execute(text(f"SET LOCAL lock_timeout = '{SharedTables.LOCK_WAIT}'"))
            tables = text("SELECT tablename FROM pg_tables WHERE schemaname = :s")
            present = set(conn.execute(tables, {"s": schema.name}).scalars())
            # Tables a test made itself go first, then ours in an order the foreign keys allow.
            for name in [*sorted(present - set(known)), *(n for n in known if n in present)]:
                conn.execute(text(f'DELETE FROM "{schema.name}"."{name}"'))
            sequences = conn.execute(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = :s"), {"s": schema.name}
            ).scalars()
            for sequence in list(sequences):
                conn.execute(text(f'ALTER SEQUENCE "{schema.name}"."{sequence}" RESTART'))

    def close(self) -> None:
        """Drop every schema this made."""
        for schema in self.schemas:
            schema.drop()
        self.schemas.clear()


@contextmanager
def postgres_schema(prefix: str) -> Iterator[PostgresSchema]:
    """A fresh schema named `prefix_<random>` on the test server (or skip), dropped on the way out."""
    schema = PostgresSchema(postgres_url_or_skip(), prefix)
    try:
        yield schema
    finally:
        schema.drop()


@contextmanager
def database_engine(backend: str, directory: Path, prefix: str) -> Iterator[Engine]:
    """An engine with every table created: a SQLite file in `directory`, or a PostgreSQL schema."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{(directory / f'{prefix}.sqlite3').as_posix()}")
        create_schema(engine)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with postgres_schema(prefix) as schema:
        engine = make_engine(schema.url_text())
        try:
            create_schema(engine)
            yield engine
        finally:
            engine.dispose()
