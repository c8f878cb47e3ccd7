"""The reminder ledger: what is owed to whom, its delivery state, and every attempt (SQLite and PostgreSQL).

`outbox` holds one row per reminder or change notification, keyed by its stable id (which is also the
`webhook-id` on the wire). Rows are inserted with ON CONFLICT DO NOTHING, so planning the same data twice,
from a restart, a reload or a second process, adds nothing; planning reads a scope's reminder rows
(`reminder_rows`) and writes what `reconciliation.reconcile` decided in one transaction
(`reconcile_rows`). A process claims due rows for a lease (`claimed_until`): PostgreSQL with
`SELECT ... FOR UPDATE SKIP LOCKED`, SQLite with one conditional UPDATE (SQLite runs one writer at a
time, so the claim is atomic). A process killed mid-send leaves a lease that runs out; another claims the
row again and resends it with the same id (at-least-once).

A row's lead time is text in its column and a `LeadTime` everywhere else: read once per row, here, as
rows are read (`leadtime.read_lead_time`). Text an earlier version stored and this one does not accept
comes back as an `UnreadLeadTime`, and planning or the sender cancels the row saying so.

States: pending → delivered | failed | missed | cancelled.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import nullcontext
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    case,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.types import TypeDecorator

from calendar_service.adapters.db import as_utc, metadata
from calendar_service.core.reminders.digests import digest_id
from calendar_service.core.reminders.leadtime import read_lead_time
from calendar_service.core.reminders.planning import REMINDER as REMINDER_KIND
from calendar_service.core.reminders.records import (
    Claimed,
    DeliveryAttempt,
    Member,
    NewRow,
    Outcome,
    ReminderRow,
    RowState,
)

# The records live in reminders.records (pure), re-exported here.
__all__ = ["Claimed", "DeliveryAttempt", "Member", "NewRow", "Outcome", "ReminderRow", "RowState"]

PENDING, DELIVERED, FAILED, MISSED, CANCELLED = RowState
STATES = tuple(RowState)
_BATCH = 2000


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite (which keeps no offset) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"an aware datetime is needed, got naive {value.isoformat()}")
        utc = value.astimezone(dt.UTC)
        # SQLite compares the stored text: keep one format with no offset so order is time order.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


outbox = Table(
    "reminder_outbox",
    metadata,
    Column("id", String(64), primary_key=True),  # stable reminder/notification id = webhook-id
    Column("subscription_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),  # event.reminder | event.rescheduled | ...
    Column("event_id", String(128), nullable=False),
    Column("lead_time", String(32), nullable=True),
    Column("payload", Text, nullable=True),  # JSON for notifications; reminders are rendered at send time
    Column("due_at", UTCDateTime, nullable=False),
    Column("deadline_at", UTCDateTime, nullable=True),  # give up once this has passed
    Column("state", String(16), nullable=False, default=PENDING),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("claimed_by", String(64), nullable=True),
    Column("late", Boolean, nullable=False, default=False),
    Column("first_attempt_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("digest_key", String(160), nullable=True),  # the digest it may join (reminders.digests)
    Column("digest_id", String(64), nullable=True),  # the digest it goes out in, fixed at first claim
    Index("ix_reminder_outbox_due", "state", "next_attempt_at"),
    Index("ix_reminder_outbox_digest", "digest_key", "state"),
    Index("ix_reminder_outbox_event", "event_id", "state"),
    Index("ix_reminder_outbox_subscription", "subscription_id", "state"),
)

attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("outbox_id", String(64), nullable=False, index=True),
    Column("subscription_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("status", Integer, nullable=True),  # HTTP status; None when no response came
    Column("latency_ms", Integer, nullable=True),
    Column("outcome", String(16), nullable=False),  # delivered | retry | failed
    Column("error", Text, nullable=True),
    Column("late", Boolean, nullable=False, default=False),
    Column("members", Text, nullable=True),  # a digest: JSON [{id, type, event_id}] of what it carried
    Index("ix_delivery_attempts_subscription", "subscription_id", "started_at"),
)


def _insert(conn: Connection) -> Any:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(outbox).on_conflict_do_nothing(index_elements=["id"])
    if dialect == "sqlite":
        return sqlite.insert(outbox).on_conflict_do_nothing(index_elements=["id"])
    raise NotImplementedError(f"the ledger supports SQLite and PostgreSQL, not {dialect}")


def add_rows(engine: Engine, rows: Iterable[NewRow | Mapping[str, Any]], *, now: dt.datetime) -> int:
    """Insert outbox rows that are not there yet (by id); return how many were new.

    A row already present, in any state, is left alone. A mapping with NewRow's fields is accepted too.
    Each batch is its own short transaction, made after the batch is computed: `rows` may be a plan
    still being worked out, and SQLite lets one writer in at a time, so holding the write lock across
    it locked every other writer (an API call creating a subscription) out for seconds. The inserts are
    idempotent, so a plan cut short by an error is simply completed by the next one.
    """
    added = 0
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(_new_row(row, now))
        if len(batch) >= _BATCH:
            added += _flush(engine, batch)
            batch = []
    if batch:
        added += _flush(engine, batch)
    return added


def _new_row(given: NewRow | Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    row = given if isinstance(given, NewRow) else NewRow(**given)
    lead = row.lead_time
    return {
        "id": row.id,
        "subscription_id": row.subscription_id,
        "kind": row.kind,
        "event_id": row.event_id,
        "lead_time": None if lead is None else lead.text,
        "payload": None if row.payload is None else json.dumps(row.payload, sort_keys=True),
        "due_at": row.due_at,
        "deadline_at": row.deadline_at,
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": row.due_at,
        "claimed_until": None,
        "claimed_by": None,
        "late": False,
        "first_attempt_at": None,
        "finished_at": None,
        "last_error": None,
        "created_at": now,
        "digest_key": row.digest_key,
        "digest_id": None,
    }


def _flush(engine: Engine, batch: list[dict[str, Any]]) -> int:
    # rowcount of an executemany with ON CONFLICT DO NOTHING is not reliable on every driver, so the
    # inserted ids come back (RETURNING) instead. One write statement and no read before it: on SQLite a
    # transaction that reads and then writes fails at once ("database is locked", no busy wait) when
    # another writer committed in between.
    with engine.begin() as conn:
        return _insert_batch(conn, batch)


def _insert_batch(conn: Connection, batch: list[dict[str, Any]]) -> int:
    """Insert `batch` in the caller's transaction, skipping ids already there; how many were new."""
    return len(conn.execute(_insert(conn).returning(outbox.c.id), batch).all())


