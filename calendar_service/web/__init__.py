"""The web application: `create_app()` for gunicorn, `flask --app` and tests.

    gunicorn 'calendar_service.web:create_app()'
    flask --app calendar_service.web run

Creating the app loads the data file once and starts no thread by itself: `serve` and gunicorn's
`post_worker_init` (gunicorn_conf) start each process's reload thread; without one, a request that
finds `reload_interval` passed starts a one-off background check (adapters/live.py), and no request
waits for a reload. The reminder scheduler runs only where it is started on purpose
(`trade-calendar serve`, or the worker command).
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

from flask import Flask

from calendar_service.adapters.settings import Settings
from calendar_service.application import indexes
from calendar_service.services import Services, build_services
from calendar_service.web import (
    api,
    errorhandlers,
    eventpages,
    extension,
    feeds,
    health,
    ignored,
    metrics,
    openapi,
    pages,
    review,
    subscriptions,
)
from calendar_service.web.compression import Compression
from calendar_service.web.feedcache import FeedCache
from calendar_service.web.feedresponses import RenderedFeed
from calendar_service.web.feeds import FeedFastPath
from calendar_service.web.hosts import HostGuard
from calendar_service.worker.metrics import LedgerCollector
from calendar_service.worker.sourcemetrics import SourceCollector

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from calendar_service.adapters.clock import Clock
    from calendar_service.adapters.live import LiveCalendar

# Blueprint modules, each exposing `bp` (and optionally `init_app(app)`); add one to extend the app.
BLUEPRINTS: tuple[ModuleType, ...] = (
    feeds,
    api,
    health,
    pages,
    eventpages,
    metrics,
    openapi,
    subscriptions,
    review,
    ignored,
)


def create_app(
    settings: Settings | Services | None = None,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    live: LiveCalendar | None = None,
) -> Flask:
    """Build the app on `services` (default: built from `Settings.from_env()`), which loads the data once.

    Given settings (or nothing), the parts are built by `build_services`, with `clock`, `engine` and
    `live` replacing the ones it would make (tests pass a settable clock).
    """
    if isinstance(settings, Services):
        if clock or engine or live:
            raise TypeError("pass either Services or settings with parts, not both")
        services = settings
    else:
        services = build_services(
            settings if settings is not None else Settings.from_env(), clock=clock, engine=engine, live=live
        )
    config = services.settings
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.update(
        TRADE_CALENDAR_SETTINGS=config,
        TRADE_CALENDAR_BASE_URL=config.base_url,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    app_metrics = metrics.Metrics(
        services.live, config.prometheus_multiproc_dir, counters=[services.delivery_metrics.registry],
        gauges=[
            LedgerCollector(services.engine, services.clock),
            SourceCollector(services.engine, services.clock),
        ],
    )  # fmt: skip
    cache: FeedCache[RenderedFeed] = FeedCache()
    extension.init_app(app, extension.WebParts(services, cache, app_metrics))
    # Each version's indexes are built by the reload that makes it, before any request can see it.
    services.live.on_prepare(indexes.prepare)
    if services.live.snapshot is not None:  # loaded before the app was made: prepared now, at start-up
        indexes.prepare(services.live.snapshot)
    errorhandlers.init_app(app)
    for module in BLUEPRINTS:
        _register(app, module)
    app.wsgi_app = FeedFastPath(app.wsgi_app, services.live, cache, app_metrics)  # type: ignore[method-assign]
    app.wsgi_app = Compression(app.wsgi_app)  # type: ignore[method-assign]  # outermost: the fast path too
    # Outermost: a bad Host is refused before anything else; the fast path keys its cache by the
    # Host this leaves (one spelling, one render).
    app.wsgi_app = HostGuard(app.wsgi_app, config)  # type: ignore[method-assign]
    return app


def _register(app: Flask, module: ModuleType) -> None:
    init = getattr(module, "init_app", None)
    if callable(init):
        init(app)
    if module.bp.name not in app.blueprints:
        app.register_blueprint(module.bp)
