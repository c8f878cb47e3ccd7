"""The reminder engine: plans into the ledger, wakes at the next due time, claims, sends, records.

The ledger in the database is the source of truth; APScheduler (3.x, a `BackgroundScheduler` with a
memory job store) is only the alarm clock. It holds one date job, "wake", armed for the earliest pending
row and re-armed after every run and every plan change. APScheduler's known traps do not lose anything
here: a date job dropped at hand-off, a misfire dropped on restart, or two schedulers firing the same job
only cost a wake-up, because every wake-up claims rows from the ledger, and a row is claimed by one
process at a time and inserted once by id.

    ReminderService(settings, engine, source, clock, client)
        .start()                    plan, register for calendar changes, arm the alarm
        .health()                   whether reminders go out on time, for /healthz
        .run_due(now, ahead=)       claim what is due (or soon due), sign it, send each at its time, record
        .on_calendar_change(o, n)   reconcile the events that changed, notify subscribers
        .plan()                     make the whole ledger match what is owed (start-up), re-arm
        .reconcile_subscriptions(i) make the ledger match what these subscriptions are owed
        .plan_if_changed()          reconcile whatever changed since the last pass (every wake-up)
        .shutdown()

Every failure at a wake-up (the database away, re-arming's own query failing, a bug) re-arms the
alarm after a backoff (`Tuning.backoff_first`, doubling to `backoff_max`), so reminders that fell due
during an outage go out when it ends, without any other activity, and a lasting fault never spins.

This module is the alarm; what is owed is reconciled into the ledger by `planner.py`, sending a claimed
batch is `delivery.py`, and the data the messages carry is built in `messages.py`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeGuard

from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import Clock
from calendar_service.adapters.db import ledger
from calendar_service.adapters.settings import Settings
from calendar_service.core.calendar import Calendar
from calendar_service.core.reminders.digests import edit_key
from calendar_service.core.reminders.messages import change_message_data
from calendar_service.core.reminders.planning import Change, diff_calendars, notification_id
from calendar_service.core.reminders.reconciliation import DISABLED
from calendar_service.core.reminders.records import NewRow
from calendar_service.core.reminders.retry import RetryPolicy
from calendar_service.render.jsonview import utc_text
from calendar_service.worker.delivery import Client, Delivery, Observer, RunStats
from calendar_service.worker.planner import Planner, Tally
from calendar_service.worker.tuning import Tuning

__all__ = [
    "DISABLED",
    "WAKE_JOB",
    "CalendarHolder",
    "CalendarSource",
    "Client",
    "ReminderService",
    "RunStats",
    "Tuning",
    "utc_text_or",
]

log = logging.getLogger(__name__)

WAKE_JOB = "trade-calendar-wake"
# The soonest a wake-up that claimed nothing rings again (see `ReminderService.arm`).
IDLE_REARM = dt.timedelta(seconds=0.5)


class CalendarHolder(Protocol):
    """A live holder of the current calendar (`calendar_service.adapters.live.LiveCalendar` is one)."""

    @property
    def snapshot(self) -> Any: ...

    def on_change(self, listener: Callable[[Calendar | None, Calendar], None]) -> None: ...


CalendarSource = CalendarHolder | Calendar | Callable[[], Calendar | None]


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
        observer: Observer | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.source = source
        self.clock = clock
        self.client = client
        self.tuning = tuning or Tuning()
        self.retry_policy = retry_policy or RetryPolicy()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self._delivery = Delivery(
            engine,
            clock,
            client,
            self.tuning,
            self.retry_policy,
            self._rng,
            base_url=settings.base_url,
            observer=observer,
        )
        self._planner = Planner(engine, clock.now, self.tuning.plan_late_window, on_skip=self._skipped)
        self._scheduler: Any = None
        self._stopped = False
        self._replan_lock = threading.Lock()
        self._replan_wanted = False
        self._replan_thread: threading.Thread | None = None
        self._failures = 0  # wake-ups failed in a row
        self._failing_since: dt.datetime | None = None
        self._last_error: str | None = None
        self._last_run: dt.datetime | None = None
        self._next_due: dt.datetime | None = None  # the earliest pending row when last armed
        self._skips_logged: set[tuple[str, str]] = set()

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self, *, schedule: bool = True) -> None:
        """Plan, listen for data changes and (with `schedule`) arm the alarm (the schema exists already:
        `services.build_services` creates it)."""
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
            from apscheduler.events import EVENT_JOB_MAX_INSTANCES

            self._scheduler.add_listener(self._wake_skipped, EVENT_JOB_MAX_INSTANCES)
            self._scheduler.start()
            self.arm()

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop the alarm and the sending (letting sends in flight finish when `wait`)."""
        self._stopped = True
        with self._replan_lock:
            replan = self._replan_thread
        if replan is not None and wait:
            replan.join(timeout=10)  # a plan in progress finishes; no new one starts once stopped
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=wait)
            self._scheduler = None
        self._delivery.shutdown(wait=wait)

    def arm(self, *, idle: bool = False) -> dt.datetime | None:
        """Set the alarm for the earliest pending row (or `max_sleep` from now); return when it rings.

        `idle`: the wake-up that arms found nothing to claim. Then the alarm rings no sooner than
        `IDLE_REARM` from now: what it waits for is another worker's lease, which `prepare_ahead` cannot
        claim early, and re-arming for "now" from inside the running wake-up, again and again until the
        lease ends, both spins and can be dropped by APScheduler (one instance at a time), leaving no
        alarm at all.
        """
        if self._scheduler is None or self._stopped:
            return None
        now = self.clock.now()
        when = now + dt.timedelta(seconds=self.tuning.max_sleep)
        due = ledger.next_wake(self.engine)
        self._next_due = due
        if due is not None:
            # ring early enough to claim, check and sign what falls due, then send it at its instant
            when = max(min(when, due - self.tuning.prepare_ahead), now)
        if idle:
            when = max(when, now + IDLE_REARM)
        self._arm_in((when - now).total_seconds())
        return when

    def _arm_in(self, delay: float) -> None:
        from apscheduler.schedulers import SchedulerNotRunningError
        from apscheduler.triggers.date import DateTrigger

        # APScheduler keeps its own (system) time; hand it the delay, so a clock that is not the system
        # clock (an offset clock in a test, a clock in another zone) still wakes at the right moment.
        run_date = dt.datetime.fromtimestamp(time.time() + delay, dt.UTC)
        scheduler = self._scheduler
        if scheduler is None or self._stopped:
            return
        trigger = DateTrigger(run_date=run_date, timezone=dt.UTC)
        with contextlib.suppress(SchedulerNotRunningError):  # shut down meanwhile
            scheduler.add_job(self._wake, trigger, id=WAKE_JOB, replace_existing=True)

    def _wake(self) -> None:
        try:
            self.plan_if_changed()
            stats = self.run_due(self.clock.now(), ahead=self.tuning.prepare_ahead)
            self.arm(idle=not stats.claimed)
        except Exception as exc:  # anything at all: the alarm must ring again
            self._wake_failed(exc)
        else:
            self._wake_succeeded()

    def _wake_skipped(self, event: Any) -> None:
        """APScheduler dropped a ring because a wake-up was still running: set the alarm again.

        A wake-up re-arms as its last step; when what it arms for is "now" (more is already due), the
        ring can come before that wake-up has returned, and APScheduler (one instance at a time) skips
        it and removes the date job, which would leave no alarm at all until the next plan change. The
        skip is reported after the job is gone, so arming here cannot be undone by that removal.
        """
        if getattr(event, "job_id", None) == WAKE_JOB:
            self._arm_in(IDLE_REARM.total_seconds())

    def _wake_failed(self, exc: Exception) -> None:
        self._failures += 1
        delay = min(self.tuning.backoff_first * 2 ** min(self._failures - 1, 16), self.tuning.backoff_max)
        self._last_error = _one_line(exc)
        if self._failing_since is None:
            self._failing_since = self.clock.now()
            log.exception("reminder wake-up failed; trying again in %.0f s", delay)
        else:  # the traceback was logged once; a lasting outage costs one line per try
            log.warning(
                "reminder wake-up failed again (%d in a row since %s): %s; trying again in %.0f s",
                self._failures,
                utc_text(self._failing_since),
                self._last_error,
                delay,
            )
        self._arm_in(delay)

    def _wake_succeeded(self) -> None:
        now = self.clock.now()
        if self._failing_since is not None:
            log.warning(
                "reminders running again after %d failed wake-up(s) since %s",
                self._failures,
                utc_text(self._failing_since),
            )
        self._failures, self._failing_since, self._last_run = 0, None, now

    def health(self) -> dict[str, Any]:
        """Whether reminders go out on time: "ok", "failing" (wake-ups fail) or "stale" (due rows wait).

        "stale" means the earliest pending row is more than `tuning.stale_after` past due and no wake-up
        sent it; both come with the time and the last error, so an operator sees what is wrong.
        """
        now = self.clock.now()
        due = self._next_due
        overdue = due is not None and now - due > self.tuning.stale_after
        status = "stale" if overdue else ("failing" if self._failures else "ok")
        return {
            "status": status,
            "oldest_due": utc_text(due) if overdue and due is not None else None,
            "failed_wakeups": self._failures,
            "failing_since": utc_text_or(self._failing_since),
            "last_error": self._last_error if self._failures else None,
            "last_run": utc_text_or(self._last_run),
        }

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
        """Make the whole ledger match what the data and every subscription owe; return how many rows
        were added or re-opened. Start-up does this; afterwards only what changed is reconciled."""
        calendar = calendar or self.calendar()
        if calendar is None:
            return 0
        tally = self._planner.full(calendar)
        return self._planned(tally, calendar)

    def _planned(self, tally: Tally, calendar: Calendar, *, arm: bool = True) -> int:
        if tally:
            log.info(
                "reminders for calendar %s: %d added, %d re-opened, %d cancelled",
                calendar.version, tally.added, tally.reopened, tally.cancelled,
            )  # fmt: skip
        if arm:
            self.arm()
        return tally.added + tally.reopened

    def _skipped(self, subscription_id: str, reason: str) -> None:
        # Once per subscription and reason: a subscription is read again whenever it changes.
        if (subscription_id, reason) not in self._skips_logged:
            self._skips_logged.add((subscription_id, reason))
            log.error("subscription %s skipped by planning: %s", subscription_id, reason)

    def reconcile_subscriptions(self, subscription_ids: Sequence[str]) -> int:
        """Make the ledger match what these subscriptions (created, changed, re-enabled, deleted) are
        owed as stored now; return how many rows were added or re-opened. Costs one subscription's
        share of the data, whatever the number of other subscriptions."""
        tally = self._planner.subscriptions_changed(subscription_ids)
        calendar = self._planner.calendar
        return self._planned(tally, calendar) if calendar is not None else 0

    def request_plan(self) -> None:
        """Catch up soon, off the caller's thread; a burst of requests costs one or two passes.

        For a change whose subscription is not known (a bulk import); a known one is reconciled at once
        with `reconcile_subscriptions`.
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
                self.plan_if_changed()
            except Exception:  # the next wake-up catches up anyway
                log.exception("re-planning after a subscription change failed")

    def plan_if_changed(self) -> int:
        """Reconcile what changed since the last pass: subscriptions changed by any process (read as
        four short columns each) and events that differ from the version last planned."""
        calendar = self.calendar()
        if calendar is None:
            return 0
        tally = self._planner.catch_up(calendar)
        # Re-armed only when something changed: this runs at every wake-up, which re-arms when it ends.
        return self._planned(tally, calendar, arm=bool(tally))

    def on_calendar_change(self, old: Calendar | None, new: Calendar) -> None:
        """Reconcile the events that changed, and tell matching subscribers what moved, went or came."""
        if isinstance(self.source, Calendar):
            self.source = new  # a fixed calendar was given: `new` is the current one from now on
        with self._planner.lock:
            tally = self._planner.catch_up(new, thorough=False)
            changes = diff_calendars(old, new) if old is not None else []
            if old is not None and changes:
                self._notify(old, new, changes)
        self._planned(tally, new)

    def _notify(self, old: Calendar, new: Calendar, changes: Sequence[Change]) -> None:
        now = self.clock.now()
        subscribers = self._planner.audiences()
        rows: list[NewRow] = []
        for change in changes:
            calendar, event = (
                (new, new.get(change.event_id)) if change.event_id in new else (old, old.get(change.event_id))
            )
            payload = change_message_data(change, event, calendar, self.settings.base_url)
            rows += [
                NewRow(
                    notification_id(sub.id, change),
                    sub.id,
                    change.kind,
                    change.event_id,
                    now,
                    payload=payload,
                    digest_key=edit_key(sub.id, new.version),
                )
                for sub in subscribers.subscribers(event)
            ]
        added = ledger.add_rows(self.engine, rows, now=now)
        log.info("%d calendar change(s): %d notification(s) queued", len(changes), added)

    # --- delivery -----------------------------------------------------------------------------------

    def run_due(self, now: dt.datetime | None = None, *, ahead: dt.timedelta | None = None) -> RunStats:
        """Claim and deliver every row due at `now`, a batch at a time, until none is left; with `ahead`,
        also those due within it after `now`, each sent at its own instant (the alarm does that)."""
        now = now or self.clock.now()
        return self._delivery.run_due(now, self.calendar, horizon=now + ahead if ahead else None)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def utc_text_or(value: dt.datetime | None) -> str | None:
    """`utc_text`, passing None through."""
    return None if value is None else utc_text(value)


def _is_holder(source: object) -> TypeGuard[CalendarHolder]:
    return hasattr(source, "snapshot") and hasattr(source, "on_change")
