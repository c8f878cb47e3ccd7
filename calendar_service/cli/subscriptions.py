"""`trade-calendar subscriptions add|list|remove|enable` and `trade-calendar deliveries`.

They work directly on the database named by the settings (`TRADE_CALENDAR_DATABASE_URL`, else the
SQLite file under `TRADE_CALENDAR_STATE_DIR`), with the same validation as the API.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click

from calendar_service.application import subscriptions as usecases
from calendar_service.cli.startup import load_settings, open_services
from calendar_service.core.errors import (
    SubscriptionDisabled,
    SubscriptionInvalid,
    SubscriptionLimit,
    SubscriptionNotFound,
)
from calendar_service.core.messages import FORMATS
from calendar_service.core.subscriptions import DEFAULT_LEAD_TIMES, GRACE_DEFAULT, GRACE_RANGE, Subscription
from calendar_service.core.timing import utc_text
from calendar_service.services import Services


def _services() -> Services:
    # The commands work on the database alone: the calendar is neither loaded nor published here.
    return open_services(load_settings(), publishes=False, loads_data=False)


def _row(sub: Subscription) -> str:
    state = "enabled" if sub.enabled else f"DISABLED ({sub.disabled_reason})"
    filters = " ".join(f"{k}={','.join(v)}" for k, v in sub.filter.items()) or "all events"
    shape = f"{sub.format}+digest" if sub.digest else sub.format
    return f"{sub.id}  {shape:15}  {','.join(sub.lead_times):14}  {state}  {sub.url}  [{filters}]"


@click.group()
def subscriptions() -> None:
    """Manage webhook subscriptions in the service's database."""


@subscriptions.command("add")
@click.argument("url")
@click.option("--country", multiple=True, help="ISO country code (repeatable or comma-separated).")
@click.option("--kind", multiple=True, help="Event kind, e.g. tariff,truce.")
@click.option("--tag", multiple=True, help="Tag.")
@click.option("--importance", multiple=True, help="low, medium or high.")
@click.option("--status", multiple=True, help="Event status, e.g. scheduled.")
@click.option("--authority", multiple=True, help='Legal authority, e.g. IEEPA or "Section 232".')
@click.option("--hs", multiple=True, help="HS code (8542.31) or chapter 99 heading (9903.01.25).")
@click.option("--action", multiple=True, help="Action id grouping the dated events of one action.")
@click.option(
    "--lead-time",
    "lead_times",
    multiple=True,
    help=f"ISO 8601 duration before the deadline (repeatable; default {' '.join(DEFAULT_LEAD_TIMES)}).",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="standard", show_default=True)
@click.option(
    "--digest/--no-digest",
    default=False,
    show_default=True,
    help="One message per due minute listing its reminders, instead of one message per reminder.",
)
def add(url: str, lead_times: tuple[str, ...], fmt: str, digest: bool, **filters: Any) -> None:
    """Register URL; print the subscription and its signing secret (shown only this once).

    Filters take the feed's values; a value no event has yet is accepted and matches once one does.
    """
    services = _services()
    body: dict[str, Any] = {"url": url, "format": fmt, "digest": digest}
    body["filter"] = {name: list(values) for name, values in filters.items() if values}
    if lead_times:
        body["lead_times"] = list(lead_times)
    try:
        sub = usecases.create_subscription(services, body)
    except SubscriptionInvalid as exc:
        raise click.UsageError("\n".join(f"{e['field']}: {e['message']}" for e in exc.errors)) from None
    except SubscriptionLimit as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        services.close()
    click.echo(_row(sub))
    click.echo(f"secret: {sub.secret}")
    click.echo("Keep the secret now: it is needed to verify signatures and is not shown again.", err=True)


