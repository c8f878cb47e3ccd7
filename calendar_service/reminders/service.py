"""The reminder engine: plans into the ledger, wakes at the next due time, claims, sends, records.

The ledger in the database is the source of truth; APScheduler (3.x, a `BackgroundScheduler` with a
memory job store) is only the alarm clock. It holds one date job, "wake", armed for the earliest pending
row and re-armed after every run and every plan change. APScheduler's known traps do not lose anything
here: a date job dropped at hand-off, a misfire dropped on restart, or two schedulers firing the same job
only cost a wake-up, because every wake-up claims rows from the ledger, and a row is claimed by one
process at a time and inserted once by id.

    ReminderService(settings, engine, source, clock, client)
        .start()                    plan, register for calendar changes, arm the alarm
        .run_due(now)               claim everything due at `now`, send through a bounded pool, record
        .on_calendar_change(o, n)   cancel what moved, notify subscribers, plan the new data
        .plan()                     insert every reminder owed (idempotent), re-arm
        .request_plan()             plan() soon on a background thread (after a subscription change)
        .shutdown()
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeGuard

from sqlalchemy.engine import Engine

from ..clock import Clock
from ..db import create_schema, ledger
from ..db import subscriptions as subs_db
from ..jsonview import utc_text
from ..settings import Settings
from ..store import Calendar, Event
from ..subscriptions import Subscription
from ..timing import parse_duration
from ..webhooks.client import Attempt
from ..webhooks.payloads import Format, Message, change_data, reminder_data
from ..webhooks.retry import RetryPolicy
from .planning import (
    CANCELLED,
    REMINDER,
    RESCHEDULED,
    Change,
    diff_calendars,
    event_filter,
    notification_id,
    plan_reminders,
)

log = logging.getLogger(__name__)

WAKE_JOB = "trade-calendar-wake"
DISABLED = "subscription disabled"


class CalendarHolder(Protocol):
    """A live holder of the current calendar (`calendar_service.live.LiveCalendar` is one)."""

    @property
    def snapshot(self) -> Any: ...

    def on_change(self, listener: Callable[[Calendar | None, Calendar], None]) -> None: ...


CalendarSource = CalendarHolder | Calendar | Callable[[], Calendar | None]


class Client(Protocol):
    """Sends one message to one endpoint, once (`webhooks.client.WebhookClient` is one)."""

    def send(self, url: str, secret: str, message: Message, fmt: Format) -> Attempt: ...


@dataclass(frozen=True)
class Tuning:
    """Knobs of the engine; the defaults suit one worker against a handful of endpoints."""

    concurrency: int = 16  # sends in flight at once
    batch: int = 200  # rows claimed per query
    lease: dt.timedelta = dt.timedelta(seconds=120)  # a claim outlives a crash by at most this
    late_after: dt.timedelta = dt.timedelta(seconds=60)  # a first attempt this far past due is "late"
    plan_late_window: dt.timedelta = dt.timedelta(minutes=10)  # a just-missed due time is still planned
    notification_max_age: dt.timedelta = dt.timedelta(hours=24)  # stop retrying a change notice after
    disable_after: int = 5  # consecutive finally-failed deliveries that disable an endpoint
    max_sleep: float = 30.0  # wake at least this often: other processes plan and retry too


@dataclass
class RunStats:
    """What one `run_due` did."""

    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    missed: int = 0
    cancelled: int = 0
    lateness: list[float] = field(default_factory=list)  # seconds past due of each first attempt


@dataclass(frozen=True)
class _Job:
    row: ledger.Claimed
    sub: Subscription
    message: Message


class ReminderService:
    """Plans reminders into the ledger and delivers them when due; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        source: CalendarSource,
        clock: Clock,
        client: Client,
        *,
        tuning: Tuning | None = None,
        retry_policy: RetryPolicy | None = None,
        rng: random.Random | None = None,

    ) -> None:
        self.settings = settings
        self.engine = engine
        self.source = source
        self.clock = clock
        self.client = client
        self.tuning = tuning or Tuning()
        self.retry_policy = retry_policy or RetryPolicy()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self._pool = cf.ThreadPoolExecutor(self.tuning.concurrency, thread_name_prefix="reminder-send")
        self._run_lock = threading.Lock()
        self._plan_lock = threading.Lock()
        self._scheduler: Any = None
        self._plan_key: tuple[Any, ...] | None = None
        self._stopped = False
        self._replan_lock = threading.Lock()
        self._replan_wanted = False
        self._replan_thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self, *, schedule: bool = True) -> None:
        """Create the ledger tables, plan, listen for data changes and (with `schedule`) arm the alarm."""
        create_schema(self.engine)
        if _is_holder(self.source):
            self.source.on_change(self.on_calendar_change)
        self.plan()
        if schedule:
            from apscheduler.jobstores.memory import MemoryJobStore
            from apscheduler.schedulers.background import BackgroundScheduler

            # misfire_grace_time=None: a late wake-up still runs (the ledger decides what is due).
            self._scheduler = BackgroundScheduler(
                jobstores={"default": MemoryJobStore()},
                job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
                timezone=dt.UTC,
            )
            self._scheduler.start()
            self.arm()

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop the alarm and the send pool (letting sends in flight finish when `wait`)."""
        self._stopped = True
        with self._replan_lock:
            replan = self._replan_thread
        if replan is not None and wait:
            replan.join(timeout=10)  # a plan in progress finishes; no new one starts once stopped
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=wait)
            self._scheduler = None
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

    def arm(self) -> dt.datetime | None:
        """Set the alarm for the earliest pending row (or `max_sleep` from now); return when it rings."""
        if self._scheduler is None or self._stopped:
            return None
        now = self.clock.now()
        when = now + dt.timedelta(seconds=self.tuning.max_sleep)
        due = ledger.next_wake(self.engine)
        if due is not None:
            when = max(min(when, due), now)
        from apscheduler.triggers.date import DateTrigger

        # APScheduler keeps its own (system) time; hand it the delay, so a clock that is not the system
        # clock (an offset clock in a test, a clock in another zone) still wakes at the right moment.
        delay = (when - now).total_seconds()
        run_date = dt.datetime.fromtimestamp(time.time() + delay, dt.UTC)
        self._scheduler.add_job(
            self._wake, DateTrigger(run_date=run_date, timezone=dt.UTC), id=WAKE_JOB, replace_existing=True
        )
        return when

    def _wake(self) -> None:
        try:
            self.plan_if_changed()
            self.run_due(self.clock.now())
        except Exception:
            log.exception("reminder run failed; trying again at the next wake-up")
        finally:
            self.arm()

    # --- planning -----------------------------------------------------------------------------------

    def calendar(self) -> Calendar | None:
        """The calendar as the source has it now."""
        source = self.source
        if isinstance(source, Calendar):
            return source
        if _is_holder(source):
            snapshot = source.snapshot
            return None if snapshot is None else snapshot.calendar
        assert callable(source)
        return source()

    def plan(self, calendar: Calendar | None = None) -> int:
        """Insert every reminder owed from now on (rows already there are kept); return how many were new."""
        calendar = calendar or self.calendar()
        if calendar is None:
            return 0
        with self._plan_lock:
            now = self.clock.now()
            subscriptions = subs_db.list_subscriptions(self.engine)
            window = self.tuning.plan_late_window
            enabled = [s.id for s in subscriptions if s.enabled]
            ledger.reopen_cancelled(self.engine, enabled, reason=DISABLED, now=now, since=now - window)
            for sub in subscriptions:
                if not sub.enabled:
                    ledger.cancel_pending(
                        self.engine, now=now, reason=DISABLED, subscription_id=sub.id, kind=REMINDER
                    )
            reminders = plan_reminders(calendar, subscriptions, now, late_window=window)
            added = ledger.add_rows(
                self.engine,
                (
                    {
                        "id": r.id,
                        "subscription_id": r.subscription_id,
                        "kind": REMINDER,
                        "event_id": r.event_id,
                        "lead_time": r.lead_time,
                        "due_at": r.due_at,
                        "deadline_at": r.deadline_at,
                    }
                    for r in reminders
                ),
                now=now,
            )
            self._plan_key = (calendar.version, _subscriptions_key(subscriptions))
        if added:
            log.info("planned %d new reminder(s) for calendar %s", added, calendar.version)
        self.arm()
        return added

    def request_plan(self) -> None:
        """Plan again soon, off the caller's thread; a burst of requests costs one or two plans.

        For the web process after a subscription was created, changed, deleted or re-enabled: planning
        reads every subscription and may insert many rows, too slow to hold a request for.
        """
        with self._replan_lock:
            self._replan_wanted = True
            if self._replan_thread is not None or self._stopped:
                return  # the running thread plans once more before it ends
            self._replan_thread = threading.Thread(
                target=self._replan_until_settled, name="reminder-replan", daemon=True
            )
            self._replan_thread.start()

    def _replan_until_settled(self) -> None:
        while True:
            with self._replan_lock:
                if not self._replan_wanted or self._stopped:
                    self._replan_thread = None
                    return
                self._replan_wanted = False
            try:
                self.plan()
            except Exception:  # the next wake-up plans anyway (plan_if_changed)
                log.exception("re-planning after a subscription change failed")

    def plan_if_changed(self) -> int:
        """Plan again when the data or the subscriptions changed since the last plan (cheap otherwise)."""
        calendar = self.calendar()
        if calendar is None:
            return 0
        key = (calendar.version, _subscriptions_key(subs_db.list_subscriptions(self.engine)))
        if key == self._plan_key:
            return 0
        return self.plan(calendar)

    def on_calendar_change(self, old: Calendar | None, new: Calendar) -> None:
        """Cancel reminders of moved or dropped deadlines, notify matching subscribers, plan `new`."""
        if isinstance(self.source, Calendar):
            self.source = new  # a fixed calendar was given: `new` is the current one from now on
        if old is not None:
            changes = diff_calendars(old, new)
            if changes:
                self._apply_changes(old, new, changes)
        self.plan(new)

    def _apply_changes(self, old: Calendar, new: Calendar, changes: Sequence[Change]) -> None:
        now = self.clock.now()
        subscriptions = [s for s in subs_db.list_subscriptions(self.engine) if s.enabled]
        rows: list[dict[str, Any]] = []
        for change in changes:
            if change.kind in (RESCHEDULED, CANCELLED):
                # Reminders for the old deadline go; those for the new one are planned next, by id.
                keep = [] if change.kind == CANCELLED else _kept(new, change.event_id, subscriptions, now)
                ledger.cancel_pending(
                    self.engine, now=now, reason=f"{change.kind}: was due for {utc_text_or(change.old_at)}",
                    event_id=change.event_id, kind=REMINDER, keep_ids=keep,
                )
            calendar, event = (new, new.get(change.event_id)) if change.event_id in new else (
                old, old.get(change.event_id)
            )
            payload = change_data(
                event_id=event.id, title=event.title, kind=event.kind.value, zone=_zone_name(event, calendar),
                old=change.old_at, new=change.new_at, sources=_sources(event), reason=_reason(change),
            )
            for sub in subscriptions:
                flt = event_filter(sub.filter, calendar)
                if flt is None or not flt.matches(event):
                    continue
                rows.append({
                    "id": notification_id(sub.id, change),
                    "subscription_id": sub.id,
                    "kind": change.kind,
                    "event_id": change.event_id,
                    "payload": payload,
                    "due_at": now,
                    "deadline_at": None,
                })
        added = ledger.add_rows(self.engine, rows, now=now)
        log.info("%d calendar change(s): %d notification(s) queued", len(changes), added)

    # --- delivery -----------------------------------------------------------------------------------

    def run_due(self, now: dt.datetime | None = None) -> RunStats:
        """Claim and deliver every row due at `now`, a batch at a time, until none is left."""
        now = now or self.clock.now()
        stats = RunStats()
        with self._run_lock:
            subscriptions = {s.id: s for s in subs_db.list_subscriptions(self.engine)}
            calendar = self.calendar()
            limit = self.tuning.concurrency * 2
            inflight: set[cf.Future[ledger.Outcome]] = set()
            done_rows: list[ledger.Outcome] = []
            exhausted = False
            last_flush = time.monotonic()
            while True:
                if not exhausted and len(inflight) < limit:
                    claimed = ledger.claim_due(
                        self.engine, now=now, lease=self.tuning.lease, limit=self.tuning.batch
                    )
                    stats.claimed += len(claimed)
                    exhausted = not claimed
                    for row in claimed:
                        job_or_outcome = self._prepare(row, subscriptions, calendar)
                        if isinstance(job_or_outcome, ledger.Outcome):
                            done_rows.append(job_or_outcome)
                        else:
                            inflight.add(self._pool.submit(self._deliver, job_or_outcome))
                    if claimed and len(inflight) < limit:
                        continue
                if not inflight and exhausted:
                    break
                if inflight:
                    finished, inflight = cf.wait(inflight, timeout=0.2, return_when=cf.FIRST_COMPLETED)
                    done_rows.extend(f.result() for f in finished)
                if len(done_rows) >= 100 or (done_rows and time.monotonic() - last_flush > 0.05):
                    self._record(done_rows, subscriptions, stats)
                    done_rows = []
                    last_flush = time.monotonic()
            self._record(done_rows, subscriptions, stats)
        return stats

    def _prepare(
        self, row: ledger.Claimed, subscriptions: Mapping[str, Subscription], calendar: Calendar | None
    ) -> _Job | ledger.Outcome:
        now = self.clock.now()
        sub = subscriptions.get(row.subscription_id)

        def final(state: str, reason: str) -> ledger.Outcome:
            return ledger.Outcome(
                row.id, row.subscription_id, row.kind, row.event_id, state, row.attempts,
                error=reason, finished_at=now, late=row.late,
            )

        if sub is None:
            return final(ledger.CANCELLED, "subscription removed")
        if not sub.enabled:
            return final(ledger.CANCELLED, DISABLED)
        late = row.late or (row.first_attempt_at is None and now - row.due_at > self.tuning.late_after)
        if row.kind == REMINDER:
            if row.deadline_at is not None and row.deadline_at <= now:
                return final(ledger.MISSED, f"deadline {utc_text(row.deadline_at)} passed before delivery")
            if calendar is None:
                return final(ledger.CANCELLED, "no calendar loaded")
            reason = _stale(row, sub, calendar)
            if reason:
                return final(ledger.CANCELLED, reason)
            data: dict[str, Any] = _reminder_data(row, calendar, now, late)
        else:
            if now - row.due_at > self.tuning.notification_max_age:
                return final(ledger.FAILED, "gave up: the change is too old to announce")
            data = dict(row.payload or {})
        message = Message(id=row.id, type=row.kind, timestamp=now, data=data)
        return _Job(row, sub, message)

    def _deliver(self, job: _Job) -> ledger.Outcome:
        row = job.row
        number = row.attempts + 1
        try:
            attempt = self.client.send(job.sub.url, job.sub.secret, job.message, job.sub.format)
        except Exception as exc:  # a bug in the client must not lose the row: retry it
            log.exception("sending %s failed unexpectedly", row.id)
            attempt = Attempt(self.clock.now(), None, 0.0, f"{type(exc).__name__}: {exc}", None, "retry")
        started = attempt.started_at
        late = row.late or (row.first_attempt_at is None and started - row.due_at > self.tuning.late_after)
        latency = None if attempt.latency_ms is None else round(attempt.latency_ms)
        common: dict[str, Any] = {
            "started_at": started, "status": attempt.status, "latency_ms": latency,
            "outcome": attempt.outcome, "error": attempt.error, "late": late, "due_at": row.due_at,
        }
        base = (row.id, row.subscription_id, row.kind, row.event_id)
        if attempt.outcome == "delivered":
            return ledger.Outcome(*base, ledger.DELIVERED, number, finished_at=self.clock.now(), **common)
        if attempt.outcome == "retry":
            delay = self.retry_policy.next_delay(number, attempt, self._rng)
            if delay is not None:
                at = self.clock.now() + delay
                if row.deadline_at is None or at < row.deadline_at:
                    return ledger.Outcome(*base, ledger.PENDING, number, next_attempt_at=at, **common)
                common["error"] = f"{attempt.error or attempt.status}; gave up: the deadline comes first"
            else:
                common["error"] = f"{attempt.error or attempt.status}; gave up after {number} attempt(s)"
        return ledger.Outcome(*base, ledger.FAILED, number, finished_at=self.clock.now(), **common)

    def _record(
        self, outcomes: list[ledger.Outcome], subscriptions: dict[str, Subscription], stats: RunStats
    ) -> None:
        if not outcomes:
            return
        ledger.record_outcomes(self.engine, outcomes)
        now = self.clock.now()
        for o in outcomes:
            if o.lateness is not None:
                stats.lateness.append(o.lateness)
            if o.state == ledger.DELIVERED:
                stats.delivered += 1
                sub = subscriptions.get(o.subscription_id)
                if sub is not None and sub.failure_count:
                    subscriptions[o.subscription_id] = subs_db.reset_failures(self.engine, sub.id, now=now)
            elif o.state == ledger.PENDING:
                stats.retrying += 1
            elif o.state == ledger.MISSED:
                stats.missed += 1
            elif o.state == ledger.CANCELLED:
                stats.cancelled += 1
            elif o.state == ledger.FAILED:
                stats.failed += 1
                if o.started_at is not None:
                    self._count_failure(o, subscriptions, now)

    def _count_failure(
        self, o: ledger.Outcome, subscriptions: dict[str, Subscription], now: dt.datetime
    ) -> None:
        n = self.tuning.disable_after
        reason = f"disabled after {n} failed deliveries in a row; the last: {o.error or o.status}"
        try:
            sub = subs_db.record_failure(
                self.engine, o.subscription_id, now=now, disable_after=n, reason=reason
            )
        except LookupError:
            return
        subscriptions[sub.id] = sub
        if not sub.enabled:
            log.warning("subscription %s disabled: %s", sub.id, sub.disabled_reason)


def _stale(row: ledger.Claimed, sub: Subscription, calendar: Calendar) -> str:
    """Why a claimed reminder is no longer owed under the current data, or "" if it still is."""
    if row.event_id not in calendar:
        return "event removed"
    event = calendar.get(row.event_id)
    if not event.is_live:
        return f"event {event.status.value}"
    if event.deadline_at != row.deadline_at:
        return "deadline moved"
    leads = {parse_duration(t).as_timedelta() for t in sub.lead_times}
    if row.lead_time is None or parse_duration(row.lead_time).as_timedelta() not in leads:
        return "lead time no longer subscribed"
    flt = event_filter(sub.filter, calendar)
    if flt is None or not flt.matches(event):
        return "event no longer matches the subscription's filter"
    return ""


def _kept(new: Calendar, event_id: str, subscriptions: Sequence[Subscription], now: dt.datetime) -> list[str]:
    event = new.get(event_id)
    planned = plan_reminders(
        Calendar(new.meta, (event,), new.version), subscriptions, now, late_window=dt.timedelta.max
    )
    return [r.id for r in planned]


def utc_text_or(value: dt.datetime | None) -> str | None:
    """`utc_text`, passing None through."""
    return None if value is None else utc_text(value)


def _subscriptions_key(subscriptions: Sequence[Subscription]) -> str:
    text = "|".join(
        f"{s.id}:{s.enabled}:{','.join(s.lead_times)}:{sorted(s.filter.items())}" for s in subscriptions
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _is_holder(source: object) -> TypeGuard[CalendarHolder]:
    return hasattr(source, "snapshot") and hasattr(source, "on_change")


def _reminder_data(row: ledger.Claimed, calendar: Calendar, now: dt.datetime, late: bool) -> dict[str, Any]:
    event = calendar.get(row.event_id)
    assert row.lead_time is not None
    assert row.deadline_at is not None
    return reminder_data(
        event_id=event.id, title=event.title, kind=event.kind.value, deadline=row.deadline_at,
        zone=_zone_name(event, calendar), lead_time=parse_duration(row.lead_time).as_timedelta(),
        now=now, sources=_sources(event), late=late,
    )


def _zone_name(event: Event, calendar: Calendar) -> str:
    return event.tz or calendar.meta.timezone


def _sources(event: Event) -> list[dict[str, str]]:
    return [{"title": s.title, "url": s.url} for s in event.sources if s.url]


def _reason(change: Change) -> str | None:
    if change.kind != CANCELLED:
        return None
    if change.superseded_by:
        return f"{change.reason} by {change.superseded_by}"
    return change.reason or None

