"""Fixtures shared by every folder: a settable clock, a database on both backends, a loopback webhook
receiver, and the web app on a copy of the sample data (served for real by `live_server`).

Helpers that are not fixtures live in `tests/support/`; no test module imports another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import create_schema, make_engine
from calendar_service.adapters.settings import Settings
from calendar_service.web import create_app
from tests.support.dbtargets import BACKENDS, SharedTables, postgres_lines, postgres_summary
from tests.support.figures import FIGURES, POSTGRES_LINES, hand_over, take_over
from tests.support.paths import TESTS_DATA
from tests.support.receiver import Receiver
from tests.support.templates import share_compiled_templates
from tests.support.webapp import LiveServer, run_server, sample_yaml

share_compiled_templates()  # each app compiles nothing another app of this process compiled already


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures tests measured, and which PostgreSQL the `postgres` tests used (or why not)."""
    figures = terminalreporter.config.stash.get(FIGURES, [])
    if figures:
        terminalreporter.section("figures measured by the tests")
        for text in figures:
            terminalreporter.write_line(text)
    # Under pytest-xdist the workers ran the tests: their lines, one per PostgreSQL they used.
    for line in postgres_lines(terminalreporter.config.stash.get(POSTGRES_LINES, [])):
        terminalreporter.write_line(line)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """On a pytest-xdist worker, hand the summary's lines to the controller (see support/figures.py)."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        hand_over(session.config.stash, workeroutput, postgres_summary())


@pytest.hookimpl(optionalhook=True)  # an xdist hook: pytest without xdist has no such hook
def pytest_testnodedown(node: Any, error: object) -> None:
    """On the pytest-xdist controller, take a finished worker's summary lines."""
    take_over(node.config.stash, getattr(node, "workeroutput", {}))


@pytest.fixture
def clock() -> SettableClock:
    """A clock set to a fixed instant; tests move it by hand."""
    return SettableClock(dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC))


@pytest.fixture(scope="session")
def shared_postgres() -> Iterator[SharedTables]:
    """The run's PostgreSQL schema with every table (per xdist worker), emptied for each test."""
    tables = SharedTables("run")
    try:
        yield tables
    finally:
        tables.close()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL: a fresh SQLite file, or the run's PostgreSQL schema with no rows in it.

    The PostgreSQL schema already has every table; nothing else about the database may be assumed.
    """
    if request.param == "sqlite":
        return f"sqlite:///{(tmp_path / 'ledger.sqlite3').as_posix()}"
    shared: SharedTables = request.getfixturevalue("shared_postgres")
    return shared.empty().url_text()


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


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A recording HTTP receiver on a free 127.0.0.1 port, stopped after the test."""
    rx = Receiver()
    try:
        yield rx
    finally:
        rx.close()


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    """A private, editable copy of the sample data."""
    path = tmp_path / "events.yaml"
    path.write_text(sample_yaml(), encoding="utf-8")
    return path


@pytest.fixture
def settings(tmp_path: Path, data_file: Path) -> Settings:
    """Settings on the data copy and a private SQLite file; reloads checked on every request.

    An edit is read at once (`reload_settle` 0): these tests replace whole files
    (`tests.support.paths.replace_file`); the wait for a file being written is tested on its own
    (tests/integration/test_torn_writes.py).
    """
    return Settings.from_env(
        {}, data_path=data_file, state_dir=tmp_path / "state", reload_interval=0.001, base_url="",
        reload_settle=0,
    )  # fmt: skip


@pytest.fixture
def app(settings: Settings, clock: SettableClock) -> Flask:
    """The application, built the way gunicorn builds it, with the settable clock."""
    return create_app(settings, clock=clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of `app`."""
    return app.test_client()


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The real app on a free loopback port (werkzeug's threaded server)."""
    server, thread = run_server(app)
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "TRADE_CALENDAR_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "TRADE_CALENDAR_DATA_PATH": str(TESTS_DATA / "small.yaml"),
        "TRADE_CALENDAR_ALLOW_PRIVATE_WEBHOOKS": "false",
    }
