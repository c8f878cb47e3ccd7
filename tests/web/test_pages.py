"""Event, action, search and changes pages as a reader meets them: what they say, links, status codes."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from calendar_service.adapters.clock import SettableClock
from tests.support.pages import page_yaml
from tests.support.webapp import reloaded


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    """The sample data with an action (overrides the shared fixture)."""
    path = tmp_path / "events.yaml"
    path.write_text(page_yaml(), encoding="utf-8")
    return path


def text_of(client: FlaskClient, path: str, status: int = 200) -> str:
    """GET `path`, check the status, return the body as text."""
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def test_event_page_explains_the_deadline_its_history_and_its_action(client: FlaskClient) -> None:
    html = text_of(client, "/events/pause-end-august")
    assert "<h1>Pause ends 1 August</h1>" in html
    assert "1 Aug 2025 00:01 EDT" in html
    assert "America/New_York" in html
    assert 'datetime="2025-08-01T04:01:00Z"' in html  # what the reader's-zone script starts from
    assert "in 51 days" in html  # 10 June 12:00 UTC → 1 Aug 04:01 UTC
    assert "EO 14316" in html
    assert "IEEPA" in html
    assert re.search(
        r'was <span class="was nowrap">9 Jul 2025 00:01 EDT</span> → '
        r'now <span class="now nowrap">1 Aug 2025 00:01 EDT',
        html,
    )
    # The whole action, in order, with the page's own event marked and the others linked.
    assert html.index("Pause on reciprocal rates begins") < html.index("Pause ends 9 July")
    assert 'href="/events/pause-start"' in html
    assert 'aria-current="page"' in html
    assert '<svg id="action-timeline"' in html
    assert 'href="/actions/reciprocal-pause"' in html
    # One click to a calendar: the .ics, Google's template link and Outlook's compose link.
    assert 'id="add-ics" href="/events/pause-end-august.ics"' in html
    google = re.search(r'id="add-google" href="([^"]+)"', html)
    assert google is not None
    assert "action=TEMPLATE" in google.group(1)
    assert "dates=20250801T040100Z%2F20250801T043100Z" in google.group(1).replace("&amp;", "&")
    assert 'id="add-outlook" href="https://outlook.live.com/calendar/0/deeplink/compose?' in html


def test_superseded_event_says_so_first_and_links_its_successor(client: FlaskClient) -> None:
    html = text_of(client, "/events/pause-end-july")
    notice = html.index('id="notice"')
    assert notice < html.index("<h1>")
    assert 'id="successor" href="/events/pause-end-august"' in html


def test_event_ics_is_one_vevent_with_the_feeds_uid_and_sequence(client: FlaskClient) -> None:
    response = client.get("/events/pause-end-august.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    ics = response.get_data(as_text=True)
    assert ics.count("BEGIN:VEVENT") == 1
    assert "BEGIN:VTIMEZONE\r\nTZID:America/New_York" in ics
    assert "URL:http://localhost/events/pause-end-august\r\n" in ics
    feed = client.get("/calendar.ics").get_data(as_text=True)
    block = feed[feed.index("UID:pause-end-august@") :]
    feed_seq = re.search(r"SEQUENCE:(\d+)", block)
    own_seq = re.search(r"SEQUENCE:(\d+)", ics)
    assert feed_seq
    assert own_seq
    assert own_seq.group(1) == feed_seq.group(1) == "1"
    assert "UID:pause-end-august@trade-calendar\r\n" in ics


def test_removed_event_answers_410_with_what_it_was_while_the_feed_keeps_it(
    client: FlaskClient, data_file: Path, clock: SettableClock
) -> None:
    assert client.get("/events/eu-hearing").status_code == 200
    data_file.write_text(
        page_yaml().replace("  - id: eu-hearing", "  - id: eu-hearing-renamed"), encoding="utf-8"
    )
    clock.advance(dt.timedelta(minutes=5))
    reloaded(client.application)
    html = text_of(client, "/events/eu-hearing", 410)
    assert "Removed from the calendar" in html
    assert "EU safeguard hearing" in html
    assert "UID:eu-hearing@trade-calendar" in client.get("/calendar.ics").get_data(as_text=True)
    assert "STATUS:CANCELLED" in text_of(client, "/events/eu-hearing.ics")


@pytest.mark.parametrize(
    "path",
    [
        "/events/no-such-event",
        "/events/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/events/..%2F..%2Fetc%2Fpasswd",
        "/events/../../etc/passwd",
        "/events/" + "a" * 10_000,
        "/events/x.ics",
        "/actions/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
        "/actions/no-such-action",
    ],
)
def test_unknown_or_hostile_ids_get_a_404_page_with_a_search_box(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    if path.startswith(("/events/..", "/events/../")):
        return  # normalised away by the client: any 404 is right, nothing was echoed
    assert response.headers["Content-Type"].startswith("text/html")
    assert 'role="search"' in html
    assert 'name="q"' in html
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert len(html) < 5000  # a 10 KB id is not echoed whole


def test_search_finds_events_by_words(client: FlaskClient) -> None:
    html = text_of(client, "/search?q=reciprocal+august")
    assert 'href="/events/pause-end-august"' in html
    assert 'href="/events/pause-start"' not in html


def test_action_page_lists_its_dates_in_order_with_what_they_share(client: FlaskClient) -> None:
    html = text_of(client, "/actions/reciprocal-pause")
    assert "<h1>Pause on country-specific reciprocal rates</h1>" in html  # the action's own record
    feed = re.search(r'id="action-feed" href="http://localhost(/calendar\.ics\?action=[a-z-]+)"', html)
    assert feed is not None
    assert text_of(client, feed.group(1)).count("BEGIN:VEVENT") == 3
    dates = html[html.index('id="dates"') :]
    assert dates.index("pause-start") < dates.index("pause-end-july") < dates.index("pause-end-august")
    assert "<dt>Instrument</dt><dd>EO 14266</dd>" in html  # the action's own
    assert "1 Aug 2025 00:01 EDT</span> · EO 14316</span>" in html  # another instrument says so
    assert '>HS <span class="nowrap">72</span></a>' in html  # scope, each code linking the filtered page
    assert 'href="/?hs=7601"' in html
    assert html.count('<a href="https://example.com/eo-14266">') == 1  # a shared source once
    svg = html[html.index("<svg") : html.index("</svg></div>")]
    assert svg.count('class="mark ') == 3  # two live dates and a superseded one (a grey cross)
    assert svg.count('class="mark gone"') == 1
    assert "today" in svg


def test_home_shows_timeline_changes_and_upcoming_and_filters_narrow_all_three(client: FlaskClient) -> None:
    html = text_of(client, "/")
    svg = html[html.index('<svg id="timeline"') : html.index("</svg></div>")]
    assert ">Pause on country-specific reciprocal rates</text>" in svg  # a lane per action, its title
    assert "<title>Pause ends 1 August — 1 Aug 2025 00:01 EDT (scheduled)</title>" in svg
    changes = html[html.index('id="recent-changes"') :]
    assert "Pause ends 1 August" in changes
    assert "was 9 Jul 2025 00:01 EDT → now 1 Aug 2025 00:01 EDT" in changes
    upcoming = html[html.index('id="upcoming"') :]
    assert "EU safeguard hearing" in upcoming
    assert "Pause ends 1 August" in upcoming

    narrowed = text_of(client, "/?country=EU")
    assert "reciprocal rates" not in narrowed[narrowed.index('<svg id="timeline"') :]
    assert 'id="recent-changes"' not in narrowed
    assert "EU safeguard hearing" in narrowed[narrowed.index('id="upcoming"') :]
    assert 'id="built-https" href="http://localhost/calendar.ics?country=EU"' in narrowed


def test_home_with_a_bad_filter_says_which_parameter(client: FlaskClient) -> None:
    html = text_of(client, "/?country=XX")
    assert 'id="builder-error"' in html
    assert "country" in html


def test_pages_answer_conditional_requests_and_change_with_the_data(
    client: FlaskClient, data_file: Path, clock: SettableClock
) -> None:
    for path in ("/", "/events/pause-end-august", "/actions/reciprocal-pause", "/changes"):
        first = client.get(path)
        etag = first.headers["ETag"]
        assert first.headers["Last-Modified"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304, path
    before = client.get("/events/pause-end-august").headers["ETag"]
    data_file.write_text(
        page_yaml().replace("title: Pause ends 1 August", "title: Pause ends 1 Aug"), encoding="utf-8"
    )
    reloaded(client.application)
    response = client.get("/events/pause-end-august", headers={"If-None-Match": before})
    assert response.status_code == 200
    assert response.headers["ETag"] != before


def test_changes_page_and_api_carry_the_old_and_new_instants(client: FlaskClient) -> None:
    html = text_of(client, "/changes?since=2025-06-01")
    assert "Pause ends 1 August" in html
    assert "was 9 Jul 2025 00:01 EDT → now 1 Aug 2025 00:01 EDT" in html
    items = client.get("/api/v1/changes?since=2025-06-01").get_json()["items"]
    moved = next(i for i in items if i["event_id"] == "pause-end-august")
    assert moved["was_at"]["utc"] == "2025-07-09T04:01:00Z"
    assert moved["now_at"]["utc"] == "2025-08-01T04:01:00Z"


def test_changes_atom_parses_with_stable_ids_and_updated(client: FlaskClient, clock: SettableClock) -> None:
    import feedparser

    first = client.get("/changes.atom")
    assert first.status_code == 200
    assert first.headers["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(first.get_data())
    assert not feed.bozo, feed.get("bozo_exception")
    entry = next(e for e in feed.entries if e.link == "http://localhost/events/pause-end-august")
    assert "was 9 Jul 2025 00:01 EDT → now 1 Aug 2025 00:01 EDT" in entry.summary
    assert entry.updated == "2025-06-07T00:00:00Z"
    clock.advance(dt.timedelta(days=3))
    later = feedparser.parse(client.get("/changes.atom").get_data())
    assert [(e.id, e.updated) for e in later.entries] == [(e.id, e.updated) for e in feed.entries]
    assert later.feed.updated == feed.feed.updated


def test_event_page_names_query_parameters_it_ignores(client: FlaskClient) -> None:
    response = client.get("/events/pause-end-august?utm_source=slack")
    assert response.status_code == 200
    assert response.headers["Trade-Calendar-Ignored"] == "utm_source"


NEW_EVENT = """
  - id: new-hearing
    title: New safeguard hearing
    kind: hearing
    countries: [EU]
    date: 2025-09-01
    sources: [{title: OJ notice}]
