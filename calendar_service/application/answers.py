"""Answers kept until the instant they stop being true, per data generation, per process.

A page or an API answer depends on the data (its generation), the query and `now`. Most of `now`'s
effect is a handful of instants where something changes (a deadline passes, a countdown loses a
minute, an event leaves the window): the builder of an answer says until when it holds
(`application/expiry.py` computes that instant), and until then the same bytes are the answer. A
clock set back before the instant an answer was built misses too: the answer is only known for
[built, until).

Bounded in entries and in bytes (least recently used out first); a new generation drops the lot.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Kept(Generic[T]):
    """One answer, the instant it was built at and the instant it stops holding (None: not by time)."""

    value: T
    generation: int
    since: dt.datetime
    until: dt.datetime | None
    size: int

    def holds_at(self, now: dt.datetime) -> bool:
        """Whether this answer is the one a computation at `now` would give."""
        return self.since <= now and (self.until is None or now < self.until)


class AnswerCache(Generic[T]):
    """An LRU of answers of the current generation, each with the instants it holds between."""

    def __init__(self, *, max_entries: int = 512, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.generation: int | None = None
        self.bytes = 0
        self.hits = 0  # answers given from the cache (counted without a lock: a figure, not a ledger)
        self._entries: OrderedDict[Hashable, Kept[T]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, generation: int, key: Hashable, now: dt.datetime) -> T | None:
        """The answer kept for `key` if it holds at `now` in this generation."""
        if generation != self.generation:
            return None
        kept = self._entries.get(key)
        # The generation again: another thread may have swapped in a newer one since the check above.
        if kept is None or kept.generation != generation or not kept.holds_at(now):
            return None
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
        self.hits += 1
        return kept.value

    def put(
        self, generation: int, key: Hashable, now: dt.datetime, value: T, until: dt.datetime | None, size: int
    ) -> T:
        """Keep `value`, built at `now` and holding until `until`; returns it."""
        with self._lock:
            if self.generation != generation:
                if self.generation is not None and generation < self.generation:
                    return value  # a request still on an older version: answer it, keep nothing
                self.generation = generation
                self._entries.clear()
                self.bytes = 0
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old.size
            if size > self.max_bytes:
                return value
            self._entries[key] = Kept(value, generation, now, until, size)
            self.bytes += size
            while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self.bytes -= dropped.size
        return value

    def answer(
        self,
        generation: int,
        key: Hashable,
        now: dt.datetime,
        build: Callable[[], tuple[T, dt.datetime | None, int]],
    ) -> T:
        """The kept answer, or `build()`'s (value, until, size) kept and returned.

        Two requests that both miss build twice and keep the last: no lock is held while building.
        """
        found = self.get(generation, key, now)
        if found is not None:
            return found
        value, until, size = build()
        return self.put(generation, key, now, value, until, size)