def cancel_pending(
    bind: Engine | Connection,
    *,
    now: dt.datetime,
    reason: str,
    event_id: str | None = None,
    subscription_id: str | None = None,
    keep_ids: Sequence[str] = (),
    kind: str | None = None,
) -> int:
    """Cancel pending rows of an event and/or a subscription, except `keep_ids`; return how many.

    Given a Connection it works inside the caller's transaction (so deleting a subscription and
    cancelling what it was owed commit together); given an Engine it runs its own.
    """
    conditions = [outbox.c.state == PENDING]
    if event_id is not None:
        conditions.append(outbox.c.event_id == event_id)
    if subscription_id is not None:
        conditions.append(outbox.c.subscription_id == subscription_id)
    if kind is not None:
        conditions.append(outbox.c.kind == kind)
    with nullcontext(bind) if isinstance(bind, Connection) else bind.begin() as conn:
        ids = [r for r in conn.execute(select(outbox.c.id).where(*conditions)).scalars() if r not in keep_ids]
        for start in range(0, len(ids), _BATCH):
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(ids[start : start + _BATCH]), outbox.c.state == PENDING)
                .values(state=CANCELLED, finished_at=now, last_error=reason, claimed_until=None)
            )
    return len(ids)


def reminder_rows(
    engine: Engine,
    *,
    now: dt.datetime,
    event_ids: Sequence[str] | None = None,
    subscription_ids: Sequence[str] | None = None,
) -> list[ReminderRow]:
    """The reminder rows whose deadline is after `now`, of these events or subscriptions (or all)."""
    keys = event_ids if event_ids is not None else subscription_ids
    column = outbox.c.event_id if event_ids is not None else outbox.c.subscription_id
    columns = (outbox.c.id, outbox.c.subscription_id, outbox.c.event_id, outbox.c.deadline_at)
    query = select(*columns, outbox.c.lead_time, outbox.c.state).where(
        outbox.c.kind == REMINDER_KIND, outbox.c.deadline_at > now
    )
    found: list[ReminderRow] = []
    with engine.connect() as conn:
        chunks = [None] if keys is None else [keys[i : i + _BATCH] for i in range(0, len(keys), _BATCH)]
        for chunk in chunks:
            where = query if chunk is None else query.where(column.in_(chunk))
            found += [_reminder_row(r, RowState(r.state)) for r in conn.execute(where)]
    return found


