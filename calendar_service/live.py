"""The calendar being served right now, swapped atomically when the data file changes.

`LiveCalendar` owns one `Snapshot` (a calendar, the publication state that goes with it and a
generation number). `check()` looks at the file (mtime, size, then a hash of the bytes) and, when the
content changed, validates it, reconciles the publication state (so SEQUENCE rises for what moved and
removed events stay as CANCELLED), saves that state and swaps in the new snapshot in one assignment.
An invalid edit changes nothing that is served: the last good snapshot stays and the failure, with its
`file:line` messages, is kept for /healthz and written to the log.

With a database, the publication state is shared by every process that serves the feed (gunicorn
workers, web replicas), and a process serves the state *as stored*, never one only it computed: the
bytes, and so the ETag, are the same whichever process answers. Publishing goes through
`db.publications.publish` (load, reconcile, write under one lock), and each check also compares the
stored revision with the one being served; when another process has published, this one publishes
its calendar again against the stored state (a no-op when they agree) and serves the result.

Nothing here starts a thread by itself. Web workers call `maybe_check()` on requests (a monotonic-clock
comparison, a `stat` at most every `reload_interval`); `serve` and the reminder worker call
`start_polling()` on purpose so listeners hear about changes even when no request arrives.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .clock import Clock, SystemClock
from .datafile import parse_calendar
from .errors import StoreInvalid, StoreUnreadable
from .problems import Problem
from .publication import Published, last_modified_of, reconcile
from .store import Calendar

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

Listener = Callable[[Calendar | None, Calendar], None]
Fingerprint = tuple[int, int]  # (mtime_ns, size): cheap to compare on every check


@dataclass(frozen=True)
class Snapshot:
    """One servable version: the calendar, its publication state and when it was loaded."""

    calendar: Calendar
    published: Mapping[str, Published]
    last_modified: dt.datetime
    loaded_at: dt.datetime
    generation: int
    warnings: tuple[Problem, ...] = ()
    revision: int = 0  # of the stored publication state this snapshot serves (0 without a database)


@dataclass(frozen=True)
class ReloadFailure:
    """A reload that was refused, with every message that explains why."""

    at: dt.datetime
    path: str
    messages: tuple[str, ...]
    content_hash: str = ""


@dataclass
class _FileState:
    fingerprint: Fingerprint | None = None
    content_hash: str = ""


@dataclass
class ReloadStats:
    """Counters the metrics endpoint reads."""

    reloads: int = 0
    failures: int = 0
    listeners_failed: int = 0


class LiveCalendar:
    """Holds the current `Snapshot` and replaces it when the data file changes."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Clock | None = None,
        engine: Engine | None = None,
        reload_interval: float = 2.0,
        retention: dt.timedelta = dt.timedelta(days=60),
    ) -> None:
        self.path = Path(path)
        self.clock: Clock = clock or SystemClock()
        self.engine = engine
        self.reload_interval = reload_interval
        self.retention = retention
        self.stats = ReloadStats()
        self.last_failure: ReloadFailure | None = None
        self.last_checked: dt.datetime | None = None
        self._snapshot: Snapshot | None = None
        self._file = _FileState()
        self._listeners: list[Listener] = []
        self._stats_listeners: list[Callable[[ReloadStats], None]] = []
        self._lock = threading.Lock()  # one check at a time; readers never take it
        self._next_check = 0.0  # time.monotonic() deadline; checked without the lock on the hot path
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._follow_failed = False  # the last revision read failed (logged once per outage)

    # --- reading ------------------------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot | None:
        """The version being served, or None when no valid file has been loaded yet."""
        return self._snapshot

    @property
    def ready(self) -> bool:
        """Whether there is something to serve."""
        return self._snapshot is not None

    def on_change(self, listener: Listener) -> None:
        """Call `listener(old_calendar, new_calendar)` after every swap (old is None on the first load)."""
        self._listeners.append(listener)

    def on_stats(self, listener: Callable[[ReloadStats], None]) -> None:
        """Call `listener(stats)` whenever a reload or a refused reload is counted."""
        self._stats_listeners.append(listener)

    # --- checking -----------------------------------------------------------------------------------

    def maybe_check(self) -> None:
        """Check the file if `reload_interval` has passed; never blocks behind another check."""
        if time.monotonic() < self._next_check:
            return
        if not self._lock.acquire(blocking=False):
            return  # another thread is checking; keep serving the current snapshot
        try:
            self._check_locked()
        finally:
            self._lock.release()

    def check(self) -> bool:
        """Check the file and the shared publication state now; return whether a snapshot was swapped in."""
        with self._lock:
            return self._check_locked()

    def _check_locked(self) -> bool:
        self._next_check = time.monotonic() + self.reload_interval
        now = self.clock.now()
        self.last_checked = now
        # Read the stored revision *before* looking at the file. A process that published a new file
        # saw it before we read the revision, so our stat below sees it too and we publish the new
        # file, not our old one. Only a reader that raced a half-written file (refused as invalid) or a
        # replica whose own copy is still old (a rolling deploy) can publish an older version after a
        # newer one; see `_follow`.
        stored_revision = self._stored_revision()
        swapped = self._check_file(now)
        if not swapped and stored_revision is not None:
            swapped = self._follow(stored_revision, now)
        return swapped

    def _check_file(self, now: dt.datetime) -> bool:
        try:
            stat = os.stat(self.path)
        except OSError as exc:
            self._fail(now, "", (f"{self.path}: error: cannot read the event file: {exc.strerror or exc}",))
            return False
        fingerprint = (stat.st_mtime_ns, stat.st_size)
        if fingerprint == self._file.fingerprint:
            return False
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            self._fail(now, "", (f"{self.path}: error: cannot read the event file: {exc.strerror or exc}",))
            return False
        digest = hashlib.sha256(raw).hexdigest()
        self._file.fingerprint = fingerprint
        if digest == self._file.content_hash:
            return False  # touched, not changed
        self._file.content_hash = digest
        try:
            result = parse_calendar(raw, str(self.path), today=now.date())
        except StoreInvalid as exc:
            messages = tuple(p.format() for p in exc.problems if p.is_error) or (str(exc),)
            self._fail(now, digest, messages)
            return False
        except StoreUnreadable as exc:
            self._fail(now, digest, (str(exc),))
            return False
        if self._snapshot is not None and self._snapshot.calendar.version == result.calendar.version:
            self.last_failure = None  # an invalid edit was reverted: nothing to swap
            return False
        self._swap(result.calendar, result.warnings, now)
        return True

    def _fail(self, now: dt.datetime, digest: str, messages: tuple[str, ...]) -> None:
        if self.last_failure is not None and self.last_failure.messages == messages:
            return  # the same failure again: counted and logged once
        self.last_failure = ReloadFailure(now, str(self.path), messages, digest)
        self.stats.failures += 1
        self._counted()
        kept = f"keeping version {self._snapshot.calendar.version}" if self._snapshot else "nothing to serve"
        log.error("reload of %s refused (%s):\n%s", self.path, kept, "\n".join(messages))

    def _swap(self, calendar: Calendar, warnings: tuple[Problem, ...], now: dt.datetime) -> None:
        old = self._snapshot
        published, revision = self._publish(calendar, old, now)
        generation = (old.generation + 1) if old else 1
        self._snapshot = Snapshot(
            calendar=calendar,
            published=published,
            last_modified=last_modified_of(published.values()),
            loaded_at=now,
            generation=generation,
            warnings=warnings,
            revision=revision,
        )
        self.last_failure = None
        self.stats.reloads += 1
        self._counted()
        log.info("serving %s version %s (%d events)", self.path, calendar.version, len(calendar))
        for listener in list(self._listeners):
            try:
                listener(old.calendar if old else None, calendar)
            except Exception:  # a listener's bug must not stop the swap or other listeners
                self.stats.listeners_failed += 1
                log.exception("on_change listener %r failed", listener)

    def _counted(self) -> None:
        for listener in list(self._stats_listeners):
            try:
                listener(self.stats)
            except Exception:  # counting must never stop a reload
                log.exception("on_stats listener %r failed", listener)

    def _publish(
        self, calendar: Calendar, old: Snapshot | None, now: dt.datetime
    ) -> tuple[Mapping[str, Published], int]:
        """Reconcile `calendar` at `now`; with a database, against the stored state and under its lock."""
        if self.engine is None:  # one process on its own (the reminder worker): its memory is the state
            return reconcile(old.published if old else {}, calendar, now, self.retention), 0
        from .db.publications import publish

        stored = publish(self.engine, lambda previous: reconcile(previous, calendar, now, self.retention))
        return stored.states, stored.revision

    def _stored_revision(self) -> int | None:
        """The stored revision when there is a database and a snapshot to compare it with."""
        if self.engine is None or self._snapshot is None:
            return None
        from .db.publications import current_revision

        try:
            revision = current_revision(self.engine)
        except Exception:  # the database is away: keep serving what we have, ask again next check
            if not self._follow_failed:
                log.exception("reading the publication revision failed; serving the current snapshot")
            self._follow_failed = True
            return None
        self._follow_failed = False
        return revision

    def _follow(self, stored_revision: int, now: dt.datetime) -> bool:
        """Serve the stored state after another process published; return whether a snapshot was swapped in.

        Our calendar is published again against the stored state: when that process had the same data,
        reconcile changes nothing and we simply adopt what it stored. When it had another data version,
        ours is written over it (SEQUENCE rises again: it is only ever raised, never lowered, and
        LAST-MODIFIED only moves forward). A process on an *older* file can do that only until its own
        next look at the file: at most one `reload_interval` after the edit (a web worker that has been
        idle longer looks at the file before it answers), or, for a replica with its own copy of the
        file, until that copy is updated (a rolling deploy; a replica left on an old file for good keeps
        the two versions alternating, each raising SEQUENCE, until it is fixed). Once every process has
        the new file, the last publication is of the new file, every later one is a no-op, and within
        one more `reload_interval` all of them serve the same stored state.
        """
        old = self._snapshot
        if old is None or stored_revision == old.revision:
            return False
        try:
            published, revision = self._publish(old.calendar, old, now)
        except Exception:  # e.g. the database went away: keep serving, try again at the next check
            log.exception(
                "following publication revision %d failed; serving the current snapshot", stored_revision
            )
            return False
        if revision == old.revision:
            return False
        self._snapshot = dataclasses.replace(
            old,
            published=published,
            last_modified=last_modified_of(published.values()),
            generation=old.generation + 1,  # a new generation: rendered feeds are dropped
            revision=revision,
        )
        log.info("serving publication revision %d (published by another process)", revision)
        return True

    # --- polling, for processes that start it on purpose --------------------------------------------

    def start_polling(self) -> None:
        """Check the file every `reload_interval` seconds in a daemon thread until `stop_polling()`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, name="trade-calendar-reload", daemon=True)
        self._thread.start()

    def stop_polling(self) -> None:
        """Stop the polling thread and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _poll(self) -> None:
        while not self._stop.wait(self.reload_interval):
            try:
                self.check()
            except Exception:  # keep polling: the next edit may fix it
                log.exception("checking %s failed", self.path)
