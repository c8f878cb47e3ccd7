"""The `data_confirmations` table: versions of the data file a curator said to publish, by content hash.

`trade-calendar publish --confirm` is a separate process from the server; it tells the running
servers through the database. Each process holding a version (`core.guard`) asks `is_confirmed` with
that version's hash at its checks. A confirmation names bytes, not a time: the same file confirmed
before the server has even seen it goes straight through, and any other edit is judged afresh.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, DateTime, String, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from calendar_service.adapters.db import metadata

data_confirmations = Table(
    "data_confirmations",
    metadata,
    Column("digest", String(64), primary_key=True),  # sha256 of the file's bytes, hex
    Column("confirmed_at", DateTime(timezone=True), nullable=False),
    Column("confirmed_by", String(200), nullable=False),
)


def confirm(engine: Engine, digest: str, *, now: dt.datetime, by: str) -> None:
    """Record that the version with this hash may be published whatever it removes (idempotent)."""
    values = {"digest": digest, "confirmed_at": now.astimezone(dt.UTC), "confirmed_by": by[:200]}
    insert = (postgresql if engine.dialect.name == "postgresql" else sqlite).insert
    with engine.begin() as conn:
        conn.execute(insert(data_confirmations).values(**values).on_conflict_do_nothing())


def is_confirmed(engine: Engine, digest: str) -> bool:
    """Whether a curator confirmed the version with this hash (one indexed read)."""
    query = select(data_confirmations.c.digest).where(data_confirmations.c.digest == digest)
    with engine.connect() as conn:
        return conn.execute(query).first() is not None