def _reminder_row(r: Any, state: RowState) -> ReminderRow:
    # Planning's view of a row, its lead time read from text here, once (a claimed row's: `_claimed`).
    return ReminderRow(
        r.id, r.subscription_id, r.event_id, as_utc(r.deadline_at), read_lead_time(r.lead_time), state
    )


def cancelled_since(engine: Engine, *, since: dt.datetime, now: dt.datetime) -> list[ReminderRow]:
    """Reminder rows cancelled at or after `since` whose deadline is after `now` (the sender's too)."""
    columns = (outbox.c.id, outbox.c.subscription_id, outbox.c.event_id, outbox.c.deadline_at)
    query = select(*columns, outbox.c.lead_time).where(
        outbox.c.state == CANCELLED,
        outbox.c.kind == REMINDER_KIND,
        outbox.c.finished_at >= since,
        outbox.c.deadline_at > now,
    )
    with engine.connect() as conn:
        return [_reminder_row(r, CANCELLED) for r in conn.execute(query)]


def pending_reminder_subscriptions(engine: Engine) -> set[str]:
    """The subscriptions that have reminders pending (to find those of subscriptions since deleted)."""
    query = select(outbox.c.subscription_id).where(outbox.c.state == PENDING, outbox.c.kind == REMINDER_KIND)
    with engine.connect() as conn:
        return set(conn.execute(query.distinct()).scalars())


def reconcile_rows(
    engine: Engine,
    *,
    now: dt.datetime,
    insert: Iterable[NewRow] = (),
    reopen: Sequence[str] = (),
    cancel: Sequence[tuple[str, str]] = (),
) -> tuple[int, int, int]:
    """Insert the rows owed and missing, re-open the cancelled ones owed again, cancel the pending ones
    no longer owed (`reconciliation.reconcile` decides which); return how many of each, in one transaction.

    Each write names the state it expects (re-open only what is cancelled, cancel only what is pending),
    so a row another process delivered or cancelled meanwhile is left as that process left it. A re-opened
    row that never went out leaves the digest it was put in, to join the one forming now.
    """
    added = reopened = cancelled = 0
    with engine.begin() as conn:
        batch = [_new_row(row, now) for row in insert]
        for start in range(0, len(batch), _BATCH):
            added += _insert_batch(conn, batch[start : start + _BATCH])
        for start in range(0, len(reopen), _BATCH):
            result = conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(reopen[start : start + _BATCH]), _still(CANCELLED))
                .values(
                    state=PENDING,
                    finished_at=None,
                    last_error=None,
                    claimed_until=None,
                    claimed_by=None,
                    next_attempt_at=outbox.c.due_at,
                    digest_id=case((outbox.c.attempts == 0, None), else_=outbox.c.digest_id),
                )
            )
            reopened += int(result.rowcount or 0)
        by_reason: dict[str, list[str]] = {}
        for row_id, reason in cancel:
            by_reason.setdefault(reason, []).append(row_id)
        for reason, ids in by_reason.items():
            for start in range(0, len(ids), _BATCH):
                result = conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(ids[start : start + _BATCH]), _still(PENDING))
                    .values(state=CANCELLED, finished_at=now, last_error=reason, claimed_until=None)
                )
                cancelled += int(result.rowcount or 0)
    return added, reopened, cancelled


