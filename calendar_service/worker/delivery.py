"""Delivering what is due: claim rows from the ledger, sign them, send each at its instant, record outcomes.

This thread (the run thread) claims (ahead of time when asked), checks, renders, signs and records, and
waits for each message's instant; the sends are a fixed set of `Tuning.concurrency` coroutines on the
client's event loop (`_Sends`), each taking the next message and sending it. Once messages are due the
run thread hands them over a chunk at a time, after checking the chunk again with one read (`sendtime`:
deleted, paused, re-pointed, re-keyed or re-filtered since the claim; a moved deadline); a message held
by the senders longer than `RECHECK_AFTER` comes back to be checked again. Outcomes come back a turn of
this thread at a time, not one wake-up per message. Claims of queued messages are renewed while they
wait.

Each claimed row is first checked against the current data and subscriptions (a reminder no longer owed
is cancelled, one past its deadline is missed), checked again when it is due, then sent once; the retry
policy decides whether a failed attempt goes back to pending or fails for good. Failed deliveries count
towards disabling an endpoint.

An outcome that could not be written (the database went away between the send and the record) is kept
in memory and written first at the next run, before anything new is claimed; a row whose outcome is
held here is never sent again by this process, even after its lease ran out. What holds, exactly:

- one process: each reminder is sent once, unless the process dies between sending and recording;
- after such a crash (or a database outage longer than the lease, when claims cannot be renewed, while
  another worker runs): the row
  is sent again once its lease ends, with the same `webhook-id`, so a receiver that remembers the ids
  it saw (as the Standard Webhooks spec asks) handles it once. Delivery is at-least-once, never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import heapq
import itertools
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeGuard

from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import Clock
from calendar_service.adapters.db import ledger
from calendar_service.adapters.db import subscriptions as subs_db
from calendar_service.adapters.webhooks.loop import LoopThread
from calendar_service.core.calendar import Calendar
from calendar_service.core.messages import Format, Message
from calendar_service.core.reminders import decisions
from calendar_service.core.reminders.attempts import Attempt
from calendar_service.core.reminders.audience import Audience, audience
from calendar_service.core.reminders.decisions import Items, Rules
from calendar_service.core.reminders.digests import digest_id, halves
from calendar_service.core.reminders.retry import RetryPolicy
from calendar_service.core.subscriptions import Subscription
from calendar_service.worker.renderings import Renderings
from calendar_service.worker.sendtime import SendTimeCheck
from calendar_service.worker.tuning import Tuning

# The engine logs under one name, whichever of its modules speaks.
log = logging.getLogger("calendar_service.worker.service")

# A job fed to the senders goes back to be checked again (`sendtime`) when it has waited this long
# since its check (queued behind a slow receiver): what goes out is what is true within this of it.
RECHECK_AFTER = dt.timedelta(seconds=1)
_CHUNK_PER_SENDER = 4  # due jobs handed to the senders at a time, per sender
_POLL = 0.01  # seconds between two turns of the run thread while sends are in flight
_NAP_MAX = 0.25  # the longest nap while a job waits for its instant (the clock may be set meanwhile)
_RECORD_BATCH = 500  # outcomes written at once, or ...
_RECORD_EVERY = 0.1  # ... after this many seconds


class Client(Protocol):
    """Sends one message to one endpoint, once (`webhooks.client.WebhookClient` is one)."""

    def send(
        self, url: str, secret: str, message: Message, fmt: Format, *, previous_secret: str | None = None
    ) -> Attempt: ...


class AsyncClient(Client, Protocol):
    """A client that signs ahead and sends on its own event loop (`WebhookClient`); a plain `Client`
    is run on a thread per send instead."""

    io: LoopThread

    def prepare(
        self,
        url: str,
        secret: str,
        message: Message,
        fmt: Format,
        *,
        at: dt.datetime,
        previous_secret: str | None = None,
        body: bytes | None = None,
    ) -> Any: ...

    async def post(self, prepared: Any) -> Attempt: ...


def _is_async(client: Client) -> TypeGuard[AsyncClient]:
    return all(hasattr(client, name) for name in ("io", "prepare", "post"))


class Observer(Protocol):
    """Hears of every attempt made (`reminders.metrics.DeliveryMetrics` is one)."""

    def attempted(self, fmt: str, outcome: str, seconds: float, lateness: float | None) -> None: ...


class _Unobserved:
    def attempted(self, fmt: str, outcome: str, seconds: float, lateness: float | None) -> None:
        pass


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
    """One message to send: a single row's, or a digest's (`items` each member's id, type and data)."""

    rows: tuple[ledger.Claimed, ...]
    sub: Subscription
    message: Message
    items: Items = ()
    prepared: Any = None  # the signed request, made ahead (`AsyncClient.prepare`)
    version: str | None = None  # the calendar it was checked against

    @property
    def in_digest(self) -> bool:
        return bool(self.items)

    @property
    def not_before(self) -> dt.datetime:
        """When it may go out: when every row it carries may."""
        return max(r.not_before for r in self.rows)


class Delivery:
    """Claims due rows and delivers them; one run at a time, `tuning.concurrency` sends at once.

    The sends are coroutines on the client's event loop; this thread claims, checks, renders, signs
    and records. Rows claimed ahead of their time (`run_due(horizon=...)`) wait here for it.
    """

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        client: Client,
        tuning: Tuning,
        retry_policy: RetryPolicy,
        rng: random.Random,
        base_url: str = "",
        observer: Observer | None = None,
    ) -> None:
        self.engine = engine
        self.base_url = base_url  # links each message to the event's page (None without it)
        self.clock = clock
        self.client = client
        self.observer: Observer = observer or _Unobserved()
        self.tuning = tuning
        self.retry_policy = retry_policy
        self._rng = rng
        self._rules = Rules(tuning.late_after, tuning.notification_max_age, retry_policy, base_url)
        # Each subscription's filter and lead times, parsed once per object read (not once per row).
        self._parsed: dict[str, tuple[Subscription, Audience]] = {}
        self._renderings = Renderings()  # a reminder's data and body, made once per run
        # A plain (threaded) client gets a loop of our own; it runs each send on a worker thread.
        self._async_client = client if _is_async(client) else None
        self._io = self._async_client.io if self._async_client is not None else LoopThread("reminder-send")
        self._own_io = self._async_client is None
        self._run_lock = threading.Lock()
        self._sends: _Sends | None = None  # the current run's senders (on the loop)
        self._abandon = threading.Event()  # shutdown(wait=False): the run drops what it holds
        self._unrecorded: dict[str, ledger.Outcome] = {}  # sent, but the record failed; by row id
        self._send_time = SendTimeCheck(
            functools.partial(subs_db.versions, engine),
            functools.partial(subs_db.subscriptions_by_id, engine),
        )

    def shutdown(self, *, wait: bool) -> None:
        """Stop sending (letting sends in flight finish when `wait`); write held outcomes if we can.

        Without `wait`, sends in flight are abandoned: their rows stay claimed until the lease ends,
        then go out again with the same webhook-id.
        """
        if not wait:
            self._abandon.set()
        with self._run_lock:  # a run in progress finishes (or, cancelled, records what it has)
            if self._own_io:
                self._io.stop()
        try:
            self._record_held(RunStats())
        except Exception as exc:
            log.warning(
                "%d outcome(s) could not be recorded before stopping (%s); those reminders go out again "
                "once their claim runs out, with the same webhook-id",
                len(self._unrecorded),
                exc,
            )

    def run_due(
        self,
        now: dt.datetime,
        calendar_now: Callable[[], Calendar | None],
        horizon: dt.datetime | None = None,
    ) -> RunStats:
        """Claim and deliver every row due by `horizon` (default `now`), a batch at a time, until none is
        left; a row due after `now` is prepared now and sent at its time, never before.

        A database error stops the claiming, lets the sends in flight finish, keeps their outcomes for
        the next run if they cannot be written, then raises (the caller backs off and calls again).
        """
        stats = RunStats()
        with self._run_lock:
            self._abandon.clear()
            self._record_held(stats)
            self._parsed.clear()  # parsed again as this run reads them
            self._renderings.clear()
            subscriptions = {s.id: s for s in subs_db.list_subscriptions(self.engine)}
            calendar = calendar_now()
            limit = max(self.tuning.queue_max, 1)
            # Due jobs go to the senders a chunk at a time, each chunk checked at send time with one
            # read; a new chunk once fewer than this many are left in flight (enough for the senders
            # to stay busy between two turns of this loop).
            chunk = _CHUNK_PER_SENDER * max(self.tuning.concurrency, 1)
            sends = self._sends = _Sends(self._send, self.tuning.concurrency)
            waiting: list[tuple[dt.datetime, int, _Job]] = []  # claimed and signed: a heap by instant
            order = itertools.count()
            inflight = 0  # handed to the senders, not yet back
            digests = {s.id for s in subscriptions.values() if s.digest}
            done_rows: list[ledger.Outcome] = []
            exhausted = abandoned = False
            error: Exception | None = None
            last_flush = time.monotonic()
            claims: set[str] = set()  # this run's claims, renewed while their rows wait or send
            renewed = self.clock.now()
            while True:
                if self._abandon.is_set() and not abandoned:
                    # shutdown(wait=False): what waits stays claimed until the lease ends, then goes
                    # out again with the same webhook-id; the senders drop what they hold.
                    abandoned = exhausted = True
                    waiting.clear()
                    with contextlib.suppress(RuntimeError):  # the loop is gone already
                        self._io.loop.call_soon_threadsafe(sends.cancel)
                if not exhausted and len(waiting) + inflight < limit:
                    try:
                        claimed = ledger.claim_due(
                            self.engine,
                            now=now,
                            lease=self.tuning.lease,
                            limit=min(self.tuning.batch, limit - len(waiting) - inflight),
                            digest_subscriptions=digests,
                            horizon=horizon,
                        )
                    except Exception as exc:
                        error, claimed = exc, []
                    stats.claimed += len(claimed)
                    if any(r.subscription_id not in subscriptions for r in claimed):
                        # Planned for a subscription created since this run began: read it, rather
                        # than take it for one deleted and cancel its first reminder.
                        subscriptions = {s.id: s for s in subs_db.list_subscriptions(self.engine)}
                    exhausted = not claimed
                    claims.update(r.claimed_by for r in claimed if r.claimed_by)
                    for job_or_outcome in self._prepare_claimed(claimed, subscriptions, calendar):
                        if isinstance(job_or_outcome, ledger.Outcome):
                            done_rows.append(job_or_outcome)
                        else:
                            job = self._signed(job_or_outcome)
                            heapq.heappush(waiting, (job.not_before, next(order), job))
                    due_now = bool(waiting) and inflight < chunk and waiting[0][0] <= self.clock.now()
                    if claimed and len(waiting) + inflight < limit and not due_now:
                        continue  # claim on; what is due already goes out between two batches
                moment = self.clock.now()
                if waiting and inflight < chunk and waiting[0][0] <= moment:
                    due = [heapq.heappop(waiting)[2]]
                    while waiting and waiting[0][0] <= moment and len(due) < chunk:
                        due.append(heapq.heappop(waiting)[2])
                    checked_at = time.monotonic()  # the read begins now
                    ready, ended = self._at_send_time(due, calendar_now)
                    done_rows += ended
                    if ready:
                        inflight += len(ready)
                        self._io.loop.call_soon_threadsafe(sends.feed, ready, checked_at)
                if not inflight and not waiting and exhausted:
                    break
                finished, returned = sends.take()
                inflight -= len(finished) + len(returned)
                for job in [] if abandoned else returned:  # waited too long since its check: again
                    heapq.heappush(waiting, (job.not_before, next(order), job))
                # a send cancelled by shutdown(wait=False) leaves its rows claimed: they go out again
                self._observe(finished)
                done_rows.extend(o for _, outcomes in finished if outcomes is not None for o in outcomes)
                if len(done_rows) >= _RECORD_BATCH or (
                    done_rows and time.monotonic() - last_flush > _RECORD_EVERY
                ):
                    error = self._record(done_rows, subscriptions, stats) or error
                    exhausted = exhausted or error is not None
                    done_rows = []
                    last_flush = time.monotonic()
                if (inflight or waiting) and self.clock.now() - renewed > self.tuning.lease / 3:
                    renewed = self.clock.now()
                    self._renew(claims, renewed + self.tuning.lease)
                if exhausted or len(waiting) + inflight >= limit:  # else: claim on at once
                    self._nap(waiting, inflight, chunk, abandoned)
            error = self._record(done_rows, subscriptions, stats) or error
            self._sends = None
            with contextlib.suppress(RuntimeError):  # the loop is gone already
                self._io.loop.call_soon_threadsafe(sends.stop)
        if error is not None:
            raise error
        return stats

    def _nap(
        self, waiting: list[tuple[dt.datetime, int, _Job]], inflight: int, chunk: int, abandoned: bool
    ) -> None:
        """Wait for the next thing to do: a turn of polling while sends are in flight (results gather
        meanwhile: waking for each one would take the GIL from the loop thousands of times a second in
        a burst), else the first waiting job's instant, in short naps, as the clock may be set (tests)."""
        if waiting and inflight < chunk:
            left = (waiting[0][0] - self.clock.now()).total_seconds()
            timeout = min(max(left, 0.0), _POLL if inflight else _NAP_MAX)
        elif inflight or waiting:
            timeout = _POLL
        else:
            return  # nothing waits: claim again, or the run ends
        if timeout > 0 and abandoned:
            time.sleep(timeout)  # the senders are dropping what they hold; `_abandon` stays set
        elif timeout > 0:
            self._abandon.wait(timeout)  # shutdown(wait=False) wakes it

    def _at_send_time(
        self, jobs: list[_Job], calendar_now: Callable[[], Calendar | None]
    ) -> tuple[list[_Job], list[ledger.Outcome]]:
        """`jobs` (due now) checked against their subscriptions and the data as they are now, with one
        read for all of them: the ones to send as they are, prepared again, or ended."""
        current = self._send_time.read([job.sub for job in jobs])
        calendar = calendar_now()
        ready: list[_Job] = []
        ended: list[ledger.Outcome] = []
        for job, sub in zip(jobs, current, strict=True):
            if not decisions.recheck_needed(job.sub, sub, job.version, calendar):
                ready.append(job)
                continue
            # Claimed ahead, then the subscription or the data changed: prepare again with what is
            # true now (deleted or paused: cancelled; a new URL, secret or filter: used; a moved
            # deadline: cancelled), and sign again with the secrets valid at the instant it goes out.
            for redone in self._prepare_claimed(job.rows, {} if sub is None else {sub.id: sub}, calendar):
                if isinstance(redone, ledger.Outcome):
                    ended.append(redone)
                else:
                    ready.append(self._signed(redone))
        return ready, ended

    def _observe(self, finished: list[tuple[_Job, list[ledger.Outcome] | None]]) -> None:
        """Tell the observer of the attempts made (here, off the loop, not in each send)."""
        if isinstance(self.observer, _Unobserved):
            return
        for job, outcomes in finished:
            for o in outcomes or ():
                if o.outcome is None or o.started_at is None:
                    continue
                # A digest split after a 413: the attempt itself failed (its log entry says "split").
                outcome = "failed" if o.outcome == "split" else o.outcome
                seconds = (o.latency_ms or 0) / 1000
                self.observer.attempted(job.sub.format, outcome, seconds, o.lateness)

    def _renew(self, claims: set[str], until: dt.datetime) -> None:
        try:
            ledger.renew_claims(self.engine, claims, until=until)
        except Exception as exc:  # the sends go on (their outcomes are held if need be); tried again
            log.warning(
                "could not renew %d claim(s) being sent: %s; if the database stays away past the lease, "
                "another worker may send those reminders again, with the same webhook-id",
                len(claims),
                exc,
            )

    def _record_held(self, stats: RunStats) -> None:
        """Write the outcomes an earlier run could not (raises while the database is still away)."""
        if not self._unrecorded:
            return
        held = list(self._unrecorded.values())
        ledger.record_outcomes(self.engine, held)
        self._unrecorded.clear()
        log.warning("recorded %d outcome(s) held since the database failed", len(held))

    def _prepare_claimed(
        self,
        rows: Sequence[ledger.Claimed],
        subscriptions: Mapping[str, Subscription],
        calendar: Calendar | None,
    ) -> list[_Job | ledger.Outcome]:
        """A job or a final outcome per claimed row, the members of a digest gathered into one job."""
        alone, digests = decisions.group(rows)
        out = [self._prepare_safely(row, subscriptions, calendar) for row in alone]
        for did, members in digests.items():
            held = self._unrecorded.get(did)
            if held is not None:
                out.append(held)  # sent already: record what happened, never send it again
                continue
            live: list[_Job] = []
            for row in members:
                prepared = self._prepare_safely(row, subscriptions, calendar)
                if isinstance(prepared, ledger.Outcome):
                    out.append(prepared)  # this member is no longer owed; the others still go
                else:
                    live.append(prepared)
            if live:
                items = tuple((j.message.id, j.message.type, dict(j.message.data)) for j in live)
                job = self._job_of(did, [j.rows[0] for j in live], live[0].sub, items)
                out.append(replace(job, version=live[0].version))
        return out

    def _job_of(self, did: str, rows: Sequence[ledger.Claimed], sub: Subscription, items: Items) -> _Job:
        message = decisions.digest_message(did, rows, items, self.clock.now())
        return _Job(tuple(rows), sub, message, items)

    def _prepare_safely(
        self, row: ledger.Claimed, subscriptions: Mapping[str, Subscription], calendar: Calendar | None
    ) -> _Job | ledger.Outcome:
        held = self._unrecorded.get(row.id)
        if held is not None:
            return held  # sent already: record what happened, never send it again
        sub = subscriptions.get(row.subscription_id)
        now = self.clock.now()
        try:
            checked = decisions.check_row(
                row, self._audience(sub), calendar, now, self._rules, self._renderings.reminder_data
            )
        except Exception as exc:  # one row that cannot be rendered must not stop the others
            log.exception("reminder %s cannot be prepared; marking it failed", row.id)
            return decisions.unpreparable(row, exc, self.clock.now())
        if isinstance(checked, ledger.Outcome):
            return checked
        assert sub is not None  # check_row cancels a row whose subscription is gone
        return _Job((row,), sub, checked, version=calendar.version if calendar is not None else None)

    def _audience(self, sub: Subscription | None) -> Audience | None:
        """`sub` with its filter and lead times parsed, once per subscription as read (not per row)."""
        if sub is None:
            return None
        parsed = self._parsed.get(sub.id)
        if parsed is None or parsed[0] is not sub:
            parsed = self._parsed[sub.id] = (sub, audience(sub))
        return parsed[1]

    def _signed(self, job: _Job) -> _Job:
        """`job` with its request rendered and signed now, for the instant it goes out."""
        if self._async_client is None:
            return job
        sub, message = job.sub, job.message
        at = message.timestamp
        prepared = self._async_client.prepare(
            sub.url,
            sub.secret,
            message,
            sub.format,
            at=at,
            previous_secret=sub.secret_in_grace(at),
            body=self._renderings.body(message, sub.format),
        )
        return _Job(job.rows, sub, message, job.items, prepared, job.version)

    async def _send(self, job: _Job) -> list[ledger.Outcome]:
        """Send one job; a digest refused as too large (413) is split in two and each half sent."""
        outcome = await self._deliver(job)
        if not decisions.should_split(outcome, len(job.rows)):
            return [outcome]
        # The halves are new digests with ids of their own, fixed on their members when recorded.
        note = f"{outcome.error or 'HTTP 413'}; split into two digests"
        outcomes = [replace(outcome, log_only=True, outcome="split", error=note)]
        for part in halves(range(len(job.rows))):
            rows = [job.rows[i] for i in part]
            did = digest_id(job.sub.id, [r.id for r in rows])
            half = self._job_of(did, rows, job.sub, tuple(job.items[i] for i in part))
            outcomes += await self._send(self._signed(half))
        return outcomes

    async def _deliver(self, job: _Job) -> ledger.Outcome:
        try:
            if job.prepared is not None and self._async_client is not None:
                attempt = await self._async_client.post(job.prepared)  # signed ahead
            else:
                attempt = await self._send_on_a_thread(job)
        except Exception as exc:  # a bug in the client must not lose the row: retry it
            log.exception("sending %s failed unexpectedly", job.rows[0].id)
            attempt = Attempt(self.clock.now(), None, 0.0, f"{type(exc).__name__}: {exc}", None, "retry")
        return decisions.after_attempt(
            job.rows,
            job.message,
            attempt,
            in_digest=job.in_digest,
            now=self.clock.now(),
            rules=self._rules,
            rng=self._rng,
        )

    async def _send_on_a_thread(self, job: _Job) -> Attempt:
        """A plain client's blocking send, on a worker thread."""
        sub = job.sub
        previous = sub.secret_in_grace(self.clock.now())
        return await asyncio.to_thread(
            self.client.send, sub.url, sub.secret, job.message, sub.format, previous_secret=previous
        )

    def _record(
        self, outcomes: list[ledger.Outcome], subscriptions: dict[str, Subscription], stats: RunStats
    ) -> Exception | None:
        """Write `outcomes`; on a database error keep them for the next run and return the error."""
        if not outcomes:
            return None
        try:
            ledger.record_outcomes(self.engine, outcomes)
        except Exception as exc:
            self._unrecorded.update((o.id, o) for o in outcomes)
            log.warning("could not record %d outcome(s), holding them: %s", len(outcomes), exc)
            return exc
        try:
            self._count(outcomes, subscriptions, stats)
        except Exception as exc:  # counts towards disabling an endpoint; the outcomes are safe
            return exc
        return None

    def _count(
        self, outcomes: list[ledger.Outcome], subscriptions: dict[str, Subscription], stats: RunStats
    ) -> None:
        now = self.clock.now()
        for o in outcomes:
            if o.log_only:
                continue
            if o.lateness is not None:
                stats.lateness.append(o.lateness)
            if o.state == ledger.DELIVERED:
                stats.delivered += len(o.members) or 1
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


