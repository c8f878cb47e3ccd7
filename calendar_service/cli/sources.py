"""`trade-calendar sources`: re-read the events' sources and the watched feeds by hand, check watch.yaml.

    trade-calendar sources check                   every source URL, then every watch in watch.yaml
    trade-calendar sources check --only sources    just the event sources (or --only WATCH-ID)
    trade-calendar sources check --record DIR      also save every answer read, as replay fixtures
    trade-calendar sources validate [watch.yaml]   file:line:col errors, exit 1 when there are any

What changed and what is proposed lands in the database; `trade-calendar review` shows it.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from calendar_service.cli.data import DATA_HELP
from calendar_service.cli.startup import load_settings, open_services

WATCH_HELP = "Watch list (default: watch.yaml beside the event file)."


def watch_path_for(data_path: Path, given: str | None) -> Path:
    """The watch list to use: the one given, else `watch.yaml` beside the event file."""
    return Path(given) if given else data_path.parent / "watch.yaml"


@click.group()
def sources() -> None:
    """Re-read official sources: the pages events cite and the feeds in watch.yaml."""


@sources.command("check")
@click.option("--data", "data_path", type=click.Path(dir_okay=False, path_type=Path), help=DATA_HELP)
@click.option("--watch", "watch_file", help=WATCH_HELP)
@click.option(
    "--only",
    multiple=True,
    metavar="WHAT",
    help="`sources` for the event sources, or a watch id; repeatable (default: everything).",
)
@click.option(
    "--record",
    "record_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Save every answer read (body and headers) into this folder, for replay in tests.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def check(
    data_path: Path | None, watch_file: str | None, only: tuple[str, ...], record_dir: Path | None, fmt: str
) -> None:
    """Check now what the worker checks on its schedule; exit 1 when a watch failed."""
    from calendar_service.adapters.sources.record import Recorder
    from calendar_service.worker.sourcewatch import SOURCES, SourceWatch

    settings = load_settings(data_path=data_path)
    services = open_services(settings, publishes=False)
    try:
        snapshot = services.live.snapshot
        calendar = snapshot.calendar if snapshot is not None else None
        if calendar is None:
            failure = services.live.last_failure
            detail = "\n".join(failure.messages) if failure else "unknown error"
            raise click.ClickException(f"the data file does not load:\n{detail}")
        watch = SourceWatch(
            services.engine,
            services.clock,
            services.address_policy,
            lambda: calendar,
            watch_path_for(settings.data_path, watch_file),
            recorder=Recorder(record_dir) if record_dir else None,
        )
        watch.reload_watch()
        if watch.watch_error:
            click.echo(watch.watch_error, err=True)
        result: dict[str, object] = {}
        if not only or SOURCES in only:
            report = watch.check_sources()
            result["sources"] = report.__dict__
        named = [name for name in only if name != SOURCES]
        watches = watch.check_watches(named or None) if (not only or named) else []
        result["watches"] = [w.__dict__ for w in watches]
    finally:
        services.close()
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, default=str))
    else:
        s = result.get("sources")
        if isinstance(s, dict):
            click.echo(
                f"sources: {s['checked']} checked ({s['requests']} requests, {s['seconds']:.1f} s): "
                f"{s['not_modified']} not modified, {s['unchanged']} unchanged, {s['changed']} changed, "
                f"{s['gone']} gone, {s['failing']} failing"
            )
        for w in watches:
            state = (
                f"failed: {w.error}"
                if w.error
                else f"{w.documents} documents, {w.proposed} new proposals, {w.covered} already covered"
            )
            click.echo(f"watch {w.watch_id}: {state}")
    if any(w.error for w in watches):
        raise SystemExit(1)


@sources.command("validate")
@click.argument("watch_file", required=False)
@click.option("--data", "data_path", type=click.Path(dir_okay=False, path_type=Path), help=DATA_HELP)
def validate(watch_file: str | None, data_path: Path | None) -> None:
    """Check a watch list; print every problem as path:line:col and exit 1 when there is one."""
    from calendar_service.core.errors import WatchInvalid
    from calendar_service.core.watch import parse_watch

    path = watch_path_for(load_settings(data_path=data_path).data_path, watch_file)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        click.echo(f"error: {path}: cannot read: {exc.strerror or exc}", err=True)
        raise SystemExit(2) from None
    try:
        watch = parse_watch(raw, str(path))
    except WatchInvalid as exc:
        for problem in exc.problems:
            click.echo(problem.format())
        raise SystemExit(1) from None
    click.echo(
        f"{path}: OK ({len(watch.federal_register)} Federal Register searches, {len(watch.feeds)} feeds)"
    )
