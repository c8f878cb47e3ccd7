"""`/review`: the curator's queue as a page (admin token), the same items as `trade-calendar review`.

Proposals, sources that changed since their event's `verified:` date (with the excerpt of what
changed), dead and failing sources, past events still open and near tentatives. Read-only: accepting
and verifying stay CLI commands a curator runs on the file they commit.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from flask import Blueprint, Response, render_template

from calendar_service.application.review_queue import build_queue, queue_to_json
from calendar_service.render.jsonview import utc_text
from calendar_service.web.adminauth import admin_refusal
from calendar_service.web.extension import services
from calendar_service.web.ignored import takes
from calendar_service.web.pagekit import not_loaded

log = logging.getLogger(__name__)
bp = Blueprint("review", __name__)
WINDOW = dt.timedelta(days=30)


def _refusal() -> Response | None:
    """401/403 unless the request carries one of the admin tokens."""
    return admin_refusal(
        off=("Review page is off", "the review page needs TRADE_CALENDAR_ADMIN_TOKENS set"),
        unauthorized="send `Authorization: Bearer <token>` with an admin token",
        log=log,
    )


@bp.get("/review")
@takes()
def review_page() -> Response:
    """The queue, with excerpts of what changed."""
    refused = _refusal()
    if refused is not None:
        return refused
    snapshot = services().live.snapshot
    if snapshot is None:
        return not_loaded()
    now = services().clock.now()
    queue = build_queue(snapshot.calendar, services().engine, now, WINDOW)
    items = queue_to_json(queue)
    proposals = [
        dict(i, entry_yaml=json.dumps(i["entry"], indent=2, ensure_ascii=False))
        for i in items
        if i["reason"] == "proposal"
    ]
    sources = [i for i in items if i["reason"].startswith("source-")]
    events = [i for i in items if i not in sources and i["reason"] != "proposal"]
    html = render_template(
        "review.html",
        proposals=proposals,
        sources=sources,
        events=events,
        total=len(items),
        now=utc_text(now),
    )
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"  # behind a token: never in a shared cache
    return response