def _still(state: RowState) -> Any:
    """The row is (still) in `state`, for a write that names its rows by id.

    Written `state || ''` so that SQLite finds the rows by primary key: given a long id list and a plain
    `state = ?`, its planner walks the state index instead, every pending row of the ledger (100 ms per
    statement at 100,000 rows). PostgreSQL takes the primary key either way.
    """
    return outbox.c.state.concat("") == str(state)


def _claimable(now: dt.datetime, horizon: dt.datetime | None = None) -> Any:
    """Pending, due by `horizon` (default `now`), and not under someone else's live claim at `now`."""
    return and_(
        outbox.c.state == PENDING,
        outbox.c.next_attempt_at <= (horizon or now),
        or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= now),
    )


# Any constant works; it names "claiming" among the advisory locks of this database.
_CLAIM_LOCK = 0x7C_A1_C1_A1


def claim_due(
    engine: Engine,
    *,
    now: dt.datetime,
    lease: dt.timedelta,
    limit: int,
    digest_subscriptions: Collection[str] = (),
    horizon: dt.datetime | None = None,
) -> list[Claimed]:
    """Take up to `limit` rows due by `horizon` (default `now`) for this process until `now + lease`;
    earliest first. A horizon past `now` claims rows ahead of their time, for the caller to prepare
    now and send at each row's `not_before`.

    A claimed row that goes out in a digest brings the other due rows of its digest along (so the batch
    may exceed `limit`), and a digest forming now gets its id fixed on its members; `digest_subscriptions`
    are the subscriptions that want digests. On PostgreSQL claims take turns on an advisory lock, so two
    workers never claim halves of one digest (SQLite runs one writer at a time anyway). A claim is one
    short transaction; the sends happen outside it.
    """
    token = uuid.uuid4().hex
    until = now + lease
    claimable = _claimable(now, horizon)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK})
            ids = list(
                conn.execute(
                    select(outbox.c.id)
                    .where(claimable)
                    .order_by(outbox.c.next_attempt_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                ).scalars()
            )
            if not ids:
                return []
            where: Any = outbox.c.id.in_(ids)
        else:
            # One statement: SQLite serialises writers, and the repeated condition makes a row that
            # another process claimed in between drop out.
            due = select(outbox.c.id).where(claimable).order_by(outbox.c.next_attempt_at).limit(limit)
            where = and_(outbox.c.id.in_(due.scalar_subquery()), claimable)
        conn.execute(update(outbox).where(where).values(claimed_until=until, claimed_by=token))
        rows = _claimed_rows(conn, token)
        if _claim_digests(conn, rows, claimable, until, token, set(digest_subscriptions)):
            rows = _claimed_rows(conn, token)
        return [_claimed(row) for row in rows]


def _claimed_rows(conn: Connection, token: str) -> list[RowMapping]:
    query = select(outbox).where(outbox.c.claimed_by == token).order_by(outbox.c.next_attempt_at, outbox.c.id)
    return list(conn.execute(query).mappings())


def _forming(row: RowMapping, digest_subscriptions: set[str]) -> bool:
    # Never tried alone (it could have reached the receiver under its own id), and its owner wants digests.
    return (
        row["digest_id"] is None
        and row["digest_key"] is not None
        and int(row["attempts"]) == 0
        and row["subscription_id"] in digest_subscriptions
    )


def _claim_digests(
    conn: Connection,
    rows: Sequence[RowMapping],
    claimable: Any,
    until: dt.datetime,
    token: str,
    digest_subscriptions: set[str],
) -> bool:
    """Claim the rest of each claimed row's digest and fix the id of digests forming now; True if any."""
    keys = sorted({row["digest_key"] for row in rows if _forming(row, digest_subscriptions)})
    formed = sorted({row["digest_id"] for row in rows if row["digest_id"] not in (None, row["id"])})
    if not keys and not formed:
        return False
    for start in range(0, max(len(keys), len(formed)), _BATCH):
        joins = or_(
            and_(
                outbox.c.digest_key.in_(keys[start : start + _BATCH]),
                outbox.c.digest_id.is_(None),
                outbox.c.attempts == 0,
            ),
            outbox.c.digest_id.in_(formed[start : start + _BATCH]),
        )
        claim = update(outbox).where(claimable, joins)
        conn.execute(claim.values(claimed_until=until, claimed_by=token))
    groups: dict[str, list[RowMapping]] = {}
    for row in _claimed_rows(conn, token):
        if _forming(row, digest_subscriptions):
            groups.setdefault(row["digest_key"], []).append(row)
    for members in groups.values():
        ids = [row["id"] for row in members]
        conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(ids))
            .values(digest_id=digest_id(members[0]["subscription_id"], ids))
        )
    return True


