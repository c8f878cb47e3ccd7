"""Commands that read the event file alone: validate, schema, events, upcoming."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
from collections.abc import Iterator, Sequence
from typing import Any

import click

from calendar_service.adapters.clock import Clock, SettableClock, SystemClock
from calendar_service.adapters.settings import DEFAULT_DATA_PATH, Settings
from calendar_service.cli.startup import load_settings
from calendar_service.core.calendar import Calendar, Event
from calendar_service.core.datafile import load_calendar
from calendar_service.core.errors import StoreInvalid, StoreUnreadable

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


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file is parsed, then restore it.

    Parsing builds tens of thousands of small acyclic objects that reference counting frees anyway;
    the collector's passes over them cost about a tenth of a `validate` or `diff` run (bench_curate).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="Only events ending on or after.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Only events starting on or before.")
@_now_option
def events(
    data_path: str | None,
    fmt: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    now: Clock,
    **filters: Any,
) -> None:
    """List the events the service publishes, computed from the file alone."""
    calendar = _load(data_path, now)
    chosen = _filtered(calendar, filters)
    tz = calendar.tz
    if start is not None:
        since = start.replace(tzinfo=tz)
        chosen = [e for e in chosen if _ends_after(e, since, tz)]
    if end is not None:
        until = (end + dt.timedelta(days=1)).replace(tzinfo=tz)
        chosen = [e for e in chosen if e.start_utc(tz) < until]
    _emit(calendar, chosen, fmt, now.now())


@click.command()
@_filter_options
@click.option(
    "--days", default=30, show_default=True, type=click.IntRange(min=1), help="How far ahead to look."
)
@_now_option
def upcoming(data_path: str | None, fmt: str, days: int, now: Clock, **filters: Any) -> None:
    """List deadlines in the next N days that still stand."""
    calendar = _load(data_path, now)
    from calendar_service.application.deadlines import upcoming_deadlines

    since = now.now()
    chosen = upcoming_deadlines(_filtered(calendar, filters), since, since + dt.timedelta(days=days))
    if fmt == "table" and not chosen:
        click.echo(f"No deadlines in the next {days} days. Try --days 365, or `trade-calendar events`.")
        return
    _emit(calendar, chosen, fmt, since)


def _ends_after(event: Event, since: dt.datetime, tz: dt.tzinfo) -> bool:
    """Whether the event is still on at `since`: an exclusive end at that instant is over, a moment is not."""
    end = event.end_utc(tz)
    return end > since if end is not None else event.start_utc(tz) >= since


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


def _filtered(calendar: Calendar, options: dict[str, Sequence[str]]) -> list[Event]:
    from calendar_service.core.filters import parse_filter

    params = {name: list(values) for name, values in options.items() if values}
    try:
        chosen = parse_filter(params)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    return chosen.apply(calendar.events)


def _emit(calendar: Calendar, chosen: list[Event], fmt: str, now: dt.datetime) -> None:
    from calendar_service.render.jsonview import event_to_dict

    if fmt == "json":  # `unconfirmed` as of --now, as the API answers as of its clock
        items = [event_to_dict(e, calendar, now) for e in chosen]
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    for event in chosen:
        click.echo(
            f"{_when(event):<34} {event.status.value:<10} {event.kind.value:<14} {event.id}  {event.title}"
        )
    click.echo(f"{len(chosen)} event(s)")


def _when(event: Event) -> str:
    if isinstance(event.start, dt.datetime):
        zone = getattr(event.start.tzinfo, "key", "")
        return f"{event.start:%Y-%m-%d %H:%M} {zone}"
    if event.end is not None and event.end != event.start + dt.timedelta(days=1):
        assert not isinstance(event.end, dt.datetime)
        return f"{event.start:%Y-%m-%d}..{event.end - dt.timedelta(days=1):%Y-%m-%d}"
    return f"{event.start:%Y-%m-%d}"
