"""The app with reminders started as `serve` starts them, on a clock an hour before a reminder is due."""

from __future__ import annotations

import datetime as dt

from calendar_service.adapters.clock import SystemClock

TOKEN = "wiring-token-0123456789abcdef"


AUTH = {"Authorization": f"Bearer {TOKEN}"}


DEADLINE = dt.datetime(2027, 3, 1, 15, 0, tzinfo=dt.UTC)


DUE = DEADLINE - dt.timedelta(hours=1)


class OffsetClock:
    """The real clock moved by `offset`, so the scheduler's real-time alarm and the data agree."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def now(self) -> dt.datetime:
        return SystemClock().now() + self.offset

    def put_before(self, moment: dt.datetime, seconds: float) -> None:
        """Make it `seconds` before `moment` now."""
        self.offset = moment - dt.timedelta(seconds=seconds) - SystemClock().now()
