"""Published state: SEQUENCE and LAST-MODIFIED per RFC 5545 §3.8.7.4, tombstones, snapshots."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from calendar_service.core.datafile import load_calendar
from calendar_service.core.publication import (
    EPOCH,
    Published,
    event_from_snapshot,
    fingerprint_of,
    last_modified_of,
    reconcile,
    snapshot_of,
)
from tests import regen_golden as golden
from tests.support.paths import DATA

T0, T1 = golden.T0, golden.T1
T2 = T1 + dt.timedelta(days=1)
RETENTION = golden.RETENTION


def small(**replacements: str) -> str:
    text = golden.small_text()
    for old, new in replacements.items():
        assert old in text
        text = text.replace(old, new)
    return text


def step(before_text: str, after_text: str) -> tuple[dict[str, Published], dict[str, Published]]:
    first = reconcile({}, golden.calendar_from(before_text), T0, RETENTION)
    second = reconcile(first, golden.calendar_from(after_text), T1, RETENTION)
    return first, second


def test_first_publication() -> None:
    states = reconcile({}, golden.calendar_from(golden.small_text()), T0, RETENTION)
    assert set(states) == {"truce", "expiry", "london"}
    for state in states.values():
        assert state.sequence == 0
        assert state.last_modified == T0
        assert state.removed_at is None


def test_nothing_changed_keeps_everything() -> None:
    first, second = step(golden.small_text(), golden.small_text())
    assert second == first


@pytest.mark.parametrize(
    ("old", "new", "changed"),
    [
        ("time: 10:40", "time: 11:00", "london"),  # time
        ("end_time: 17:00", "end_time: 18:00", "london"),  # end
        ("tz: Europe/London", "tz: Europe/Paris", "london"),  # zone (the instant moves too)
        ("title: London day 2", "title: London, day two", "london"),  # title
        ("status: held\n    countries: [US, CN]\n    date: 2025-06-10", "status: postponed\n"
         "    countries: [US, CN]\n    date: 2025-06-10", "london"),  # status
    ],
)  # fmt: skip
def test_significant_change_raises_sequence(old: str, new: str, changed: str) -> None:
    first, second = step(golden.small_text(), small(**{old: new}))
    assert second[changed].sequence == first[changed].sequence + 1
    assert second[changed].last_modified == T1
    assert second[changed].fingerprint != first[changed].fingerprint
    for other in set(first) - {changed}:
        assert second[other] == first[other]


def test_date_move_through_a_derived_event_raises_both() -> None:
    _, second = step(golden.small_text(), small(**{"date: 2025-05-14": "date: 2025-05-20"}))
    assert second["truce"].sequence == 1
    assert second["expiry"].sequence == 1  # `after: truce` moved with it


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("sources: [{title: Bloomberg}]", "sources: [{title: Bloomberg, publisher: Bloomberg News}]"),
        ("kind: talks\n    status: held", "kind: talks\n    location: Lancaster House\n    status: held"),
        ("kind: talks\n    status: held", "kind: talks\n    description: Second day\n    status: held"),
    ],
)
def test_minor_change_moves_last_modified_only(old: str, new: str) -> None:
    first, second = step(golden.small_text(), small(**{old: new}))
    assert second["london"].sequence == first["london"].sequence
    assert second["london"].last_modified == T1
    assert second["london"].snapshot != first["london"].snapshot


def test_removed_event_becomes_a_tombstone_then_leaves() -> None:
    calendar = golden.calendar_from(golden.small_text())
    first = reconcile({}, calendar, T0, RETENTION)
    without = golden.calendar_from(golden.changed_small_text())
    second = reconcile(first, without, T1, RETENTION)
    gone = second["london"]
    assert gone.removed_at == T1
    assert gone.is_tombstone
    assert gone.last_modified == T1
    assert gone.sequence == first["london"].sequence + 1
    assert gone.snapshot == first["london"].snapshot
    # Kept, unchanged, within retention; dropped once it has passed.
    assert reconcile(second, without, T1 + RETENTION - dt.timedelta(seconds=1), RETENTION)["london"] == gone
    assert "london" not in reconcile(second, without, T1 + RETENTION, RETENTION)


def test_returning_event_is_live_again_with_a_higher_sequence() -> None:
    first = reconcile({}, golden.calendar_from(golden.small_text()), T0, RETENTION)
    second = reconcile(first, golden.calendar_from(golden.changed_small_text()), T1, RETENTION)
    third = reconcile(second, golden.calendar_from(golden.small_text()), T2, RETENTION)
    assert third["london"].removed_at is None
    assert third["london"].sequence == second["london"].sequence + 1
    assert third["london"].last_modified == T2


def test_sequence_never_below_recorded_history() -> None:
    history = (
        "    history:\n"
        "      - {changed: 2025-06-01, kind: rescheduled, was: {date: 2025-06-09, time: '10:40'}}\n"
        "      - {changed: 2025-06-05, kind: confirmed}\n"
    )
    with_history = small(
        **{"    sources: [{title: Bloomberg}]": history + "    sources: [{title: Bloomberg}]"}
    )
    fresh = reconcile({}, golden.calendar_from(with_history), T1, RETENTION)
    assert fresh["london"].sequence == 2
    # A long-running service that saw the file before the history was written agrees.
    _, running = step(golden.small_text(), with_history)
    assert running["london"].sequence == fresh["london"].sequence


def test_long_running_and_fresh_install_agree_after_a_recorded_move() -> None:
    moved = small(
        **{
            "time: 10:40": "time: 11:40",
            "    sources: [{title: Bloomberg}]": "    history:\n"
            "      - {changed: 2025-06-09, kind: rescheduled, was: {date: 2025-06-10, time: '10:40'}}\n"
            "    sources: [{title: Bloomberg}]",
        }
    )
    _, running = step(golden.small_text(), moved)
    fresh = reconcile({}, golden.calendar_from(moved), T1, RETENTION)
    assert running["london"].sequence == fresh["london"].sequence == 1


def test_last_modified_of_counts_removals() -> None:
    assert last_modified_of([]) == EPOCH
    first = reconcile({}, golden.calendar_from(golden.small_text()), T0, RETENTION)
    assert last_modified_of(first.values()) == T0
    second = reconcile(first, golden.calendar_from(golden.changed_small_text()), T1, RETENTION)
    assert last_modified_of(second.values()) == T1
    only_removed = {k: v for k, v in second.items() if v.removed_at is not None}
    assert last_modified_of(only_removed.values()) == T1


def test_fingerprint_ignores_minor_fields() -> None:
    event = golden.calendar_from(golden.small_text()).get("london")
    assert fingerprint_of(dataclasses.replace(event, location="Elsewhere")) == fingerprint_of(event)
    assert fingerprint_of(dataclasses.replace(event, title="Other")) != fingerprint_of(event)


def _calendars() -> list[str]:
    return ["small", "real"] if DATA.exists() else ["small"]


@pytest.mark.parametrize("which", _calendars())
def test_snapshot_round_trips_through_json(which: str) -> None:
    calendar = (
        golden.calendar_from(golden.small_text())
        if which == "small"
        else load_calendar(DATA, today=golden.TODAY).calendar
    )
    for event in calendar:
        snapshot = json.loads(json.dumps(snapshot_of(event)))
        assert snapshot == snapshot_of(event)
        back = event_from_snapshot(snapshot)
        assert dataclasses.replace(back, line=event.line) == event
        assert fingerprint_of(back) == fingerprint_of(event)
