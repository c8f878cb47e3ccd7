"""`/healthz` (what is served and whether the last reload failed) and `/readyz` (can we serve)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from ..jsonview import utc_text
from ..live import LiveCalendar
from .extension import services
from .openapi import operation
from .problems import problem
from .schemas import Health, Ready

bp = Blueprint("health", __name__)


def health_report(live: LiveCalendar) -> dict[str, Any]:
    """The state of the live data as JSON-ready values."""
    snapshot = live.snapshot
    failure = live.last_failure
    status = "ok" if snapshot is not None and failure is None else ("degraded" if snapshot else "failing")
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
    }


@bp.get("/healthz")
@operation("/healthz", tag="meta", response=Health)
def healthz() -> Response:
    """Always 200 while the process answers; `status` says ok, degraded (bad edit refused) or failing."""
    live = services().live
    live.maybe_check()
    response = jsonify(health_report(live))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/readyz")
@operation("/readyz", tag="meta", response=Ready, errors=(503,))
def readyz() -> Response:
    """200 once a valid calendar is loaded, 503 problem before."""
    live = services().live
    if not live.ready:
        return problem(
            503, "Not ready", "no valid data file has been loaded yet; see /healthz for the errors"
        )
    response = jsonify({"ready": True})
    response.headers["Cache-Control"] = "no-store"
    return response
