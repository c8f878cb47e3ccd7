"""The source watch's tables on SQLite and PostgreSQL: upserts converge, a document is proposed once."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy.engine import Engine

from calendar_service.adapters.db import sources as db
from calendar_service.core.proposals import Proposal
from calendar_service.core.sourcecheck import Fetch, next_state

T0 = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def proposal(number: int) -> Proposal:
    entry = {"id": f"doc-{number}", "title": f"Doc {number}", "sources": [{"title": "x"}]}
    return Proposal(f"fr-2026-{number:05d}", "ustr", "new", f"Doc {number}", None, entry)


def test_two_writers_propose_each_document_once(engine: Engine) -> None:
    batch = [proposal(n) for n in range(300)]
    added: list[int] = []
    barrier = threading.Barrier(2)

    def write(order: list[Proposal]) -> None:
        barrier.wait()
        added.append(db.add_proposals(engine, order, T0))

    threads = [threading.Thread(target=write, args=(o,)) for o in (batch, batch[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(added)[-1] <= 300
    assert sum(added) == 300
    assert len(db.open_proposals(engine)) == 300
    assert db.mark_accepted(engine, "fr-2026-00007", T0)
    assert not db.mark_accepted(engine, "fr-2026-00007", T0)  # the second curator is told it is done
    assert db.counts(engine, T0, dt.timedelta(days=3))["proposals_open"] == 299


def test_states_round_trip_and_the_last_write_wins(engine: Engine) -> None:
    url = "https://www.example.gov/notice"
    first = next_state(None, Fetch(url, "text", "Hearing on 20 January.", "h1", '"a"'), T0)
    db.save_states(engine, [first])
    assert db.load_states(engine, [url])[url] == first
    later = T0 + dt.timedelta(days=1)
    second = next_state(first, Fetch(url, "text", "Hearing on 3 March.", "h2", '"b"'), later)
    db.save_states(engine, [second])
    stored = db.load_states(engine)[url]
    assert stored.changed_at == later
    assert stored.etag == '"b"'
    assert stored.excerpt == "- Hearing on 20 January.\n+ Hearing on 3 March."
    gone = next_state(stored, Fetch(url, "gone", status=404, error="HTTP 404"), later)
    db.save_states(engine, [gone])
    assert db.counts(engine, later, dt.timedelta(days=3))["dead"] == 1
