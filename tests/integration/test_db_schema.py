"""Several processes creating the schema at once (gunicorn workers booting together) all succeed."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, Table, inspect

from calendar_service.adapters.db import create_schema, ledger, make_engine, metadata
from calendar_service.adapters.db import subscriptions as subs_db
from tests.support.dbtargets import postgres_schema

# Each process imports first, then waits for a common start instant, so they really race.
PROBE = """
import sys, time
from calendar_service.adapters.db import make_engine, create_schema
url, schema, start_at = sys.argv[1], sys.argv[2], float(sys.argv[3])
kwargs = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
engine = make_engine(url, **kwargs)
time.sleep(max(0.0, start_at - time.time()))
create_schema(engine)
"""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A database URL and (for PostgreSQL) an empty schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}", ""
        return
    with postgres_schema("t_schema") as schema:
        yield schema.server_url, schema.name


def test_processes_creating_the_schema_at_once_all_succeed(target: tuple[str, str]) -> None:
    url, schema = target
    start_at = str(time.time() + 1.2)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PROBE, url, schema, start_at], stderr=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    failures = [p.stderr.read() if p.stderr else "" for p in procs if p.wait(timeout=60) != 0]
    for p in procs:
        if p.stderr:
            p.stderr.close()
    assert failures == []
    kwargs = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
    engine = make_engine(url, **kwargs)
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


NEW_COLUMNS = {
    "subscriptions": {"digest"},
    "reminder_outbox": {"digest_key", "digest_id"},
    "delivery_attempts": {"members"},
}


def test_a_database_from_before_digests_gets_their_columns(target: tuple[str, str]) -> None:
    url, schema = target
    kwargs = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
    engine = make_engine(url, **kwargs)
    # The tables as the previous version created them: without the columns digests added.
    old = MetaData()
    for table in metadata.sorted_tables:
        gone = NEW_COLUMNS.get(table.name, set())
        Table(
            table.name,
            old,
            *[
                Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
                for c in table.columns
                if c.name not in gone
            ],
        )
    old.create_all(engine)
    create_schema(engine)
    for name, columns in NEW_COLUMNS.items():
        assert columns <= {c["name"] for c in inspect(engine).get_columns(name)}
    assert "ix_reminder_outbox_digest" in {i["name"] for i in inspect(engine).get_indexes("reminder_outbox")}
    assert subs_db.list_subscriptions(engine) == []
    assert ledger.list_rows(engine) == []
    engine.dispose()
