"""Fixtures of the subscription API tests: an app with management on, over its own SQLite file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
from tests.support.management import OLD_TOKEN, TOKEN
from tests.support.paths import TESTS_DATA


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """One SQLite file for the app and the test (the API tests need no second backend)."""
    eng = make_engine(f"sqlite:///{tmp_path / 'api.sqlite3'}")
    create_schema(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def make_app(engine: Engine, clock: SettableClock) -> Callable[..., Flask]:
    """The app on small.yaml, the test's engine and clock, with settings overridden as asked."""

    def build(**overrides: Any) -> Flask:
        values: dict[str, Any] = {"admin_tokens": (OLD_TOKEN, TOKEN), "allow_private_webhooks": False}
        values.update(overrides)
        settings = Settings.from_env({}, data_path=TESTS_DATA / "small.yaml", **values)
        return create_app(settings, clock=clock, engine=engine)

    return build


@pytest.fixture
def client(make_app: Callable[..., Flask]) -> FlaskClient:
    """A test client of the app with management on."""
    return make_app().test_client()