class _Sends:
    """One run's senders on the loop: `concurrency` coroutines taking jobs in the order fed (each fed
    once due and checked), sending each and leaving its outcomes in `finished` for the run thread,
    which takes them a turn at a time (`take`): no task, future or cross-thread wake-up per message.
    A job that waited longer than `RECHECK_AFTER` since its check is handed back unsent, to be checked
    again (a slow receiver can hold a queue for long)."""

    def __init__(self, send: Callable[[_Job], Awaitable[list[ledger.Outcome]]], concurrency: int) -> None:
        self._send = send  # sends one job: its outcomes
        self._concurrency = max(concurrency, 1)
        self._queue: asyncio.Queue[tuple[_Job, float]] = asyncio.Queue()
        self._senders: list[asyncio.Task[None]] = []
        # Appended to on the loop, taken from on the run thread: each list operation is atomic.
        self._finished: list[tuple[_Job, list[ledger.Outcome] | None]] = []
        self._returned: list[_Job] = []

    def feed(self, jobs: Sequence[_Job], checked_at: float) -> None:
        """On the loop: queue `jobs`, checked from `checked_at` (monotonic); start the senders at first."""
        for job in jobs:
            self._queue.put_nowait((job, checked_at))
        loop = asyncio.get_running_loop()
        while len(self._senders) < self._concurrency:
            self._senders.append(loop.create_task(self._send_each()))

    def take(self) -> tuple[list[tuple[_Job, list[ledger.Outcome] | None]], list[_Job]]:
        """On the run thread: the jobs finished (with their outcomes; None: abandoned, the rows stay
        claimed) and those handed back since the last take."""
        return _take(self._finished), _take(self._returned)

    async def _send_each(self) -> None:
        while True:
            job, checked_at = await self._queue.get()
            if time.monotonic() - checked_at > RECHECK_AFTER.total_seconds():
                self._returned.append(job)
                continue
            outcomes: list[ledger.Outcome] | None = None
            try:
                outcomes = await self._send(job)
            except asyncio.CancelledError:
                # shutdown(wait=False): the claim runs out, the rows go out again
                self._finished.append((job, None))
                raise
            except Exception:  # a bug: the rows stay claimed and go again when the lease ends
                log.exception("sending %s failed unexpectedly", job.message.id)
            self._finished.append((job, outcomes))

    def stop(self) -> None:
        """On the loop, once every job is done: the senders go."""
        for sender in self._senders:
            sender.cancel()

    def cancel(self) -> None:
        """On the loop: abandon what is queued and in flight; each job still reports (outcomes None)."""
        self.stop()
        while not self._queue.empty():
            job, _ = self._queue.get_nowait()
            self._finished.append((job, None))


def _take(items: list[Any]) -> list[Any]:
    """Remove and return what `items` holds now; appends made meanwhile (another thread) stay."""
    n = len(items)
    taken = items[:n]
    del items[:n]
    return taken
