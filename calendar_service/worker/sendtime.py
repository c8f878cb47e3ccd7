"""Subscriptions as they are when a message goes out: one read shared by every sender asking at once.

A message is claimed, checked and signed up to `Tuning.prepare_ahead` before its instant, and a long
run claims more while earlier ones send; meanwhile its subscription may be deleted, paused,
re-pointed, given a new secret or a new filter. So each sender asks `SendTimeCheck.current` just
before it sends. The answer comes from a read that began after the question, so a change committed
before the message was due is always seen. Senders asking together share one read of versions
(`id, version` of the subscriptions asked about); only the subscriptions whose version moved are read
in full.

When the database cannot be read, the subscription as claimed is used (and the failure logged once
per outage): sends go on through an outage, as they did before this check, rather than a reminder
being held back for a change that, with the database away, nobody could have made meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection

from calendar_service.core.subscriptions import Subscription

log = logging.getLogger("calendar_service.worker.service")

Versions = Callable[[Collection[str]], dict[str, int]]
Rows = Callable[[Collection[str]], dict[str, Subscription]]


class SendTimeCheck:
    """Answers "what is this subscription now?" for senders on one event loop, batching the reads."""

    def __init__(self, versions: Versions, rows: Rows) -> None:
        self._versions = versions
        self._rows = rows
        self._asked: list[tuple[Subscription, asyncio.Future[Subscription | None]]] = []
        self._reader: asyncio.Task[None] | None = None
        self._failing = False

    async def current(self, sub: Subscription) -> Subscription | None:
        """`sub` if unchanged, the stored one if it changed since, None if it was deleted."""
        future: asyncio.Future[Subscription | None] = asyncio.get_running_loop().create_future()
        self._asked.append((sub, future))
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read_while_asked())
        return await future

    async def _read_while_asked(self) -> None:
        while self._asked:
            # Questions asked from here on wait for the next read, which starts after them.
            batch, self._asked = self._asked, []
            try:
                answers = await asyncio.to_thread(self._read, [sub for sub, _ in batch])
            except Exception as exc:
                if not self._failing:
                    log.warning("cannot read subscriptions before sending (%s); sending as claimed", exc)
                self._failing = True
                answers = [sub for sub, _ in batch]
            else:
                self._failing = False
            for (_, future), answer in zip(batch, answers, strict=True):
                if not future.done():  # its sender may have been cancelled (shutdown)
                    future.set_result(answer)

    def _read(self, asked: list[Subscription]) -> list[Subscription | None]:
        versions = self._versions({sub.id for sub in asked})
        moved = {sub.id for sub in asked if sub.id in versions and versions[sub.id] != sub.version}
        fresh = self._rows(moved) if moved else {}
        return [
            None if sub.id not in versions else fresh.get(sub.id) if sub.id in moved else sub for sub in asked
        ]
