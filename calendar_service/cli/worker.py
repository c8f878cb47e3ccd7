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

import click

from ..logs import configure_logging
from .startup import load_settings, open_services

log = logging.getLogger(__name__)


@click.command()
@click.option("--data", "data_path", type=click.Path(dir_okay=False, path_type=Path), help="Event file.")
@click.option("--concurrency", default=16, show_default=True, type=click.IntRange(1, 256),
              help="Deliveries in flight at once.")
@click.option("--lease", default=120.0, show_default=True, type=click.FloatRange(1, 3600),
              help="Seconds a claimed reminder stays this worker's; after a crash another resends it then.")
def worker(data_path: Path | None, concurrency: int, lease: float) -> None:
    """Plan and deliver webhook reminders (share TRADE_CALENDAR_DATABASE_URL with the web replicas)."""
    from ..reminders.tuning import Tuning

    settings = load_settings(data_path=data_path)
    configure_logging(settings.log_level)
    # publishes=False: the web replicas own the publication state; the worker only needs the calendar.
    services = open_services(settings, publishes=False)
    if not services.live.ready:
        failure = services.live.last_failure
        detail = "\n".join(failure.messages) if failure else "unknown error"
        services.close()
        raise click.ClickException(f"cannot start the worker: the data file does not load:\n{detail}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    services.start_reminders(tuning=Tuning(concurrency=concurrency, lease=dt.timedelta(seconds=lease)))
    services.live.start_polling()
    database = _redacted(settings.effective_database_url)
    click.echo(f"worker: reminders for {settings.data_path} from {database}")
    try:
        stop.wait()
    finally:
        services.close()


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