@subscriptions.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_(fmt: str) -> None:
    """List subscriptions, oldest first (secrets are never shown)."""
    services = _services()
    subs = usecases.list_subscriptions(services)
    services.close()
    if fmt == "json":
        click.echo(json.dumps([s.to_public_dict() for s in subs], indent=2))
    elif not subs:
        click.echo("No subscriptions. Add one with `trade-calendar subscriptions add URL`.")
    for sub in subs if fmt == "table" else ():
        click.echo(_row(sub))


@subscriptions.command("remove")
@click.argument("subscription_id")
def remove(subscription_id: str) -> None:
    """Delete a subscription and cancel the reminders it still had pending."""
    services = _services()
    try:
        usecases.delete_subscription(services, subscription_id)
    except SubscriptionNotFound as exc:
        raise click.ClickException(f"no subscription with id {exc.subscription_id!r}") from None
    finally:
        services.close()
    click.echo(f"removed {subscription_id}")


@subscriptions.command("enable")
@click.argument("subscription_id")
def enable(subscription_id: str) -> None:
    """Re-enable a disabled endpoint and say why it had been disabled."""
    services = _services()
    try:
        sub, reason = usecases.enable_subscription(services, subscription_id)
    except SubscriptionNotFound as exc:
        raise click.ClickException(f"no subscription with id {exc.subscription_id!r}") from None
    finally:
        services.close()
    click.echo(
        f"enabled {sub.id}" + (f" (it had been disabled: {reason})" if reason else " (it was enabled)")
    )


@subscriptions.command("rotate-secret")
@click.argument("subscription_id")
@click.option(
    "--grace",
    default=GRACE_DEFAULT,
    show_default=True,
    help=f"How long the old secret keeps signing beside the new one (ISO 8601 duration, {GRACE_RANGE}).",
)
def rotate_secret(subscription_id: str, grace: str) -> None:
    """Give SUBSCRIPTION_ID a new signing secret and print it (shown only this once)."""
    services = _services()
    try:
        sub = usecases.rotate_secret(services, subscription_id, {"grace": grace})
    except SubscriptionNotFound as exc:
        raise click.ClickException(f"no subscription with id {exc.subscription_id!r}") from None
    except SubscriptionDisabled as exc:
        raise click.ClickException(
            f"{exc.subscription_id} is disabled ({exc.reason}); enable it first with "
            f"`trade-calendar subscriptions enable {exc.subscription_id}`"
        ) from None
    except SubscriptionInvalid as exc:
        raise click.UsageError("; ".join(f"--{e['field']}: {e['message']}" for e in exc.errors)) from None
    finally:
        services.close()
    until = sub.previous_secret_expires_at
    click.echo(f"secret: {sub.secret}")
    click.echo(
        f"The old secret also signs until {utc_text(until)}." if until else "The old secret no longer signs.",
        err=True,
    )
    click.echo("Keep the new secret now: it is not shown again.", err=True)


@click.command()
@click.argument("subscription_id")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def deliveries(subscription_id: str, limit: int, fmt: str) -> None:
    """Show the delivery log of a subscription, newest first."""
    services = _services()
    try:
        attempts = usecases.delivery_log(services, subscription_id, limit)
    except SubscriptionNotFound as exc:
        raise click.ClickException(f"no subscription with id {exc.subscription_id!r}") from None
    finally:
        services.close()
    if fmt == "json":
        click.echo(json.dumps([a.as_dict() for a in attempts], indent=2, default=_json_default))
        return
    if not attempts:
        click.echo(f"No delivery attempts for {subscription_id} yet.")
    for a in attempts:
        status = a.status or "-"
        latency = f"{a.latency_ms}ms" if a.latency_ms is not None else "-"
        error = f"  {a.error}" if a.error else ""
        what = a.event_id or f"{len(a.members or ())} item(s)"
        result = f"#{a.attempt}  {status}  {latency}  {a.outcome}{error}"
        click.echo(f"{utc_text(a.at)}  {a.type}  {what}  {result}")
        for m in a.members or ():  # what a digest carried, one line each
            click.echo(f"    {m['type']}  {m['event_id']}  {m['id']}")


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return utc_text(value)
    return str(value)
