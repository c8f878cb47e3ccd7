"""Keep the reminder ledger equal to what the data and the subscriptions owe, at the cost of what changed.

The decision is pure (`core.reminders.reconciliation`); this module picks its scope and does the IO:

- a data change reconciles the events that differ from the version last planned, against the
  subscriptions whose filter matches them (found through `AudienceIndex`, not by trying every one),
  after re-reading the subscriptions written lately (by any process; see CLOCK_SKEW);
- a subscription change reconciles that subscription, against every event;
- a catch-up (every wake-up) reads the planning inputs of all subscriptions (five short columns) and
  reconciles those that differ from what was last planned (changed, new or deleted by another process),
  and re-opens rows cancelled since the last wake-up that are owed all the same;
- a full pass (start-up) reconciles everything, a chunk of subscriptions at a time.

Each subscription's filter and lead times are parsed once, when it is first seen or changes, and kept.
One lock serialises the passes of this process; passes of other processes are safe beside them because
every pass makes the ledger match the state it read, and every write names the state it expects.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from calendar_service.adapters.db import ledger
from calendar_service.adapters.db import subscriptions as subs_db
from calendar_service.core.calendar import Calendar, Event
from calendar_service.core.reminders.audience import Audience, AudienceIndex, audience
from calendar_service.core.reminders.digests import due_minute_key
from calendar_service.core.reminders.planning import REMINDER, Reminder, changed_events, owed_reminders
from calendar_service.core.reminders.reconciliation import reconcile, why_not_owed
from calendar_service.core.reminders.records import NewRow, ReminderRow

log = logging.getLogger(__name__)

CHUNK = 500  # subscriptions reconciled together in a full pass (bounds the rows held at once)
# A data change re-reads the subscriptions written since the newest one it has seen, less this much: the
# clock of the process that wrote one may run behind ours. Anything older is caught by the wake-up's
# full read; a deletion, by the count.
CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass
class Tally:
    """How many rows a pass inserted, re-opened and cancelled."""

    added: int = 0
    reopened: int = 0
    cancelled: int = 0

    def __iadd__(self, counts: tuple[int, int, int]) -> Tally:
        self.added += counts[0]
        self.reopened += counts[1]
        self.cancelled += counts[2]
        return self

    def __bool__(self) -> bool:
        return bool(self.added or self.reopened or self.cancelled)


class Planner:
    """Reconciles the ledger with the data and the subscriptions; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        now: Callable[[], dt.datetime],
        late_window: dt.timedelta,
        on_skip: Callable[[str, str], None] | None = None,
    ) -> None:
        self.engine = engine
        self._now = now
        self.late_window = late_window
        self._on_skip = on_skip
        self.lock = threading.RLock()
        self._inputs: dict[str, subs_db.PlanningInput] = {}  # as last reconciled
        self._audiences: dict[str, Audience] = {}
        self._index = AudienceIndex()  # the same subscriptions, filed by their filters
        self._seen_at: dt.datetime | None = None  # the newest `updated_at` read
        self._checked_at: dt.datetime | None = None  # when cancelled rows were last looked at
        self.calendar: Calendar | None = None  # the version the ledger was last reconciled with

    def audiences(self) -> AudienceIndex:
        """The listening subscriptions as last read, indexed by their filters."""
        return self._index

    # --- passes ---------------------------------------------------------------------------------------

    def full(self, calendar: Calendar) -> Tally:
        """Reconcile every subscription with every event of `calendar`."""
        with self.lock:
            self._take(subs_db.planning_inputs(self.engine))
            tally = Tally()
            ids = sorted(self._audiences)
            for start in range(0, len(ids), CHUNK):
                tally += self._subscriptions(calendar, ids[start : start + CHUNK])
            # Rows of subscriptions deleted while another process planned for them.
            gone = sorted(ledger.pending_reminder_subscriptions(self.engine) - set(self._audiences))
            if gone:
                tally += self._subscriptions(calendar, gone)
            self.calendar = calendar
            return tally

    def catch_up(self, calendar: Calendar, *, thorough: bool = True) -> Tally:
        """Reconcile what changed since the last pass: subscriptions and then events.

        `thorough` reads every subscription's planning inputs (a wake-up); otherwise (a data change)
        only those written lately and their count, so that the cost stays with what changed.
        """
        with self.lock:
            if self.calendar is None:
                return self.full(calendar)
            changed = self._refresh() if not thorough else self._take(subs_db.planning_inputs(self.engine))
            tally = Tally()
            if changed:
                tally += self._subscriptions(self.calendar, changed)
            tally += self._events(calendar)
            if thorough:
                tally += self._recheck_cancelled(calendar)
            return tally

    def subscriptions_changed(self, ids: Sequence[str]) -> Tally:
        """Reconcile these subscriptions (created, changed, re-enabled or deleted) as stored now."""
        with self.lock:
            if self.calendar is None:
                return Tally()  # nothing planned yet: the first pass covers them
            changed = self._take(subs_db.planning_inputs(self.engine, ids), asked=ids)
            tally = Tally()
            if changed:
                tally += self._subscriptions(self.calendar, changed)
            return tally

    # --- the work -------------------------------------------------------------------------------------

    def _refresh(self) -> list[str]:
        """Read the subscriptions written lately; all of them if one went missing (see CLOCK_SKEW)."""
        if self._seen_at is None:
            return self._take(subs_db.planning_inputs(self.engine))
        since = self._seen_at - CLOCK_SKEW
        changed = self._take(subs_db.planning_inputs(self.engine, changed_since=since), asked=())
        if subs_db.count_subscriptions(self.engine) != len(self._inputs):
            changed = sorted({*changed, *self._take(subs_db.planning_inputs(self.engine))})
        return changed

    def _take(
        self, fresh: Mapping[str, subs_db.PlanningInput], *, asked: Sequence[str] | None = None
    ) -> list[str]:
        """Remember the inputs read (all of them, or those `asked` for); return the ids whose planning
        inputs changed, or that are gone."""
        known = self._inputs
        changed = [i for i, got in fresh.items() if i not in known or known[i].key != got.key]
        gone = [i for i in (list(known) if asked is None else asked) if i not in fresh and i in known]
        stamps = [got.updated_at for got in fresh.values()]
        if stamps and (self._seen_at is None or max(stamps) > self._seen_at):
            self._seen_at = max(stamps)
        for sub_id in changed:
            got = fresh[sub_id]
            known[sub_id] = got
            self._audiences[sub_id] = parsed = audience(got)
            self._index.put(parsed)
            if parsed.enabled and parsed.problem is not None and self._on_skip is not None:
                self._on_skip(sub_id, parsed.problem)
        for sub_id in gone:
            del known[sub_id], self._audiences[sub_id]
            self._index.drop(sub_id)
        return sorted(changed + gone)

    def _subscriptions(self, calendar: Calendar, ids: Sequence[str]) -> tuple[int, int, int]:
        now = self._now()
        index = AudienceIndex(self._audiences[i] for i in ids if i in self._audiences)
        owed = owed_reminders(calendar, index, now)
        rows = ledger.reminder_rows(self.engine, now=now, subscription_ids=ids)
        return self._apply(calendar, owed, rows, now)

    def _recheck_cancelled(self, calendar: Calendar) -> tuple[int, int, int]:
        """Re-open what was cancelled since the last look (by any process) and is owed all the same.

        The sender cancels a row it finds no longer owed against what it read when its run began: a
        subscription created or re-enabled meanwhile looks removed or paused to it. Nothing else would
        bring such a row back until its subscription or event changed again.
        """
        now = self._now()
        since, self._checked_at = (self._checked_at or now) - CLOCK_SKEW, now
        rows = ledger.cancelled_since(self.engine, since=since, now=now)
        if not rows:
            return (0, 0, 0)
        ids = {row.id for row in rows}
        subs = AudienceIndex(
            self._audiences[i] for i in {r.subscription_id for r in rows} if i in self._audiences
        )
        events = (calendar.get(i) for i in {r.event_id for r in rows} if i in calendar)
        owed = [r for r in owed_reminders(events, subs, now) if r.id in ids]
        return self._apply(calendar, owed, rows, now)

    def _events(self, calendar: Calendar) -> tuple[int, int, int]:
        before = self.calendar
        self.calendar = calendar
        if before is None or before.version == calendar.version:
            return (0, 0, 0)
        ids = changed_events(before, calendar)
        if not ids:
            return (0, 0, 0)
        now = self._now()
        events: Iterable[Event] = (calendar.get(i) for i in ids if i in calendar)
        owed = owed_reminders(events, self.audiences(), now)
        rows = ledger.reminder_rows(self.engine, now=now, event_ids=ids)
        return self._apply(calendar, owed, rows, now)

    def _why(self, row: ReminderRow, calendar: Calendar) -> str:
        sub = self._audiences.get(row.subscription_id)
        return why_not_owed(row.event_id, row.deadline_at, row.lead_time, calendar, sub) or "no longer owed"

    def _apply(
        self, calendar: Calendar, owed: Sequence[Reminder], rows: Sequence[ReminderRow], now: dt.datetime
    ) -> tuple[int, int, int]:
        decision = reconcile(
            owed,
            rows,
            now=now,
            late_window=self.late_window,
            why=lambda row: self._why(row, calendar),
        )
        if not decision:
            return (0, 0, 0)
        inserts = (
            NewRow(
                r.id,
                r.subscription_id,
                REMINDER,
                r.event_id,
                r.due_at,
                lead_time=r.lead_time,
                deadline_at=r.deadline_at,
                digest_key=due_minute_key(r.subscription_id, r.due_at),
            )
            for r in decision.insert
        )
        return ledger.reconcile_rows(
            self.engine, now=now, insert=inserts, reopen=decision.reopen, cancel=decision.cancel
        )
