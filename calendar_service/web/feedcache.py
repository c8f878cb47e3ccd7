"""Responses kept per snapshot generation: an LRU by canonical key, and an alias index by raw request.

What is kept, and how it is made, is the caller's (`web/feeds.py` keeps ready-made feed responses
under the feed's canonical address). This module only decides what stays: entries of the current
generation, at most `maxsize` keys, plus an index from the exact `Host` + query string a client sends
to what it was answered, so a repeat request costs two dict lookups. Both are dropped as a whole when
the live calendar swaps in a new generation (generations only grow: a request still serving an older
one gets its value built but kept nowhere, so it cannot wipe the newer generation's entries).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class FeedCache(Generic[V]):
    """An LRU of values for the current generation, with a raw-request alias index."""

    def __init__(self, *, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self.generation = -1
        self.alias: dict[Hashable, V] = {}
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, generation: int, alias: Hashable) -> V | None:
        """What the exact request `alias` was answered in this generation, if it was."""
        if self.generation != generation:
            return None
        return self.alias.get(alias)

    def get(self, generation: int, key: Hashable, build: Callable[[], V]) -> V:
        """The value under the canonical `key`, built (outside the lock) when this generation has none."""
        with self._lock:
            if generation > self.generation:
                self._start(generation)
            # An older generation (a request that began before a reload) is answered, and kept nowhere.
            value = self._entries.get(key) if generation == self.generation else None
            if value is not None:
                self._entries.move_to_end(key)
                return value
        value = build()
        with self._lock:
            if self.generation == generation:
                self._entries[key] = value
                while len(self._entries) > self.maxsize:
                    self._entries.popitem(last=False)
        return value

    def remember(self, generation: int, alias: Hashable, value: V) -> None:
        """Answer the exact request `alias` with `value` from now on in this generation."""
        with self._lock:
            if self.generation != generation:
                return
            if len(self.alias) >= self.maxsize * 4:
                self.alias = {}  # bounded: many spellings of few keys start over cheaply
            self.alias[alias] = value

    def _start(self, generation: int) -> None:
        self.generation = generation
        self._entries.clear()
        self.alias = {}  # a new dict: readers holding the old one finish undisturbed
