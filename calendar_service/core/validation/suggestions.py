""" "Did you mean …?" for a reference to an id that does not exist, at a bounded cost per file.

Comparing each dangling reference with every id (difflib over all of them) is quadratic: 4,000
dangling references among 4,000 ids took a minute. Typos are small edits, so the ids are indexed by
each spelling with one character deleted (the symmetric-delete trick): two spellings one insertion,
deletion, substitution or swap apart share an entry, and a lookup costs one probe per character of the
reference. Only when that finds nothing is the reference compared with every id, difflib's way, and
only while a budget of comparisons per file lasts; after that a reference gets no suggestion (a file
with thousands of dangling references needs its ids fixed, not a guess for each).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# Comparisons of whole ids allowed per file for references the index cannot place (~0.1 s on a busy machine).
FULL_SCAN_BUDGET = 5_000
_FREE = 64  # a handful of candidates from the index is always compared
_CUTOFF = 0.6  # difflib.get_close_matches' default: the same suggestions as before, found cheaply


def _deletes(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


class IdSuggester:
    """The close matches of a misspelt id among the ids of one file."""

    def __init__(self, ids: Iterable[str]) -> None:
        self._ids = sorted(set(ids))
        self._index: dict[str, list[str]] | None = None  # built at the first dangling reference
        self._budget = FULL_SCAN_BUDGET
        self._memo: dict[str, str | None] = {}

    def suggest(self, ref: str) -> str | None:
        """The id `ref` most likely meant, or None."""
        if ref not in self._memo:
            self._memo[ref] = self._best(ref)
        return self._memo[ref]

    def _best(self, ref: str) -> str | None:
        if self._index is None:
            self._index = {}
            for known in self._ids:
                for variant in _deletes(known):
                    self._index.setdefault(variant, []).append(known)
        near = {known for variant in _deletes(ref) for known in self._index.get(variant, ())}
        candidates = sorted(near) if near else self._ids
        if len(candidates) > _FREE and len(candidates) > self._budget:
            return None
        self._budget -= len(candidates)
        return _closest(ref, candidates)


def _closest(ref: str, candidates: list[str]) -> str | None:
    close = difflib.get_close_matches(ref, candidates, n=1, cutoff=_CUTOFF)
    return close[0] if close else None
