"""The `publications` table: what the feeds published, so SEQUENCE and tombstones survive restarts.

Several processes (gunicorn workers, web replicas) publish the same data file. `publish` runs "load,
reconcile, write" as one transaction under a lock on the one-row `publication_revision` table, so
the second process reconciles against what the first stored (an idempotent no-op for the same data)
instead of against the same old state at its own `now`: every process ends up serving the state as
stored, byte for byte. The revision counter moves whenever that state changes; `current_revision`
lets a process notice cheaply that someone else published.

Writes are upserts in event-id order (so two writers lock rows in the same order and cannot deadlock
on PostgreSQL); a conflicting row keeps the higher SEQUENCE and the later LAST-MODIFIED, so whichever
process writes last, a published SEQUENCE never goes down.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Integer, String, Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, RowMapping

from calendar_service.adapters.db import as_utc, metadata
from calendar_service.core.publication import Published

publications = Table(
    "publications",
    metadata,
    Column("event_id", String(120), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("last_modified", DateTime(timezone=True), nullable=False),
    Column("removed_at", DateTime(timezone=True), nullable=True),
    Column("snapshot", JSON, nullable=False),
)

# One row (id 1): the lock `publish` takes, and a counter of changes to `publications`.
publication_revision = Table(
    "publication_revision",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("revision", Integer, nullable=False),
)

FIRST_PUBLISHED = "_first_published"  # keys of the stored snapshot, never of an event's fields
WAS_START = "_was_start"
_CHUNK = 500  # rows per statement: well under SQLite's bound-parameter limit


def published_from_row(row: RowMapping) -> Published:
    """Turn a table row into the record."""
    last_modified = as_utc(row["last_modified"])
    assert last_modified is not None
    snapshot = dict(row["snapshot"])
    first = snapshot.pop(FIRST_PUBLISHED, None)
    was_start = snapshot.pop(WAS_START, None)
    return Published(
        event_id=row["event_id"],
        fingerprint=row["fingerprint"],
        sequence=int(row["sequence"]),
        last_modified=last_modified,
        removed_at=as_utc(row["removed_at"]),
        snapshot=snapshot,
        first_published=dt.datetime.fromisoformat(first) if first else None,
        was_start=was_start,
    )


def load_published(engine: Engine) -> dict[str, Published]:
    """Everything recorded as published, by event id."""
    with engine.connect() as conn:
        rows = conn.execute(select(publications)).mappings().all()
    return {row["event_id"]: published_from_row(row) for row in rows}


def _values(state: Published) -> dict[str, Any]:
    return {
        "event_id": state.event_id,
        "fingerprint": state.fingerprint,
        "sequence": state.sequence,
        "last_modified": state.last_modified.astimezone(dt.UTC),
        "removed_at": None if state.removed_at is None else state.removed_at.astimezone(dt.UTC),
        "snapshot": _stored_snapshot(state),
    }


def _stored_snapshot(state: Published) -> dict[str, Any]:
    # Bookkeeping rides inside the snapshot's JSON (no new column, so no migration of existing tables).
    snapshot = dict(state.snapshot)
    if state.first_published is not None:
        snapshot[FIRST_PUBLISHED] = state.first_published.astimezone(dt.UTC).isoformat()
    if state.was_start is not None:
        snapshot[WAS_START] = state.was_start
    return snapshot


def save_published(engine: Engine, states: Mapping[str, Published]) -> None:
    """Store `states` (the whole result of a reconcile): upsert what changed, drop expired tombstones."""
    with engine.connect() as conn:
        stored = {
            row.event_id: (row.fingerprint, row.sequence, as_utc(row.last_modified), as_utc(row.removed_at))
            for row in conn.execute(
                select(
                    publications.c.event_id,
                    publications.c.fingerprint,
                    publications.c.sequence,
                    publications.c.last_modified,
                    publications.c.removed_at,
                )
            )
        }
    # Rows that already hold exactly this state need no write; snapshots only change with last_modified.
    changed = [
        _values(states[event_id])
        for event_id in sorted(states)
        if stored.get(event_id)
        != (
            states[event_id].fingerprint,
            states[event_id].sequence,
            states[event_id].last_modified.astimezone(dt.UTC),
            None if states[event_id].removed_at is None else states[event_id].removed_at,
        )
    ]
    # Only tombstones leave the table here: a live row we do not know may come from a newer data file
    # another process has loaded.
    expired = sorted(
        event_id for event_id, row in stored.items() if event_id not in states and row[3] is not None
    )
    if not changed and not expired:
        return
    statement = _upsert(engine)
    with engine.begin() as conn:
        for start in range(0, len(changed), _CHUNK):
            conn.execute(statement, changed[start : start + _CHUNK])
        for start in range(0, len(expired), _CHUNK):
            chunk = expired[start : start + _CHUNK]
            conn.execute(
                delete(publications).where(
                    publications.c.event_id.in_(chunk), publications.c.removed_at.is_not(None)
                )
            )


def _upsert(engine: Engine) -> Any:
    if engine.dialect.name == "postgresql":
        insert: Any = postgresql.insert(publications)
        greatest: Any = func.greatest
    elif engine.dialect.name == "sqlite":
        insert = sqlite.insert(publications)
        greatest = func.max  # SQLite's scalar max(a, b)
    else:  # pragma: no cover - the service supports SQLite and PostgreSQL only
        raise NotImplementedError(f"no upsert for {engine.dialect.name}")
    new = insert.excluded
    return insert.on_conflict_do_update(
        index_elements=[publications.c.event_id],
        set_={
            "fingerprint": new.fingerprint,
            "sequence": greatest(publications.c.sequence, new.sequence),
            "last_modified": greatest(publications.c.last_modified, new.last_modified),
            "removed_at": new.removed_at,
            "snapshot": new.snapshot,
        },
    )


@dataclass(frozen=True)
class StoredPublication:
    """The publication state as stored, and the revision it was stored under."""

    revision: int
    states: dict[str, Published]


def current_revision(engine: Engine) -> int:
    """The revision of the stored publication state (0 before anything was published); one indexed read."""
    with engine.connect() as conn:
        revision = conn.execute(
            select(publication_revision.c.revision).where(publication_revision.c.id == 1)
        ).scalar()
    return int(revision or 0)


def publish(
    engine: Engine,
    compute: Callable[[Mapping[str, Published]], Mapping[str, Published]],
    known: StoredPublication | None = None,
) -> StoredPublication:
    """Under the publication lock: load the state, store `compute(state)`'s changes, return what is stored.

    `compute` is the reconcile; it runs inside the transaction, so keep it free of I/O. The revision
    moves only when a row was written or deleted. `known` is what an earlier `publish` returned: while
    the stored revision is still its revision, the rows are exactly its states, so they are not read
    and decoded again (at 100,000 events that read was a quarter of a reload).
    """
    with engine.begin() as conn:
        revision = _lock(conn)
        if known is not None and known.revision == revision and revision > 0:
            stored = known.states
        else:
            rows = conn.execute(select(publications)).mappings().all()
            stored = {row["event_id"]: published_from_row(row) for row in rows}
        result = {
            event_id: _as_upserted(state, stored.get(event_id)) for event_id, state in compute(stored).items()
        }
        changed = [_values(result[key]) for key in sorted(result) if stored.get(key) != result[key]]
        # As in save_published, only tombstones leave the table; reconcile drops a live row only by
        # turning it into a tombstone first, so a live row missing from `result` stays, and is reported.
        expired = sorted(key for key, state in stored.items() if key not in result and state.is_tombstone)
        result.update(
            {key: state for key, state in stored.items() if key not in result and not state.is_tombstone}
        )
        if changed or expired:
            statement = _upsert(engine)
            for start in range(0, len(changed), _CHUNK):
                conn.execute(statement, changed[start : start + _CHUNK])
            for start in range(0, len(expired), _CHUNK):
                chunk = expired[start : start + _CHUNK]
                conn.execute(delete(publications).where(publications.c.event_id.in_(chunk)))
            revision += 1
            conn.execute(
                update(publication_revision).where(publication_revision.c.id == 1).values(revision=revision)
            )
    return StoredPublication(revision, result)


def _as_upserted(state: Published, before: Published | None) -> Published:
    # What _upsert leaves in the row: the higher SEQUENCE and the later LAST-MODIFIED. Nobody else
    # writes while `publish` holds the lock, so this is exactly the stored state.
    if before is None:
        return state
    sequence = max(state.sequence, before.sequence)
    last_modified = max(state.last_modified, before.last_modified)
    if (sequence, last_modified) == (state.sequence, state.last_modified):
        return state
    return dataclasses.replace(state, sequence=sequence, last_modified=last_modified)


def _lock(conn: Connection) -> int:
    """Take the publication lock for this transaction; return the revision it guards."""
    row = publication_revision.c
    if conn.dialect.name == "sqlite":
        # The first statement of the transaction is a write, so SQLite takes its write lock now and a
        # second publisher waits here on the busy timeout. Reading first and writing later would let
        # both read the same state, and the later writer would fail at once (a stale WAL snapshot
        # cannot be upgraded) instead of waiting.
        locked = conn.execute(update(publication_revision).where(row.id == 1).values(revision=row.revision))
        if locked.rowcount == 0:
            conn.execute(
                sqlite.insert(publication_revision).values(id=1, revision=0).on_conflict_do_nothing()
            )
        return int(conn.execute(select(row.revision).where(row.id == 1)).scalar_one())
    query = select(row.revision).where(row.id == 1).with_for_update()
    revision = conn.execute(query).scalar()
    if revision is None:  # the first publication on this database
        conn.execute(
            postgresql.insert(publication_revision).values(id=1, revision=0).on_conflict_do_nothing()
        )
        revision = conn.execute(query).scalar_one()
    return int(revision)
