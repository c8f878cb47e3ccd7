"""Fixtures for the reminder tests: a ledger database on SQLite and (marked) on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from calendar_service.db import create_schema, make_engine

POSTGRES_ENV = "TRADE_CALENDAR_TEST_POSTGRES_URL"


def postgres_url_or_skip() -> str:
    """The test PostgreSQL URL, or skip saying which variable to set."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL persistence tests skipped")
    return url


class PostgresSchema:
    """A throwaway schema on the test server, so parallel runs never see each other's rows."""

    def __init__(self, url: str) -> None:
        self.name = f"rem_{uuid.uuid4().hex[:12]}"
        self.admin = make_engine(url)
        with self.admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))
        # `options` reaches libpq: every connection of engines built from this URL uses the schema.
        self.url = make_url(url).update_query_dict({"options": f"-csearch_path={self.name}"})

    def url_text(self) -> str:
        """The URL with the schema in it, password included (for a child process)."""
        return self.url.render_as_string(hide_password=False)

    def drop(self) -> None:
        """Remove the schema and everything in it."""
        with self.admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        self.admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, or a unique PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'ledger.sqlite3').as_posix()}"
        return
    schema = PostgresSchema(postgres_url_or_skip())
    try:
        yield schema.url_text()
    finally:
        schema.drop()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on `database_url` with every table created."""
    eng = make_engine(database_url)
    create_schema(eng)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """An engine on a SQLite file only (for tests about behaviour, not persistence)."""
    eng = make_engine(f"sqlite:///{(tmp_path / 'ledger.sqlite3').as_posix()}")
    create_schema(eng)
    try:
        yield eng
    finally:
        eng.dispose()
