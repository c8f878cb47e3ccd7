"""Curators' commands: `diff` (what an edit changes), `review` (what needs checking again) and
`coverage` (which fronts have a dated next step).

Both read event files alone. `diff` runs on every pull request, so this module imports only the
validator and the pure diff code; nothing from the web, the database or the webhook client.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from calendar_service.adapters.clock import Clock, SystemClock
from calendar_service.adapters.datafile_reader import paused_gc
from calendar_service.cli.data import DATA_HELP, _now_option
from calendar_service.cli.startup import load_settings
from calendar_service.core.calendar import Calendar
from calendar_service.core.errors import StoreUnreadable

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

# Exit codes shared with `validate`: 0 nothing to report, 1 something to report, 2 unusable input.
EXIT_CHANGES = 1
EXIT_UNUSABLE = 2


def _report_format(help_text: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The `--format table|json|markdown` option the report commands share."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json", "markdown"]),
        default="table",
        show_default=True,
        help=help_text,
    )


def _unusable(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(EXIT_UNUSABLE)


def _calendar_from_bytes(raw: bytes, label: str, today: dt.date) -> Calendar:
    """The calendar in `raw`, or exit 2 with one sentence naming the first error and how to see all."""
    from calendar_service.core.validation import validate_bytes

    try:
        with paused_gc():
            outcome = validate_bytes(raw, label, today=today)
    except StoreUnreadable as exc:
        _unusable(f"{label}: cannot read: {exc.reason}")
    except Exception as exc:  # MemoryError or a bug: a sentence, never a traceback (as `validate`)
        from calendar_service.adapters.datafile_reader import describe_failure

        _unusable(f"{label}: {describe_failure(exc)}")
    if outcome.calendar is None or outcome.errors:
        errors = outcome.errors
        first = f"; first: {errors[0].format()}" if errors else ""
        _unusable(
            f"{label} is not a valid event file ({len(errors)} error(s)){first} — "
            f"run `trade-calendar validate` on it for every message"
        )
    return outcome.calendar


def _read_file(path: str) -> bytes:
    from calendar_service.adapters.datafile_reader import (
        read_event_file,  # a plain file, size-limited, as `validate` reads
    )

    try:
        return read_event_file(path)[0]
    except StoreUnreadable as exc:
        _unusable(f"{path}: cannot read: {exc.reason}")


def _read_git(rev: str, path: str) -> bytes:
    """The bytes of `path` as of git revision `rev` (`git show REV:./path`, relative to the file's folder)."""
    file = Path(path)
    folder = file.parent  # Path("events.yaml").parent is Path(".")
    if rev.startswith("-"):  # it would reach git as an option (`--output=…` writes a file)
        _unusable(f"{rev!r} is not a revision — name a branch, tag or commit")
    if not folder.is_dir():
        _unusable(f"{path}: folder {folder} does not exist")
    try:
        done = subprocess.run(  # noqa: S603 - fixed program, the revision is one argument, no shell
            ["git", "-C", str(folder), "show", f"{rev}:./{file.name}"],  # noqa: S607 - git from PATH
            capture_output=True,
            check=False,
            timeout=60,
        )
    except FileNotFoundError:
        _unusable("git is not installed or not on PATH — compare two files instead: diff OLD NEW")
    except subprocess.TimeoutExpired:
        _unusable(f"git show {rev}:{path} took over 60 s")
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        _unusable(f"cannot read {path} at git revision {rev!r}: {reason[0] if reason else 'git failed'}")
    return done.stdout


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option(
    "--git",
    "revs",
    multiple=True,
    metavar="REV",
    help="Compare with the file at this git revision (given twice: two revisions); FILES is then "
    "at most one path (default: TRADE_CALENDAR_DATA_PATH, else data/events.yaml).",
)
@_report_format("markdown: to paste into a pull request.")
def diff(files: tuple[str, ...], revs: tuple[str, ...], fmt: str) -> None:
    """Show what changed between two event files: added, removed, moved, re-statused, re-sourced.

    \b
      trade-calendar diff OLD.yaml NEW.yaml
      trade-calendar diff --git main                  # main's data/events.yaml → the working file
      trade-calendar diff --git v1 --git v2 data/events.yaml
    Exit 0 with no changes, 1 with changes, 2 when a file cannot be read or is not valid.
    """
    from calendar_service.core.diff import diff_calendars
    from calendar_service.render.diffreport import diff_to_json, render_markdown, render_table

    configured = load_settings().data_path  # like every command: a bad setting stops it at once
    if len(revs) > 2:
        raise click.UsageError("--git takes at most two revisions: OLD (and NEW; default the working file)")
    if revs:
        if len(files) > 1:
            raise click.UsageError("with --git give at most one file path")
        path = files[0] if files else str(configured)
        old_label, old_raw = f"{revs[0]}:{path}", _read_git(revs[0], path)
        if len(revs) == 2:
            new_label, new_raw = f"{revs[1]}:{path}", _read_git(revs[1], path)
        else:
            new_label, new_raw = path, _read_file(path)
    else:
        if len(files) != 2:
            raise click.UsageError("give two files, OLD and NEW, or --git REV to compare with a revision")
        old_label, new_label = files
        old_raw, new_raw = _read_file(old_label), _read_file(new_label)

    # Only warnings depend on the day, and diff shows none of them.
    today = SystemClock().now().date()
    new_calendar = _calendar_from_bytes(new_raw, new_label, today)
    # A pull request that leaves the file alone (the usual case in CI) needs one validation, not two.
    old_calendar = new_calendar if old_raw == new_raw else _calendar_from_bytes(old_raw, old_label, today)
    changes = diff_calendars(old_calendar, new_calendar)
    if fmt == "json":
        click.echo(json.dumps(diff_to_json(changes, old_label, new_label), indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        click.echo(render_markdown(changes, old_label, new_label), nl=False)
    else:
        click.echo(render_table(changes, old_label, new_label), nl=False)
    if not changes.is_empty:
        raise SystemExit(EXIT_CHANGES)


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> dt.timedelta:
    from calendar_service.core.timing import parse_duration

    try:
        duration = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: {exc}") from None
    return dt.timedelta(days=duration.days, seconds=duration.seconds)


@click.command()
@click.option("--data", "data_path", help=DATA_HELP)
@click.option(
    "--within",
    default="P30D",
    show_default=True,
    callback=_duration,
    help="How far ahead to look (ISO 8601 duration).",
)
@click.option(
    "--stale-after",
    default="P30D",
    show_default=True,
    callback=_duration,
    help="A coming deadline verified longer ago than this needs re-checking.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--accept", "accept", metavar="PROPOSAL", help="Append this proposal to the event file.")
@click.option("--verify", "verify", metavar="EVENT", help="Set this event's `verified:` to today.")
@click.option(
    "--file-only",
    is_flag=True,
    help="Only what the file itself shows (no database: no sources, no proposals).",
)
@_now_option
def review(
    data_path: str | None,
    within: dt.timedelta,
    stale_after: dt.timedelta,
    fmt: str,
    accept: str | None,
    verify: str | None,
    file_only: bool,
    now: Clock,
) -> None:
    """List what needs a curator: proposals from watched feeds, sources that changed since `verified:`,
    dead sources, past events still open, near tentatives; or act on one (--accept, --verify).

    Exit 0 (with or without items), 2 when the file is unusable or an action is refused.
    """
    from calendar_service.application.review_queue import build_queue, proposal_message, queue_to_json

    path = data_path or str(load_settings().data_path)
    moment = now.now()
    if accept or verify:
        _decide(Path(path), accept, verify, moment)
        return
    calendar = _calendar_from_bytes(_read_file(path), path, moment.date())
    engine = None if file_only else _review_engine()
    queue = build_queue(calendar, engine, moment, within, stale_after)
    if engine is not None:
        engine.dispose()
    if fmt == "json":
        click.echo(json.dumps(queue_to_json(queue), indent=2, ensure_ascii=False))
        return
    for proposal in queue.proposals:
        click.echo(f"proposal: {proposal.id}: {proposal.title} <{proposal.url or 'no url'}>")
        click.echo(f"    {proposal_message(proposal)}")
    for finding in queue.sources:
        click.echo(
            f"{path}:{finding.line}: {finding.issue.value}: {finding.event_id}: "
            f"{finding.url}: {finding.message}"
        )
        for line in (finding.excerpt or "").splitlines():
            click.echo(f"    {line}")
    for item in queue.items:
        click.echo(f"{path}:{item.event.line}: {item.reason.value}: {item.event.id}: {item.message}")
    click.echo(f"{len(queue)} item(s) to review" if len(queue) else "Nothing to review.")


def _review_engine() -> Engine | None:
    """The database the source watch writes to, or None (with a warning) when it cannot be used."""
    settings = load_settings()
    if not settings.database_url and not (settings.state_dir / "trade-calendar.sqlite3").exists():
        return None  # no database configured and none made yet: the watch has recorded nothing
    from calendar_service.adapters.db import create_schema, make_engine

    try:
        engine = make_engine(settings.effective_database_url)
        create_schema(engine)
    except Exception as exc:  # review still shows what the file says
        click.echo(f"warning: no source watch results (database: {str(exc).splitlines()[0][:200]})", err=True)
        return None
    return engine


def _decide(path: Path, accept: str | None, verify: str | None, moment: dt.datetime) -> None:
    """Carry out --accept / --verify; exit 2 with the reason when refused."""
    from calendar_service.application.review_queue import accept_proposal, verify_event
    from calendar_service.core.errors import EventNotFound, ProposalNotFound, StoreError

    today = moment.date()
    try:
        if accept:
            engine = _review_engine()
            if engine is None:
                _unusable("proposals live in the database, which cannot be used")
            try:
                proposal = accept_proposal(engine, path, accept, today, moment)
            finally:
                engine.dispose()
            target = proposal.event_id if proposal.kind == "change" else proposal.entry.get("id")
            click.echo(
                f"{path}: accepted {proposal.id} ({proposal.kind}: {target}); review and commit the file"
            )
        if verify:
            verify_event(path, verify, today)
            click.echo(f"{path}: {verify} verified {today}")
    except StoreError as exc:
        _unusable(f"nothing written: {exc}")
    except (ProposalNotFound, EventNotFound) as exc:
        _unusable(str(exc))


@click.command()
@click.option("--data", "data_path", help=DATA_HELP)
@_report_format("markdown: for the README or a pull request.")
@_now_option
def coverage(data_path: str | None, fmt: str, now: Clock) -> None:
    """List per action and per authority the next dated step and the last verified date.

    A row with no next step, an old check or past events whose outcome no source confirms is a gap to
    fill. Exit 0, 2 when the file is unusable.
    """
    from calendar_service.core.coverage import coverage_of
    from calendar_service.render.coverage import coverage_markdown, coverage_table, coverage_to_dict

    path = data_path or str(load_settings().data_path)
    moment = now.now()
    report = coverage_of(_calendar_from_bytes(_read_file(path), path, moment.date()), moment)
    if fmt == "json":
        click.echo(json.dumps(coverage_to_dict(report), indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        click.echo(coverage_markdown(report), nl=False)
    else:
        click.echo(coverage_table(report), nl=False)
