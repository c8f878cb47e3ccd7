"""`trade-calendar serve`: the whole service in one process on the embedded SQLite default."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import click

from calendar_service.adapters.logs import configure_logging
from calendar_service.cli.startup import load_settings, open_services

log = logging.getLogger(__name__)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option("--data", "data_path", type=click.Path(dir_okay=False, path_type=Path), help="Event file.")
def serve(host: str, port: int, data_path: Path | None) -> None:
    """Serve feeds, the API, the home page and reminders from one process (SQLite unless configured)."""
    from calendar_service.web import create_app
    from calendar_service.web.server import make_http_server

    settings = load_settings(data_path=data_path)
    configure_logging(settings.log_level)
    services = open_services(settings)
    if not services.live.ready:
        failure = services.live.last_failure
        detail = "\n".join(failure.messages) if failure else "unknown error"
        services.close()
        raise click.ClickException(f"cannot serve: the data file does not load:\n{detail}")
    app = create_app(services)
    # One process, threads for requests (gunicorn would fork a worker away from the scheduler). The
    # file is also polled in the background so reminder listeners hear of edits without a request.
    server = make_http_server(host, port, app)
    services.live.start_polling()
    # Started here and nowhere else, so importing or creating the web app never starts a scheduler;
    # the API's subscription changes re-plan at once through `services.reminders`.
    services.start_reminders()
    services.start_source_watch()  # when watch.yaml lies beside the event file
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
        services.close()
