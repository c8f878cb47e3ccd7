"""What the delivery loop decides about a claimed row, pure: the worker only claims, sends and records.

Before a row goes out: cancel it (its subscription removed or paused, or, for a reminder, no longer owed
under the current data: `reconciliation.why_not_owed`, the same rule planning applies), mark it missed
(its deadline passed first), fail it (a change notice too old to announce), or send it (`check_row`).
Rows sharing a `digest_id` go out as one message (`group`, `digest_message`). Claimed ahead, a job is
prepared again when its subscription or the data moved before its instant (`recheck_needed`). After an
attempt: delivered, pending again at a time the retry policy picks, or given up (`after_attempt`); a
digest refused as too large is split (`should_split`).

Inputs are the rows, the subscription as parsed once per run (`audience.Audience`), the calendar, `now`
and the `Rules`; randomness (the retry jitter) comes from the `random.Random` passed in.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from calendar_service.core.calendar import Calendar
from calendar_service.core.messages import Message
from calendar_service.core.reminders.attempts import Attempt
from calendar_service.core.reminders.audience import Audience
from calendar_service.core.reminders.digests import digest_data, digest_type
from calendar_service.core.reminders.messages import reminder_message_data
from calendar_service.core.reminders.planning import REMINDER
from calendar_service.core.reminders.reconciliation import DISABLED, REMOVED, why_not_owed
from calendar_service.core.reminders.records import Claimed, Member, Outcome, RowState
from calendar_service.core.reminders.retry import RetryPolicy
from calendar_service.core.subscriptions import Subscription
from calendar_service.core.timing import utc_text

NO_CALENDAR = "no calendar loaded"
TOO_OLD = "gave up: the change is too old to announce"

# A digest's items: each member's message id, type and data.
Items = tuple[tuple[str, str, dict[str, Any]], ...]


@dataclass(frozen=True, slots=True)
class Rules:
    """The limits the decisions apply (from `Tuning` and the retry policy)."""

    late_after: dt.timedelta  # a first attempt this far past due is "late"
    notification_max_age: dt.timedelta  # a change notice older than this is not sent
    retry: RetryPolicy
    base_url: str = ""  # links each reminder to its event's page


def final(row: Claimed, state: RowState, reason: str, now: dt.datetime) -> Outcome:
    """`row` ended without an attempt: cancelled, missed or failed, for `reason`."""
    return Outcome(
        row.id,
        row.subscription_id,
        row.kind,
        row.event_id,
        state,
        row.attempts,
        error=reason,
        finished_at=now,
        late=row.late,
    )


def unpreparable(row: Claimed, exc: Exception, now: dt.datetime) -> Outcome:
    """`row` failed for good because its message could not be built (one bad row must not stop others)."""
    return final(row, RowState.FAILED, f"could not be prepared: {type(exc).__name__}: {exc}"[:500], now)


# Builds a reminder's data from its row, the calendar, the instant it speaks as of, `late` and the base
# URL: `reminder_message_data`, or a memo of it (a burst sends the same reminder to many subscribers).
ReminderData = Callable[[Claimed, Calendar, dt.datetime, bool, str], dict[str, Any]]


def check_row(
    row: Claimed,
    sub: Audience | None,
    calendar: Calendar | None,
    now: dt.datetime,
    rules: Rules,
    reminder_data: ReminderData = reminder_message_data,
) -> Message | Outcome:
    """The message to send for a claimed `row`, or its final outcome when it must not be sent.

    Raises when the row cannot be rendered (a lead time stored before the range check): see `unpreparable`.
    """
    at = max(now, row.not_before)  # claimed ahead: the message speaks as of when it goes out
    if sub is None:
        return final(row, RowState.CANCELLED, REMOVED, now)
    if not sub.enabled:
        return final(row, RowState.CANCELLED, DISABLED, now)
    if row.kind == REMINDER:
        if row.deadline_at is not None and row.deadline_at <= now:
            reason = f"deadline {utc_text(row.deadline_at)} passed before delivery"
            return final(row, RowState.MISSED, reason, now)
        if calendar is None:
            return final(row, RowState.CANCELLED, NO_CALENDAR, now)
        stale = why_not_owed(row.event_id, row.deadline_at, row.lead_time, calendar, sub)
        if stale:
            return final(row, RowState.CANCELLED, stale, now)
        late = row.late or (row.first_attempt_at is None and now - row.due_at > rules.late_after)
        data: dict[str, Any] = reminder_data(row, calendar, at, late, rules.base_url)
    else:
        if now - row.due_at > rules.notification_max_age:
            return final(row, RowState.FAILED, TOO_OLD, now)
        data = dict(row.payload or {})
    return Message(id=row.id, type=row.kind, timestamp=at, data=data)


def group(rows: Iterable[Claimed]) -> tuple[list[Claimed], dict[str, list[Claimed]]]:
    """Split claimed rows into those sent alone and the members of each digest, by digest id."""
    alone: list[Claimed] = []
    digests: dict[str, list[Claimed]] = {}
    for row in rows:
        if row.digest_id is None or row.digest_id == row.id:
            alone.append(row)
        else:
            digests.setdefault(row.digest_id, []).append(row)
    return alone, digests


def digest_message(did: str, rows: Sequence[Claimed], items: Items, now: dt.datetime) -> Message:
    """The one message carrying `items` (the still-owed members `rows`) under the digest id `did`."""
    at = max([now, *(r.not_before for r in rows)])
    if len(items) == 1 and did == rows[0].id:  # a half of one after a split: its ordinary message
        return Message(id=did, type=items[0][1], timestamp=at, data=items[0][2])
    kind = digest_type([kind for _, kind, _ in items])
    return Message(id=did, type=kind, timestamp=at, data=digest_data(items))


def recheck_needed(
    claimed: Subscription, current: Subscription | None, version: str | None, calendar: Calendar | None
) -> bool:
    """Whether a job claimed ahead must be prepared again at its instant: its subscription changed (or
    went) since the claim, or the data it was checked against did."""
    data_moved = version is not None and calendar is not None and calendar.version != version
    return current is not claimed or data_moved


def should_split(outcome: Outcome, members: int) -> bool:
    """Whether a digest of `members` rows is cut in two and each half sent: the receiver said too large."""
    return outcome.status == 413 and members >= 2


def after_attempt(
    rows: Sequence[Claimed],
    message: Message,
    attempt: Attempt,
    *,
    in_digest: bool,
    now: dt.datetime,
    rules: Rules,
    rng: random.Random,
) -> Outcome:
    """What `attempt` at sending `message` (carrying `rows`) leaves: delivered, pending again at a time
    the retry policy picks (before the deadline), or failed for good with the reason it gave up."""
    row = rows[0]
    if len(rows) == 1:  # the common case, spelled out: this runs once per message of a burst
        number, due, first, late = row.attempts + 1, row.due_at, row.first_attempt_at is None, row.late
    else:
        number = max(r.attempts for r in rows) + 1
        due = min(r.due_at for r in rows)
        first = all(r.first_attempt_at is None for r in rows)
        late = any(r.late for r in rows)
    started = attempt.started_at
    late = late or (first and started - due > rules.late_after)
    latency = None if attempt.latency_ms is None else round(attempt.latency_ms)
    members = tuple(Member(r.id, r.kind, r.event_id) for r in rows) if in_digest else ()
    event_id = row.event_id if message.id == row.id else ""
    error = attempt.error
    state = RowState.FAILED
    next_at: dt.datetime | None = None
    finished: dt.datetime | None = now
    if attempt.outcome == "delivered":
        state = RowState.DELIVERED
    elif attempt.outcome == "retry":
        delay = rules.retry.next_delay(number, attempt, rng)
        # A digest is worth retrying while any member is: one past its deadline is missed at the next try.
        deadlines = [r.deadline_at for r in rows]
        deadline = None if None in deadlines else max(d for d in deadlines if d is not None)
        if delay is not None and (deadline is None or now + delay < deadline):
            state, next_at, finished = RowState.PENDING, now + delay, None
        elif delay is not None:
            error = f"{attempt.error or attempt.status}; gave up: the deadline comes first"
        else:
            error = f"{attempt.error or attempt.status}; gave up after {number} attempt(s)"
    return Outcome(
        message.id,
        row.subscription_id,
        message.type,
        event_id,
        state,
        number,
        next_attempt_at=next_at,
        started_at=started,
        status=attempt.status,
        latency_ms=latency,
        outcome=attempt.outcome,
        error=error,
        late=late,
        finished_at=finished,
        due_at=due,
        members=members,
    )
