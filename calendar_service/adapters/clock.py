"""The one place that asks the system for the time; everything else takes a `Clock`."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> dt.datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> dt.datetime:
        """The current instant from the operating system."""
        return dt.datetime.now(dt.UTC)


class SettableClock:
    """A clock tests set and advance by hand; thread-safe so servers under test can share it."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError(f"SettableClock needs an aware datetime, got naive {start.isoformat()}")
        self._now = start.astimezone(dt.UTC)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        """The time the clock was last set to."""
        with self._lock:
            return self._now

    def set(self, moment: dt.datetime) -> None:
        """Jump to `moment` (aware)."""
        if moment.tzinfo is None:
            raise ValueError(f"set() needs an aware datetime, got naive {moment.isoformat()}")
        with self._lock:
            self._now = moment.astimezone(dt.UTC)

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        """Move forward by `delta` and return the new time."""
        with self._lock:
            self._now += delta
            return self._now