"""


def test_an_event_added_by_an_edit_is_a_change_and_the_first_load_is_not(
    client: FlaskClient, data_file: Path, clock: SettableClock
) -> None:
    first = client.get("/api/v1/changes?since=2025-01-01").get_json()["items"]
    assert [i for i in first if i["change"] == "created"] == []  # the data as first published is not news
    clock.advance(dt.timedelta(hours=1))
    data_file.write_text(page_yaml().rstrip("\n") + "\n" + NEW_EVENT, encoding="utf-8")
    reloaded(client.application)
    items = client.get("/api/v1/changes?since=2025-06-10").get_json()["items"]
    created = [i for i in items if i["change"] == "created"]
    assert [(i["event_id"], i["at"]) for i in created] == [("new-hearing", "2025-06-10T13:00:00Z")]
    html = text_of(client, "/changes?since=2025-06-10")
    assert "New safeguard hearing</a> — created; date 1 Sep 2025" in html
    import feedparser

    feed = feedparser.parse(client.get("/changes.atom").get_data())
    entry = next(e for e in feed.entries if e.link == "http://localhost/events/new-hearing")
    assert entry.updated == "2025-06-10T13:00:00Z"
    # Another edit later does not make it new again.
    clock.advance(dt.timedelta(hours=1))
    data_file.write_text(
        page_yaml().rstrip("\n") + "\n" + NEW_EVENT.replace("OJ notice", "OJ C notice"), encoding="utf-8"
    )
    reloaded(client.application)
    again = client.get("/api/v1/changes?since=2025-06-10").get_json()["items"]
    assert [(i["event_id"], i["at"]) for i in again if i["change"] == "created"] == [
        ("new-hearing", "2025-06-10T13:00:00Z")
    ]


def test_a_move_nobody_recorded_still_says_was_and_now(
    client: FlaskClient, data_file: Path, clock: SettableClock
) -> None:
    client.get("/")
    clock.advance(dt.timedelta(hours=2))
    data_file.write_text(page_yaml().replace("date: 2025-06-20", "date: 2025-06-27"), encoding="utf-8")
    reloaded(client.application)
    items = client.get("/api/v1/changes?since=2025-06-10").get_json()["items"]
    (moved,) = [i for i in items if i["event_id"] == "eu-hearing"]
    assert moved["origin"] == "observed"
    assert moved["was_at"]["date"] == "2025-06-20"
    assert moved["now_at"]["date"] == "2025-06-27"
    html = text_of(client, "/changes?since=2025-06-10")
    assert "EU safeguard hearing</a> — changed: was 20 Jun 2025 → now 27 Jun 2025" in html
