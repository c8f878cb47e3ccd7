"""SendTimeCheck: senders asking together share one read, and every answer comes from a read begun after
the question (the reads here are the real queries on a SQLite file, counted)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import threading
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
        self.hold_first: threading.Event | None = None  # the first read answers once this is set
        self.read_done = threading.Event()

    def versions(self, ids: Collection[str]) -> dict[str, int]:
        if self.fail:
            raise ConnectionError("database away")
        self.version_reads.append(len(ids))
        found = db.versions(self.engine, ids)
        if self.hold_first is not None and len(self.version_reads) == 1:
            self.read_done.set()
            self.hold_first.wait(timeout=10)
        return found

    def rows(self, ids: Collection[str]) -> dict[str, Subscription]:
        self.row_reads.append(set(ids))
        return db.subscriptions_by_id(self.engine, ids)


@pytest.fixture
def stored(sqlite_engine: Engine) -> list[Subscription]:
    return [db.create_subscription(sqlite_engine, _sub(n)) for n in range(50)]


def test_fifty_senders_at_once_cost_one_version_read_and_no_row_read(
    sqlite_engine: Engine, stored: list[Subscription]
) -> None:
    reads = Counted(sqlite_engine)
    check = SendTimeCheck(reads.versions, reads.rows)

    async def all_at_once() -> list[Subscription | None]:
        return await asyncio.gather(*(check.current(sub) for sub in stored))

    answers = asyncio.run(all_at_once())
    assert answers == stored
    assert all(answer is sub for answer, sub in zip(answers, stored, strict=True))
    assert (reads.version_reads, reads.row_reads) == ([50], [])


def test_only_what_changed_is_read_in_full_and_a_deleted_one_is_none(
    sqlite_engine: Engine, stored: list[Subscription]
) -> None:
    reads = Counted(sqlite_engine)
    check = SendTimeCheck(reads.versions, reads.rows)
    db.patch_subscription(sqlite_engine, "sub_1", {"url": "https://93.184.215.14/moved"}, now=T0)
    db.delete_subscription(sqlite_engine, "sub_2", now=T0)

    async def three() -> list[Subscription | None]:
        return await asyncio.gather(*(check.current(sub) for sub in stored[:3]))

    same, moved, gone = asyncio.run(three())
    assert same is stored[0]
    assert moved is not None
    assert (moved.url, moved.version) == ("https://93.184.215.14/moved", 2)
    assert gone is None
    assert reads.row_reads == [{"sub_1"}]


def test_a_question_asked_during_a_read_waits_for_the_next_one(
    sqlite_engine: Engine, stored: list[Subscription]
) -> None:
    reads = Counted(sqlite_engine)
    reads.hold_first = threading.Event()
    check = SendTimeCheck(reads.versions, reads.rows)

    async def change_while_the_first_read_runs() -> tuple[Subscription | None, Subscription | None]:
        first = asyncio.ensure_future(check.current(stored[0]))
        while not reads.read_done.is_set():  # the first read has queried, and not answered yet
            await asyncio.sleep(0.01)
        db.patch_subscription(sqlite_engine, "sub_0", {"enabled": False}, now=T0)
        second = asyncio.ensure_future(check.current(stored[0]))  # asked after the change
        await asyncio.sleep(0.05)
        assert reads.hold_first is not None
        reads.hold_first.set()
        return await first, await second

    before, after = asyncio.run(change_while_the_first_read_runs())
    assert before is stored[0]  # its read began before the change
    assert after is not None
    assert after.enabled is False  # its read began after
    assert len(reads.version_reads) == 2


def test_while_the_database_is_away_messages_go_as_claimed(
    sqlite_engine: Engine, stored: list[Subscription], caplog: pytest.LogCaptureFixture
) -> None:
    reads = Counted(sqlite_engine)
    reads.fail = True
    check = SendTimeCheck(reads.versions, reads.rows)

    async def twice() -> list[Subscription | None]:
        return [await check.current(stored[0]), await check.current(dataclasses.replace(stored[1]))]

    assert asyncio.run(twice()) == stored[:2]
    assert caplog.text.count("cannot read subscriptions before sending") == 1
