"""Watched feeds propose: a new Federal Register document becomes a proposal that `review --accept` turns
into a valid entry with its sources; a covered one is not proposed; one that moves an event is a change."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import sources as db
from calendar_service.cli import main
from tests.support.replay import Page, ReplayServer
from tests.support.sources import events_yaml, load, make_watch

FR = "https://www.federalregister.gov/documents/2026/12/01"
EXTRA = """\
  - id: steel-increase
    title: Steel tariff increase takes effect
    kind: tariff
    countries: [US]
    action: steel-232
    instrument: Proclamation 10896
    date: 2027-01-01
    sources:
      - title: Proclamation on steel
        url: https://www.federalregister.gov/d/2026-25002
"""


def document(number: str, title: str, **fields: object) -> dict[str, object]:
    return {
        "document_number": number,
        "title": title,
        "type": "Notice",
        "abstract": fields.pop("abstract", None),
        "html_url": f"{FR}/{number}/x",
        "publication_date": "2026-12-01",
        "citation": f"91 FR {number[-5:]}",
        "agencies": [{"name": "Office of the United States Trade Representative", "slug": "x"}],
        **fields,
    }


def fr_pages(site: ReplayServer) -> None:
    first = {
        "count": 3,
        "total_pages": 2,
        "next_page_url": site.url("/api/v1/documents.json?page=2"),
        "results": [
            document(
                "2026-25001",
                "Section 301 Investigation of Brazil's Acts, Policies and Practices: Notice of Hearing",
                comments_close_on="2027-01-05",
                dates="Written comments are due January 5, 2027. The public hearing will be held on "
                "January 20, 2027.",
                abstract="USTR requests comments and will hold a hearing.",
            ),
            document("2026-25002", "Adjusting Imports of Steel", effective_on="2027-01-01"),
        ],
    }
    second = {
        "count": 3,
        "total_pages": 2,
        "next_page_url": None,
        "results": [
            document(
                "2026-25003",
                "Amendment to Proclamation 10896: Adjusting Imports of Steel",
                effective_on="2027-02-15",
                abstract="Delays the increase set by Proclamation 10896.",
            )
        ],
    }
    json_type = "application/json"
    site.page("/api/v1/documents.json", Page(json.dumps(first).encode(), content_type=json_type))
    site.page("/api/v1/documents.json?page=2", Page(json.dumps(second).encode(), content_type=json_type))


def rss(items: int) -> bytes:
    entries = "".join(
        f"<item><title>CSMS # {i}: Guidance</title><link>https://www.cbp.gov/csms/{i}</link>"
        f"<guid>csms-{i}</guid><pubDate>Mon, 07 Dec 2026 10:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;Bulletin {i}&lt;/p&gt;</description></item>"
        for i in range(items)
    )
    channel = f"<channel><title>CSMS</title>{entries}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def watch_yaml(site: ReplayServer) -> str:
    return f"""\
settings:
  min_delay: 0
federal_register:
  - id: ustr
    agencies: [trade-representative-office-of-united-states]
    base_url: {site.url("/api/v1")}
    since: 2026-11-01
feeds:
  - id: csms
    url: {site.url("/csms.xml")}
    max_items: 50
  - id: broken
    url: {site.url("/garbage")}
