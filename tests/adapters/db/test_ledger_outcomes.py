"""Recording a burst's outcomes: every kind of outcome lands on its row (a block of rows per statement on
SQLite, one statement per row elsewhere), and a row that left `pending` meanwhile is not touched."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from calendar_service.adapters.db import ledger
from calendar_service.core.reminders.leadtime import LeadTime
from calendar_service.core.reminders.records import Member, NewRow, Outcome, RowState

DUE = dt.datetime(2026, 7, 9, 3, 1, tzinfo=dt.UTC)
SENT = DUE + dt.timedelta(seconds=1)
LATER = DUE + dt.timedelta(minutes=5)
N = 203  # more than two blocks of 80, and a part block
RETRIED, FAILED = range(150, 180), range(180, 190)


def _rows() -> list[NewRow]:
    return [
        NewRow(id=f"rem_{i:03d}", subscription_id=f"sub-{i % 7}", kind="reminder.due", event_id=f"e{i}",
               due_at=DUE, lead_time=LeadTime.parse("PT1H"), deadline_at=DUE + dt.timedelta(hours=1))
        for i in range(N)
    ]  # fmt: skip


def _outcome(i: int, state: RowState, outcome: str, **extra: object) -> Outcome:
    return Outcome(
        f"rem_{i:03d}", f"sub-{i % 7}", "reminder.due", f"e{i}", state, 1, started_at=SENT, status=200,
        latency_ms=3, outcome=outcome, due_at=DUE, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_bursts_outcomes_land_on_their_rows(engine: Engine) -> None:
    ledger.add_rows(engine, _rows(), now=DUE - dt.timedelta(days=1))
    assert len(ledger.claim_due(engine, now=DUE, lease=dt.timedelta(minutes=2), limit=1000)) == N
    with engine.begin() as conn:  # cancelled by planning while its send was in flight
        conn.execute(update(ledger.outbox).where(ledger.outbox.c.id == "rem_202").values(state="cancelled"))
    digest = Outcome(
        "dig_1", "sub-0", "reminder.digest", "", RowState.DELIVERED, 1, started_at=SENT, status=200,
        outcome="delivered", finished_at=SENT, due_at=DUE,
        members=tuple(Member(f"rem_{i:03d}", "reminder.due", f"e{i}") for i in range(190, 200)),
    )  # fmt: skip
    outcomes = [
        *(_outcome(i, RowState.DELIVERED, "delivered", finished_at=SENT) for i in range(150)),
        *(_outcome(i, RowState.PENDING, "retry", next_attempt_at=LATER, error="HTTP 503") for i in RETRIED),
        *(_outcome(i, RowState.FAILED, "failed", finished_at=SENT, error="HTTP 410") for i in FAILED),
        digest,
        _outcome(200, RowState.FAILED, "split", log_only=True, error="HTTP 413; split into two digests"),
        _outcome(201, RowState.DELIVERED, "delivered", finished_at=SENT, late=True),
        _outcome(202, RowState.DELIVERED, "delivered", finished_at=SENT),
    ]  # fmt: skip
    ledger.record_outcomes(engine, outcomes)

    rows = {r["id"]: r for r in ledger.list_rows(engine)}
    states = [rows[f"rem_{i:03d}"]["state"] for i in range(N)]
    assert states == ["delivered"] * 150 + ["pending"] * 30 + ["failed"] * 10 + ["delivered"] * 10 + [
        "pending", "delivered", "cancelled"
    ]  # fmt: skip
    first = rows["rem_000"]
    assert (first["attempts"], first["first_attempt_at"], first["finished_at"]) == (1, SENT, SENT)
    assert (first["claimed_by"], first["claimed_until"]) == (None, None)
    retry = rows["rem_150"]
    assert (retry["next_attempt_at"], retry["last_error"], retry["finished_at"]) == (
        LATER,
        "HTTP 503",
        None,
    )
    assert rows["rem_185"]["last_error"] == "HTTP 410"
    assert {rows[f"rem_{i}"]["digest_id"] for i in range(190, 200)} == {"dig_1"}
    assert rows["rem_200"]["claimed_by"] is not None  # a log-only outcome changes no row
    assert rows["rem_201"]["late"] is True
    assert rows["rem_202"]["finished_at"] is None  # it had left pending: untouched
    with engine.connect() as conn:
        logged = conn.execute(select(func.count(), func.count(ledger.attempts.c.outbox_id.distinct()))).one()
    assert tuple(logged) == (
        194,
        194,
    )  # one per outcome with an attempt: 192 rows', the digest's, the split's
