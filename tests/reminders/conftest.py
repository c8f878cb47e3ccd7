"""Fixtures for the reminder tests: a ledger database on SQLite and (marked) on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from calendar_service.adapters.db import create_schema, make_engine
from tests.dbtargets import BACKENDS, postgres_schema


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, or a unique PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'ledger.sqlite3').as_posix()}"
        return
    with postgres_schema("rem") as schema:
        yield schema.url_text()


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
