"""Running `trade-calendar subscriptions` in a process of its own, on an environment the test sets."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy.engine import Engine

from calendar_service.adapters.db import create_schema, make_engine
from calendar_service.cli import main


def engine_of(env: dict[str, str]) -> Engine:
    engine = make_engine(env["TRADE_CALENDAR_DATABASE_URL"])
    create_schema(engine)
    return engine


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr
