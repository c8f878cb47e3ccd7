"""The records that cross the ledger seam, as plain values: a claimed row and what became of it.

Pure (no SQLAlchemy), so that message building and delivery can name them without the database layer;
`db.ledger` reads and writes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from calendar_service.core.reminders.leadtime import LeadTime, UnreadLeadTime


class RowState(StrEnum):
    """Where an outbox row is: pending, then delivered, failed, missed or cancelled (final)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    MISSED = "missed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Claimed:
    """One outbox row claimed for delivery by this process."""

    id: str
    subscription_id: str
    kind: str
    event_id: str
    lead_time: LeadTime | UnreadLeadTime | None  # read once, as the row was claimed; None: a notice
    payload: Mapping[str, Any] | None
    due_at: dt.datetime
    deadline_at: dt.datetime | None
    attempts: int
    late: bool
    first_attempt_at: dt.datetime | None
    digest_id: str | None = None  # the digest it goes out in, fixed at its first claim (reminders.digests)
    next_attempt_at: dt.datetime | None = None  # not to be sent before this (claimed ahead of it)
    claimed_by: str | None = None  # the claim it was taken in (`ledger.renew_claims` extends it)

    @property
    def not_before(self) -> dt.datetime:
        """The instant this row may go out: its due time, or the retry time its last attempt set."""
        return self.next_attempt_at or self.due_at


@dataclass(frozen=True, slots=True)
class Member:
    """One row a digest carries, as the delivery log names it."""

    id: str
    kind: str
    event_id: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to a claimed row: the attempt made (if any) and the row's new state."""

    id: str
    subscription_id: str
    kind: str
    event_id: str
    state: RowState  # PENDING (retry at next_attempt_at) or a final state
    attempt: int  # attempts made so far, this one included
    next_attempt_at: dt.datetime | None = None
    started_at: dt.datetime | None = None  # None: no attempt was made (missed, cancelled)
    status: int | None = None
    latency_ms: int | None = None
    outcome: str | None = None
    error: str | None = None
    late: bool = False
    finished_at: dt.datetime | None = None
    due_at: dt.datetime | None = None  # carried along so callers can measure lateness
    # A digest: `id` is the digest's webhook-id and the new state applies to each member row.
    members: tuple[Member, ...] = ()
    log_only: bool = False  # an attempt to log that changes no row (a digest refused as too large, split)

    @property
    def lateness(self) -> float | None:
        """Seconds from due time to this attempt's start, for a first attempt."""
        if self.attempt != 1 or self.started_at is None or self.due_at is None:
            return None
        return (self.started_at - self.due_at).total_seconds()


@dataclass(frozen=True, slots=True)
class NewRow:
    """A reminder or change notification to insert into the outbox (once, by id)."""

    id: str  # stable: the webhook-id receivers deduplicate on
    subscription_id: str
    kind: str  # a webhooks.payloads.MessageType
    event_id: str
    due_at: dt.datetime
    lead_time: LeadTime | None = None  # reminders (a change notification has none)
    payload: Mapping[str, Any] | None = None  # change notifications: the message data, fixed when queued
    deadline_at: dt.datetime | None = None
    digest_key: str | None = None  # the digest it may join: reminders.digests.due_minute_key / edit_key


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One line of a subscription's delivery log."""

    webhook_id: str
    type: str  # a webhooks.payloads.MessageType
    event_id: str
    attempt: int
    at: dt.datetime
    status: int | None
    latency_ms: int | None
    outcome: str
    error: str | None
    late: bool
    members: list[dict[str, str]] | None = None  # a digest: what it carried ({id, type, event_id})

    def as_dict(self) -> dict[str, Any]:
        """The fields by name, for JSON."""
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class ReminderRow:
    """A reminder's row as planning compares it with what is owed (`reconciliation.reconcile`)."""

    id: str
    subscription_id: str
    event_id: str
    deadline_at: dt.datetime | None
    lead_time: LeadTime | UnreadLeadTime | None  # read once, as the row was read
    state: RowState
