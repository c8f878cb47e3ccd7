"""The web application: `create_app()` for gunicorn, `flask --app` and tests.

    gunicorn 'calendar_service.web:create_app()'
    flask --app calendar_service.web run

Creating the app loads the data file once and starts nothing in the background: each request
checks (at most every `reload_interval`) whether the file changed. The reminder scheduler runs only
where it is started on purpose (`trade-calendar serve`, or the worker command).
"""

from __future__ import annotations

import datetime as dt
from types import ModuleType
from typing import TYPE_CHECKING

from flask import Flask

from ..clock import Clock, SystemClock
from ..db import create_schema, make_engine
from ..live import LiveCalendar
from ..settings import Settings
from . import api, eventpages, feeds, health, ignored, metrics, openapi, pages, problems, subscriptions
from .feedcache import FeedCache
from .feeds import FeedFastPath

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

# Blueprint modules, each exposing `bp` (and optionally `init_app(app)`); add one to extend the app.
BLUEPRINTS: tuple[ModuleType, ...] = (
    feeds, api, health, pages, eventpages, metrics, openapi, subscriptions, ignored,
)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    live: LiveCalendar | None = None,
) -> Flask:
    """Build the app from `settings` (default: `Settings.from_env()`); load the data once."""
    settings = settings if settings is not None else Settings.from_env()
    clock = clock or SystemClock()
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.update(
        TRADE_CALENDAR_SETTINGS=settings,
        TRADE_CALENDAR_BASE_URL=settings.base_url,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    if engine is None:
        engine = make_engine(settings.effective_database_url)
    create_schema(engine)
    if live is None:
        live = LiveCalendar(
            settings.data_path,
            clock=clock,
            engine=engine,
            reload_interval=settings.reload_interval,
            retention=dt.timedelta(days=settings.cancelled_retention_days),
            max_data_bytes=settings.max_data_bytes,
        )
        live.check()  # the first load; a failure is kept for /healthz and /readyz says 503
    app_metrics = metrics.Metrics(live)
    cache = FeedCache(refresh=settings.feed_refresh, on_render=app_metrics.observe_render)
    app.extensions.update(
        {
            "trade_calendar.settings": settings,
            "trade_calendar.clock": clock,
            "trade_calendar.engine": engine,
            "trade_calendar.live": live,
            "trade_calendar.feeds": cache,
            "trade_calendar.metrics": app_metrics,
        }
    )
    problems.init_app(app)
    for module in BLUEPRINTS:
        _register(app, module)
    app.wsgi_app = FeedFastPath(app.wsgi_app, live, cache, app_metrics)  # type: ignore[method-assign]
    return app


def _register(app: Flask, module: ModuleType) -> None:
    init = getattr(module, "init_app", None)
    if callable(init):
        init(app)
    if module.bp.name not in app.blueprints:
        app.register_blueprint(module.bp)
