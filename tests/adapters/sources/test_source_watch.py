"""A real edit to a source page puts its event in the curator's queue, with what changed; dead links too."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import sources as db
from calendar_service.application.review_queue import build_queue
from calendar_service.cli import main
from calendar_service.core.sourcecheck import SourceIssue
from tests.support.replay import Page, ReplayServer
from tests.support.sources import events_yaml, load, make_watch, notice


def test_an_edited_source_shows_in_review_with_the_excerpt_until_verified(
    tmp_path: Path, site: ReplayServer, engine: Engine, clock: SettableClock
) -> None:
    data = tmp_path / "events.yaml"
    data.write_text(events_yaml(site), encoding="utf-8")
    site.page("/notice", Page(notice("The hearing will be held on January 20, 2027."), etag='"a"'))
    site.page("/proclamation", Page(notice("Proclamation text.")))
    watch = make_watch(engine, clock, data)

    first = watch.check_sources()
    assert (first.checked, first.changed, first.gone) == (2, 0, 1)  # a first reading is a baseline
    clock.advance(dt.timedelta(hours=6))
    quiet = watch.check_sources()
    assert quiet.not_modified == 1
    assert quiet.changed == 0
    queue = build_queue(load(data), engine, clock.now(), dt.timedelta(days=30))
    assert [(f.event_id, f.issue) for f in queue.sources] == [("old-link", SourceIssue.DEAD)]

    site.page("/notice", Page(notice("The hearing is postponed to February 3, 2027."), etag='"b"'))
    clock.advance(dt.timedelta(days=1))
    after = watch.check_sources()
    assert after.changed == 1
    assert after.changed_urls == [site.url("/notice")]
    queue = build_queue(load(data), engine, clock.now(), dt.timedelta(days=30))
    changed = [f for f in queue.sources if f.issue is SourceIssue.CHANGED]
    assert [f.event_id for f in changed] == ["steel-hearing"]
    assert "- The hearing will be held on January 20, 2027." in (changed[0].excerpt or "")
    assert "+ The hearing is postponed to February 3, 2027." in (changed[0].excerpt or "")
    assert "Privacy" not in (changed[0].excerpt or "")  # page chrome is not content

    env = {"TRADE_CALENDAR_DATABASE_URL": str(engine.url), "TRADE_CALENDAR_DATA_PATH": str(data)}
    now = clock.now().isoformat()
    shown = CliRunner().invoke(main, ["review", "--now", now], env=env)
    assert shown.exit_code == 0, shown.output
    assert "source-changed: steel-hearing" in shown.output
    assert "+ The hearing is postponed to February 3, 2027." in shown.output
    assert "source-dead: old-link" in shown.output
    assert "HTTP 404" in shown.output

    verified = CliRunner().invoke(main, ["review", "--verify", "steel-hearing", "--now", now], env=env)
    assert verified.exit_code == 0, verified.output
    assert "verified: 2026-12-08" in data.read_text(encoding="utf-8")
    listed = CliRunner().invoke(main, ["review", "--now", now, "--format", "json"], env=env)
    reasons = [(s["id"], s["reason"]) for s in json.loads(listed.output) if s["reason"].startswith("source")]
    assert reasons == [("old-link", "source-dead")]


def test_a_page_edited_and_edited_back_still_counts_as_changed_since_verified(
    tmp_path: Path, site: ReplayServer, engine: Engine, clock: SettableClock
) -> None:
    data = tmp_path / "events.yaml"
    data.write_text(events_yaml(site), encoding="utf-8")
    site.page("/notice", Page(notice("Version one.")))
    watch = make_watch(engine, clock, data)
    watch.check_sources([site.url("/notice")])
    for text in ("Version two.", "Version one."):
        clock.advance(dt.timedelta(days=1))
        site.page("/notice", Page(notice(text)))
        watch.check_sources([site.url("/notice")])
    state = db.load_states(engine)[site.url("/notice")]
    assert state.changed_at == clock.now()
    assert state.excerpt == "- Version two.\n+ Version one."


def test_a_host_that_stays_unreachable_is_dead_after_n_days(
    tmp_path: Path, site: ReplayServer, engine: Engine, clock: SettableClock
) -> None:
    data = tmp_path / "events.yaml"
    data.write_text(events_yaml(site), encoding="utf-8")
    site.page("/notice", Page(notice("x")))
    watch = make_watch(engine, clock, data)
    url = site.url("/notice")
    watch.check_sources([url])
    site.stop()  # the host goes away: connections are refused
    watch.check_sources([url])
    queue = build_queue(load(data), engine, clock.now(), dt.timedelta(days=30))
    failing = [f for f in queue.sources if f.url == url]
    assert [f.issue for f in failing] == [SourceIssue.FAILING]
    assert "Connection refused" in failing[0].message
    clock.advance(dt.timedelta(days=3))
    watch.check_sources([url])
    queue = build_queue(load(data), engine, clock.now(), dt.timedelta(days=30))
    assert [f.issue for f in queue.sources if f.url == url] == [SourceIssue.DEAD]


def fetch_text(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as answer:  # a loopback URL built by the test
        return bytes(answer.read())


def test_sources_check_command_records_answers(tmp_path: Path, site: ReplayServer) -> None:
    data = tmp_path / "events.yaml"
    data.write_text(events_yaml(site), encoding="utf-8")
    site.page("/notice", Page(notice("x")))
    site.page("/proclamation", Page(notice("y")))
    env = {
        "TRADE_CALENDAR_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "TRADE_CALENDAR_DATA_PATH": str(data),
        "TRADE_CALENDAR_ALLOW_PRIVATE_WEBHOOKS": "true",
    }
    record = tmp_path / "fixtures"
    result = CliRunner().invoke(main, ["sources", "check", "--record", str(record)], env=env)
    assert result.exit_code == 0, result.output
    assert "sources: 2 checked" in result.output
    assert "1 gone" in result.output
    index = [json.loads(line) for line in (record / "index.jsonl").read_text().splitlines()]
    assert [entry["url"] for entry in index] == [site.url("/notice")]  # the 404 has no body to keep
    assert (record / index[0]["body"]).read_bytes() == notice("x")
    with ReplayServer() as replay:  # the recording serves again, as fixtures would on a machine offline
        assert replay.load(record) == 1
        again = fetch_text(replay.url("/notice"))
    assert again == notice("x")
