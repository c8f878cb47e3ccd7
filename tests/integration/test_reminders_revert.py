"""Finding 1 of issue 17 with a real `trade-calendar serve`: a curator moves a deadline (an atomic
rename, as editors and `git checkout` write) and then reverts it; the subscriber's reminders for the
restored deadline are pending again, the very rows first planned, on SQLite and on PostgreSQL.

Before reconciliation the move cancelled them and nothing ever re-opened them: the revert left the
subscriber with no reminder at all for a deadline the calendar showed again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from sqlalchemy.engine import Engine

from calendar_service.adapters.db import ledger, make_engine
from tests.support.dbtargets import BACKENDS, postgres_schema
from tests.support.paths import TESTS_DATA
from tests.support.polling import poll
from tests.support.processes import free_port
from tests.support.receiver import Receiver
from tests.support.stack import AUTH, Stack

EVENT = "reciprocal-tariff"
WAS = dt.datetime(2027, 7, 9, 4, 1, tzinfo=dt.UTC)  # 2027-07-09 00:01 New York
MOVED = dt.datetime(2027, 8, 1, 4, 1, tzinfo=dt.UTC)
THERE = ("2027-07-09T04:01:00Z", "2027-08-01T04:01:00Z")  # (old, new) in the notice of the move
BACK = THERE[::-1]
LEADS = {"P7D", "P1D", "PT1H"}  # the default lead times


@contextmanager
def database(backend: str, directory: Path) -> Iterator[str]:
    """The URL of an empty database for the server: a SQLite file, or a PostgreSQL schema of its own."""
    if backend == "sqlite":
        yield f"sqlite:///{(directory / 'serve.sqlite3').as_posix()}"
        return
    with postgres_schema("revert") as schema:
        yield schema.url_text()


def replace_atomically(path: Path, text: str) -> None:
    """Write `text` beside `path` and rename it over `path`: readers see the old file or the new one."""
    spare = path.with_name(path.name + ".new")
    spare.write_text(text, encoding="utf-8")
    os.replace(spare, path)


def pending(engine: Engine, deadline: dt.datetime) -> set[str] | None:
    """The ids of the event's pending reminders for `deadline`, once all three lead times are there."""
    rows = ledger.list_rows(engine, state="pending")
    mine = {r["id"]: r["lead_time"] for r in rows if r["event_id"] == EVENT and r["deadline_at"] == deadline}
    return set(mine) if set(mine.values()) == LEADS else None


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_reverted_move_leaves_the_reminders_pending(backend: str, tmp_path: Path) -> None:
    data = tmp_path / "events.yaml"
    shutil.copyfile(TESTS_DATA / "future.yaml", data)
    original = data.read_text(encoding="utf-8")
    moved = original.replace("    date: 2027-07-09\n", "    date: 2027-08-01\n", 1)
    assert moved != original
    with database(backend, tmp_path) as url, Receiver() as rx:
        stack = Stack(tmp_path, url, data)
        engine = make_engine(url)
        try:
            port = free_port()
            serve = stack.start_serve("serve", port)
            base = f"http://127.0.0.1:{port}"
            stack.wait_ready(serve, base + "/readyz", timeout=60)  # Python starts slowly on a busy machine
            created = requests.post(base + "/api/v1/subscriptions", json={"url": rx.url + "/hook"},
                                    headers=AUTH, timeout=10)  # fmt: skip
            assert created.status_code == 201, created.text
            first = poll("the reminders planned", lambda: pending(engine, WAS))

            replace_atomically(data, moved)
            poll("the reminders of the new deadline", lambda: pending(engine, MOVED))
            assert pending(engine, WAS) is None, "the move cancels the old deadline's reminders"

            replace_atomically(data, original)
            again = poll("the reminders pending again after the revert", lambda: pending(engine, WAS))
            assert again == first  # the same rows, re-opened: their ids are what receivers deduplicate on
            poll("the moved deadline's reminders cancelled", lambda: pending(engine, MOVED) is None or None)

            # The subscriber heard about both changes, and no reminder went out (they fall due in 2027).
            notices = [json.loads(r.body) for r in rx.wait_for(2, timeout=15)]
            kinds = sorted(body["type"] for body in notices)
            assert kinds == ["event.rescheduled", "event.rescheduled"], kinds
            moves = {(n["data"]["old"]["utc"], n["data"]["new"]["utc"]) for n in notices}
            assert moves == {
                ("2027-07-09T04:01:00Z", "2027-08-01T04:01:00Z"),
                ("2027-08-01T04:01:00Z", "2027-07-09T04:01:00Z"),
            }
        finally:
            stack.close()
            engine.dispose()
    assert serve.popen.returncode == 0, serve.output()
