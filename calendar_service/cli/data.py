"""Commands that read the event file alone: validate, schema, events, upcoming."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from calendar_service.adapters.clock import Clock, SettableClock, SystemClock
from calendar_service.adapters.datafile_reader import paused_gc
from calendar_service.adapters.settings import DEFAULT_DATA_PATH, Settings
from calendar_service.cli.startup import load_settings
from calendar_service.core.calendar import Calendar, Event
from calendar_service.core.datafile import load_calendar
from calendar_service.core.errors import StoreInvalid, StoreUnreadable

if TYPE_CHECKING:
    from calendar_service.core.filters import EventFilter

# The listing commands' helpers (filters, JSON views, the schema) are imported where they are used:
# `validate` runs on every commit and should load no more than the validator.

DEFAULT_DATA = str(DEFAULT_DATA_PATH)  # the built-in default; commands read TRADE_CALENDAR_DATA_PATH
DATA_HELP = "Event file (default: TRADE_CALENDAR_DATA_PATH, else data/events.yaml)."


def _now_option(func: Any) -> Any:
    """A hidden `--now` (or TRADE_CALENDAR_NOW) that fixes the clock, so tests and demos are repeatable."""
    return click.option(
        "--now",
        "now",
        envvar="TRADE_CALENDAR_NOW",
        hidden=True,
        callback=_parse_now,
        help="Pretend it is this ISO 8601 instant (default: the system clock).",
    )(func)


def _parse_now(ctx: click.Context, param: click.Parameter, value: str | None) -> Clock:
    if value is None:
        return SystemClock()
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not ISO 8601 — write e.g. 2025-06-10T12:00:00Z") from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no UTC offset — add Z or +02:00")
    return SettableClock(moment)


def _max_bytes_option(func: Any) -> Any:
    """`--max-bytes` (or TRADE_CALENDAR_MAX_DATA_BYTES, as the server reads it): a larger file is refused."""
    return click.option(
        "--max-bytes",
        envvar="TRADE_CALENDAR_MAX_DATA_BYTES",
        type=click.IntRange(min=1),
        default=Settings.max_data_bytes,
        show_default=True,
        help="Refuse a larger file, as the server does.",
    )(func)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--quiet", "-q", is_flag=True, help="Print errors only, not warnings.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "github"]),
    default="text",
    show_default=True,
    help="github: GitHub Actions annotations, so a pull request shows each mistake on its line.",
)
@_max_bytes_option
@_now_option
def validate(paths: tuple[str, ...], quiet: bool, fmt: str, max_bytes: int, now: Clock) -> None:
    """Check event files (default: TRADE_CALENDAR_DATA_PATH, else data/events.yaml); exit 0 when valid
    (warnings allowed), 1 on errors, 2 when one is unreadable."""
    configured = load_settings().data_path  # read even when unused: a bad setting stops every command
    worst = 0
    for path in paths or (str(configured),):
        worst = max(worst, _validate_one(path, quiet, fmt, max_bytes, now))
    if worst:
        raise SystemExit(worst)


def _validate_one(path: str, quiet: bool, fmt: str, max_bytes: int, now: Clock) -> int:
    """Report on one file; return its exit code."""
    from calendar_service.adapters.datafile_reader import describe_failure, read_event_file
    from calendar_service.core.validation import validate_bytes
    from calendar_service.render.annotations import github_annotation

    try:
        raw, _ = read_event_file(path, max_bytes)
        with paused_gc():
            outcome = validate_bytes(raw, path, today=_today(now))
    except (OSError, StoreUnreadable) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        if fmt == "github":
            click.echo(github_annotation("error", f"cannot read: {reason}", file=path))
        click.echo(f"{path}: error: cannot read: {reason}", err=True)
        return 2
    except Exception as exc:  # MemoryError or a bug: a sentence, never a traceback
        if fmt == "github":
            click.echo(github_annotation("error", describe_failure(exc), file=path))
        click.echo(f"{path}: error: {describe_failure(exc)}", err=True)
        return 2
    shown = outcome.errors if quiet else outcome.problems
    for problem in shown:
        if fmt == "github":
            click.echo(
                github_annotation(
                    problem.severity, problem.message, file=path, line=problem.line, col=problem.column
                )
            )
        else:
            click.echo(problem.format(), err=problem.is_error)
    errors = len(outcome.errors)
    warnings = len(outcome.problems) - errors
    if errors:
        click.echo(f"{path}: {errors} error(s), {warnings} warning(s)", err=True)
        return 1
    count = len(outcome.calendar) if outcome.calendar else 0
    click.echo(f"{path}: valid, {count} events, {warnings} warning(s)")
    return 0


@click.command()
def schema() -> None:
    """Print the JSON Schema of the event file format."""
    from calendar_service.render.jsonschema import schema_json

    load_settings()  # like every command: a bad setting is reported at once, not at the next serve
    click.echo(schema_json(), nl=False)


def _filter_options(func: Any) -> Any:
    for option in reversed(
        [
            click.option("--data", "data_path", help=DATA_HELP),
            click.option(
                "--country", multiple=True, help="ISO country code (repeatable or comma-separated)."
            ),
            click.option("--kind", multiple=True, help="Event kind, e.g. tariff,truce."),
            click.option("--tag", multiple=True, help="Tag."),
            click.option("--importance", multiple=True, help="low, medium or high."),
            click.option("--status", multiple=True, help="Event status."),
            click.option("--authority", multiple=True, help='Legal authority, e.g. IEEPA or "Section 232".'),
            click.option("--hs", multiple=True, help="HS code (8542.31) or chapter 99 heading (9903.01.25)."),
            click.option("--action", multiple=True, help="Action id, e.g. china-fentanyl-tariff."),
            click.option(
                "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
            ),
        ]
    ):
        func = option(func)
    return func


@click.command()
@_filter_options
@click.option(
    "--from",
    "start",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Only events on this day or later (a day as each event shows it; see the README).",
)
@click.option(
    "--to",
    "end",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Only events that have begun by the end of this day.",
)
@_now_option
def events(
    data_path: str | None,
    fmt: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    now: Clock,
    **filters: Any,
) -> None:
    """List the events the service publishes, computed from the file alone, in the API's order."""
    from calendar_service.application.events import EventQuery, select_events

    calendar = _load(data_path, now)
    query = EventQuery(
        event_filter=_filter(filters),
        begin=start.date() if start is not None else None,
        end=end.date() if end is not None else None,
    )
    _emit(calendar, select_events(calendar, query), fmt, now.now())


