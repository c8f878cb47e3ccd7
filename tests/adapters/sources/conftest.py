"""Fixtures for the source watch: a replay site, a SQLite database, an events file citing the site."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import create_schema, make_engine
from tests.support.replay import ReplayServer
from tests.support.sources import NOW


@pytest.fixture
def site() -> Iterator[ReplayServer]:
    with ReplayServer() as server:
        yield server


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'watch.sqlite3'}")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(NOW)
