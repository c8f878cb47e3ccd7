"""The ledger converges on the truth, whatever order edits, reverts and admin calls come in (issue 17).

A hypothesis state machine moves, cancels, un-cancels, removes, restores and re-countries events, reverts
the last edit, creates, patches, pauses, resumes and deletes subscriptions (through the application
layer, as the API does) and advances the clock, delivering what falls due to a real loopback receiver.
After every step the reminder rows must be what a fresh plan of the current state owes, minus what was
sent: nothing pending that is not owed, nothing owed (and still worth sending) that is missing or
cancelled, nothing delivered changed or sent twice. The owed set is computed here from the model, not
by the planner under test; only the reminder id (a hash) is shared.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import delete
from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import ledger
from calendar_service.adapters.db import subscriptions as subs_db
from calendar_service.adapters.settings import Settings
from calendar_service.application import subscriptions as app
from calendar_service.core.calendar import Calendar
from calendar_service.core.reminders.leadtime import LeadTime
from calendar_service.core.reminders.planning import reminder_id
from calendar_service.services import Services, build_services
from calendar_service.worker.service import ReminderService, Tuning
from tests.support.receiver import Receiver
from tests.support.reminders import add_subscription, event, make_calendar, make_service

UTC = dt.UTC
START = dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
SLOTS = [START + dt.timedelta(days=d, hours=7) for d in (4, 9, 13)]  # where an event's deadline may be
# An event no rule edits, far ahead: the calendar is never empty, and a filter may match nothing else.
ANCHOR = START + dt.timedelta(days=300)
COUNTRIES = [("US",), ("CN",), ("US", "CN")]
FILTERS = [None, "US", "CN"]  # a subscription's country filter (None: every event)
LEADS = [("P7D", "P1D", "PT1H"), ("P1D",), ("P3D", "PT1H")]
EVENT_IDS = ("e0", "e1", "e2")
SENT = {"delivered", "failed", "missed"}
WINDOW = Tuning().plan_late_window


@dataclass(frozen=True)
class Ev:
    """One event of the model."""

    slot: int = 0
    cancelled: bool = False
    present: bool = True
    countries: tuple[str, ...] = ("US",)


@dataclass(frozen=True)
class Sub:
    """One subscription of the model."""

    country: str | None
    leads: tuple[str, ...]
    enabled: bool = True


def calendar_of(version: dict[str, Ev]) -> Calendar:
    """The calendar a model version stands for."""
    records = [
        event(
            event_id,
            deadline_of(ev),
            status="cancelled" if ev.cancelled else "scheduled",
            countries=ev.countries,
        )
        for event_id, ev in sorted(version.items())
        if ev.present
    ]
    return make_calendar(*records)


def deadline_of(ev: Ev) -> dt.datetime:
    """Where the model's event has its deadline (slot -1: the anchor's)."""
    return ANCHOR if ev.slot < 0 else SLOTS[ev.slot]


def first_version() -> dict[str, Ev]:
    """The data before any edit: three events and the anchor."""
    version = {event_id: Ev(countries=COUNTRIES[n]) for n, event_id in enumerate(EVENT_IDS)}
    return version | {"anchor": Ev(slot=-1, countries=("GB",))}


class Convergence(RuleBasedStateMachine):
    """See the module docstring; `engine` and `rx` are set on the class by the test."""

    engine: Engine
    rx: Receiver
    tmp: Path

    def __init__(self) -> None:
        super().__init__()
        with self.engine.begin() as conn:  # each example starts from an empty database
            for table in (ledger.outbox, ledger.attempts, subs_db.previous_secrets, subs_db.subscriptions):
                conn.execute(delete(table))
        self.clock = SettableClock(START)
        self.versions: list[dict[str, Ev]] = [
            {i: Ev(countries=COUNTRIES[n]) for n, i in enumerate(EVENT_IDS)}
        ]
        self.calendar = calendar_of(self.versions[-1])
        self.service: ReminderService = make_service(self.engine, lambda: self.calendar, self.clock)
        settings_ = Settings(allow_private_webhooks=True, data_path=self.tmp / "unused.yaml")
        self.services: Services = build_services(
            settings_, clock=self.clock, engine=self.engine, publishes=False, loads_data=False
        )
        self.services.reminders = self.service
        self.service.start(schedule=False)
        self.subs: dict[str, Sub] = {}
        self.seen = len(self.rx.requests)
        self.delivered: set[str] = set()

    def teardown(self) -> None:
        self.service.shutdown()
        self.services.reminders = None

    # --- data edits (each is a new version; `revert` drops the last one) ----------------------------

    def _edit(self, event_id: str, **changes: Any) -> None:
        version = dict(self.versions[-1])
        version[event_id] = replace(version[event_id], **changes)
        self.versions.append(version)
        self._publish()

    def _publish(self) -> None:
        old, self.calendar = self.calendar, calendar_of(self.versions[-1])
        self.service.on_calendar_change(old, self.calendar)  # what LiveCalendar does after a swap

    @rule(event_id=st.sampled_from(EVENT_IDS), slot=st.integers(0, len(SLOTS) - 1))
    def move(self, event_id: str, slot: int) -> None:
        self._edit(event_id, slot=slot)

    @rule(event_id=st.sampled_from(EVENT_IDS), cancelled=st.booleans())
    def cancel_or_uncancel(self, event_id: str, cancelled: bool) -> None:
        self._edit(event_id, cancelled=cancelled)

    @rule(event_id=st.sampled_from(EVENT_IDS), present=st.booleans())
    def remove_or_restore(self, event_id: str, present: bool) -> None:
        self._edit(event_id, present=present)

    @rule(event_id=st.sampled_from(EVENT_IDS), countries=st.sampled_from(COUNTRIES))
    def change_countries(self, event_id: str, countries: tuple[str, ...]) -> None:
        self._edit(event_id, countries=countries)

    @precondition(lambda self: len(self.versions) > 1)
    @rule()
    def revert(self) -> None:
        self.versions.pop()
        self._publish()

    # --- subscription changes, through the use cases the API calls ----------------------------------

    @rule(country=st.sampled_from(FILTERS), leads=st.sampled_from(LEADS))
    def create(self, country: str | None, leads: tuple[str, ...]) -> None:
        body = {"url": self.rx.url + "/hook", "lead_times": list(leads)}
        if country is not None:
            body["filter"] = {"country": [country]}
        sub = app.create_subscription(self.services, body)
        self.subs[sub.id] = Sub(country, leads)

    def _pick(self, n: int) -> str:
        return sorted(self.subs)[n % len(self.subs)]

    @precondition(lambda self: self.subs)
    @rule(n=st.integers(0, 9), country=st.sampled_from(FILTERS), leads=st.sampled_from(LEADS))
    def patch(self, n: int, country: str | None, leads: tuple[str, ...]) -> None:
        sub_id = self._pick(n)
        body = {"lead_times": list(leads), "filter": {"country": [country] if country else []}}
        app.change_subscription(self.services, sub_id, body)
        self.subs[sub_id] = replace(self.subs[sub_id], country=country, leads=leads)

    @precondition(lambda self: self.subs)
    @rule(n=st.integers(0, 9))
    def pause(self, n: int) -> None:
        sub_id = self._pick(n)
        app.change_subscription(self.services, sub_id, {"enabled": False})
        self.subs[sub_id] = replace(self.subs[sub_id], enabled=False)

    @precondition(lambda self: self.subs)
    @rule(n=st.integers(0, 9))
    def resume(self, n: int) -> None:
        sub_id = self._pick(n)
        app.enable_subscription(self.services, sub_id)
        self.subs[sub_id] = replace(self.subs[sub_id], enabled=True)

    @precondition(lambda self: self.subs)
    @rule(n=st.integers(0, 9))
    def remove_subscription(self, n: int) -> None:
        sub_id = self._pick(n)
        app.delete_subscription(self.services, sub_id)
        del self.subs[sub_id]

    # --- another process (a web replica under gunicorn) changes the database; this one catches up -----

    @precondition(lambda self: self.subs)
    @rule(n=st.integers(0, 9), leads=st.sampled_from(LEADS), enabled=st.booleans(), noticed_by=st.booleans())
    def change_elsewhere(self, n: int, leads: tuple[str, ...], enabled: bool, noticed_by: bool) -> None:
        """Write a subscription without this process's use case; the worker notices it at its next
        wake-up, or at the next data change, whichever comes first."""
        sub_id = self._pick(n)
        current = subs_db.get_subscription(self.engine, sub_id)
        subs_db.update_subscription(
            self.engine, replace(current, lead_times=leads, enabled=enabled, updated_at=self.clock.now())
        )
        self.subs[sub_id] = replace(self.subs[sub_id], leads=leads, enabled=enabled)
        if noticed_by:
            self.service.plan_if_changed()  # the wake-up
        else:
            self._edit("e0", slot=(self.versions[-1]["e0"].slot + 1) % len(SLOTS))

    @precondition(lambda self: self.subs)
    @rule(n=st.integers(0, 9))
    def delete_elsewhere(self, n: int) -> None:
        sub_id = self._pick(n)
        subs_db.delete_subscription(self.engine, sub_id, now=self.clock.now())
        del self.subs[sub_id]
        self._edit("e1", cancelled=not self.versions[-1]["e1"].cancelled)  # noticed at the data change

    # --- time -----------------------------------------------------------------------------------------

    @rule(hours=st.integers(1, 96))
    def advance_and_deliver(self, hours: int) -> None:
        self.clock.advance(dt.timedelta(hours=hours))
        self.service.run_due(self.clock.now())

    # --- what must hold after every step ------------------------------------------------------------

    def owed(self, *, window: dt.timedelta | None) -> set[str]:
        """Every reminder the current model owes whose deadline is ahead (due within `window` of now)."""
        now = self.clock.now()
        owed = set()
        for sub_id, sub in self.subs.items():
            for event_id, ev in self.versions[-1].items():
                deadline = deadline_of(ev)
                if not sub.enabled or not ev.present or ev.cancelled or deadline <= now:
                    continue
                if sub.country is not None and sub.country not in ev.countries:
                    continue
                for text in sub.leads:
                    lead = LeadTime.parse(text)
                    due = deadline - lead.delta
                    if window is None or due >= now - window:
                        owed.add(reminder_id(sub_id, event_id, deadline, lead))
        return owed

    @invariant()
    def ledger_is_what_is_owed_minus_what_was_sent(self) -> None:
        now = self.clock.now()
        rows = {r["id"]: r for r in ledger.list_rows(self.engine) if r["kind"] == "reminder.due"}
        pending = {i for i, r in rows.items() if r["state"] == "pending" and r["deadline_at"] > now}
        sent = {i for i, r in rows.items() if r["state"] in SENT}
        stale = pending - self.owed(window=None)
        assert not stale, [(rows[i]["event_id"], rows[i]["lead_time"], rows[i]["deadline_at"]) for i in stale]
        missing = self.owed(window=WINDOW) - pending - sent
        assert not missing, [
            (i, rows[i]["state"], rows[i]["last_error"]) if i in rows else i for i in missing
        ]
        delivered = {i for i, r in rows.items() if r["state"] == "delivered"}
        assert self.delivered <= delivered, "a delivered reminder changed state"
        self.delivered = delivered
        twice = [
            k
            for k, n in Counter(r.headers["webhook-id"] for r in self.rx.requests[self.seen :]).items()
            if n > 1
        ]
        assert not twice, f"sent twice: {twice}"


def test_any_order_of_edits_reverts_and_admin_calls_converges(engine: Engine, tmp_path: Path) -> None:
    with Receiver() as rx:
        machine = type("ConvergenceHere", (Convergence,), {"engine": engine, "rx": rx, "tmp": tmp_path})
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=30,
                stateful_step_count=20,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            ),
        )


@pytest.mark.parametrize(
    "edited",
    [
        {"slot": 1},  # moved
        {"cancelled": True},
        {"present": False},  # removed
    ],
    ids=["move", "cancel", "remove"],
)
def test_an_edit_and_its_revert_leave_the_reminders_pending(engine: Engine, edited: dict[str, Any]) -> None:
    """Finding 1 as one fixed sequence: after the revert, the reminders of the restored deadline are all
    pending again (they stayed cancelled for good when planning followed deltas)."""
    clock = SettableClock(START)
    before = first_version()
    after = before | {"e0": replace(before["e0"], **edited)}
    leads = ("P1D", "PT1H")
    sub = add_subscription(engine, "https://hooks.example/h", clock, lead_times=leads)
    service = make_service(engine, calendar_of(before), clock)

    def pending() -> list[tuple[str, dt.datetime]]:
        rows = ledger.list_rows(engine, subscription_id=sub.id, state="pending")
        mine = [r for r in rows if r["event_id"] == "e0" and r["kind"] == "reminder.due"]
        return sorted((r["lead_time"], r["deadline_at"]) for r in mine)

    service.start(schedule=False)
    try:
        assert pending() == sorted((lead, SLOTS[0]) for lead in leads)
        service.on_calendar_change(calendar_of(before), calendar_of(after))
        assert SLOTS[0] not in {at for _, at in pending()}, "the edit cancels them"
        service.on_calendar_change(calendar_of(after), calendar_of(before))
        service.plan_if_changed()  # a wake-up changes nothing more
        assert pending() == sorted((lead, SLOTS[0]) for lead in leads)
    finally:
        service.shutdown()


def test_a_reminder_the_sender_cancelled_on_a_stale_view_is_reopened_at_the_next_wake(engine: Engine) -> None:
    """The sender judges a claimed row against the subscriptions it read when its run began: one paused
    and resumed meanwhile looks paused to it. The next wake-up re-opens what is owed all the same."""
    clock = SettableClock(START)
    sub = add_subscription(engine, "https://hooks.example/h", clock, lead_times=("P1D",))
    service = make_service(engine, calendar_of(first_version()), clock)
    service.start(schedule=False)
    try:
        (row,) = [r for r in ledger.list_rows(engine, subscription_id=sub.id) if r["event_id"] == "e0"]
        clock.advance(dt.timedelta(minutes=1))
        ledger.reconcile_rows(engine, now=clock.now(), cancel=[(row["id"], "subscription disabled")])
        assert ledger.get_row(engine, row["id"])["state"] == "cancelled"  # type: ignore[index]
        service.plan_if_changed()
        assert ledger.get_row(engine, row["id"])["state"] == "pending"  # type: ignore[index]
    finally:
        service.shutdown()
