"""The ledger decision is pure: owed and missing is inserted, owed and cancelled re-opened, pending and not
owed cancelled, anything sent left alone; and the audience index finds exactly the subscribers a full
scan would."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from calendar_service.core.reminders.audience import AudienceIndex, audience
from calendar_service.core.reminders.leadtime import read_lead_time
from calendar_service.core.reminders.planning import owed_reminders, plan_reminders
from calendar_service.core.reminders.reconciliation import reconcile, why_not_owed
from calendar_service.core.reminders.records import ReminderRow, RowState
from tests.support.reminders import event, make_calendar

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, tzinfo=UTC)
DEADLINE = dt.datetime(2026, 6, 20, 16, 0, tzinfo=UTC)
WINDOW = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Sub:
    id: str
    lead_times: tuple[str, ...] = ("P7D", "P1D")
    filter: dict[str, tuple[str, ...]] = field(default_factory=dict)
    enabled: bool = True


def rows_of(reminders: list, state: RowState) -> list[ReminderRow]:
    return [
        ReminderRow(r.id, r.subscription_id, r.event_id, r.deadline_at, r.lead_time, state) for r in reminders
    ]


def decide(owed: list, rows: list[ReminderRow], now: dt.datetime = NOW):
    return reconcile(owed, rows, now=now, late_window=WINDOW, why=lambda row: "gone")


def test_missing_rows_are_inserted_and_a_second_pass_changes_nothing() -> None:
    owed = plan_reminders(make_calendar(event("a", DEADLINE)), [Sub("s")], NOW, late_window=dt.timedelta.max)
    first = decide(owed, [])
    assert sorted(r.lead_time.text for r in first.insert) == ["P1D", "P7D"]
    assert not decide(owed, rows_of(owed, RowState.PENDING))


def test_a_move_and_its_revert_reopen_the_rows_the_move_cancelled() -> None:
    sub = Sub("s")
    before = plan_reminders(make_calendar(event("a", DEADLINE)), [sub], NOW, late_window=dt.timedelta.max)
    moved_at = DEADLINE + dt.timedelta(days=3)
    after = plan_reminders(make_calendar(event("a", moved_at)), [sub], NOW, late_window=dt.timedelta.max)
    moving = decide(after, rows_of(before, RowState.PENDING))
    assert {i for i, _ in moving.cancel} == {r.id for r in before}
    assert {r.id for r in moving.insert} == {r.id for r in after}
    # The ledger after the move; the revert owes `before` again.
    ledger = rows_of(before, RowState.CANCELLED) + rows_of(after, RowState.PENDING)
    back = decide(before, ledger)
    assert set(back.reopen) == {r.id for r in before}
    assert not back.insert


def test_sent_rows_stay_as_they_are_and_nothing_is_sent_again() -> None:
    owed = plan_reminders(make_calendar(event("a", DEADLINE)), [Sub("s")], NOW, late_window=dt.timedelta.max)
    for state in (RowState.DELIVERED, RowState.FAILED, RowState.MISSED):
        assert not decide(owed, rows_of(owed, state)), state
        assert not decide([], rows_of(owed, state)), state  # not owed any more: still not touched


def test_too_late_to_send_is_neither_inserted_nor_reopened_but_a_pending_one_is_kept() -> None:
    owed = plan_reminders(make_calendar(event("a", DEADLINE)), [Sub("s")], NOW, late_window=dt.timedelta.max)
    late = (
        DEADLINE - dt.timedelta(days=1) + WINDOW + dt.timedelta(seconds=1)
    )  # P1D due just over the window ago
    assert [r.lead_time for r in decide(owed, [], late).insert] == []
    assert not decide(owed, rows_of(owed, RowState.CANCELLED), late).reopen
    assert not decide(owed, rows_of(owed, RowState.PENDING), late)  # being retried: still owed


def test_a_pending_row_past_its_deadline_is_left_to_the_sender() -> None:
    owed = plan_reminders(make_calendar(event("a", DEADLINE)), [Sub("s")], NOW, late_window=dt.timedelta.max)
    assert not decide([], rows_of(owed, RowState.PENDING), DEADLINE + dt.timedelta(seconds=1))


def test_why_names_what_changed() -> None:
    calendar = make_calendar(event("a", DEADLINE, countries=["US"]), event("c", DEADLINE, status="cancelled"))
    us = audience(Sub("s", filter={"country": ("US",)}))

    def why(event_id: str, sub: object = us, deadline: dt.datetime = DEADLINE, lead: str = "P1D") -> str:
        return why_not_owed(event_id, deadline, read_lead_time(lead), calendar, sub)  # type: ignore[arg-type]

    assert why("a") == ""
    assert why("a", None) == "subscription removed"
    assert why("a", audience(Sub("s", enabled=False))) == "subscription disabled"
    assert why("gone") == "event removed"
    assert why("c") == "event cancelled"
    assert (
        why("a", deadline=DEADLINE - dt.timedelta(days=1))
        == "deadline moved: was due for 2026-06-19T16:00:00Z"
    )
    assert why("a", lead="PT1H") == "lead time no longer subscribed"
    assert why("a", lead="PT24H") == ""  # the same lead time, spelled another way
    assert why("a", lead="P0D").startswith("lead time not understood: 'P0D' is not a lead time")
    cn = audience(Sub("s", filter={"country": ("CN",)}))
    assert why("a", cn) == "event no longer matches the subscription's filter"


# --- the audience index: the same subscribers as trying every subscription ------------------------

COUNTRY = st.sampled_from(["US", "CN", "EU", "*"])
TAG = st.sampled_from(["steel", "chips", "autos"])
KIND_VALUES = st.sampled_from(["tariff", "deadline"])
FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "country": st.lists(COUNTRY, min_size=1, max_size=2).map(tuple),
        "tag": st.lists(TAG, min_size=1, max_size=2).map(tuple),
        "kind": st.lists(KIND_VALUES, min_size=1, max_size=1).map(tuple),
    },
)
EVENTS = st.lists(
    st.tuples(st.lists(COUNTRY, min_size=1, max_size=3, unique=True), st.lists(TAG, max_size=2, unique=True)),
    min_size=1,
    max_size=5,
)


@settings(max_examples=60, deadline=None)
@given(filters=st.lists(FILTERS, min_size=1, max_size=12), events=EVENTS, paused=st.sets(st.integers(0, 11)))
def test_the_index_finds_exactly_the_subscribers_a_full_scan_finds(
    filters: list[dict[str, tuple[str, ...]]], events: list[tuple[list[str], list[str]]], paused: set[int]
) -> None:
    subs = [Sub(f"s{i}", filter=f, enabled=i not in paused) for i, f in enumerate(filters)]
    calendar = make_calendar(
        *(
            event(f"e{i}", DEADLINE, countries=countries, tags=tags)
            for i, (countries, tags) in enumerate(events)
        )
    )
    index = AudienceIndex(audience(s) for s in subs)
    # put/drop keep it right as subscriptions change: drop one, put it back changed, put another again
    index.drop("s0")
    index.put(audience(subs[0]))
    index.put(audience(subs[-1]))
    for ev in calendar:
        expected = [s.id for s in subs if audience(s).wants(ev)]
        assert [a.id for a in index.subscribers(ev)] == sorted(expected)
    brute = plan_reminders(calendar, subs, NOW, late_window=dt.timedelta.max)
    indexed = owed_reminders(calendar, index, NOW)
    assert [r.id for r in indexed] == [r.id for r in brute]
