"""The index of a served version, built with the application's own orders and kept with its snapshot."""

from __future__ import annotations

from calendar_service.adapters.live import Snapshot
from calendar_service.application.deadlines import deadline_order
from calendar_service.application.events import EventQuery, order_key, select_events
from calendar_service.core.calendar import Event
from calendar_service.core.eventindex import EventIndex, StateIndex, build_index, index_states

_KEY = "event-index"
_STATES = "state-index"
_SELECTIONS = "selections"
MAX_SELECTIONS = 128  # distinct queries remembered per version; then forgotten all at once


def index_of(snapshot: Snapshot) -> EventIndex:
    """The snapshot's event index, built on first use and kept for the rest of that version's life.

    Two requests that both find it missing build it twice and keep the first: no lock on the read path.
    """
    found = snapshot.derived.get(_KEY)
    if isinstance(found, EventIndex) and found.calendar is snapshot.calendar:
        return found
    built = build_index(snapshot.calendar, order_key, deadline_order)
    kept = snapshot.derived.setdefault(_KEY, built)
    return kept if isinstance(kept, EventIndex) and kept.calendar is snapshot.calendar else built


def states_of(snapshot: Snapshot) -> StateIndex:
    """The snapshot's publication state indexed by moment, built on first use; rebuilt when a process
    follows another's publication (same calendar, new state: `derived` is shared, so it is checked)."""
    found = snapshot.derived.get(_STATES)
    if (
        isinstance(found, StateIndex)
        and found.published is snapshot.published
        and found.calendar is snapshot.calendar
    ):
        return found
    built = index_states(snapshot.published, snapshot.calendar)
    snapshot.derived[_STATES] = built
    return built


def prepare(snapshot: Snapshot) -> None:
    """Build a new version's indexes before it is served (`LiveCalendar.on_prepare`)."""
    index_of(snapshot)
    states_of(snapshot)


def selected(snapshot: Snapshot, query: EventQuery) -> list[Event]:
    """`select_events(query)` over the snapshot's index, remembered for the version: a query depends only
    on the data, so the same query (a subscribed page, an app polling the API) is answered once."""
    memo = snapshot.derived.setdefault(_SELECTIONS, {})
    assert isinstance(memo, dict)
    found = memo.get(query)
    if found is None:
        if len(memo) >= MAX_SELECTIONS:
            memo.clear()
        found = memo[query] = tuple(select_events(index_of(snapshot), query))
    return list(found)
