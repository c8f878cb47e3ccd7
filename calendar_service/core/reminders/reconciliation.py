"""Make the ledger match what is owed: the one decision, pure.

Planning does not follow the data change by change (a move cancels, a move back would have to
un-cancel); it computes what a subscriber is owed under the data and the subscription as they are now
(`planning.owed_reminders`) and compares that with the ledger's rows for the same events and
subscriptions. What is owed and missing is inserted, what is owed and was cancelled is pending again,
what is pending and no longer owed is cancelled; a row that was delivered, failed or missed stays as it
is, so a move and its revert leave exactly the rows the reverted data alone would have, and nothing is
sent twice. Running it again changes nothing.

Owed rows are only added or re-opened while they are worth sending (due no earlier than `now -
late_window`); a pending row is cancelled only while its deadline is ahead (one whose deadline passed
is the sender's to record as missed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from calendar_service.core.calendar import Calendar
from calendar_service.core.reminders.audience import Audience
from calendar_service.core.reminders.leadtime import LeadTime, UnreadLeadTime
from calendar_service.core.reminders.planning import Reminder
from calendar_service.core.reminders.records import ReminderRow, RowState
from calendar_service.core.timing import utc_text

REMOVED = "subscription removed"
DISABLED = "subscription disabled"


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """What to change in the ledger: rows to insert, ids to re-open, (id, reason) pairs to cancel."""

    insert: tuple[Reminder, ...] = ()
    reopen: tuple[str, ...] = ()
    cancel: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.insert or self.reopen or self.cancel)


def reconcile(
    owed: Iterable[Reminder],
    rows: Iterable[ReminderRow],
    *,
    now: dt.datetime,
    late_window: dt.timedelta,
    why: Callable[[ReminderRow], str],
) -> Reconciliation:
    """Compare `owed` (every reminder of some events and subscriptions whose deadline is ahead) with the
    ledger's `rows` for the same events and subscriptions; `why(row)` names why a row is no longer owed."""
    earliest = (
        dt.datetime.min.replace(tzinfo=dt.UTC) if late_window == dt.timedelta.max else now - late_window
    )
    wanted = {r.id: r for r in owed if r.deadline_at > now}
    have = {row.id: row for row in rows}
    insert = tuple(r for r in wanted.values() if r.id not in have and r.due_at >= earliest)
    reopen = tuple(
        r.id
        for r in wanted.values()
        if r.id in have and have[r.id].state == RowState.CANCELLED and r.due_at >= earliest
    )
    cancel = tuple(
        (row.id, why(row))
        for row in have.values()
        if row.state == RowState.PENDING
        and row.id not in wanted
        and (row.deadline_at is None or row.deadline_at > now)
    )
    return Reconciliation(insert, reopen, cancel)


def why_not_owed(
    event_id: str,
    deadline_at: dt.datetime | None,
    lead_time: LeadTime | UnreadLeadTime | None,
    calendar: Calendar,
    sub: Audience | None,
) -> str:
    """Why a reminder (`lead_time` before `event_id`'s `deadline_at`) is not owed to `sub` under
    `calendar`, or "" when it still is. Planning cancels with this reason; the sender checks it again.

    A lead time an earlier version stored and this one does not understand is never owed: whatever it
    meant, no reminder planned now has it (`leadtime.UnreadLeadTime`).
    """
    if isinstance(lead_time, UnreadLeadTime):
        return lead_time.problem
    if sub is None:
        return REMOVED
    if not sub.enabled:
        return DISABLED
    if event_id not in calendar:
        return "event removed"
    event = calendar.get(event_id)
    if not event.is_live:
        return f"event {event.status.value}"
    if event.deadline_at != deadline_at:
        return f"deadline moved: was due for {'?' if deadline_at is None else utc_text(deadline_at)}"
    if sub.problem is not None:
        return f"subscription cannot be planned: {sub.problem}"
    if lead_time is None or lead_time not in sub.leads:
        return "lead time no longer subscribed"
    if not sub.wants(event):
        return "event no longer matches the subscription's filter"
    return ""
