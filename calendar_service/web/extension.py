"""The app's one extension entry: the service's parts plus the web-only ones, under one key.

Flask's pattern (`x_init_app(app)` storing one object in `app.extensions`, read back by a typed
accessor): blueprints call `services()` or `web_parts()` instead of looking up string keys, and an app
built without them fails at the first request with a clear error, not a default made up on the spot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:
    from calendar_service.services import Services
    from calendar_service.web.feedcache import FeedCache
    from calendar_service.web.feedresponses import RenderedFeed
    from calendar_service.web.prometheus import Metrics

KEY = "trade_calendar"


@dataclass(frozen=True)
class WebParts:
    """What the web app holds: the service's parts, the rendered-feed cache and the metrics."""

    services: Services
    feeds: FeedCache[RenderedFeed]
    metrics: Metrics


def init_app(app: Flask, parts: WebParts) -> None:
    """Attach `parts` to `app`."""
    app.extensions[KEY] = parts


def web_parts(app: Flask | None = None) -> WebParts:
    """The parts of `app` (default: the current app); RuntimeError when it was not built by create_app."""
    target = app if app is not None else current_app
    parts = target.extensions.get(KEY)
    if not isinstance(parts, WebParts):
        raise RuntimeError("this Flask app was not built by calendar_service.web.create_app")
    return parts


def services(app: Flask | None = None) -> Services:
    """The service's parts of `app` (default: the current app)."""
    return web_parts(app).services