def _claimed(row: RowMapping) -> Claimed:
    return Claimed(
        id=row["id"],
        subscription_id=row["subscription_id"],
        kind=row["kind"],
        event_id=row["event_id"],
        lead_time=read_lead_time(row["lead_time"]),
        payload=json.loads(row["payload"]) if row["payload"] else None,
        due_at=row["due_at"],
        deadline_at=row["deadline_at"],
        attempts=int(row["attempts"]),
        late=bool(row["late"]),
        first_attempt_at=row["first_attempt_at"],
        digest_id=row["digest_id"],
        next_attempt_at=row["next_attempt_at"],
        claimed_by=row["claimed_by"],
    )


def renew_claims(engine: Engine, claims: Collection[str], *, until: dt.datetime) -> int:
    """Extend the lease of the rows still pending under `claims` (tokens from `Claimed.claimed_by`) to
    `until`; return how many. For a long queue: rows waiting their turn must not fall free and be
    claimed (and sent) a second time."""
    tokens = sorted(claims)
    renewed = 0
    with engine.begin() as conn:
        for start in range(0, len(tokens), _BATCH):
            result = conn.execute(
                update(outbox)
                .where(outbox.c.claimed_by.in_(tokens[start : start + _BATCH]), outbox.c.state == PENDING)
                .values(claimed_until=until)
            )
            renewed += int(result.rowcount or 0)
    return renewed


def record_outcomes(engine: Engine, outcomes: Sequence[Outcome]) -> None:
    """Write a batch of results: one attempt-log row per attempt made, and each outbox row's new state.

    This is the hot path of a burst (a row per reminder sent), so it goes to the driver's executemany
    with values converted once here: 10,000 outcomes on SQLite took 0.34 s through SQLAlchemy's
    per-value processing and 0.19 s this way. The statements are fixed text (`_record_sql`); the log's
    columns are checked against the table definition at import.
    """
    if not outcomes:
        return
    log_rows = [
        (
            o.id,
            o.subscription_id,
            o.kind,
            o.event_id,
            o.attempt,
            o.started_at,
            o.status,
            o.latency_ms,
            str(o.outcome or o.state),
            o.error,
            o.late,
            json.dumps([{"id": m.id, "type": m.kind, "event_id": m.event_id} for m in o.members])
            if o.members
            else None,
        )
        for o in outcomes
        if o.started_at is not None
    ]
    state_rows = [
        (
            str(o.state),
            o.attempt,
            o.next_attempt_at,
            o.late,
            o.started_at,
            o.finished_at,
            o.error,
            # A digest split in two: each half's members carry the half's id from now on.
            o.id if o.members else None,
            row_id,
            str(PENDING),
        )
        for o in outcomes
        if not o.log_only
        for row_id in ([m.id for m in o.members] if o.members else [o.id])
    ]
    with engine.begin() as conn:
        when = _datetime_param(conn)
        logged = [(*r[:5], when(r[5]), *r[6:]) for r in log_rows]
        states = [(r[0], r[1], when(r[2]), r[3], when(r[4]), when(r[5]), *r[6:]) for r in state_rows]
        if conn.dialect.name == "sqlite" and len({r[8] for r in states}) == len(states):
            _record_in_blocks(conn, logged, states)
            return
        log_sql, state_sql = _RECORD_SQL[conn.dialect.paramstyle == "qmark"]
        if logged:
            conn.exec_driver_sql(log_sql, logged)
        if states:
            conn.exec_driver_sql(state_sql, states)


