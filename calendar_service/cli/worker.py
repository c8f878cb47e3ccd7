"""`trade-calendar worker`: the scheduler and delivery process of a scaled-out deployment.

Web replicas serve feeds and the API; one or more workers plan and send reminders from the shared
ledger (PostgreSQL). Two workers started by mistake send nothing twice: rows are inserted once by id
and claimed by one process at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from pathlib import Path
from typing import Any

import click

from ..logs import configure_logging
from ..settings import Settings

log = logging.getLogger(__name__)


@click.command()
@click.option("--data", "data_path", type=click.Path(dir_okay=False, path_type=Path), help="Event file.")
@click.option("--concurrency", default=16, show_default=True, type=click.IntRange(1, 256),
              help="Deliveries in flight at once.")
@click.option("--lease", default=120.0, show_default=True, type=click.FloatRange(1, 3600),
              help="Seconds a claimed reminder stays this worker's; after a crash another resends it then.")
def worker(data_path: Path | None, concurrency: int, lease: float) -> None:
    """Plan and deliver webhook reminders (share TRADE_CALENDAR_DATABASE_URL with the web replicas)."""
    from ..clock import SystemClock
    from ..db import create_schema, make_engine
    from ..live import LiveCalendar
    from ..reminders.service import ReminderService, Tuning
    from ..webhooks.client import WebhookClient
    from ..webhooks.security import AddressPolicy

    overrides: dict[str, Any] = {"data_path": data_path} if data_path else {}
    settings = Settings.from_env(**overrides)
    configure_logging(settings.log_level)
    engine = make_engine(settings.effective_database_url)
    create_schema(engine)
    clock = SystemClock()
    # No engine: the web replicas own the publication state; the worker only needs the calendar.
    live = LiveCalendar(
        settings.data_path,
        clock=clock,
        reload_interval=settings.reload_interval,
        max_data_bytes=settings.max_data_bytes,
    )
    live.check()
    if not live.ready:
        failure = live.last_failure
        detail = "\n".join(failure.messages) if failure else "unknown error"
        raise click.ClickException(f"cannot start the worker: the data file does not load:\n{detail}")
    client = WebhookClient(
        AddressPolicy(allow_private=settings.allow_private_webhooks), settings.webhook_timeout, clock=clock
    )
    tuning = Tuning(concurrency=concurrency, lease=dt.timedelta(seconds=lease))
    service = ReminderService(settings, engine, live, clock, client, tuning=tuning)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    service.start()
    live.start_polling()
    database = _redacted(settings.effective_database_url)
    click.echo(f"worker: reminders for {settings.data_path} from {database}")
    try:
        stop.wait()
    finally:
        live.stop_polling()
        service.shutdown()
        engine.dispose()


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
