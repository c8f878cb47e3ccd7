"""Subscriptions as they are when messages go out: one read for a whole chunk of them.

A message is claimed, checked and signed up to `Tuning.prepare_ahead` before its instant, and a long
run claims more while earlier ones send; meanwhile its subscription may be deleted, paused,
re-pointed, given a new secret or a new filter. So delivery asks `SendTimeCheck.read` once its
messages are due, for a chunk of them at a time, just before handing that chunk to the senders. The
read begins after the messages' instant, so a change committed before they were due is always seen.
One read serves the chunk: the versions (`id, version`) of the subscriptions in it; only those whose
version moved are read in full.

When the database cannot be read, the subscriptions as claimed are used (and the failure logged once
per outage): sends go on through an outage, as they did before this check, rather than a reminder
being held back for a change that, with the database away, nobody could have made meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence

from calendar_service.core.subscriptions import Subscription

log = logging.getLogger("calendar_service.worker.service")

Versions = Callable[[Collection[str]], dict[str, int]]
Rows = Callable[[Collection[str]], dict[str, Subscription]]


class SendTimeCheck:
    """Answers "what are these subscriptions now?" with one read (blocking: call it off the loop)."""

    def __init__(self, versions: Versions, rows: Rows) -> None:
        self._versions = versions
        self._rows = rows
        self._failing = False

    def read(self, asked: Sequence[Subscription]) -> list[Subscription | None]:
        """Each of `asked` as it is now: the same object if unchanged, the stored one if it changed
        since, None if it was deleted."""
        try:
            answers = self._read(asked)
        except Exception as exc:
            if not self._failing:
                log.warning("cannot read subscriptions before sending (%s); sending as claimed", exc)
            self._failing = True
            return list(asked)
        self._failing = False
        return answers

    def _read(self, asked: Sequence[Subscription]) -> list[Subscription | None]:
        versions = self._versions({sub.id for sub in asked})
        moved = {sub.id for sub in asked if sub.id in versions and versions[sub.id] != sub.version}
        fresh = self._rows(moved) if moved else {}
        return [
            None if sub.id not in versions else fresh.get(sub.id) if sub.id in moved else sub for sub in asked
        ]
