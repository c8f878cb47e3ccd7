"""SendTimeCheck: a chunk of messages due together costs one read, only what changed is read in full, and
an outage sends as claimed (the reads here are the real queries on a SQLite file, counted)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection

import pytest
from sqlalchemy.engine import Engine

from calendar_service.adapters.db import subscriptions as db
from calendar_service.core.subscriptions import Subscription
from calendar_service.worker.sendtime import SendTimeCheck

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _sub(n: int) -> Subscription:
    return Subscription(id=f"sub_{n}", url=f"https://93.184.215.14/{n}", filter={}, secret="s", created_at=T0,
                        updated_at=T0)  # fmt: skip


class Counted:
    """The two reads delivery uses, on a real database, counting calls and ids asked for."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.version_reads: list[int] = []
        self.row_reads: list[set[str]] = []
        self.fail = False

    def versions(self, ids: Collection[str]) -> dict[str, int]:
        if self.fail:
            raise ConnectionError("database away")
        self.version_reads.append(len(ids))
        return db.versions(self.engine, ids)

    def rows(self, ids: Collection[str]) -> dict[str, Subscription]:
        self.row_reads.append(set(ids))
        return db.subscriptions_by_id(self.engine, ids)


@pytest.fixture
def stored(sqlite_engine: Engine) -> list[Subscription]:
    return [db.create_subscription(sqlite_engine, _sub(n)) for n in range(50)]


def test_fifty_due_together_cost_one_version_read_and_no_row_read(
    sqlite_engine: Engine, stored: list[Subscription]
) -> None:
    reads = Counted(sqlite_engine)
    answers = SendTimeCheck(reads.versions, reads.rows).read(stored)
    assert answers == stored
    assert all(answer is sub for answer, sub in zip(answers, stored, strict=True))
    assert (reads.version_reads, reads.row_reads) == ([50], [])


def test_only_what_changed_is_read_in_full_and_a_deleted_one_is_none(
    sqlite_engine: Engine, stored: list[Subscription]
) -> None:
    reads = Counted(sqlite_engine)
    db.patch_subscription(sqlite_engine, "sub_1", {"url": "https://93.184.215.14/moved"}, now=T0)
    db.delete_subscription(sqlite_engine, "sub_2", now=T0)
    same, moved, gone = SendTimeCheck(reads.versions, reads.rows).read(stored[:3])
    assert same is stored[0]
    assert moved is not None
    assert (moved.url, moved.version) == ("https://93.184.215.14/moved", 2)
    assert gone is None
    assert reads.row_reads == [{"sub_1"}]


def test_each_read_sees_what_was_committed_before_it(
    sqlite_engine: Engine, stored: list[Subscription]
) -> None:
    reads = Counted(sqlite_engine)
    check = SendTimeCheck(reads.versions, reads.rows)
    assert check.read(stored[:1]) == stored[:1]
    db.patch_subscription(sqlite_engine, "sub_0", {"enabled": False}, now=T0)
    (after,) = check.read(stored[:1])
    assert after is not None
    assert after.enabled is False
    assert len(reads.version_reads) == 2


def test_while_the_database_is_away_messages_go_as_claimed(
    sqlite_engine: Engine, stored: list[Subscription], caplog: pytest.LogCaptureFixture
) -> None:
    reads = Counted(sqlite_engine)
    reads.fail = True
    check = SendTimeCheck(reads.versions, reads.rows)
    assert [*check.read(stored[:1]), *check.read([dataclasses.replace(stored[1])])] == stored[:2]
    assert caplog.text.count("cannot read subscriptions before sending") == 1
    reads.fail = False
    assert check.read(stored[:1]) == stored[:1]
    reads.fail = True
    check.read(stored[:1])
    assert caplog.text.count("cannot read subscriptions before sending") == 2  # once per outage
