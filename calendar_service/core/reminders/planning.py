"""Which reminders and change notifications are owed: pure functions of the data, the subscriptions and now.

A reminder is one (subscription, event deadline, lead time). Its id is a hash of exactly those, so every
process that plans from the same data computes the same id; the ledger inserts by id and ignores one it
already has, which is what keeps restarts, reloads and a second scheduler from sending anything twice.

Lead times are real elapsed time (`PT1H` before 00:01 EST on the morning clocks change is 3,600 s before
in UTC, not "23:01 on the previous wall clock"), so due times are computed on UTC instants.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from calendar_service.core.calendar import Calendar, Event
from calendar_service.core.messages import MessageType
from calendar_service.core.reminders.audience import Audience, AudienceIndex, Subscriber, audience
from calendar_service.core.reminders.leadtime import LeadTime

# The message types planning produces (`webhooks.payloads.MessageType`); "cancelled" alone is a ledger
# row state (`records.RowState.CANCELLED`), never a message type.
REMINDER = MessageType.REMINDER_DUE
RESCHEDULED = MessageType.EVENT_RESCHEDULED
EVENT_CANCELLED = MessageType.EVENT_CANCELLED
CREATED = MessageType.EVENT_CREATED
CHANGE_KINDS = (RESCHEDULED, EVENT_CANCELLED, CREATED)


@dataclass(frozen=True, slots=True)
class Reminder:
    """One reminder owed to a subscriber: `lead_time` before `deadline_at`, due at `due_at` (UTC)."""

    id: str
    subscription_id: str
    event_id: str
    deadline_at: dt.datetime
    lead_time: LeadTime
    due_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two versions of the calendar that subscribers are told about."""

    kind: MessageType  # RESCHEDULED, EVENT_CANCELLED or CREATED
    event_id: str
    old_at: dt.datetime | None  # the deadline (or start, for an event without one) before the change
    new_at: dt.datetime | None  # ... and after it; None when the event is gone or new
    reason: str = ""  # for EVENT_CANCELLED: "cancelled", "superseded" or "removed"
    superseded_by: str | None = None

    @property
    def id(self) -> str:
        """A stable id: two processes noticing the same change name it the same."""
        return _digest("chg", self.kind, self.event_id, _stamp(self.old_at), _stamp(self.new_at))


def reminder_id(subscription_id: str, event_id: str, deadline_at: dt.datetime, lead_time: LeadTime) -> str:
    """The stable id of a reminder; by the lead time's length, so `P1D` and `PT24H` name one instant."""
    seconds = str(int(lead_time.delta.total_seconds()))
    return _digest("rem", subscription_id, event_id, _stamp(deadline_at), seconds)


def notification_id(subscription_id: str, change: Change) -> str:
    """The stable id of one change notification to one subscriber."""
    return _digest("ntf", subscription_id, change.id)


def plan_reminders(
    calendar: Calendar,
    subscriptions: Iterable[Subscriber | Audience],
    now: dt.datetime,
    *,
    late_window: dt.timedelta = dt.timedelta(0),
    on_skip: Callable[[str, str], None] | None = None,
) -> list[Reminder]:
    """Every reminder owed: live events, deadline ahead, due no earlier than `now - late_window`.

    Pass `late_window=dt.timedelta.max` to get every reminder whose deadline is still ahead. A
    subscription that cannot be planned (a lead time stored before the range was enforced) is skipped
    and reported to `on_skip(subscription_id, reason)`; the others are planned as usual.
    """
    audiences = [s if isinstance(s, Audience) else audience(s) for s in subscriptions]
    for sub in audiences:
        if sub.enabled and sub.problem is not None and on_skip is not None:
            on_skip(sub.id, sub.problem)
    return owed_reminders(calendar, AudienceIndex(audiences), now, late_window=late_window)


def owed_reminders(
    events: Iterable[Event],
    index: AudienceIndex,
    now: dt.datetime,
    *,
    late_window: dt.timedelta = dt.timedelta.max,
) -> list[Reminder]:
    """The reminders `events` owe the subscribers in `index`, by due time (see `plan_reminders`).

    The work is the events times the subscribers each event matches: subscriptions whose filter an
    event does not pass cost nothing but their place in the index.
    """
    earliest = None if late_window == dt.timedelta.max else now - late_window
    plan: list[Reminder] = []
    for event in events:
        deadline = event.deadline_at
        if not event.is_live or deadline is None or deadline <= now:
            continue
        for sub in index.subscribers(event):
            for lead in sub.leads:
                due = deadline - lead.delta
                if earliest is None or due >= earliest:
                    rid = reminder_id(sub.id, event.id, deadline, lead)
                    plan.append(Reminder(rid, sub.id, event.id, deadline, lead, due))
    plan.sort(key=lambda r: (r.due_at, r.id))
    return plan


def diff_calendars(old: Calendar, new: Calendar) -> list[Change]:
    """What subscribers must hear about when `old` becomes `new`: moved, cancelled and new events."""
    changes: list[Change] = []
    for before in old:
        after = new.get(before.id) if before.id in new else None
        if not before.is_live:
            continue
        if after is None or not after.is_live:
            reason = "removed" if after is None else after.status.value
            superseded_by = after.superseded_by if after is not None else None
            was = moment(before, old)
            changes.append(Change(EVENT_CANCELLED, before.id, was, None, reason, superseded_by))
            continue
        was, now_at = moment(before, old), moment(after, new)
        if was != now_at:
            changes.append(Change(RESCHEDULED, before.id, was, now_at))
    for after in new:
        before_event = old.get(after.id) if after.id in old else None
        if after.is_live and (before_event is None or not before_event.is_live):
            changes.append(Change(CREATED, after.id, None, moment(after, new)))
    return changes


def moment(event: Event, calendar: Calendar) -> dt.datetime:
    """The instant that matters about an event: its deadline, or its start when it has none."""
    return event.deadline_at if event.deadline_at is not None else event.start_utc(calendar.tz)


def _stamp(value: dt.datetime | None) -> str:
    return "" if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _digest(prefix: str, *parts: str) -> str:
    # \x1f (unit separator) cannot occur in ids or timestamps, so ("a", "bc") and ("ab", "c") differ.
    text = "\x1f".join(parts).encode("utf-8")
    return f"{prefix}_{hashlib.sha256(text).hexdigest()[:40]}"


def changed_events(old: Calendar, new: Calendar) -> list[str]:
    """The ids of events added, removed or changed in any way from `old` to `new` (sorted).

    Wider than `diff_calendars` on purpose: an edit of countries or tags changes who is owed reminders
    though nobody is told about it.
    """
    ids = {e.id for e in old} | {e.id for e in new}
    return sorted(i for i in ids if (old.get(i) if i in old else None) != (new.get(i) if i in new else None))
