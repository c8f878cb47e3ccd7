"""`trade-calendar publish [--confirm]`: let the servers publish an edit they hold as too destructive."""

from __future__ import annotations

from pathlib import Path

import click

from calendar_service.application.publication import confirm_file, file_version
from calendar_service.cli.startup import load_settings, open_services
from calendar_service.core.errors import StoreInvalid, StoreUnreadable


@click.command()
@click.option(
    "--data",
    "data_path",
    type=click.Path(path_type=Path),
    help="Event file (default: TRADE_CALENDAR_DATA_PATH).",
)
@click.option(
    "--confirm",
    is_flag=True,
    help="Record the file's content as confirmed: servers publish it at their next check.",
)
def publish(data_path: Path | None, confirm: bool) -> None:
    """Say whether the data file's content may be published whatever it removes, or (--confirm) allow it.

    A running server holds a valid edit that would remove or cancel more than TRADE_CALENDAR_HOLD_SHARE
    of the live events (/healthz shows it) until it is confirmed here or stays unchanged for
    TRADE_CALENDAR_HOLD_WINDOW. Exit 0; 1 when the file is invalid, 2 when it cannot be read.
    """
    services = open_services(load_settings(data_path=data_path), publishes=False, loads_data=False)
    try:
        found = confirm_file(services) if confirm else file_version(services)
    except StoreUnreadable as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    except StoreInvalid as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    finally:
        services.close()
    click.echo(f"{found.path}: version {found.version}, {found.events} events, sha256 {found.digest}")
    if confirm:
        click.echo("confirmed: every server publishes this content at its next check, whatever it removes")
    elif found.confirmed:
        click.echo("already confirmed: servers publish it whatever it removes")
    else:
        click.echo("not confirmed; if a server holds it (see /healthz) and it is meant, run with --confirm")
