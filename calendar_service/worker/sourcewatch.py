"""The source watch: re-read every event's sources and the watched feeds, record what changed, propose.

    watch = SourceWatch(engine, clock, policy, calendar=lambda: live.calendar, watch_path=Path(...))
    watch.check_sources()     every distinct source URL of the calendar, conditionally; states stored
    watch.check_watches()     each Federal Register search and feed; new documents become proposals
    watch.start()             an APScheduler job runs what is due every few minutes (serve, worker)
    watch.shutdown()

Nothing here writes the events file: changes and proposals go to the database, and a curator decides
(`trade-calendar review`). The watch list is re-read when its file changes; one with errors is logged
and the last good list kept (`watch_error` says why).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import Clock
from calendar_service.adapters.db import sources as db
from calendar_service.adapters.sources.extract import readable_text
from calendar_service.adapters.sources.federalregister import FeedError, search
from calendar_service.adapters.sources.feeds import FeedUnreadable, parse_feed
from calendar_service.adapters.sources.fetcher import PoliteFetcher, Response, Validators
from calendar_service.adapters.sources.record import Recorder
from calendar_service.adapters.webhooks.security import AddressPolicy
from calendar_service.core.calendar import Calendar
from calendar_service.core.errors import WatchInvalid
from calendar_service.core.proposals import Document, propose
from calendar_service.core.sourcecheck import Fetch, SourceState, event_source_urls, next_state
from calendar_service.core.watch import FederalRegisterWatch, FeedWatch, WatchList, interval, parse_watch

log = logging.getLogger(__name__)

SOURCES = "sources"  # the watch_runs id of the event-source check
TICK = 300.0  # seconds between looks at what is due


@dataclass
class SourcesReport:
    """What one check of the event sources found."""

    checked: int = 0
    not_modified: int = 0
    unchanged: int = 0
    changed: int = 0
    failing: int = 0
    gone: int = 0
    requests: int = 0
    seconds: float = 0.0
    changed_urls: list[str] = field(default_factory=list)


@dataclass
class WatchReport:
    """What one run of one watch found."""

    watch_id: str
    documents: int = 0
    proposed: int = 0
    covered: int = 0
    error: str | None = None


class SourceWatch:
    """Checks sources and watches into the database; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        policy: AddressPolicy,
        calendar: Callable[[], Calendar | None],
        watch_path: Path | None = None,
        *,
        recorder: Recorder | None = None,
        robots: bool = True,
        tick: float = TICK,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.policy = policy
        self.calendar = calendar
        self.watch_path = watch_path
        self.recorder = recorder
        self.robots = robots
        self.tick = tick
        self.watch = WatchList()
        self.watch_error: str | None = None
        self._watch_stamp: tuple[int, int] | None = None
        self._scheduler: Any = None

    # --- the watch list -----------------------------------------------------------------------------

    def reload_watch(self) -> WatchList:
        """Read the watch file when it changed; keep the last good list when it has errors."""
        path = self.watch_path
        if path is None or not path.exists():
            return self.watch
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._watch_stamp:
            return self.watch
        self._watch_stamp = stamp
        try:
            self.watch = parse_watch(path.read_bytes()[:1_000_000], str(path))
            self.watch_error = None
        except WatchInvalid as exc:
            self.watch_error = str(exc)
            log.error("%s; the last good watch list stays in use", exc)
        return self.watch

    # --- event sources ------------------------------------------------------------------------------

    def check_sources(self, urls: Sequence[str] | None = None) -> SourcesReport:
        """Re-read every source URL of the calendar (or `urls`), store the new states, report."""
        calendar = self.calendar()
        watch = self.reload_watch()
        now = self.clock.now()
        wanted = list(urls) if urls is not None else (event_source_urls(calendar) if calendar else [])
        previous = db.load_states(self.engine, wanted)
        started = time.monotonic()
        contact = calendar.meta.contact if calendar else None
        responses, requests = asyncio.run(self._fetch(wanted, previous, watch, contact))
        report = SourcesReport(checked=len(wanted), requests=requests)
        states: list[SourceState] = []
        for url, (_response, fetch) in zip(wanted, responses, strict=True):
            state = next_state(previous.get(url), fetch, now)
            states.append(state)
            if fetch.outcome == "not-modified":
                report.not_modified += 1
            elif fetch.outcome == "gone":
                report.gone += 1
            elif fetch.outcome == "failed":
                report.failing += 1
            elif state.changed_at == now:
                report.changed += 1
                report.changed_urls.append(url)
            else:
                report.unchanged += 1
        db.save_states(self.engine, states)
        report.seconds = time.monotonic() - started
        db.record_run(self.engine, SOURCES, now, None, len(wanted))
        return report

    def _fetcher(self, watch: WatchList, contact: str | None) -> PoliteFetcher:
        s = watch.settings
        return PoliteFetcher(
            self.policy,
            contact=contact,
            per_host=s.per_host,
            min_delay=s.min_delay,
            timeout=s.timeout,
            max_bytes=s.max_bytes,
            robots=self.robots,
            recorder=self.recorder,
        )

    async def _fetch(
        self, urls: Sequence[str], previous: dict[str, SourceState], watch: WatchList, contact: str | None
    ) -> tuple[list[tuple[Response, Fetch]], int]:
        async with self._fetcher(watch, contact) as fetcher:

            async def one(url: str) -> tuple[Response, Fetch]:
                state = previous.get(url)
                validators = None
                if state is not None and state.fingerprint is not None:
                    validators = Validators(state.etag, state.last_modified)
                response = await fetcher.fetch(url, validators)
                return response, await _as_fetch(response, state)

            done = await asyncio.gather(*(one(url) for url in urls))
            return list(done), fetcher.requests

    # --- watched feeds ------------------------------------------------------------------------------

    def check_watches(self, only: Sequence[str] | None = None) -> list[WatchReport]:
        """Run each watch (or those named in `only`); new documents become proposals."""
        watch = self.reload_watch()
        calendar = self.calendar()
        if calendar is None:
            return []
        chosen = [w for w in watch.watches() if only is None or w.id in only]
        now = self.clock.now()
        found = asyncio.run(self._read_watches(chosen, watch, calendar.meta.contact, now.date()))
        reports = []
        for entry, (documents, error) in zip(chosen, found, strict=True):
            report = WatchReport(entry.id, len(documents), error=error)
            if error is None:
                report.proposed, report.covered = self._propose(documents, calendar, now)
            db.record_run(self.engine, entry.id, now, error, len(documents))
            if error:
                log.warning("watch %s failed: %s", entry.id, error)
            reports.append(report)
        return reports

    def _propose(
        self, documents: Sequence[Document], calendar: Calendar, now: dt.datetime
    ) -> tuple[int, int]:
        unique = list({d.id: d for d in documents}.values())
        known = db.known_proposal_ids(self.engine, [d.id for d in unique])
        proposals = [propose(d, calendar) for d in unique if d.id not in known]
        db.add_proposals(self.engine, proposals, now)
        covered = sum(1 for p in proposals if p.state == "covered")
        return len(proposals) - covered, covered

    async def _read_watches(
        self,
        chosen: Sequence[FederalRegisterWatch | FeedWatch],
        watch: WatchList,
        contact: str | None,
        today: dt.date,
    ) -> list[tuple[list[Document], str | None]]:
        async with self._fetcher(watch, contact) as fetcher:

            async def one(entry: FederalRegisterWatch | FeedWatch) -> tuple[list[Document], str | None]:
                try:
                    if isinstance(entry, FederalRegisterWatch):
                        return (await search(fetcher, entry, today)).documents, None
                    response = await fetcher.fetch(entry.url)
                    if response.kind != "ok":
                        return [], response.error or response.kind
                    loop = asyncio.get_running_loop()
                    return await loop.run_in_executor(None, parse_feed, response.body, entry), None
                except (FeedError, FeedUnreadable) as exc:
                    return [], str(exc)

            return list(await asyncio.gather(*(one(entry) for entry in chosen)))

    # --- schedule -----------------------------------------------------------------------------------

    def run_due(self) -> None:
        """Run the source check and each watch whose interval has passed since its last attempt."""
        watch = self.reload_watch()
        now = self.clock.now()
        last = {run.watch_id: run.last_attempt for run in db.watch_runs_list(self.engine)}

        def due(watch_id: str, every: str) -> bool:
            at = last.get(watch_id)
            return at is None or now - at >= interval(every)

        if due(SOURCES, watch.settings.sources_every):
            self.check_sources()
        names = [w.id for w in watch.watches() if due(w.id, w.every)]
        if names:
            self.check_watches(names)

    def _tick(self) -> None:
        try:
            self.run_due()
        except Exception:  # the job must run again next tick; the error is in the log and watch_runs
            log.exception("source watch run failed; trying again in %.0f s", self.tick)

    def start(self) -> None:
        """Run what is due a minute from now and every `tick` seconds after, on a background scheduler."""
        from apscheduler.schedulers.background import BackgroundScheduler

        scheduler = BackgroundScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}, timezone=dt.UTC
        )
        # The first run a minute after start: a process started for a moment (a test, a check) fetches nothing
        first = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=min(self.tick, 60.0))
        scheduler.add_job(self._tick, "interval", seconds=self.tick, next_run_time=first, id="source-watch")
        scheduler.start()
        self._scheduler = scheduler

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop the schedule (a run in progress finishes when `wait`)."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=wait)
            self._scheduler = None


async def _as_fetch(response: Response, previous: SourceState | None) -> Fetch:
    """The fetcher's answer as the core's `Fetch`: text extracted off the loop, not again for equal bytes."""
    url, status, error = response.url, response.status, response.error
    if response.kind == "not-modified":
        return Fetch(url, "not-modified", status=status)
    if response.kind == "gone":
        return Fetch(url, "gone", status=status, error=error)
    if response.kind != "ok":
        return Fetch(url, "failed", status=status, error=error, network=response.network)
    digest = response.body_hash
    if previous is not None and previous.body_hash == digest and previous.text is not None:
        text = previous.text  # the same bytes read the same: no need to extract again
    else:
        loop = asyncio.get_running_loop()
        text = await loop.run_in_executor(None, readable_text, response.body, response.content_type)
    return Fetch(url, "text", text, digest, response.etag, response.last_modified, status)
