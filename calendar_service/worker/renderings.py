"""What a burst repeats, made once per run: a reminder's data, and its body in each format.

Ten thousand reminders due in one second are, in practice, a few events' reminders to many subscribers:
the same data and, per format, the same bytes (only the signature differs, by webhook-id and secret).
Building the data and rendering the JSON were about half of the CPU spent preparing such a message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from calendar_service.core.calendar import Calendar
from calendar_service.core.messages import Format, Message
from calendar_service.core.reminders.messages import reminder_message_data
from calendar_service.core.reminders.records import Claimed
from calendar_service.render.webhook_payloads import render_payload

_LIMIT = 20_000  # entries of each kind kept before starting afresh (a run's distinct reminders are few)


class Renderings:
    """Memos of reminder data (by what determines it) and of rendered bodies; cleared at each run."""

    def __init__(self) -> None:
        self._data: dict[tuple[Any, ...], dict[str, Any]] = {}
        # By the data object's id, which is unique while the entry holds that object (checked on use).
        self._bodies: dict[tuple[int, str, dt.datetime, str], tuple[Mapping[str, Any], bytes]] = {}

    def clear(self) -> None:
        """Forget everything (a new run: the subscriptions and data are read again)."""
        self._data.clear()
        self._bodies.clear()

    def reminder_data(
        self, row: Claimed, calendar: Calendar, at: dt.datetime, late: bool, base_url: str
    ) -> dict[str, Any]:
        """`reminder_message_data(...)`, shared by every row with the same event, deadline, lead time,
        instant and lateness under this calendar version. Callers do not mutate it."""
        key = (calendar.version, row.event_id, row.deadline_at, row.lead_time, at, late, base_url)
        data = self._data.get(key)
        if data is None:
            if len(self._data) >= _LIMIT:
                self._data.clear()
            data = self._data[key] = reminder_message_data(row, calendar, at, late, base_url)
        return data

    def body(self, message: Message, fmt: Format) -> bytes:
        """`render_payload(message, fmt)`, once per data object, type, timestamp and format."""
        key = (id(message.data), message.type, message.timestamp, fmt)
        known = self._bodies.get(key)
        if known is not None and known[0] is message.data:
            return known[1]
        if len(self._bodies) >= _LIMIT:
            self._bodies.clear()
        body = render_payload(message, fmt)
        self._bodies[key] = (message.data, body)
        return body
