"""The source watch's tables: what each source URL last said, each watch's last run, and the proposals.

    source_states   one row per source URL: validators (ETag, Last-Modified), the text's fingerprint and
                    text (to show what changed next time), when it changed, failed or last answered
    watch_runs      one row per watch (`watch.yaml` id, and "sources" for the event pages): last attempt,
                    last success, last error; `/healthz` names a watch without success for a day
    source_proposals one row per document read from a watch, proposed or found already covered; the id
                    is the document's (e.g. `fr-2026-12345`), so a document is proposed once, whichever
                    process reads it first

Writes are upserts keyed by those ids: two workers checking at once converge on the last answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, RowMapping

from calendar_service.adapters.db import as_utc, metadata
from calendar_service.core.proposals import Proposal
from calendar_service.core.sourcecheck import SourceState

source_states = Table(
    "source_states",
    metadata,
    Column("url", String(2048), primary_key=True),
    Column("fingerprint", String(64)),
    Column("body_hash", String(64)),
    Column("text", Text),
    Column("excerpt", Text),
    Column("etag", String(512)),
    Column("last_modified", String(64)),
    Column("checked_at", DateTime(timezone=True)),
    Column("ok_at", DateTime(timezone=True)),
    Column("changed_at", DateTime(timezone=True)),
    Column("failing_since", DateTime(timezone=True)),
    Column("error", String(500)),
    Column("status", Integer),
    Column("gone", Boolean, nullable=False, default=False),
)

watch_runs = Table(
    "watch_runs",
    metadata,
    Column("watch_id", String(80), primary_key=True),
    Column("first_attempt", DateTime(timezone=True), nullable=False),  # kept by later runs
    Column("last_attempt", DateTime(timezone=True), nullable=False),
    Column("last_success", DateTime(timezone=True)),
    Column("last_error", String(500)),
    Column("items", Integer, nullable=False, default=0),
)

source_proposals = Table(
    "source_proposals",
    metadata,
    Column("id", String(160), primary_key=True),
    Column("watch_id", String(80), nullable=False),
    Column("kind", String(16), nullable=False),  # "new" or "change"
    Column("state", String(16), nullable=False),  # "open", "covered", "accepted"
    Column("event_id", String(120)),
    Column("title", String(500), nullable=False),
    Column("url", String(2048)),
    Column("entry", JSON, nullable=False),
    Column("change", JSON),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
)

_STATE_FIELDS = tuple(c.name for c in source_states.columns)


def _insert(engine: Engine, table: Table) -> Any:
    return (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(table)


def load_states(engine: Engine, urls: Iterable[str] | None = None) -> dict[str, SourceState]:
    """The stored state of each URL (all of them when `urls` is None)."""
    query = select(source_states)
    wanted = None if urls is None else list(urls)
    out: dict[str, SourceState] = {}
    with engine.connect() as conn:
        if wanted is None:
            rows = conn.execute(query).mappings().all()
        else:
            rows = []
            for start in range(0, len(wanted), 500):  # under SQLite's bound-parameter limit
                part = query.where(source_states.c.url.in_(wanted[start : start + 500]))
                rows.extend(conn.execute(part).mappings().all())
    for row in rows:
        out[row["url"]] = _state(row)
    return out


def _state(row: RowMapping) -> SourceState:
    values = {name: row[name] for name in _STATE_FIELDS}
    for name in ("checked_at", "ok_at", "changed_at", "failing_since"):
        values[name] = as_utc(values[name])
    values["gone"] = bool(values["gone"])
    return SourceState(**values)


def save_states(engine: Engine, states: Sequence[SourceState]) -> None:
    """Upsert each state, in URL order (two writers lock rows in the same order)."""
    rows = [{name: getattr(s, name) for name in _STATE_FIELDS} for s in sorted(states, key=lambda s: s.url)]
    if not rows:
        return
    insert = _insert(engine, source_states)
    updated = {name: insert.excluded[name] for name in _STATE_FIELDS if name != "url"}
    statement = insert.on_conflict_do_update(index_elements=["url"], set_=updated)
    with engine.begin() as conn:
        # One statement, many parameter sets: compiled once (a VALUES list of 2,000 rows is not cached)
        conn.execute(statement, rows)


def record_run(engine: Engine, watch_id: str, at: dt.datetime, error: str | None, items: int = 0) -> None:
    """Note one run of a watch: a success (no `error`) moves `last_success`."""
    values: dict[str, Any] = {"watch_id": watch_id, "last_attempt": at, "last_error": error, "items": items}
    if error is None:
        values["last_success"] = at
    insert = _insert(engine, watch_runs).values({**values, "first_attempt": at})
    updated = {name: insert.excluded[name] for name in values if name != "watch_id"}
    with engine.begin() as conn:
        conn.execute(insert.on_conflict_do_update(index_elements=["watch_id"], set_=updated))


@dataclass(frozen=True)
class WatchRun:
    """One watch's last run."""

    watch_id: str
    first_attempt: dt.datetime
    last_attempt: dt.datetime
    last_success: dt.datetime | None
    last_error: str | None
    items: int

    def stale(self, now: dt.datetime, after: dt.timedelta = dt.timedelta(days=1)) -> bool:
        """Whether the watch has not succeeded for `after` (counted from its first run if never)."""
        return now - (self.last_success or self.first_attempt) > after


