"""The one version of the data file a process holds back, and when it may go out (see `core.guard`).

`LiveCalendar` asks `judge` about every valid version before serving it; a version that takes away
too much is kept here with its validated calendar (so publishing it later reads nothing again),
reported once in the log and on /healthz. At each later check of the same bytes, `release` says
whether it may go out now: a curator confirmed its content (`trade-calendar publish --confirm`, a
record in the database read here) or its window passed. A different file drops it.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from calendar_service.adapters.datafile_reader import Fingerprint
from calendar_service.core.calendar import Calendar
from calendar_service.core.datafile import LoadResult
from calendar_service.core.guard import Hold, shrinkage

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = logging.getLogger("calendar_service.adapters.live")


class Holding:
    """Holds at most one version back; every method is called under `LiveCalendar`'s lock."""

    def __init__(self, path: Path, share: float, window: dt.timedelta, confirmations: Engine | None) -> None:
        self.path = path
        self.share = share  # a version taking away more of the live events is held
        self.window = window  # ...until it has stayed unchanged this long
        self.confirmations = confirmations  # where `trade-calendar publish --confirm` records its word
        self.hold: Hold | None = None
        self.fingerprint: Fingerprint | None = None  # of the file holding it
        self._result: LoadResult | None = None  # its validation, published as it is
        self._confirm_failed = False  # reading confirmations failed (logged once per outage)

    def judge(
        self, served: Calendar, digest: str, fingerprint: Fingerprint, result: LoadResult, now: dt.datetime
    ) -> bool:
        """Whether to hold `result` (read from bytes with this digest) back instead of serving it."""
        taken = shrinkage(served, result.calendar)
        if not taken.exceeds(self.share) or self.is_confirmed(digest):
            return False
        if self.hold is None or self.hold.digest != digest:  # reported once per version
            self.hold = Hold(digest, result.calendar.version, taken, now, now + self.window)
            log.warning("%s", self.hold.message(str(self.path)))
        self.fingerprint, self._result = fingerprint, result
        return True

    def release(self, now: dt.datetime) -> LoadResult | None:
        """The held version's validation when it may go out now (confirmed, or past its window)."""
        hold, result = self.hold, self._result
        if hold is None or result is None:
            return None
        confirmed = self.is_confirmed(hold.digest)
        if not confirmed and now < hold.until:
            return None
        why = "a curator confirmed it" if confirmed else f"the file has held it unchanged since {hold.since}"
        log.warning("%s: publishing held version %s: %s", self.path, hold.version, why)
        return result

    def drop(self, why: str) -> None:
        """Forget the held version (the file changed), saying so in the log."""
        if self.hold is not None:
            log.warning("%s: held version %s dropped: %s", self.path, self.hold.version, why)
        self.clear()

    def clear(self) -> None:
        """Forget the held version quietly (it has been published)."""
        self.hold, self.fingerprint, self._result = None, None, None

    def is_confirmed(self, digest: str) -> bool:
        """Whether a curator confirmed the content with this digest (False while the database is away)."""
        if self.confirmations is None:
            return False
        from calendar_service.adapters.db.confirmations import is_confirmed

        try:
            confirmed = is_confirmed(self.confirmations, digest)
        except Exception:  # the database is away: nothing is confirmed until it is back
            if not self._confirm_failed:
                log.exception("reading data confirmations failed; held versions stay held meanwhile")
            self._confirm_failed = True
            return False
        self._confirm_failed = False
        return confirmed
