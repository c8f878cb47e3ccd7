"""The curator's queue in one place, and the two decisions a curator takes on it.

    build_queue(calendar, engine, now, within=...)   proposals, changed/dead/failing sources, past events
                                                     still open, tentative events inside the window
    accept_proposal(engine, path, id, today, now)    write the proposal into the events file
    verify_event(path, id, today)                    set `verified:` to today after a check

`review` (CLI) and `/review` (web) both call these; nothing else writes the events file, and only on a
curator's command.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from calendar_service.adapters import datafile_editor
from calendar_service.core.calendar import Calendar
from calendar_service.core.errors import ProposalNotFound
from calendar_service.core.proposals import Proposal
from calendar_service.core.review import STALE_VERIFICATION, ReviewItem, review_calendar
from calendar_service.core.sourcecheck import SourceFinding, event_source_urls, source_findings
from calendar_service.render.jsonview import utc_text

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

DEAD_AFTER = dt.timedelta(days=3)


@dataclass(frozen=True)
class Queue:
    """Everything waiting for a curator."""

    items: list[ReviewItem]
    sources: list[SourceFinding]
    proposals: list[Proposal]

    def __len__(self) -> int:
        return len(self.items) + len(self.sources) + len(self.proposals)


def build_queue(
    calendar: Calendar,
    engine: Engine | None,
    now: dt.datetime,
    within: dt.timedelta,
    stale_after: dt.timedelta = STALE_VERIFICATION,
    dead_after: dt.timedelta = DEAD_AFTER,
) -> Queue:
    """The queue: the file's own to-do items, and what the source watch recorded (when a database)."""
    items = review_calendar(calendar, now, within, stale_after)
    if engine is None:
        return Queue(items, [], [])
    from calendar_service.adapters.db import sources as db  # the review of a file alone needs no database

    states = db.load_states(engine, event_source_urls(calendar))
    return Queue(items, source_findings(calendar, states, now, dead_after), db.open_proposals(engine))


def queue_to_json(queue: Queue) -> list[dict[str, Any]]:
    """The queue as one JSON-ready list, each item with an `id`, a `reason` and a `message`:
    proposals first, then sources, then the file's own items (the CLI's `--format json`, the page)."""
    out: list[dict[str, Any]] = []
    for p in queue.proposals:
        out.append(
            {
                "id": p.id,
                "reason": "proposal",
                "kind": p.kind,
                "title": p.title,
                "when": utc_text(p.created_at) if p.created_at else None,
                "message": proposal_message(p),
                "url": p.url,
                "watch": p.watch_id,
                "event_id": p.event_id,
                "change": p.change,
                "entry": p.entry,
            }
        )
    for f in queue.sources:
        out.append(
            {
                "id": f.event_id,
                "reason": f.issue.value,
                "when": utc_text(f.since),
                "message": f.message,
                "url": f.url,
                "excerpt": f.excerpt,
                "line": f.line,
            }
        )
    for item in queue.items:
        out.append(
            {
                "id": item.event.id,
                "title": item.event.title,
                "reason": item.reason.value,
                "when": utc_text(item.when),
                "message": item.message,
                "line": item.event.line,
            }
        )
    return out


def proposal_message(proposal: Proposal) -> str:
    """One line saying what accepting `proposal` would do."""
    if proposal.kind == "change" and proposal.change:
        was, now = proposal.change.get("was"), proposal.change.get("now")
        return f"move {proposal.event_id}: {was} → {now} (trade-calendar review --accept {proposal.id})"
    entry = proposal.entry
    return (
        f"new {entry.get('kind')} {entry.get('id')} on {entry.get('date', 'no date')} "
        f"(trade-calendar review --accept {proposal.id})"
    )


def accept_proposal(
    engine: Engine, path: Path, proposal_id: str, today: dt.date, now: dt.datetime
) -> Proposal:
    """Write an open proposal into the events file (validated first) and close it; return it."""
    from calendar_service.adapters.db import sources as db

    proposal = db.get_proposal(engine, proposal_id)
    if proposal is None or proposal.state != "open":
        raise ProposalNotFound(proposal_id)
    if proposal.kind == "change" and proposal.event_id and proposal.change:
        note = f"moved by {proposal.id}: {proposal.change.get('note') or proposal.title}"
        datafile_editor.move_event(
            path, proposal.event_id, str(proposal.change["now"]), dict(proposal.entry["source"]), note, today
        )
    else:
        datafile_editor.append_event(path, proposal.entry, today)
    db.mark_accepted(engine, proposal.id, now)
    return proposal


def verify_event(path: Path, event_id: str, today: dt.date) -> None:
    """Record that a person checked `event_id` against its sources today."""
    datafile_editor.set_verified(path, event_id, today)