@click.command()
@_filter_options
@click.option(
    "--days", default=30, show_default=True, type=click.IntRange(min=1), help="How far ahead to look."
)
@_now_option
def upcoming(data_path: str | None, fmt: str, days: int, now: Clock, **filters: Any) -> None:
    """List deadlines in the next N days that still stand, by the day each is due."""
    calendar = _load(data_path, now)
    from calendar_service.application.deadlines import upcoming_deadlines

    since = now.now()
    chosen = upcoming_deadlines(
        _filter(filters).apply(calendar.events), since, since + dt.timedelta(days=days)
    )
    if fmt == "table" and not chosen:
        click.echo(f"No deadlines in the next {days} days. Try --days 365, or `trade-calendar events`.")
        return
    _emit(calendar, chosen, fmt, since, deadlines=True)


def _today(clock: Clock) -> dt.date:
    return clock.now().date()


def _load(data_path: str | None, clock: Clock) -> Calendar:
    configured = load_settings().data_path
    path = data_path or str(configured)
    try:
        result = load_calendar(path, today=_today(clock))
    except StoreUnreadable as exc:
        raise click.ClickException(str(exc)) from exc
    except StoreInvalid as exc:
        raise click.ClickException(f"{exc}\nRun `trade-calendar validate {path}` for every message.") from exc
    return result.calendar


def _filter(options: dict[str, Sequence[str]]) -> EventFilter:
    from calendar_service.core.filters import parse_filter

    params = {name: list(values) for name, values in options.items() if values}
    try:
        return parse_filter(params)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _emit(
    calendar: Calendar, chosen: list[Event], fmt: str, now: dt.datetime, deadlines: bool = False
) -> None:
    from calendar_service.render.jsonview import event_to_dict

    if fmt == "json":  # `unconfirmed` as of --now, as the API answers as of its clock
        items = [event_to_dict(e, calendar, now) for e in chosen]
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    for event in chosen:
        when = _due(event) if deadlines else _when(event)
        click.echo(f"{when:<34} {event.status.value:<10} {event.kind.value:<14} {event.id}  {event.title}")
    click.echo(f"{len(chosen)} event(s)")


def _when(event: Event) -> str:
    """The event's time as the API's `start` has it: a local time and zone, or its dates and day zone."""
    if isinstance(event.start, dt.datetime):
        zone = getattr(event.start.tzinfo, "key", "")
        return f"{event.start:%Y-%m-%d %H:%M} {zone}"
    days = f"{event.first_day:%Y-%m-%d}"
    if event.last_day != event.first_day:
        days += f"..{event.last_day:%Y-%m-%d}"
    return f"{days} {event.day_tz or ''}".rstrip()


def _due(event: Event) -> str:
    """When a deadline falls, as `upcoming` sorts it: a whole day "by"/"from" its date in its zone."""
    if event.deadline_at is None or event.deadline_shown is None:
        return _when(event)
    if event.day_moment is not None and event.deadline_day is not None:
        word = "by" if event.day_moment.value == "end" else "from"
        return f"{event.deadline_day:%Y-%m-%d} ({word}) {event.day_tz or ''}".rstrip()
    moment = event.end if event.deadline is not None and event.deadline.value == "end" else event.start
    zone = moment.tzinfo if isinstance(moment, dt.datetime) else dt.UTC
    local = event.deadline_at.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {getattr(zone, 'key', 'UTC')}"
