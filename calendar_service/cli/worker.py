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
from typing import TYPE_CHECKING

import click

from calendar_service.adapters.logs import configure_logging
from calendar_service.cli.startup import load_settings, open_services

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from calendar_service.services import Services

log = logging.getLogger(__name__)


@click.command()
@click.option("--data", "data_path", type=click.Path(dir_okay=False, path_type=Path), help="Event file.")
@click.option(
    "--concurrency",
    default=64,
    show_default=True,
    type=click.IntRange(1, 1024),
    help="Deliveries in flight at once (coroutines on one event loop; at most 64 to one host).",
)
@click.option(
    "--lease",
    default=120.0,
    show_default=True,
    type=click.FloatRange(1, 3600),
    help="Seconds a claimed reminder stays this worker's; after a crash another resends it then.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve Prometheus metrics on this port (0: any free one); off unless given.",
)
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    help="Address the metrics endpoint listens on (loopback: only this machine can scrape).",
)
def worker(
    data_path: Path | None, concurrency: int, lease: float, metrics_port: int | None, metrics_host: str
) -> None:
    """Plan and deliver webhook reminders (share TRADE_CALENDAR_DATABASE_URL with the web replicas)."""
    from calendar_service.worker.tuning import Tuning

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
    services.start_source_watch()  # when watch.yaml lies beside the event file
    database = _redacted(settings.effective_database_url)
    click.echo(f"worker: reminders for {settings.data_path} from {database}")
    endpoint = None if metrics_port is None else _serve_metrics(services, metrics_host, metrics_port)
    try:
        stop.wait()
    finally:
        if endpoint is not None:
            endpoint.shutdown()
            endpoint.server_close()
        services.close()


def _serve_metrics(services: Services, host: str, port: int) -> WSGIServer:
    """Start prometheus_client's HTTP endpoint for this worker's delivery metrics; say where it is."""
    from prometheus_client import start_http_server

    from calendar_service.worker.metrics import LedgerCollector, exposition_registry
    from calendar_service.worker.sourcemetrics import SourceCollector

    registry = exposition_registry(
        services.delivery_metrics, LedgerCollector(services.engine, services.clock),
        services.settings.prometheus_multiproc_dir,
    )  # fmt: skip
    registry.register(SourceCollector(services.engine, services.clock))
    try:
        server, _thread = start_http_server(port, host, registry)
    except OSError as exc:
        services.close()
        raise click.ClickException(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(f"worker: metrics on http://{host}:{server.server_port}/metrics")
    return server


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
