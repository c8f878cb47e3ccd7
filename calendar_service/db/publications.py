"""The `publications` table: what the feeds published, so SEQUENCE and tombstones survive restarts.

Several processes (gunicorn workers, the worker) may reconcile and save at once. Each save is one
transaction of upserts in event-id order (so two savers lock rows in the same order and cannot
deadlock on PostgreSQL); a conflicting row keeps the higher SEQUENCE and the later LAST-MODIFIED, so
whichever process writes last, a published SEQUENCE never goes down.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Integer, String, Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, RowMapping

from ..publication import Published
from . import metadata

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

_CHUNK = 500  # rows per statement: well under SQLite's bound-parameter limit


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; everything stored here is UTC.
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def published_from_row(row: RowMapping) -> Published:
    """Turn a table row into the record."""
    last_modified = _aware(row["last_modified"])
    assert last_modified is not None
    return Published(
        event_id=row["event_id"],
        fingerprint=row["fingerprint"],
        sequence=int(row["sequence"]),
        last_modified=last_modified,
        removed_at=_aware(row["removed_at"]),
        snapshot=dict(row["snapshot"]),
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
        "snapshot": state.snapshot,
    }


def save_published(engine: Engine, states: Mapping[str, Published]) -> None:
    """Store `states` (the whole result of a reconcile): upsert what changed, drop expired tombstones."""
    with engine.connect() as conn:
        stored = {
            row.event_id: (row.fingerprint, row.sequence, _aware(row.last_modified), _aware(row.removed_at))
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
