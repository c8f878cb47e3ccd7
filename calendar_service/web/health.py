"""`/healthz` (what is served, whether reminders go out, whether the database answers) and `/readyz`.

`/readyz` is 200 as soon as a calendar is loaded, also while the database is away: feeds and the read
API serve the loaded calendar without it, so a load balancer must keep the replica. What is down is
listed under `down` in both answers, and makes `/healthz` say "degraded".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from calendar_service.adapters.db import database_status, ledger
from calendar_service.adapters.db import sources as sources_db
from calendar_service.adapters.live import LiveCalendar
from calendar_service.core.guard import EXAMPLES, Hold
from calendar_service.render.jsonview import utc_text
from calendar_service.web.errorhandlers import problem
from calendar_service.web.extension import services
from calendar_service.web.openapi import operation
from calendar_service.web.schemas import Health, Ready
from calendar_service.worker.tuning import Tuning

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

bp = Blueprint("health", __name__)

PING_EVERY = 2.0  # seconds between checks that a database seen failing is back
# A reminder this far past due and unsent means no worker is delivering: the engine's own threshold.
STALE_AFTER = Tuning().stale_after


def health_report(live: LiveCalendar) -> dict[str, Any]:
    """The state of the live data as JSON-ready values."""
    snapshot = live.snapshot
    failure = live.last_failure
    hold = live.hold
    status = "ok" if snapshot is not None and failure is None else ("degraded" if snapshot else "failing")
    if hold is not None and status == "ok":
        status = "degraded"  # an edit waits for a person
    return {
        "status": status,
        "data_path": str(live.path),
        "data_version": snapshot.calendar.version if snapshot else None,
        "events": len(snapshot.calendar) if snapshot else 0,
        "last_reload": utc_text(snapshot.loaded_at) if snapshot else None,
        "last_check": utc_text(live.last_checked) if live.last_checked else None,
        "last_failed_reload": None
        if failure is None
        else {"at": utc_text(failure.at), "path": failure.path, "errors": list(failure.messages)},
        "held": None if hold is None else held_report(hold, str(live.path)),
    }


def held_report(hold: Hold, path: str) -> dict[str, Any]:
    """A held version as JSON-ready values."""
    return {
        "version": hold.version,
        "sha256": hold.digest,
        "since": utc_text(hold.since),
        "publishes_at": utc_text(hold.until),
        "removes": len(hold.shrinkage.taken),
        "of": hold.shrinkage.live_before,
        "events": list(hold.shrinkage.taken[:EXAMPLES]),
        "message": hold.message(path),
    }


def database_report(engine: Engine | None) -> dict[str, Any] | None:
    """ "ok" or "down" with the last error; a database seen failing is pinged (at most every 2 s)."""
    if engine is None:
        return None
    status = database_status(engine)
    if status.down and time.monotonic() - (status.error_at or 0.0) > PING_EVERY:
        with contextlib.suppress(Exception), engine.connect() as conn:  # the status records the result
            conn.execute(text("SELECT 1"))
    if not status.down:
        return {"status": "ok", "error": None, "since": None}
    since = dt.datetime.fromtimestamp(status.wall_error_at or time.time(), dt.UTC)
    return {"status": "down", "error": status.error, "since": utc_text(since)}


def _reminders_report(engine: Engine | None) -> dict[str, Any] | None:
    """The scheduler's own report where `serve` runs one; elsewhere what the ledger shows overdue."""
    health = getattr(services().reminders, "health", None)
    if callable(health):
        report: dict[str, Any] = health()
        return report
    if engine is None or database_status(engine).down:
        return None  # the database report says what is wrong
    try:
        oldest = ledger.oldest_overdue(engine, cutoff=services().clock.now() - STALE_AFTER)
    except Exception:  # health reports, it never fails; the database status recorded the error
        return None
    return {
        "status": "stale" if oldest is not None else "ok",
        "oldest_due": None if oldest is None else utc_text(oldest),
        "failed_wakeups": 0,
        "failing_since": None,
        "last_error": None,
        "last_run": None,
    }


def sources_report(engine: Engine | None) -> dict[str, Any] | None:
    """The source watch: "ok", or "stale" naming each watch without a success for a day."""
    if engine is None or database_status(engine).down:
        return None
    try:
        runs = sources_db.watch_runs_list(engine)
    except Exception:  # health reports, it never fails; the database status recorded the error
        return None
    if not runs:
        return None  # the watch has never run here (no watch.yaml): nothing to say
    now = services().clock.now()
    stale = {
        run.watch_id: f"no success since {utc_text(run.last_success) if run.last_success else 'it started'}"
        + (f"; last error: {run.last_error}" if run.last_error else "")
        for run in runs
        if run.stale(now)
    }
    return {"status": "stale" if stale else "ok", "watches": len(runs), "stale": stale}


def _down(
    database: dict[str, Any] | None, reminders: dict[str, Any] | None, sources: dict[str, Any] | None = None
) -> dict[str, str]:
    down: dict[str, str] = {}
    if sources is not None and sources["stale"]:
        named = "; ".join(f"{watch}: {why}" for watch, why in sorted(sources["stale"].items()))
        down["sources"] = f"watch not succeeding for a day — {named}"
    if database is not None and database["status"] == "down":
        down["database"] = f"down since {database['since']}: {database['error']}"
    if reminders is not None and reminders["status"] != "ok":
        oldest = reminders["oldest_due"]
        late = f"; the earliest due at {oldest} has not gone out" if oldest else ""
        error = f"; last error: {reminders['last_error']}" if reminders["last_error"] else ""
        down["reminders"] = f"{reminders['status']}{late}{error}"
    return down


@bp.get("/healthz")
@operation("/healthz", tag="meta", response=Health)
def healthz() -> Response:
    """Always 200 while the process answers; `status` says ok, degraded or failing, `down` says why."""
    live = services().live
    live.maybe_check()
    report = health_report(live)
    engine = services().engine
    database = database_report(engine)
    reminders = _reminders_report(engine)
    sources = sources_report(engine)
    down = _down(database, reminders, sources)
    if down and report["status"] == "ok":
        report["status"] = "degraded"
    report.update(database=database, reminders=reminders, down=down)
    if sources is not None:
        report["sources"] = sources
    response = jsonify(report)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/readyz")
@operation("/readyz", tag="meta", response=Ready, errors=(503,))
def readyz() -> Response:
    """200 once a valid calendar is loaded (listing what is down, if anything), 503 problem before."""
    live = services().live
    if not live.ready:
        return problem(
            503, "Not ready", "no valid data file has been loaded yet; see /healthz for the errors"
        )
    engine = services().engine
    down = _down(database_report(engine), _reminders_report(engine))
    response = jsonify({"ready": True, "down": down} if down else {"ready": True})
    response.headers["Cache-Control"] = "no-store"
    return response