"""


def setup(tmp_path: Path, site: ReplayServer) -> tuple[Path, Path]:
    data, watch = tmp_path / "events.yaml", tmp_path / "watch.yaml"
    data.write_text(events_yaml(site, EXTRA), encoding="utf-8")
    watch.write_text(watch_yaml(site), encoding="utf-8")
    fr_pages(site)
    site.page("/csms.xml", Page(rss(1000), content_type="application/rss+xml"))
    site.page("/garbage", Page(b"\x00\xff<<not a feed", content_type="application/octet-stream"))
    return data, watch


def test_documents_become_proposals_once_and_accept_writes_a_valid_entry(
    tmp_path: Path, site: ReplayServer, engine: Engine, clock: SettableClock
) -> None:
    data, watch_file = setup(tmp_path, site)
    before = data.read_bytes()
    watch = make_watch(engine, clock, data, watch_file)
    reports = {r.watch_id: r for r in watch.check_watches()}
    assert site.hits("/api/v1/documents.json") == 2  # both pages, by next_page_url
    assert (reports["ustr"].documents, reports["ustr"].proposed, reports["ustr"].covered) == (3, 2, 1)
    assert (reports["csms"].documents, reports["csms"].proposed) == (50, 50)  # 1,000 items, 50 read
    assert reports["broken"].error is not None
    assert "not an RSS or Atom feed" in reports["broken"].error
    assert data.read_bytes() == before  # nothing is written without a curator

    proposals = {p.id: p for p in db.open_proposals(engine)}
    new = proposals["fr-2026-25001"]
    assert new.kind == "new"
    assert new.entry["kind"] == "deadline"
    assert new.entry["date"] == "2027-01-05"
    assert new.entry["status"] == "tentative"
    assert new.entry["proposed_from"] == "fr-2026-25001"
    assert "hearing: 2027-01-20 (parsed from the text" in new.entry["description"]
    move = proposals["fr-2026-25003"]
    assert (move.kind, move.event_id) == ("change", "steel-increase")
    assert (move.change or {})["was"] == "2027-01-01"
    assert (move.change or {})["now"] == "2027-02-15"
    assert "fr-2026-25002" not in proposals  # an event cites it already

    env = {"TRADE_CALENDAR_DATABASE_URL": str(engine.url), "TRADE_CALENDAR_DATA_PATH": str(data)}
    now = clock.now().isoformat()
    listed = CliRunner().invoke(main, ["review", "--now", now], env=env)
    assert "proposal: fr-2026-25001" in listed.output
    assert "move steel-increase: 2027-01-01 → 2027-02-15" in listed.output

    for proposal_id in ("fr-2026-25001", "fr-2026-25003"):
        done = CliRunner().invoke(main, ["review", "--accept", proposal_id, "--now", now], env=env)
        assert done.exit_code == 0, done.output
    calendar = load(data)
    added = next(e for e in calendar.events if e.title.startswith("Comments due: Section 301"))
    assert added.status.value == "tentative"
    assert [s.url for s in added.sources] == [f"{FR}/2026-25001/x"]
    assert added.action is None
    moved = calendar.get("steel-increase")
    assert moved.start == dt.date(2027, 2, 15)
    assert moved.history[-1].kind == "rescheduled"
    assert moved.history[-1].source is not None
    text = data.read_text(encoding="utf-8")
    assert text.startswith(before.decode().split("events:")[0])  # the head of the file is untouched
    assert "proposed_from: fr-2026-25001" in text

    again = CliRunner().invoke(main, ["review", "--accept", "fr-2026-25001", "--now", now], env=env)
    assert again.exit_code == 2
    assert "no open proposal 'fr-2026-25001'" in again.output

    clock.advance(dt.timedelta(days=1))
    rerun = {r.watch_id: r for r in watch.check_watches()}
    assert (rerun["ustr"].proposed, rerun["csms"].proposed) == (0, 0)  # each document is proposed once


def test_a_bad_watch_edit_keeps_the_last_good_list(
    tmp_path: Path, site: ReplayServer, engine: Engine, clock: SettableClock
) -> None:
    data, watch_file = setup(tmp_path, site)
    watch = make_watch(engine, clock, data, watch_file)
    assert [w.id for w in watch.reload_watch().watches()] == ["ustr", "csms", "broken"]
    watch_file.write_text(watch_yaml(site).replace("min_delay: 0", "min_delay: -1"), encoding="utf-8")
    kept = watch.reload_watch()
    assert [w.id for w in kept.watches()] == ["ustr", "csms", "broken"]
    assert watch.watch_error is not None
    assert "watch.yaml:2:14: error: min_delay" in watch.watch_error


def test_an_accept_that_would_break_the_file_writes_nothing(
    tmp_path: Path, site: ReplayServer, engine: Engine, clock: SettableClock
) -> None:
    data, watch_file = setup(tmp_path, site)
    # The watch names an action the events file does not have: the proposed entry would point at nothing.
    text = watch_yaml(site).replace(
        "    since: 2026-11-01\n", "    since: 2026-11-01\n    action: no-such-action\n"
    )
    watch_file.write_text(text, encoding="utf-8")
    watch = make_watch(engine, clock, data, watch_file)
    watch.check_watches(["ustr"])
    before = data.read_bytes()
    env = {"TRADE_CALENDAR_DATABASE_URL": str(engine.url), "TRADE_CALENDAR_DATA_PATH": str(data)}
    now = clock.now().isoformat()
    done = CliRunner().invoke(main, ["review", "--accept", "fr-2026-25001", "--now", now], env=env)
    assert done.exit_code == 2
    assert "nothing written" in done.output
    assert "no-such-action" in done.output
    assert data.read_bytes() == before
    assert "fr-2026-25001" in {p.id for p in db.open_proposals(engine)}  # still there to fix and retry
