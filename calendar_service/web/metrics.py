"""`GET /metrics` in the Prometheus text format, from one registry per app.

Per request the cost is one dict lookup and one counter increment (label children are created once and
kept); everything about the data (version, reloads, failures) is read only when Prometheus scrapes.

Under gunicorn each worker counts its own requests, and a scrape lands on one worker. Setting
`PROMETHEUS_MULTIPROC_DIR` (before the server starts; see `gunicorn_conf`) turns on prometheus_client's
multiprocess mode: every worker's counters live in files there and each scrape adds them up in a fresh
registry. The data state is not added up: every worker loads every version of the file, so the version,
its load time and "failing" come from the worker answering the scrape, and
the reload counters report the most any worker has counted — kept in files that outlive their worker,
so the figure never goes down, as a Prometheus counter must not.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, request
from prometheus_client import CONTENT_TYPE_LATEST

from calendar_service.web.extension import web_parts
from calendar_service.web.openapi import operation
from calendar_service.web.prometheus import Metrics

__all__ = ["Metrics", "bp", "init_app"]

bp = Blueprint("metrics", __name__)


def _count(response: Response) -> Response:
    metrics = web_parts().metrics
    endpoint = request.endpoint or "unmatched"
    metrics.request_counter(endpoint, response.status_code).inc()
    return response


@bp.get("/metrics")
@operation("/metrics", tag="meta", content_type="text/plain")
def prometheus_metrics() -> Response:
    """Every metric in the Prometheus text exposition format."""
    metrics = web_parts().metrics
    return Response(metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def init_app(app: Flask) -> None:
    """Count every request Flask answers (the feed fast path counts its own)."""
    app.after_request(_count)
