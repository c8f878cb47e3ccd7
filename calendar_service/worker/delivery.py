"""Delivering what is due: claim rows from the ledger, sign them, send each at its instant, record outcomes.

This thread claims (ahead of time when asked), checks, renders, signs and records; the sends are a fixed
set of `Tuning.concurrency` coroutines on the client's event loop (`_Sends`), each taking the next
message, waiting for its instant and sending it. Claims of queued messages are renewed while they wait.

Each claimed row is first checked against the current data and subscriptions (a reminder no longer owed
is cancelled, one past its deadline is missed), and checked again just before it goes out (`sendtime`:
deleted, paused, re-pointed, re-keyed or re-filtered since the claim), then sent once; the retry
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
import logging
import queue
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
from calendar_service.worker.sendtime import SendTimeCheck
from calendar_service.worker.tuning import Tuning

# The engine logs under one name, whichever of its modules speaks.
log = logging.getLogger("calendar_service.worker.service")


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
    and records. Rows claimed ahead of their time (`run_due(horizon=...)`) wait on the loop for it.
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
        # A plain (threaded) client gets a loop of our own; it runs each send on a worker thread.
        self._async_client = client if _is_async(client) else None
        self._io = self._async_client.io if self._async_client is not None else LoopThread("reminder-send")
        self._own_io = self._async_client is None
        self._run_lock = threading.Lock()
        self._sends: _Sends | None = None  # the current run's senders (on the loop)
        self._gates: dict[dt.datetime, asyncio.Task[None]] = {}  # one sleeper per instant waited for
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
        sends = self._sends
        if not wait and sends is not None:
            with contextlib.suppress(RuntimeError):  # the loop is gone already
                self._io.loop.call_soon_threadsafe(sends.cancel)
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
            self._record_held(stats)
            self._parsed.clear()  # parsed again as this run reads them
            subscriptions = {s.id: s for s in subs_db.list_subscriptions(self.engine)}
            calendar = calendar_now()
            limit = max(self.tuning.queue_max, 1)
            # Finished sends come back through this queue (one put each; None for a cancelled one):
            # cheaper than a future per send, which a burst of thousands would pay for in waits.
            finished: queue.SimpleQueue[list[ledger.Outcome] | None] = queue.SimpleQueue()
            send = functools.partial(self._send_at_its_time, calendar_now=calendar_now)
            sends = self._sends = _Sends(send, self._cancel_gates, self.tuning.concurrency, finished)
            inflight = 0
            digests = {s.id for s in subscriptions.values() if s.digest}
            done_rows: list[ledger.Outcome] = []
            exhausted = False
            error: Exception | None = None
            last_flush = time.monotonic()
            claims: set[str] = set()  # this run's claims, renewed while their rows wait or send
            renewed = self.clock.now()
            while True:
                if not exhausted and inflight < limit:
                    try:
                        claimed = ledger.claim_due(
                            self.engine,
                            now=now,
                            lease=self.tuning.lease,
                            limit=min(self.tuning.batch, limit - inflight),
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
                    jobs: list[_Job] = []
                    for job_or_outcome in self._prepare_claimed(claimed, subscriptions, calendar):
                        if isinstance(job_or_outcome, ledger.Outcome):
                            done_rows.append(job_or_outcome)
                        else:
                            jobs.append(self._signed(job_or_outcome))
                    if jobs:
                        inflight += len(jobs)
                        self._io.loop.call_soon_threadsafe(sends.feed, jobs)
                    if claimed and inflight < limit:
                        continue
                if not inflight and exhausted:
                    break
                if inflight:
                    results: list[list[ledger.Outcome] | None] = []
                    with contextlib.suppress(queue.Empty):
                        results.append(finished.get(timeout=0.2))
                        # Let results gather: waking for each one would take the GIL from the loop
                        # thousands of times a second in a burst, and the sends would wait for it.
                        time.sleep(0.01)
                        while len(results) < inflight:
                            results.append(finished.get_nowait())
                    inflight -= len(results)
                    # a send cancelled by shutdown(wait=False) leaves its rows claimed: they go out again
                    done_rows.extend(o for r in results if r is not None for o in r)
                if len(done_rows) >= 500 or (done_rows and time.monotonic() - last_flush > 0.1):
                    error = self._record(done_rows, subscriptions, stats) or error
                    exhausted = exhausted or error is not None
                    done_rows = []
                    last_flush = time.monotonic()
                if inflight and self.clock.now() - renewed > self.tuning.lease / 3:
                    renewed = self.clock.now()
                    self._renew(claims, renewed + self.tuning.lease)
            error = self._record(done_rows, subscriptions, stats) or error
            self._sends = None
            with contextlib.suppress(RuntimeError):  # the loop is gone already
                self._io.loop.call_soon_threadsafe(sends.stop)
        if error is not None:
            raise error
        return stats

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
            checked = decisions.check_row(row, self._audience(sub), calendar, now, self._rules)
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
        sub = job.sub
        at = job.message.timestamp
        prepared = self._async_client.prepare(
            sub.url, sub.secret, job.message, sub.format, at=at, previous_secret=sub.secret_in_grace(at)
        )
        return replace(job, prepared=prepared)

    async def _send_at_its_time(
        self, job: _Job, calendar_now: Callable[[], Calendar | None]
    ) -> list[ledger.Outcome]:
        """Wait for the job's instant, check it against the subscription and data as they are now, send it."""
        await self._until(job.not_before)
        sub = await self._send_time.current(job.sub)
        calendar = calendar_now()
        if not decisions.recheck_needed(job.sub, sub, job.version, calendar):
            return await self._send(job)
        # Claimed ahead, then the subscription or the data changed: prepare again with what is true
        # now (deleted or paused: cancelled; a new URL, secret or filter: used; a moved deadline:
        # cancelled), and sign again with the secrets valid at the instant it goes out.
        outcomes: list[ledger.Outcome] = []
        current = {} if sub is None else {sub.id: sub}
        for redone in self._prepare_claimed(job.rows, current, calendar):
            if isinstance(redone, ledger.Outcome):
                outcomes.append(redone)
            else:
                outcomes += await self._send(self._signed(redone))
        return outcomes

    def _cancel_gates(self) -> None:
        """On the loop: wake every sender waiting for an instant, cancelled (shutdown without waiting)."""
        for gate in list(self._gates.values()):
            gate.cancel()

    async def _until(self, when: dt.datetime) -> None:
        """Return at `when` by our clock. The jobs of one instant share one sleeper: a burst of ten
        thousand is one timer, not ten thousand."""
        if when <= self.clock.now():
            return
        gate = self._gates.get(when)
        if gate is None:
            gate = self._gates[when] = asyncio.get_running_loop().create_task(self._sleep_until(when))
            gate.add_done_callback(lambda _: self._gates.pop(when, None))
        await asyncio.shield(gate)  # one waiter cancelled (shutdown) must not cancel the others' gate

    async def _sleep_until(self, when: dt.datetime) -> None:
        # Short naps against the clock, not one long sleep: the clock is ours (tests set it), not the loop's.
        while (left := (when - self.clock.now()).total_seconds()) > 0:
            await asyncio.sleep(min(left, 0.25))

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
            attempt = await self._post(job)
        except Exception as exc:  # a bug in the client must not lose the row: retry it
            log.exception("sending %s failed unexpectedly", job.rows[0].id)
            attempt = Attempt(self.clock.now(), None, 0.0, f"{type(exc).__name__}: {exc}", None, "retry")
        outcome = decisions.after_attempt(
            job.rows,
            job.message,
            attempt,
            in_digest=job.in_digest,
            now=self.clock.now(),
            rules=self._rules,
            rng=self._rng,
        )
        if outcome.outcome is not None:
            seconds = (outcome.latency_ms or 0) / 1000
            self.observer.attempted(job.sub.format, outcome.outcome, seconds, outcome.lateness)
        return outcome

    async def _post(self, job: _Job) -> Attempt:
        """Make the one attempt: the request signed ahead, or a plain client's send on a thread."""
        if job.prepared is not None and self._async_client is not None:
            return await self._async_client.post(job.prepared)
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
    """One run's senders on the loop: `concurrency` coroutines taking jobs in the order claimed (earliest
    first), each waiting for its job's instant, sending it and putting the outcomes in `finished`.
    A fixed set of senders pulling from a queue, as a plain client loop would: no task per message."""

    def __init__(
        self,
        send: Callable[[_Job], Awaitable[list[ledger.Outcome]]],
        cancel_waits: Callable[[], None],
        concurrency: int,
        finished: queue.SimpleQueue[list[ledger.Outcome] | None],
    ) -> None:
        self._send = send  # waits for the job's instant, checks it again, sends it: its outcomes
        self._cancel_waits = cancel_waits
        self._concurrency = max(concurrency, 1)
        self._finished = finished
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._senders: list[asyncio.Task[None]] = []

    def feed(self, jobs: Sequence[_Job]) -> None:
        """On the loop: queue `jobs`; start the senders the first time."""
        for job in jobs:
            self._queue.put_nowait(job)
        loop = asyncio.get_running_loop()
        while len(self._senders) < self._concurrency:
            self._senders.append(loop.create_task(self._send_each()))

    async def _send_each(self) -> None:
        while True:
            job = await self._queue.get()
            outcomes: list[ledger.Outcome] | None = None
            try:
                outcomes = await self._send(job)
            except asyncio.CancelledError:
                self._finished.put(None)  # shutdown(wait=False): the claim runs out, the rows go again
                raise
            except Exception:  # a bug: the rows stay claimed and go again when the lease ends
                log.exception("sending %s failed unexpectedly", job.message.id)
            self._finished.put(outcomes)

    def stop(self) -> None:
        """On the loop, once every job is done: the senders go."""
        for sender in self._senders:
            sender.cancel()

    def cancel(self) -> None:
        """On the loop: abandon what is queued and in flight; each job still reports (as None)."""
        self.stop()
        self._cancel_waits()
        while not self._queue.empty():
            self._queue.get_nowait()
            self._finished.put(None)
