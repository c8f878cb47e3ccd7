"""The composition root: the service's parts, built in one place from the settings.

    services = build_services(Settings.from_env())   # database reached, schema created, data loaded
    app = create_app(services)                        # web: stored in app.extensions (web/extension.py)
    services.start_reminders()                        # only `serve` and `worker` do this
    services.close()

`create_app`, `serve`, `worker` and the subscription commands all take a `Services`; nothing else
builds a clock, an engine, a live calendar or a webhook client. A part that cannot be built is an
error at start-up (`ConfigError`, `DatabaseUnreachable`), never a default made up later in a request.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from calendar_service.adapters.clock import Clock, SystemClock
from calendar_service.adapters.live import LiveCalendar
from calendar_service.adapters.settings import Settings, variable
from calendar_service.core.errors import ConfigError, DatabaseUnreachable

log = logging.getLogger(__name__)

STARTUP_LOCK_WAIT = 30.0  # seconds a start-up waits for a busy SQLite file before giving up

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from calendar_service.adapters.webhooks.security import AddressPolicy
    from calendar_service.worker.delivery import Client
    from calendar_service.worker.metrics import DeliveryMetrics
    from calendar_service.worker.service import ReminderService, Tuning
    from calendar_service.worker.sourcewatch import SourceWatch


@dataclass
class Services:
    """Everything a process of the service uses, built once by `build_services`."""

    settings: Settings
    clock: Clock
    engine: Engine
    live: LiveCalendar
    address_policy: AddressPolicy  # which webhook targets may be reached (registration and delivery)
    webhooks: Client  # sends one webhook attempt
    delivery_metrics: DeliveryMetrics  # what the sender did, for /metrics and the worker's endpoint
    reminders: ReminderService | None = field(default=None)  # set by start_reminders (serve, worker)
    source_watch: SourceWatch | None = field(default=None)  # set by start_source_watch (serve, worker)

    def start_source_watch(self) -> SourceWatch | None:
        """Re-read sources and watched feeds on a schedule, when `watch.yaml` lies beside the event
        file (the watch is opted into by that file; without it nothing is fetched)."""
        from calendar_service.worker.sourcewatch import SourceWatch

        path = self.settings.data_path.parent / "watch.yaml"
        if self.source_watch is not None or not path.exists():
            return self.source_watch

        def calendar() -> Any:
            snapshot = self.live.snapshot
            return snapshot.calendar if snapshot is not None else None

        watch = SourceWatch(self.engine, self.clock, self.address_policy, calendar, path)
        watch.start()
        self.source_watch = watch
        return watch

    def start_reminders(self, *, tuning: Tuning | None = None) -> ReminderService:
        """Start planning and delivering reminders in this process; on purpose, never on import."""
        # Imported here: APScheduler is only loaded by the processes that send reminders.
        from calendar_service.worker.service import ReminderService

        if self.reminders is not None:
            raise RuntimeError("the reminder service is already running in this process")
        if not self.settings.base_url:
            log.warning(
                "%s is not set: webhook messages will carry no link to the event page (data.url is null); "
                "set it to the address people open the calendar at",
                variable("base_url"),
            )
        service = ReminderService(
            self.settings, self.engine, self.live, self.clock, self.webhooks, tuning=tuning,
            observer=self.delivery_metrics,
        )  # fmt: skip
        service.start()
        self.reminders = service
        return service

    def close(self) -> None:
        """Stop what runs in the background and release the database connections."""
        self.live.stop_polling()
        if self.source_watch is not None:
            self.source_watch.shutdown(wait=False)
            self.source_watch = None
        if self.reminders is not None:
            self.reminders.shutdown()
            self.reminders = None
        close = getattr(self.webhooks, "close", None)  # the pooled connections and their loop
        if callable(close):
            close()
        self.engine.dispose()


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    live: LiveCalendar | None = None,
    address_policy: AddressPolicy | None = None,
    webhooks: Client | None = None,
    publishes: bool = True,
    loads_data: bool = True,
) -> Services:
    """Build every part from `settings`: reach the database, create the schema, load the data once.

    `publishes=False` (the reminder worker) keeps the calendar's publication state out of the
    database: the web replicas own it. `loads_data=False` (the subscription commands, which work on
    the database alone) leaves the calendar unread until someone calls `live.check()`. The keyword
    parts replace the ones built from settings (tests pass a settable clock, a test resolver, a
    stand-in client).
    """
    from calendar_service.adapters.webhooks.client import WebhookClient
    from calendar_service.adapters.webhooks.security import AddressPolicy
    from calendar_service.worker.metrics import DeliveryMetrics

    clock = clock or SystemClock()
    engine = engine if engine is not None else open_database(settings)
    prepare_database(engine, _url_variable(settings))
    if live is None:
        live = LiveCalendar(
            settings.data_path,
            clock=clock,
            engine=engine if publishes else None,
            reload_interval=settings.reload_interval,
            retention=dt.timedelta(days=settings.cancelled_retention_days),
            max_data_bytes=settings.max_data_bytes,
            settle=settings.reload_settle,
            hold_share=settings.hold_share,
            hold_window=settings.hold_window,
            confirmations=engine,
        )
        if loads_data:
            live.check()  # the first load; a failure is kept for /healthz, and /readyz says 503
    policy = address_policy or AddressPolicy(allow_private=settings.allow_private_webhooks)
    client = webhooks or WebhookClient(policy, settings.webhook_timeout, clock=clock)
    return Services(settings, clock, engine, live, policy, client, DeliveryMetrics())


def open_database(settings: Settings) -> Engine:
    """An engine for the configured database; ConfigError for a URL that names no usable database."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from calendar_service.adapters.db import make_engine

    url = settings.effective_database_url
    try:
        return make_engine(url)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise ConfigError(
            variable("database_url"),
            "must be an SQLAlchemy URL such as postgresql+psycopg://user:password@host/db, or empty "
            f"for SQLite under the state directory ({_first_line(exc)})",
        ) from None
    except OSError as exc:  # the SQLite file's directory cannot be made
        raise DatabaseUnreachable(_url_variable(settings), url, exc.strerror or str(exc)) from None


def prepare_database(engine: Engine, name: str) -> None:
    """Create the schema (idempotent); DatabaseUnreachable naming the variable `name` when it fails."""
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    from calendar_service.adapters.db import create_schema

    # A locked SQLite file is there, only busy: another process (the worker, a second `serve`, a
    # publishing replica) holds the write lock. Wait for it, up to the old 30 s busy timeout, rather
    # than report a database that is merely busy as unreachable.
    deadline = time.monotonic() + STARTUP_LOCK_WAIT
    while True:
        try:
            create_schema(engine)
            return
        except SQLAlchemyError as exc:
            busy = isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)
            if busy and time.monotonic() < deadline:
                continue  # each attempt has already waited the engine's busy timeout
            reason = _first_line(getattr(exc, "orig", None) or exc)
            shown = engine.url.render_as_string(hide_password=True)
            raise DatabaseUnreachable(name, shown, reason) from None


def _url_variable(settings: Settings) -> str:
    return variable("database_url") if settings.database_url else variable("state_dir")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
