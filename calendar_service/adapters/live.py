"""The calendar being served right now, swapped atomically when the data file changes.

`LiveCalendar` owns one `Snapshot` (a calendar, the publication state that goes with it and a
generation number). `check()` looks at the file (mtime, size, inode, then a hash of the bytes) and, when
the content changed, validates it, reconciles the publication state (so SEQUENCE rises for what moved
and removed events stay as CANCELLED), saves that state and swaps in the new snapshot in one assignment.
An invalid edit changes nothing that is served: the last good snapshot stays and the failure, with its
`file:line` messages, is kept for /healthz and written to the log.

Every way a reload can fail is a refused reload with a message, never an exception out of a check.
Only two outcomes are final for a version of the file ("settled"): it is served, or it is invalid (the
same bytes would fail the same way). Anything else — the file unreadable for a while, too large, the
database away while publishing, memory exhausted, a bug — is reported and tried again at the next
check, and when the file is back as it was the report is cleared. Validation runs without the lock
(one validation per version of the file), so a newer edit is considered while an older one is still
being checked, and once a newer version has been read the older result is dropped.

With a database, the publication state is shared by every process that serves the feed (gunicorn
workers, web replicas), and a process serves the state *as stored*, never one only it computed: the
bytes, and so the ETag, are the same whichever process answers. Publishing goes through
`db.publications.publish` (load, reconcile, write under one lock), and each check also compares the
stored revision with the one being served; when another process has published, this one publishes
its calendar again against the stored state (a no-op when they agree) and serves the result.

A version is read only once the file is stable: renamed into place (a new inode), last written at
least `settle` seconds ago, or seen unchanged for that long (a file being rewritten in place is not
read half-way), and unchanged while it was read. A valid version that would take away more than
`hold_share` of the live events served is held (`core.guard`): not served, not announced, reported on
/healthz and in the log once, and published when the file still holds the same bytes after
`hold_window` seconds or a curator confirms that content (`trade-calendar publish --confirm`, read
from `confirmations`, the database).

No request ever waits for a reload. A reload runs in a background thread of the process: the polling
thread where one was started on purpose (`start_polling()`: `serve`, the reminder worker, and each
gunicorn worker through `gunicorn_conf.post_worker_init`), otherwise a one-off thread that a request
calling `maybe_check()` starts when `reload_interval` has passed (at most one at a time). Either way the
file is parsed with the GC paused into a new version beside the one being served, which is replaced in
one assignment; every request meanwhile is answered from the version being served.

The guarantee, for each process that polls (an idle gunicorn worker included): a file left alone is
served within `reload_interval` + `settle` + the time a reload takes, and another process's publication
is followed within `reload_interval` of it (or of this process's own reload of a newer file ending).
A process that does not poll starts looking when a request comes, so that request (and those during
the reload) still get the version before. `/healthz` (`data_version`) says which version a process
serves. `check()` is the synchronous form: it returns once the file, as it is now, has been looked at
(tests and the CLI use it).
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

from calendar_service.adapters.clock import Clock, SystemClock
from calendar_service.adapters.datafile_reader import (
    DEFAULT_MAX_DATA_BYTES,
    Fingerprint,
    describe_failure,
    paused_gc,
    read_event_file,
    release_freed_memory,
)
from calendar_service.adapters.holding import Holding
from calendar_service.core.calendar import Calendar
from calendar_service.core.datafile import LoadResult, parse_calendar
from calendar_service.core.errors import StoreInvalid, StoreUnreadable
from calendar_service.core.guard import Hold
from calendar_service.core.problems import Problem
from calendar_service.core.publication import Published, last_modified_of, reconcile

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

Listener = Callable[[Calendar | None, Calendar], None]
Preparer = Callable[["Snapshot"], None]
_MAX_IN_FLIGHT = 2  # versions validated at once: the one being checked and the newest edit


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
    # What is computed from `calendar` alone (application/indexes.py), once per version and kept here:
    # `dataclasses.replace` with the same calendar shares it.
    derived: dict[str, object] = dataclasses.field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ReloadFailure:
    """A reload that was refused, with every message that explains why."""

    at: dt.datetime
    path: str
    messages: tuple[str, ...]
    content_hash: str = ""


@dataclass(frozen=True)
class _Settled:
    """The last version of the file with a final outcome: served (failure None) or invalid."""

    fingerprint: Fingerprint | None = None
    digest: str = ""
    failure: ReloadFailure | None = None


@dataclass(frozen=True)
class _Attempt:
    """One version of the file read for validation; `ticket` orders the versions read."""

    ticket: int
    fingerprint: Fingerprint
    digest: str
    raw: bytes
    now: dt.datetime
    release: LoadResult | None = None  # a held version's validation, now confirmed or past its window


@dataclass(frozen=True)
class _Refusal:
    """Why an attempt is not served; `settled` when the same bytes would always fail so."""

    messages: tuple[str, ...]
    settled: bool


class _Busy:
    """This version of the file is being validated by another thread already."""


@dataclass(frozen=True)
class _Unsettled:
    """The file changed less than `settle` seconds ago: look again in `wait` seconds."""

    wait: float


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]


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
        max_data_bytes: int = DEFAULT_MAX_DATA_BYTES,
        settle: float = 0.0,
        hold_share: float = 1.0,
        hold_window: float = 600.0,
        confirmations: Engine | None = None,
    ) -> None:
        self.path = Path(path)
        self.clock: Clock = clock or SystemClock()
        self.engine = engine
        self.reload_interval = reload_interval
        self.retention = retention
        self.max_data_bytes = max_data_bytes
        self.settle = settle  # seconds a file must be left alone before it is read
        self.holding = Holding(self.path, hold_share, dt.timedelta(seconds=hold_window), confirmations)
        self._candidate: tuple[Fingerprint, float] | None = None  # a changed file, since (monotonic)
        self.stats = ReloadStats()
        self.last_failure: ReloadFailure | None = None
        self.last_checked: dt.datetime | None = None
        self._snapshot: Snapshot | None = None
        self._settled = _Settled()
        self._tickets = 0  # versions of the file read so far
        self._in_flight: dict[Fingerprint, int] = {}  # versions being validated, by fingerprint
        self._validated: tuple[str, LoadResult] | None = None  # valid, by digest, not yet published
        self._workers: list[threading.Thread] = []
        self._listeners: list[Listener] = []
        self._preparers: list[Preparer] = []
        self._stats_listeners: list[Callable[[ReloadStats], None]] = []
        self._lock = threading.Lock()  # guards the checking state; readers never take it
        self._settled_or_free = threading.Condition(self._lock)  # an in-flight validation finished
        self._next_check = 0.0  # time.monotonic() deadline; checked without the lock on the hot path
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None  # the polling thread, when started on purpose
        self._thread_pid = 0  # the process that started it (a fork copies the object, not the thread)
        self._checker: threading.Thread | None = None  # a one-off check a request started
        self._starting = threading.Lock()  # two requests must not start two checks
        self._follow_failed = False  # the last revision read failed (logged once per outage)

    # --- reading ------------------------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot | None:
        """The version being served, or None when no valid file has been loaded yet."""
        return self._snapshot

    @property
    def hold(self) -> Hold | None:
        """The version held back because it takes away too much, if any (for /healthz)."""
        return self.holding.hold

    @property
    def ready(self) -> bool:
        """Whether there is something to serve."""
        return self._snapshot is not None

    def on_change(self, listener: Listener) -> None:
        """Call `listener(old_calendar, new_calendar)` after every swap (old is None on the first load)."""
        self._listeners.append(listener)

    def on_prepare(self, preparer: Preparer) -> None:
        """Call `preparer(snapshot)` with each new snapshot before it is served (in the thread that built
        it), so what every request would otherwise compute on its first visit is ready when it arrives."""
        if preparer not in self._preparers:  # one app factory called twice on the same services
            self._preparers.append(preparer)

    def on_stats(self, listener: Callable[[ReloadStats], None]) -> None:
        """Call `listener(stats)` whenever a reload or a refused reload is counted."""
        self._stats_listeners.append(listener)

    # --- checking -----------------------------------------------------------------------------------

    def maybe_check(self) -> None:
        """Have the file looked at in the background if `reload_interval` has passed; returns at once.

        Never raises, never waits: the request that notices a change is answered from the version being
        served. With a polling thread in this process there is nothing to do; otherwise a one-off
        thread checks (unless one still is).
        """
        now = time.monotonic()
        if now < self._next_check or self._polling_here():
            return
        self._next_check = now + self.reload_interval  # the check sets it again when it looks
        try:
            with self._starting:
                checker = self._checker
                if checker is not None and checker.is_alive():
                    return
                checker = threading.Thread(
                    target=self._guarded,
                    kwargs={"wait": False, "background": False},
                    name="trade-calendar-check",
                    daemon=True,
                )
                checker.start()
                self._checker = checker
        except Exception:  # e.g. no thread can be started: keep serving, try again next interval
            log.exception("starting a check of %s failed", self.path)

    def _polling_here(self) -> bool:
        thread = self._thread
        return thread is not None and self._thread_pid == os.getpid() and thread.is_alive()

    def check(self) -> bool:
        """Check the file and the shared publication state now; return whether a snapshot was swapped in."""
        return self._guarded(wait=True, background=False)

    def _guarded(self, *, wait: bool, background: bool) -> bool:
        try:
            return self._check(wait=wait, background=background)
        except Exception as exc:  # a bug or an exhausted resource: a refused reload, retried next check
            log.exception("checking %s failed", self.path)
            with self._lock:
                self._fail(self.clock.now(), "", (self._unexpected(exc),))
            return False

    def _check(self, *, wait: bool, background: bool) -> bool:
        if not self._lock.acquire(blocking=wait):
            return False  # another thread is checking; keep serving the current snapshot
        try:
            self._next_check = time.monotonic() + self.reload_interval
            now = self.clock.now()
            self.last_checked = now
            # Read the stored revision *before* looking at the file. A process that published a new
            # file saw it before we read the revision, so our stat below sees it too and we publish
            # the new file, not our old one. Only a reader that raced a half-written file (refused as
            # invalid) or a replica whose own copy is still old (a rolling deploy) can publish an
            # older version after a newer one; see `_follow`.
            stored_revision = self._stored_revision()
            attempt = self._begin(now)
            # `check()` promises the file was looked at: wait for another thread's validation, and
            # for a file being written to be left alone (but not for ever: it may never be).
            give_up = time.monotonic() + 10 * self.settle + 1.0
            while wait and isinstance(attempt, _Busy | _Unsettled):
                if isinstance(attempt, _Unsettled) and time.monotonic() > give_up:
                    self._fail(now, "", (self._unreadable("it keeps changing; it is read once left alone"),))
                    break
                self._settled_or_free.wait(timeout=attempt.wait if isinstance(attempt, _Unsettled) else 1.0)
                attempt = self._begin(now)
            if not isinstance(attempt, _Attempt):
                if self._in_flight:
                    # A newer file is being validated here: publishing our older calendar again over
                    # another process's publication of it would move its events back and forth (and
                    # raise their SEQUENCE) for as long as a reload takes. It is followed (or
                    # published) when that validation ends, in `_complete`.
                    return False
                return stored_revision is not None and self._follow(stored_revision, now)
        finally:
            self._lock.release()
        # Validation runs without the lock, so a newer edit is considered meanwhile (and supersedes).
        if background:
            worker = threading.Thread(
                target=self._complete, args=(attempt, stored_revision), name="trade-calendar-validate"
            )
            worker.daemon = True
            self._workers = [w for w in self._workers if w.is_alive()] + [worker]
            worker.start()
            return False
        return self._complete(attempt, stored_revision)

    def _begin(self, now: dt.datetime) -> _Attempt | _Busy | _Unsettled | None:
        """Under the lock: the file's bytes when they need validating, or None when settled already."""
        try:
            stat = os.stat(self.path)
        except OSError as exc:  # gone, a symlink loop, a directory on the path...
            self._fail(now, "", (self._unreadable(exc.strerror or str(exc)),))
            return None
        fingerprint = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        settled = self._settled
        if fingerprint == settled.fingerprint:
            self.last_failure = settled.failure  # a transient failure (file away, database down) is over
            return None
        holding = self.holding
        if holding.hold is not None and fingerprint == holding.fingerprint:
            return self._release(now, fingerprint)
        if fingerprint in self._in_flight or len(self._in_flight) >= _MAX_IN_FLIGHT:
            return _Busy()
        unsettled = self._unsettled(stat, fingerprint)
        if unsettled is not None:
            return unsettled
        try:
            raw, fingerprint = read_event_file(self.path, self.max_data_bytes)
            after = os.stat(self.path)
        except (StoreUnreadable, OSError) as exc:  # gone since the stat, a FIFO, too large...
            reason = exc.reason if isinstance(exc, StoreUnreadable) else exc.strerror or str(exc)
            self._fail(now, "", (self._unreadable(reason),))
            return None
        if (after.st_mtime_ns, after.st_size, after.st_ino) != fingerprint:  # written to while read
            self._candidate = None
            return self._unsettled(after, (after.st_mtime_ns, after.st_size, after.st_ino)) or _Busy()
        digest = hashlib.sha256(raw).hexdigest()
        if digest == settled.digest:  # touched, moved back, or re-created with the same bytes
            self._settled = dataclasses.replace(settled, fingerprint=fingerprint)
            self.last_failure = settled.failure
            holding.drop("the file holds the served version again")
            return None
        if holding.hold is not None:
            if digest == holding.hold.digest:  # touched, or copied again: still the held bytes
                holding.fingerprint = fingerprint
                return self._release(now, fingerprint)
            holding.drop("the file changed again")
        self._tickets += 1
        self._in_flight[fingerprint] = self._tickets
        # The version is published as of a clock read after its bytes were: a check that began before
        # an edit (and before the clock moved on) must not date the edit earlier than it was made.
        return _Attempt(self._tickets, fingerprint, digest, raw, self.clock.now())

    def _unsettled(self, stat: os.stat_result, fingerprint: Fingerprint) -> _Unsettled | None:
        """Under the lock: whether the file changed too recently to be read (None: read it now)."""
        if self.settle <= 0 or time.time() - stat.st_mtime_ns / 1e9 >= self.settle:
            return None  # last written a window ago: nobody is half-way through writing it
        served = self._settled.fingerprint
        if served is not None and stat.st_ino != served[2]:
            return None  # another file renamed into place: written in full before it arrived
        monotonic = time.monotonic()
        candidate = self._candidate
        if candidate is None or candidate[0] != fingerprint:
            candidate = self._candidate = (fingerprint, monotonic)
        left = self.settle - (monotonic - candidate[1])
        if left <= 0:
            return None  # seen unchanged for a window
        self._next_check = min(self._next_check, monotonic + left)  # a request after it looks again
        return _Unsettled(left)

    def _release(self, now: dt.datetime, fingerprint: Fingerprint) -> _Attempt | None:
        """Under the lock: the held version as an attempt to publish, if it may go out now."""
        hold = self.holding.hold
        if hold is None or fingerprint in self._in_flight:
            return None
        result = self.holding.release(now)
        if result is None:
            return None
        self._tickets += 1
        self._in_flight[fingerprint] = self._tickets
        return _Attempt(self._tickets, fingerprint, hold.digest, b"", now, release=result)

    def _complete(self, attempt: _Attempt, stored_revision: int | None) -> bool:
        """Validate `attempt` (without the lock), then publish and serve it unless a newer edit came."""
        try:
            outcome = self._validate(attempt)
        except Exception as exc:  # _validate reports what it can; this is a last resort
            outcome = _Refusal((self._unexpected(exc),), settled=False)
        with self._lock:
            try:
                swapped = self._finish(attempt, outcome)
                if not swapped and stored_revision is not None:
                    swapped = self._follow(stored_revision, attempt.now)
                return swapped
            except Exception as exc:  # e.g. a listener-independent bug in swapping: refused, retried
                log.exception("reloading %s failed", self.path)
                self._fail(attempt.now, attempt.digest, (self._unexpected(exc),))
                return False
            finally:
                del self._in_flight[attempt.fingerprint]
                self._settled_or_free.notify_all()
                if attempt.raw:
                    release_freed_memory()  # what parsing left between the kept objects

    def _validate(self, attempt: _Attempt) -> LoadResult | _Refusal:
        if attempt.release is not None:
            return attempt.release  # held, validated then: published as it was judged
        validated = self._validated
        if validated is not None and validated[0] == attempt.digest:
            return validated[1]  # valid, but publishing it failed: only publishing is retried
        try:
            # Parsing makes many small acyclic objects; the collector's passes over them cost ~3.5x the
            # CPU of the parse itself (issue 21). Paused as `validate` does; other threads are unaffected
            # beyond deferring their collections by the length of one parse.
            with paused_gc():
                return parse_calendar(attempt.raw, str(self.path), today=attempt.now.date())
        except StoreInvalid as exc:
            return _Refusal(
                tuple(p.format() for p in exc.problems if p.is_error) or (str(exc),), settled=True
            )
        except StoreUnreadable as exc:  # not UTF-8: the same bytes fail the same way
            return _Refusal((str(exc),), settled=True)
        except Exception as exc:  # MemoryError, RecursionError, a bug: refused, and tried again
            log.exception("validating %s failed", self.path)
            return _Refusal((self._unexpected(exc),), settled=False)

    def _finish(self, attempt: _Attempt, outcome: LoadResult | _Refusal) -> bool:
        """Under the lock: serve or refuse what `attempt` read; return whether a snapshot was swapped in."""
        if attempt.ticket < self._tickets:
            return False  # the file changed again while this version was validated: the newer one wins
        if isinstance(outcome, _Refusal):
            failure = self._fail(attempt.now, attempt.digest, outcome.messages)
            if outcome.settled:  # the same bytes would fail the same way: not worth reading again
                self._settled = _Settled(attempt.fingerprint, attempt.digest, failure)
            return False
        snapshot = self._snapshot
        served = None if snapshot is None else snapshot.calendar
        if (
            attempt.release is None
            and served is not None
            and served.version != outcome.calendar.version
            and self.holding.judge(served, attempt.digest, attempt.fingerprint, outcome, attempt.now)
        ):
            return False  # takes away too much: held, neither served nor announced
        if snapshot is not None and snapshot.calendar.version == outcome.calendar.version:
            swapped = False  # an invalid edit was reverted: nothing to swap
        else:
            try:
                self._swap(outcome.calendar, outcome.warnings, attempt.now)
            except Exception as exc:  # the database is away: keep serving, publish at the next check
                log.exception("publishing %s failed", self.path)
                self._validated = (attempt.digest, outcome)
                kept = (
                    f"still serving version {snapshot.calendar.version}" if snapshot else "nothing to serve"
                )
                self._fail(
                    attempt.now,
                    attempt.digest,
                    (
                        f"{self.path}: error: version {outcome.calendar.version} is valid but publishing it "
                        f"failed ({type(exc).__name__}: {_first_line(exc)}) — {kept}; retrying every "
                        f"{self.reload_interval:g} s",
                    ),
                )
                return False
            swapped = True
        self._validated = None
        self._settled = _Settled(attempt.fingerprint, attempt.digest, None)
        self.last_failure = None
        self.holding.clear()
        return swapped

    def _unreadable(self, reason: str) -> str:
        return (
            f"{self.path}: error: cannot read the event file: {reason} (the last good version is "
            f"served; the file is checked again every {self.reload_interval:g} s)"
        )

    def _unexpected(self, exc: BaseException) -> str:
        return (
            f"{self.path}: error: {describe_failure(exc)} — the last good version is served and the file "
            f"checked again every {self.reload_interval:g} s (details in the log)"
        )

    def _fail(self, now: dt.datetime, digest: str, messages: tuple[str, ...]) -> ReloadFailure:
        if self.last_failure is not None and self.last_failure.messages == messages:
            return self.last_failure  # the same failure again: counted and logged once
        self.last_failure = ReloadFailure(now, str(self.path), messages, digest)
        self.stats.failures += 1
        self._counted()
        kept = f"keeping version {self._snapshot.calendar.version}" if self._snapshot else "nothing to serve"
        log.error("reload of %s refused (%s):\n%s", self.path, kept, "\n".join(messages))
        return self.last_failure

    def _swap(self, calendar: Calendar, warnings: tuple[Problem, ...], now: dt.datetime) -> None:
        old = self._snapshot
        published, revision = self._publish(calendar, old, now)
        generation = (old.generation + 1) if old else 1
        self._snapshot = self._prepared(
            Snapshot(
                calendar=calendar,
                published=published,
                last_modified=last_modified_of(published.values()),
                loaded_at=now,
                generation=generation,
                warnings=warnings,
                revision=revision,
            )
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

    def _prepared(self, snapshot: Snapshot) -> Snapshot:
        for preparer in list(self._preparers):
            try:
                preparer(snapshot)
            except Exception:  # what is not prepared is computed on first use instead
                log.exception("on_prepare %r failed", preparer)
        return snapshot

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
        from calendar_service.adapters.db.publications import StoredPublication, publish

        # What we serve is what was stored at its revision: while nobody has published since, the
        # rows need not be read back (see `publish`).
        known = (
            None if old is None or old.revision == 0 else StoredPublication(old.revision, dict(old.published))
        )
        stored = publish(
            self.engine, lambda previous: reconcile(previous, calendar, now, self.retention), known
        )
        return stored.states, stored.revision

    def _stored_revision(self) -> int | None:
        """The stored revision when there is a database and a snapshot to compare it with."""
        if self.engine is None or self._snapshot is None:
            return None
        from calendar_service.adapters.db.publications import current_revision

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
        self._snapshot = self._prepared(
            dataclasses.replace(
                old,
                published=published,
                last_modified=last_modified_of(published.values()),
                generation=old.generation + 1,  # a new generation: rendered feeds are dropped
                revision=revision,
            )
        )
        log.info("serving publication revision %d (published by another process)", revision)
        return True

    # --- polling, for processes that start it on purpose --------------------------------------------

    def start_polling(self) -> None:
        """Check the file every `reload_interval` seconds in a daemon thread until `stop_polling()`."""
        if self._polling_here():
            return
        self._stop.clear()
        # A fork (a gunicorn worker) copies this object but not the thread: each process starts its own.
        self._thread = threading.Thread(target=self._poll, name="trade-calendar-reload", daemon=True)
        self._thread_pid = os.getpid()
        self._thread.start()

    def stop_polling(self) -> None:
        """Stop the polling thread and wait for it (and for the checks it or a request started)."""
        self._stop.set()
        if self._thread is not None and self._thread_pid == os.getpid():
            self._thread.join(timeout=10)
        self._thread = None
        for worker in [*self._workers, *([self._checker] if self._checker else [])]:
            worker.join(timeout=10)
        self._workers, self._checker = [], None

    def _poll(self) -> None:
        # A long validation runs in its own thread, so this loop keeps looking at the file meanwhile
        # (a newer edit supersedes it) and at the stored revision.
        while not self._stop.wait(self.reload_interval):
            self._guarded(wait=False, background=True)
