"""An index only narrows: every selection answered from a version's index is the plain selection.

Generated filters, ranges and words over the bundled data and a generated calendar (repeating entries,
whole-day and timed events in many zones, every status); each indexed answer is compared with the walk
over all events that the application did before indexes existed.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import generate_yaml
from calendar_service.adapters.live import Snapshot
from calendar_service.application.deadlines import deadline_order, upcoming_deadlines, upcoming_in
from calendar_service.application.events import EventQuery, order_key, select_events
from calendar_service.application.indexes import MAX_SELECTIONS, selected
from calendar_service.core.calendar import Calendar
from calendar_service.core.datafile import load_calendar, parse_calendar
from calendar_service.core.eventindex import EventIndex, build_index, index_states
from calendar_service.core.filters import known_values, parse_filter
from calendar_service.core.model import Authority, Importance, Kind, Status
from calendar_service.core.publication import Published, reconcile

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2025, 6, 10)


def _calendars() -> dict[str, Calendar]:
    bundled = load_calendar(ROOT / "data" / "events.yaml", today=TODAY).calendar
    generated = parse_calendar(generate_yaml(400, seed=7).encode(), "generated.yaml", today=TODAY).calendar
    return {"bundled": bundled, "generated": generated}


CALENDARS = _calendars()
INDEXES = {name: build_index(c, order_key, deadline_order) for name, c in CALENDARS.items()}


@functools.cache  # the calendars never change; a walk over every event per example was most of the time
def _vocabulary(name: str) -> dict[str, list[str]]:
    calendar = CALENDARS[name]
    return {
        "country": sorted({c for e in calendar for c in e.countries} | {"US", "ZA"}),
        "tag": sorted({t for e in calendar for t in e.tags} | {"no-such-tag"}),
        "action": sorted({e.action for e in calendar if e.action} | {"no-such-action"}),
        "hs": sorted({h[:n] for e in calendar for h in e.hs for n in (2, 4)} | {"9903.01.25"}),
        "kind": [k.value for k in Kind],
        "status": [s.value for s in Status],
        "importance": [i.value for i in Importance],
        "authority": [a.value for a in Authority],
        "words": sorted({w for e in calendar for w in e.title.lower().split()[:2]} | {"zzz"}),
    }


INSTANTS = st.datetimes(
    min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2027, 12, 31), timezones=st.just(dt.UTC)
)
BOUNDS = st.none() | st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2027, 12, 31)) | INSTANTS


@st.composite
def queries(draw: st.DrawFn, name: str) -> tuple[dict[str, list[str]], EventQuery]:
    vocab = _vocabulary(name)
    params: dict[str, list[str]] = {}
    for field in ("country", "tag", "action", "hs", "kind", "status", "importance", "authority"):
        chosen = draw(st.lists(st.sampled_from(vocab[field]), max_size=2, unique=True))
        if chosen and draw(st.integers(0, 2)) == 0:
            params[field] = chosen
    words = draw(st.lists(st.sampled_from(vocab["words"]), max_size=2))
    query = EventQuery(parse_filter(params), draw(BOUNDS), draw(BOUNDS), tuple(words))
    return params, query


@pytest.mark.parametrize("name", sorted(CALENDARS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_indexed_selection_is_the_plain_selection(name: str, data: st.DataObject) -> None:
    calendar, index = CALENDARS[name], INDEXES[name]
    _, query = data.draw(queries(name))
    assert [e.id for e in select_events(index, query)] == [e.id for e in select_events(calendar, query)]


@pytest.mark.parametrize("name", sorted(CALENDARS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), now=INSTANTS, days=st.none() | st.integers(0, 400))
def test_indexed_upcoming_is_the_plain_upcoming(
    name: str, data: st.DataObject, now: dt.datetime, days: int | None
) -> None:
    calendar, index = CALENDARS[name], INDEXES[name]
    _, query = data.draw(queries(name))
    horizon = None if days is None else now + dt.timedelta(days=days)
    plain = upcoming_deadlines(query.event_filter.apply(calendar.events), now, horizon)
    indexed = upcoming_in(index, query.event_filter, now, horizon)
    assert [e.id for e in indexed] == [e.id for e in plain]


@pytest.mark.parametrize("name", sorted(CALENDARS))
@settings(max_examples=100, deadline=None)
@given(begin=INSTANTS, length=st.integers(0, 400), day=st.dates(dt.date(2023, 1, 1), dt.date(2028, 1, 1)))
def test_windows_and_recent_changes_are_the_plain_walks(
    name: str, begin: dt.datetime, length: int, day: dt.date
) -> None:
    calendar, index = CALENDARS[name], INDEXES[name]
    tz = calendar.tz
    end = begin + dt.timedelta(days=length)
    plain = []
    for event in calendar:
        start, finish = event.start_utc(tz), event.end_utc(tz)
        if start <= end and (finish or start) >= begin:
            plain.append((event, start, finish))
    assert index.overlapping(begin, end) == plain
    recent = [e for e in calendar if any(change.changed >= day for change in e.history)]
    assert index.changed_since(day) == recent


def test_the_index_offers_the_vocabulary_and_is_kept_per_version() -> None:
    calendar = CALENDARS["generated"]
    index = INDEXES["generated"]
    assert isinstance(index, EventIndex)
    assert index.vocabulary == known_values(calendar)
    # The generated data has events in China and events for every country: both are CN candidates.
    cn = index.candidates(parse_filter({"country": ["CN"]}))
    assert any("*" in e.countries for e in cn)
    assert any("CN" in e.countries for e in cn)
    assert len(cn) < len(calendar)


def _two_publications() -> dict[str, Published]:
    first = reconcile(
        {}, CALENDARS["generated"], dt.datetime(2025, 6, 1, tzinfo=dt.UTC), dt.timedelta(days=60)
    )
    return dict(reconcile(first, EDITED, dt.datetime(2025, 6, 9, 12, tzinfo=dt.UTC), dt.timedelta(days=60)))


EDITED = parse_calendar(generate_yaml(420, seed=8).encode(), "edited.yaml", today=TODAY).calendar
PUBLISHED = _two_publications()
STATES = index_states(PUBLISHED, EDITED)


@settings(max_examples=100, deadline=None)
@given(since=st.datetimes(dt.datetime(2025, 5, 25), dt.datetime(2025, 6, 15), timezones=st.just(dt.UTC)))
def test_records_moved_since_are_every_record_with_a_moment_since(since: dt.datetime) -> None:
    def moved(state: Published) -> bool:
        event_id = state.event_id
        recorded = len(EDITED.get(event_id).history) if event_id in EDITED else 0
        changed = state.last_modified if state.sequence > recorded else None
        moments = (changed, state.first_published, state.removed_at)
        return any(m is not None and m >= since for m in moments)

    expected = {event_id for event_id, state in PUBLISHED.items() if moved(state)}
    assert {event_id for event_id, _ in STATES.moved_since(since)} == expected
    assert any(s.removed_at for s in PUBLISHED.values())
    assert any(s.first_published for s in PUBLISHED.values())
    assert any(s.sequence > 0 and not s.first_published for s in PUBLISHED.values())


def test_remembered_selections_are_the_plain_selection_past_the_memo_size() -> None:
    calendar = CALENDARS["generated"]
    at = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)
    snapshot = Snapshot(calendar, {}, at, at, generation=1)
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=n) for n in range(MAX_SELECTIONS + 20)]
    for _ in range(2):  # the second pass answers from the memo, then from a memo cleared when full
        for day in days[:: max(1, len(days) // 40)] + days[-3:]:
            query = EventQuery(parse_filter({"country": ["CN"]}), begin=day)
            assert selected(snapshot, query) == select_events(calendar, query)
    for day in days:
        selected(snapshot, EventQuery(begin=day))
    memo = snapshot.derived["selections"]
    assert isinstance(memo, dict)
    assert 0 < len(memo) <= MAX_SELECTIONS