# Rows per statement on SQLite: 12 parameters a row stays under the 999 that older builds allow.
_BLOCK = 80


def _record_in_blocks(conn: Connection, logged: list[tuple[Any, ...]], states: list[tuple[Any, ...]]) -> None:
    """`record_outcomes` on SQLite: a block of rows per statement (a multi-row INSERT, an UPDATE ...
    FROM VALUES), not a statement per row. The driver lets go of the GIL around every statement it
    steps, so executemany of a burst's outcomes handed the GIL to the event loop and took it back
    twice per message; in blocks that is twice per 80. Needs each outbox id once (the caller checks)."""
    for start in range(0, len(logged), _BLOCK):
        block = logged[start : start + _BLOCK]
        conn.exec_driver_sql(_LOG_BLOCK_SQL[len(block)], tuple(v for row in block for v in row))
    for start in range(0, len(states), _BLOCK):
        block = states[start : start + _BLOCK]
        conn.exec_driver_sql(_STATE_BLOCK_SQL[len(block)], tuple(v for row in block for v in row))


_LOG_COLUMNS = (
    "outbox_id",
    "subscription_id",
    "kind",
    "event_id",
    "attempt",
    "started_at",
    "status",
    "latency_ms",
    "outcome",
    "error",
    "late",
    "members",
)
assert set(_LOG_COLUMNS) == {c.name for c in attempts.columns} - {"id"}, "delivery_attempts changed"


def _record_sql(m: str) -> tuple[str, str]:
    """The two statements of `record_outcomes`, with `m` as the driver's placeholder."""
    log_sql = (
        f"INSERT INTO {attempts.name} ({', '.join(_LOG_COLUMNS)}) "  # noqa: S608 - constants only
        f"VALUES ({', '.join([m] * len(_LOG_COLUMNS))})"
    )
    state_sql = (
        f"UPDATE {outbox.name} SET state = {m}, attempts = {m}, "  # noqa: S608 - constants only
        f"next_attempt_at = COALESCE({m}, next_attempt_at), late = {m}, "
        f"first_attempt_at = COALESCE(first_attempt_at, {m}), finished_at = {m}, last_error = {m}, "
        f"digest_id = COALESCE({m}, digest_id), claimed_until = NULL, claimed_by = NULL "
        f"WHERE id = {m} AND state = {m}"
    )
    return log_sql, state_sql


_RECORD_SQL = {True: _record_sql("?"), False: _record_sql("%s")}  # by "the driver takes qmark"


def _blocks_sql(n: int) -> tuple[str, str]:
    """`_record_sql`'s two statements for `n` rows at once, SQLite's qmark style (columnK: VALUES')."""
    log_row = f"({', '.join(['?'] * len(_LOG_COLUMNS))})"
    log_sql = (
        f"INSERT INTO {attempts.name} ({', '.join(_LOG_COLUMNS)}) "  # noqa: S608 - constants only
        f"VALUES {', '.join([log_row] * n)}"
    )
    state_row = f"({', '.join(['?'] * 10)})"
    state_sql = (
        f"UPDATE {outbox.name} SET state = v.column1, attempts = v.column2, "  # noqa: S608 - constants only
        "next_attempt_at = COALESCE(v.column3, next_attempt_at), late = v.column4, "
        "first_attempt_at = COALESCE(first_attempt_at, v.column5), finished_at = v.column6, "
        "last_error = v.column7, digest_id = COALESCE(v.column8, digest_id), claimed_until = NULL, "
        f"claimed_by = NULL FROM (VALUES {', '.join([state_row] * n)}) AS v "
        f"WHERE {outbox.name}.id = v.column9 AND {outbox.name}.state = v.column10"
    )
    return log_sql, state_sql


_LOG_BLOCK_SQL = {n: _blocks_sql(n)[0] for n in range(1, _BLOCK + 1)}
_STATE_BLOCK_SQL = {n: _blocks_sql(n)[1] for n in range(1, _BLOCK + 1)}


