"""Real database outages for the reminder tests: a SQLite file locked by another writer, a PostgreSQL
cluster the test owns stopped as if it crashed (`pg_ctl stop -m immediate`) and started again.

    with database_outage(kind, tmp_path) as outage:   # kind: "sqlite" or "postgres"
        engine = outage.engine                        # tables created
        outage.begin(); ...; outage.end()
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from calendar_service.adapters.db import create_schema, make_engine
from tests.support.pgcluster import PgCluster, missing_reason

KINDS = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason())),
        ],
    ),
]


class SqliteLock:
    """Another process's write lock on the file: writes wait `busy_timeout`, then fail ("locked")."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.engine = make_engine(f"sqlite:///{path.as_posix()}", connect_args={"timeout": 0.1})
        self._locker: sqlite3.Connection | None = None

    def begin(self) -> None:
        """Take the write lock and hold it (readers still read: SQLite's WAL lets them)."""
        self._locker = sqlite3.connect(self.path, isolation_level=None, timeout=5)
        self._locker.execute("BEGIN EXCLUSIVE")

    def end(self) -> None:
        """Let go of the lock."""
        if self._locker is not None:
            self._locker.execute("ROLLBACK")
            self._locker.close()
            self._locker = None


class PostgresCrash:
    """A private cluster, crashed (`stop -m immediate`) at `begin` and started again at `end`."""

    def __init__(self, cluster: PgCluster) -> None:
        self.cluster = cluster
        self.engine = make_engine(cluster.url)

    def begin(self) -> None:
        """Kill the server: every statement and connection fails until `end`."""
        self.cluster.stop("immediate")

    def end(self) -> None:
        """Start the server again (crash recovery); nothing in the service is restarted."""
        self.cluster.start()


@contextmanager
def database_outage(kind: str, tmp_path: Path) -> Iterator[SqliteLock | PostgresCrash]:
    """An engine with the tables created, and a way to take its database away and bring it back."""
    if kind == "sqlite":
        outage: SqliteLock | PostgresCrash = SqliteLock(tmp_path / "ledger.sqlite3")
        cluster = None
    else:
        cluster = PgCluster()
        outage = PostgresCrash(cluster)
    engine: Engine = outage.engine
    try:
        create_schema(engine)
        yield outage
    finally:
        if isinstance(outage, SqliteLock):
            outage.end()
        engine.dispose()
        if cluster is not None:
            cluster.close()
