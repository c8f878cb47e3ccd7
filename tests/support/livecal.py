"""Reading a LiveCalendar's state in assertions: the title it serves, why its last reload was refused."""

from __future__ import annotations

from calendar_service.adapters.live import LiveCalendar


def title_of(live: LiveCalendar, event_id: str) -> str:
    """The title `live` serves for `event_id`."""
    assert live.snapshot is not None
    return live.snapshot.calendar.get(event_id).title


def failure_text(live: LiveCalendar) -> str:
    """The messages of the refused reload (fails when the last reload was not refused)."""
    assert live.last_failure is not None, "the reload was not refused"
    return "\n".join(live.last_failure.messages)