def _datetime_param(conn: Connection) -> Any:
    """A UTCDateTime value as this dialect's driver takes it (what SQLAlchemy would bind)."""
    process = UTCDateTime().bind_processor(conn.dialect)
    if process is None:
        return lambda value: value
    return lambda value: None if value is None else process(value)


def next_wake(engine: Engine) -> dt.datetime | None:
    """When the earliest pending row becomes claimable (its due time, or the end of another's lease)."""
    ready = func.coalesce(outbox.c.claimed_until, outbox.c.next_attempt_at)
    with engine.connect() as conn:
        unclaimed = conn.execute(
            select(func.min(outbox.c.next_attempt_at)).where(
                outbox.c.state == PENDING, outbox.c.claimed_until.is_(None)
            )
        ).scalar()
        leased = conn.execute(
            select(func.min(ready)).where(outbox.c.state == PENDING, outbox.c.claimed_until.is_not(None))
        ).scalar()
    found = [as_utc(v) for v in (unclaimed, leased) if v is not None]
    return min(found) if found else None


def oldest_overdue(engine: Engine, *, cutoff: dt.datetime) -> dt.datetime | None:
    """The due time of the earliest pending row claimable since `cutoff` that nobody has sent, if any.

    A row held under a live claim is being sent; one whose claim ran out before `cutoff` is not. For
    health checks where no scheduler runs in the process (a web replica): it sees a dead worker.
    """
    query = select(func.min(outbox.c.next_attempt_at)).where(
        outbox.c.state == PENDING,
        outbox.c.next_attempt_at <= cutoff,
        or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= cutoff),
    )
    with engine.connect() as conn:
        value = conn.execute(query).scalar()
    return as_utc(value)


def get_row(engine: Engine, outbox_id: str) -> dict[str, Any] | None:
    """One outbox row as a dict (for tests)."""
    with engine.connect() as conn:
        row = conn.execute(select(outbox).where(outbox.c.id == outbox_id)).mappings().first()
    return dict(row) if row is not None else None


def list_rows(
    engine: Engine, *, subscription_id: str | None = None, state: str | None = None
) -> list[dict[str, Any]]:
    """Outbox rows, by due time (optionally of one subscription or in one state)."""
    query = select(outbox).order_by(outbox.c.due_at, outbox.c.id)
    if subscription_id is not None:
        query = query.where(outbox.c.subscription_id == subscription_id)
    if state is not None:
        query = query.where(outbox.c.state == state)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def backlog(engine: Engine, *, now: dt.datetime) -> tuple[int, int, dt.datetime | None]:
    """Pending rows never tried, pending rows waiting to be retried, and the due time of the earliest
    pending row due by `now` (claimed or not: it has not been delivered), for the metrics."""
    tried = outbox.c.attempts > 0
    query = select(
        func.sum(case((tried, 0), else_=1)),
        func.sum(case((tried, 1), else_=0)),
        func.min(case((outbox.c.next_attempt_at <= now, outbox.c.next_attempt_at), else_=None)),
    ).where(outbox.c.state == PENDING)
    with engine.connect() as conn:
        fresh, retrying, oldest = conn.execute(query).one()
    return int(fresh or 0), int(retrying or 0), as_utc(oldest)


def count_by_state(engine: Engine) -> dict[str, int]:
    """How many outbox rows are in each state."""
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state)).all()
    return {str(state): int(n) for state, n in rows}


def list_attempts(engine: Engine, subscription_id: str, limit: int = 100) -> list[DeliveryAttempt]:
    """The delivery log of one subscription, newest first: time, status, latency, outcome, error."""
    query = (
        select(attempts)
        .where(attempts.c.subscription_id == subscription_id)
        .order_by(attempts.c.started_at.desc(), attempts.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        DeliveryAttempt(
            webhook_id=row["outbox_id"],
            type=row["kind"],
            event_id=row["event_id"],
            attempt=row["attempt"],
            at=row["started_at"],
            status=row["status"],
            latency_ms=row["latency_ms"],
            outcome=row["outcome"],
            error=row["error"],
            late=bool(row["late"]),
            members=json.loads(row["members"]) if row["members"] else None,
        )
        for row in rows
    ]
