"""`trade-calendar serve`: the whole service in one process on the embedded SQLite default."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..logs import configure_logging
from ..settings import Settings

if TYPE_CHECKING:
    from flask import Flask

    from ..reminders.service import ReminderService

log = logging.getLogger(__name__)


def start_reminders(app: Flask) -> ReminderService:
    """Start the reminder service on the app's settings, engine, clock and live calendar; return it.

    Started here and nowhere else, so importing or creating the web app never starts a scheduler.
    Kept in `app.extensions[REMINDERS_KEY]`, so subscription changes through the API re-plan at once.
    """
    # Imported here, as in `worker`, so that `trade-calendar validate` and friends stay quick to start.
    from ..reminders.service import ReminderService
    from ..web.subscriptions import REMINDERS_KEY
    from ..webhooks.client import WebhookClient
    from ..webhooks.security import AddressPolicy

    settings: Settings = app.extensions["trade_calendar.settings"]
    clock = app.extensions["trade_calendar.clock"]
    client = WebhookClient(
        AddressPolicy(allow_private=settings.allow_private_webhooks), settings.webhook_timeout, clock=clock
    )
    # The live calendar is the source: the service registers `on_change` itself in start().
    service = ReminderService(
        settings,
        app.extensions["trade_calendar.engine"],
        app.extensions["trade_calendar.live"],
        clock,
        client,
    )
    service.start()
    app.extensions[REMINDERS_KEY] = service
    return service


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option("--data", "data_path", type=click.Path(dir_okay=False, path_type=Path), help="Event file.")
def serve(host: str, port: int, data_path: Path | None) -> None:
    """Serve feeds, the API, the home page and reminders from one process (SQLite unless configured)."""
    from ..web import create_app
    from ..web.server import make_http_server

    overrides: dict[str, Any] = {"data_path": data_path} if data_path else {}
    settings = Settings.from_env(**overrides)
    configure_logging(settings.log_level)
    app = create_app(settings)
    live = app.extensions["trade_calendar.live"]
    if not live.ready:
        failure = live.last_failure
        detail = "\n".join(failure.messages) if failure else "unknown error"
        raise click.ClickException(f"cannot serve: the data file does not load:\n{detail}")
    # One process, threads for requests (gunicorn would fork a worker away from the scheduler). The
    # file is also polled in the background so reminder listeners hear of edits without a request.
    server = make_http_server(host, port, app)
    live.start_polling()
    reminders = start_reminders(app)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    click.echo(
        f"serving {settings.data_path} on http://{host}:{server.server_port}/ "
        f"(feed: http://{host}:{server.server_port}/calendar.ics)"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        live.stop_polling()
        reminders.shutdown()