def watch_runs_list(engine: Engine) -> list[WatchRun]:
    """Every watch's last run, by id."""
    with engine.connect() as conn:
        rows = conn.execute(select(watch_runs).order_by(watch_runs.c.watch_id)).mappings().all()
    return [
        WatchRun(
            r["watch_id"],
            as_utc(r["first_attempt"]),
            as_utc(r["last_attempt"]),
            as_utc(r["last_success"]),
            r["last_error"],
            r["items"],
        )
        for r in rows
    ]


def known_proposal_ids(engine: Engine, ids: Iterable[str]) -> set[str]:
    """Which of `ids` were already read (proposed, covered or accepted)."""
    wanted = list(ids)
    found: set[str] = set()
    with engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            found.update(
                conn.execute(select(source_proposals.c.id).where(source_proposals.c.id.in_(part))).scalars()
            )
    return found


def add_proposals(engine: Engine, proposals: Sequence[Proposal], at: dt.datetime) -> int:
    """Insert proposals not stored yet (a document is proposed once); return how many were new."""
    if not proposals:
        return 0
    rows = [
        {
            "id": p.id,
            "watch_id": p.watch_id,
            "kind": p.kind,
            "state": p.state,
            "event_id": p.event_id,
            "title": p.title[:500],
            "url": p.url,
            "entry": p.entry,
            "change": p.change,
            "created_at": at,
        }
        for p in sorted(proposals, key=lambda p: p.id)
    ]
    added = 0
    with engine.begin() as conn:
        for start in range(0, len(rows), 200):
            insert = _insert(engine, source_proposals).values(rows[start : start + 200])
            # RETURNING names the rows really inserted (a multi-row rowcount is -1 on SQLite)
            statement = insert.on_conflict_do_nothing(index_elements=["id"]).returning(source_proposals.c.id)
            added += len(conn.execute(statement).all())
    return added


def open_proposals(engine: Engine) -> list[Proposal]:
    """Proposals waiting for a curator, oldest first."""
    query = (
        select(source_proposals)
        .where(source_proposals.c.state == "open")
        .order_by(source_proposals.c.created_at, source_proposals.c.id)
    )
    with engine.connect() as conn:
        return [_proposal(row) for row in conn.execute(query).mappings()]


def get_proposal(engine: Engine, proposal_id: str) -> Proposal | None:
    """One proposal by id, whatever its state."""
    with engine.connect() as conn:
        row = (
            conn.execute(select(source_proposals).where(source_proposals.c.id == proposal_id))
            .mappings()
            .first()
        )
    return None if row is None else _proposal(row)


def mark_accepted(engine: Engine, proposal_id: str, at: dt.datetime) -> bool:
    """Close an open proposal as accepted; False when it was not open (accepted meanwhile)."""
    with engine.begin() as conn:
        done = conn.execute(
            update(source_proposals)
            .where(source_proposals.c.id == proposal_id, source_proposals.c.state == "open")
            .values(state="accepted", decided_at=at)
        )
    return bool(done.rowcount)


def counts(engine: Engine, now: dt.datetime, dead_after: dt.timedelta) -> dict[str, int]:
    """Sources known, changed (ever), failing now, dead now, and proposals open: for metrics."""
    cutoff = now - dead_after
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(source_states)).scalar_one()
        changed = conn.execute(
            select(func.count()).select_from(source_states).where(source_states.c.changed_at.is_not(None))
        ).scalar_one()
        failing = conn.execute(
            select(func.count()).select_from(source_states).where(source_states.c.failing_since.is_not(None))
        ).scalar_one()
        dead = conn.execute(
            select(func.count())
            .select_from(source_states)
            .where(
                source_states.c.failing_since.is_not(None),
                source_states.c.gone.is_(True) | (source_states.c.failing_since <= cutoff),
            )
        ).scalar_one()
        proposals = conn.execute(
            select(func.count()).select_from(source_proposals).where(source_proposals.c.state == "open")
        ).scalar_one()
    return {
        "sources": total,
        "changed": changed,
        "failing": failing,
        "dead": dead,
        "proposals_open": proposals,
    }


def _proposal(row: RowMapping) -> Proposal:
    return Proposal(
        id=row["id"],
        watch_id=row["watch_id"],
        kind=row["kind"],
        title=row["title"],
        url=row["url"],
        entry=dict(row["entry"]),
        event_id=row["event_id"],
        change=None if row["change"] is None else dict(row["change"]),
        state=row["state"],
        created_at=as_utc(row["created_at"]),
    )
