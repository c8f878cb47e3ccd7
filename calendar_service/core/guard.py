"""Whether a new version of the data file may be published at once, or is held for a person to confirm.

A file read while it is being rewritten in place (an editor, `rsync --inplace`, a network file system)
can be a valid, shorter calendar: cut after the first event, it parses. So can a bad merge. Published,
it tells every subscriber that most events were cancelled, and their reminders go with them. So a
version that would take away more than a share of the live events being served (remove them, or make
them cancelled or superseded) is held: served by nobody, announced to nobody, until the same bytes are
still there after a longer window (a person meant it) or a curator confirms that content by its hash
(`trade-calendar publish --confirm`).

Pure: the caller says what is served, what was read and when; `live.LiveCalendar` keeps the hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from calendar_service.core.calendar import Calendar, Event

# Fewer removals than this are never held: on a calendar of five events, one removal is 20%.
HOLD_FLOOR = 3
EXAMPLES = 5  # event ids a report names


@dataclass(frozen=True)
class Shrinkage:
    """What a new version takes away from the live events of the one served."""

    live_before: int
    taken: tuple[str, ...]  # ids of live events removed, cancelled or superseded by the new version

    @property
    def share(self) -> float:
        """The part of the live events taken away, 0 to 1."""
        return len(self.taken) / self.live_before if self.live_before else 0.0

    def exceeds(self, max_share: float) -> bool:
        """Whether this is more than `max_share` of the live events (and at least `HOLD_FLOOR` of them)."""
        return len(self.taken) >= HOLD_FLOOR and self.share > max_share


def shrinkage(before: Iterable[Event], after: Calendar) -> Shrinkage:
    """What `after` takes away from the live events among `before`."""
    live = [event for event in before if event.is_live]
    taken = tuple(event.id for event in live if event.id not in after or not after.get(event.id).is_live)
    return Shrinkage(len(live), taken)


@dataclass(frozen=True)
class Hold:
    """A valid version kept back because it takes away too much; published after `until` or if confirmed."""

    digest: str  # sha256 of the file's bytes: what a confirmation names
    version: str  # the calendar's content version
    shrinkage: Shrinkage
    since: dt.datetime
    until: dt.datetime  # published then if the file still holds these bytes

    def message(self, path: str) -> str:
        """One sentence for the log and /healthz: what is held, why, and what to do."""
        taken, share = self.shrinkage.taken, self.shrinkage.share
        more = len(taken) - EXAMPLES
        named = ", ".join(taken[:EXAMPLES]) + (f" and {more} more" if more > 0 else "")
        return (
            f"{path}: warning: version {self.version} is held, not published: it would remove or cancel "
            f"{len(taken)} of {self.shrinkage.live_before} live events ({share:.0%}: {named}) — "
            f"if that is meant, run `trade-calendar publish --confirm` or leave the file as it is until "
            f"{self.until.isoformat().replace('+00:00', 'Z')}; if not, restore the file (a half-written "
            "copy looks like this)"
        )
