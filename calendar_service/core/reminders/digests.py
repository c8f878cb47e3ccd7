"""Digests: the reminders of one subscription falling due in the same minute (or the change notices of
one data edit) sent as one message. Pure: keys, ids and the message data; `db.ledger` groups by them.

A row's `digest_key` (set when it is planned) names the group it may join; a digest is formed when its
rows are first claimed, and its id is fixed then on every member (`digest_id`), so a retry, a restart
or a second worker sends the same digest under the same `webhook-id`. A row alone in its minute gets
its own id as `digest_id` and goes out as an ordinary message; a row already tried alone never joins
a digest later (it may have reached the receiver under its own id).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any, TypeVar

from calendar_service.core.messages import MessageType

T = TypeVar("T")

DIGEST_TYPES = (MessageType.REMINDER_DIGEST, MessageType.EVENT_DIGEST)


def due_minute_key(subscription_id: str, due_at: dt.datetime) -> str:
    """The group of a reminder: its subscription and the UTC minute it falls due in."""
    return f"{subscription_id}|{due_at.astimezone(dt.UTC):%Y-%m-%dT%H:%M}"


def edit_key(subscription_id: str, calendar_version: str) -> str:
    """The group of a change notice: its subscription and the data edit (the new calendar version)."""
    return f"{subscription_id}|edit:{hashlib.sha256(calendar_version.encode()).hexdigest()[:24]}"


def digest_id(subscription_id: str, member_ids: Sequence[str]) -> str:
    """The stable `webhook-id` of a digest: derived from its subscription and its sorted members."""
    if len(member_ids) == 1:
        return member_ids[0]  # alone: the member's own id, sent as an ordinary message
    text = "\n".join([subscription_id, *sorted(member_ids)]).encode()
    return f"dig_{hashlib.sha256(text).hexdigest()[:40]}"


def digest_type(member_kinds: Sequence[str]) -> MessageType:
    """`reminder.digest` for reminders, `event.digest` for change notices."""
    reminders = all(kind == MessageType.REMINDER_DUE for kind in member_kinds)
    return MessageType.REMINDER_DIGEST if reminders else MessageType.EVENT_DIGEST


def digest_data(items: Sequence[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    """The `data` of a digest: `count` and `items`, each `{id, type, ...}` with its single message's data.

    Each item keeps its own id, so a receiver that also deduplicates per reminder can.
    """
    ordered = sorted(items, key=lambda item: (_when(item[2]), item[0]))
    return {"count": len(ordered), "items": [{"id": i, "type": t, **data} for i, t, data in ordered]}


def _when(data: dict[str, Any]) -> str:
    moment = data.get("deadline") or data.get("new") or data.get("old") or {}
    return str(moment.get("utc", "")) if isinstance(moment, dict) else ""


def halves(members: Sequence[T]) -> tuple[Sequence[T], Sequence[T]]:
    """`members` cut in two (for a receiver that refused the whole digest as too large)."""
    middle = (len(members) + 1) // 2
    return members[:middle], members[middle:]
