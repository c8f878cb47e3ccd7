"""The iCalendar feed: RFC 5545/7986 shape, bytes, times, revisions, tombstones, alarms, golden files.

The same properties `/work/shared/tools/ics-check` checks are asserted here without it: the feed is read
back with icalendar, and instants are compared with zoneinfo. Golden files: `python -m tests.regen_golden`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import icalendar
import pytest

from calendar_service.core.calendar import Calendar
from calendar_service.core.errors import FilterError
from calendar_service.core.filters import EventFilter, parse_filter
from calendar_service.core.publication import Published, reconcile
from calendar_service.render.ical import escape_text, fold, parse_alarms, render_feed
from tests import regen_golden as golden
from tests.support.paths import DATA

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")

RICH = """\
calendar:
  name: Trade, policy; dates
  description: Deadlines with sources
  timezone: America/New_York
  reviewed: 2025-06-01
  contact: desk@example.org
events:
  - id: reciprocal
    title: Reciprocal tariffs take effect
    kind: tariff
    status: scheduled
    countries: [US, CN]
    importance: high
    tags: [reciprocal]
    authority: IEEPA
    instrument: EO 14257
    hs: ["85", "8542"]
    location: Washington, D.C.
    description: "Line one; with semicolon, comma\\\\backslash\\nline two"
    date: 2025-04-09
    time: "00:01"
    tz: America/New_York
    history:
      - changed: 2025-04-02
        kind: rescheduled
        was: {date: 2025-04-05, time: "00:01", tz: America/New_York}
        note: moved by the annex
    sources:
      - {title: "Regulating imports", publisher: White House, date: 2025-04-02, url: "https://example.com/eo"}
      - {title: Federal Register notice, url: "https://example.com/fr"}
  - id: winter-talks
    title: Winter talks — 北京 session ✓
    kind: talks
    countries: [US, CN]
    date: 2025-01-15
    time: "09:00"
    tz: America/New_York
    end_time: "17:00"
    sources: [{title: Reuters}]
  - id: summer-talks
    title: Summer talks
    kind: talks
    countries: [GB]
    date: 2025-07-15
    time: "09:00"
    tz: Europe/London
    end_time: "17:00"
    sources: [{title: Reuters}]
  - id: long-window
    title: Suspension window
    kind: truce
    countries: [US, CN]
    date: 2025-08-12
    time: "00:01"
    tz: America/New_York
    duration: P90D
    sources: [{title: EO}]
  - id: mid-august
    title: Review due
    kind: deadline
    precision: approximate
    countries: [US]
    date: 2025-08-15
    sources: [{title: Notice}]
  - id: postponed-call
    title: Leaders' call
    kind: call
    status: postponed
    countries: [US, CN]
    date: 2025-09-01
    sources: [{title: Press}]
  - id: tokyo
    title: Tokyo round
    kind: talks
    countries: [JP]
    date: 2025-03-03
    time: "10:00"
    tz: Asia/Tokyo
    sources: [{title: Press}]
"""


def lines_of(feed: bytes) -> list[bytes]:
    assert feed.endswith(b"\r\n")
    return feed[:-2].split(b"\r\n")


def unfolded(feed: bytes) -> list[str]:
    return feed.decode("utf-8").replace("\r\n ", "").split("\r\n")[:-1]


def rich() -> tuple[Calendar, dict[str, Published]]:
    calendar = golden.calendar_from(RICH)
    return calendar, reconcile({}, calendar, golden.T0, golden.RETENTION)


def events_by_uid(feed: bytes) -> dict[str, icalendar.Event]:
    parsed = icalendar.Calendar.from_ical(feed)
    return {str(event["UID"]): event for event in parsed.walk("VEVENT")}


def assert_well_formed(feed: bytes) -> icalendar.Calendar:
    """What every feed must satisfy, whatever the data or filter."""
    assert not feed.startswith(b"\xef\xbb\xbf")
    feed.decode("utf-8")
    assert not re.search(rb"(?<!\r)\n", feed), "bare LF"
    assert not re.search(rb"\r(?!\n)", feed), "bare CR"
    for line in lines_of(feed):
        assert len(line) <= 75, line
        if line[:1] == b" ":
            assert (line[1] & 0xC0) != 0x80, "a fold splits a UTF-8 sequence"
    parsed = icalendar.Calendar.from_ical(feed)
    for component in parsed.walk():
        assert not getattr(component, "errors", []), component.errors
    assert parsed["VERSION"] == "2.0"
    assert parsed["PRODID"]
    assert parsed["CALSCALE"] == "GREGORIAN"
    assert parsed["NAME"] == parsed["X-WR-CALNAME"]
    assert parsed["DESCRIPTION"]
    assert parsed["X-PUBLISHED-TTL"]
    assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:" in feed
    assert "METHOD" not in parsed
    assert not parsed.get_missing_tzids()
    used = {
        str(p.params["TZID"])
        for e in parsed.walk("VEVENT")
        for k in ("DTSTART", "DTEND")
        if (p := e.get(k)) is not None and "TZID" in p.params
    }
    declared = [str(tz["TZID"]) for tz in parsed.walk("VTIMEZONE")]
    assert sorted(declared) == sorted(used), "exactly one VTIMEZONE per TZID used"
    for tz in parsed.walk("VTIMEZONE"):
        assert "COMMENT" not in tz
        assert b"RDATE" not in tz.to_ical()
        for observance in tz.subcomponents:
            assert "RDATE" not in observance
    uids = [str(e["UID"]) for e in parsed.walk("VEVENT")]
    assert len(uids) == len(set(uids))
    for event in parsed.walk("VEVENT"):
        stamp = event["DTSTAMP"].dt
        assert stamp.utcoffset() == dt.timedelta(0)
        assert event["DTSTAMP"].to_ical() == event["LAST-MODIFIED"].to_ical()
        start, end = event["DTSTART"].dt, event["DTEND"].dt
        assert isinstance(start, dt.datetime) == isinstance(end, dt.datetime)
        if isinstance(start, dt.datetime):
            assert start.tzinfo is not None
            assert end > start
        else:
            assert end > start
        assert str(event["STATUS"]) in {"TENTATIVE", "CONFIRMED", "CANCELLED"}
        assert str(event["UID"]).endswith("@trade-calendar")
    return parsed


# --- golden files --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(golden.CASES))
def test_golden_feed(name: str) -> None:
    expected = (golden.GOLDEN / name).read_bytes()
    rendered = golden.CASES[name]()
    assert rendered == expected, f"{name} changed; if intended, run `python -m tests.regen_golden`"
    assert_well_formed(rendered)


# --- shape of the feed ---------------------------------------------------------------------------------


def test_same_inputs_same_bytes_even_after_a_json_round_trip() -> None:
    calendar, states = rich()
    first = render_feed(calendar, states, EventFilter())
    stored = {
        k: Published(
            s.event_id,
            s.fingerprint,
            s.sequence,
            s.last_modified,
            s.removed_at,
            json.loads(json.dumps(s.snapshot)),
        )
        for k, s in states.items()
    }
    assert render_feed(calendar, stored, EventFilter()) == first
    assert render_feed(calendar, states, EventFilter()) == first


def test_rich_feed_is_well_formed() -> None:
    calendar, states = rich()
    assert_well_formed(render_feed(calendar, states, EventFilter(), alarms=parse_alarms(["P1D"])))


def test_truce_is_all_day_with_exclusive_end() -> None:
    feed = golden.CASES["small.ics"]()
    text = unfolded(feed)
    block = text[text.index("UID:truce@trade-calendar") :]
    assert "DTSTART;VALUE=DATE:20250514" in block
    assert block[block.index("DTSTART;VALUE=DATE:20250514") + 1] == "DTEND;VALUE=DATE:20250812"


def test_moment_gets_a_short_explicit_end_in_its_zone() -> None:
    calendar, states = rich()
    event = events_by_uid(render_feed(calendar, states, EventFilter()))["reciprocal@trade-calendar"]
    assert event["DTSTART"].to_ical() == b"20250409T000100"
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert event["DTEND"].dt - event["DTSTART"].dt == dt.timedelta(minutes=30)


def test_instants_match_zoneinfo_in_winter_and_summer() -> None:
    calendar, states = rich()
    feed = render_feed(calendar, states, EventFilter())
    parsed = icalendar.Calendar.from_ical(feed)
    # Read the times through the VTIMEZONEs in the file, as Outlook and Thunderbird do, not by zone name.
    zones = {str(tz["TZID"]): tz.to_tz(lookup_tzid=False) for tz in parsed.walk("VTIMEZONE")}
    events = {str(e["UID"]).split("@")[0]: e for e in parsed.walk("VEVENT")}
    expected = {
        "winter-talks": (dt.datetime(2025, 1, 15, 14, 0), dt.datetime(2025, 1, 15, 22, 0)),  # EST
        "summer-talks": (dt.datetime(2025, 7, 15, 8, 0), dt.datetime(2025, 7, 15, 16, 0)),  # BST
        "reciprocal": (dt.datetime(2025, 4, 9, 4, 1), dt.datetime(2025, 4, 9, 4, 31)),  # EDT
        "tokyo": (dt.datetime(2025, 3, 3, 1, 0), dt.datetime(2025, 3, 3, 1, 30)),
        "long-window": (dt.datetime(2025, 8, 12, 4, 1), dt.datetime(2025, 11, 10, 5, 1)),  # EDT → EST
    }
    for event_id, (start, end) in expected.items():
        event = events[event_id]
        for name, want in (("DTSTART", start), ("DTEND", end)):
            prop = event[name]
            value = prop.dt
            if "TZID" in prop.params:
                value = value.replace(tzinfo=zones[str(prop.params["TZID"])])
            assert value.astimezone(dt.UTC) == want.replace(tzinfo=dt.UTC), (event_id, name)
    # And the same instants as the store resolved them through zoneinfo.
    for event_id in expected:
        assert calendar.get(event_id).start_utc(NY) == expected[event_id][0].replace(tzinfo=dt.UTC)


def test_vtimezones_use_yearly_rules() -> None:
    calendar, states = rich()
    parsed = icalendar.Calendar.from_ical(render_feed(calendar, states, EventFilter()))
    zones = {str(tz["TZID"]): tz for tz in parsed.walk("VTIMEZONE")}
    assert set(zones) == {"America/New_York", "Europe/London", "Asia/Tokyo"}
    for name in ("America/New_York", "Europe/London"):
        kinds = sorted(o.name for o in zones[name].subcomponents)
        assert kinds == ["DAYLIGHT", "STANDARD"]
        assert all("RRULE" in o for o in zones[name].subcomponents)
    assert [o.name for o in zones["Asia/Tokyo"].subcomponents] == ["STANDARD"]


def test_status_summary_and_description() -> None:
    calendar, states = rich()
    events = events_by_uid(render_feed(calendar, states, EventFilter()))
    reciprocal = events["reciprocal@trade-calendar"]
    assert str(reciprocal["STATUS"]) == "CONFIRMED"
    assert str(reciprocal["LOCATION"]) == "Washington, D.C."
    assert str(reciprocal["URL"]) == "https://example.com/eo"
    assert [str(c) for c in reciprocal["CATEGORIES"].cats] == ["tariff", "reciprocal"]
    description = str(reciprocal["DESCRIPTION"])
    for part in (
        "Line one; with semicolon, comma\\backslash\nline two",
        "Authority: IEEPA",
        "Instrument: EO 14257",
        "HS scope: 85, 8542",
        "was 2025-04-05 00:01 America/New_York → now 2025-04-09 00:01 America/New_York",
        "moved by the annex",
        "Regulating imports — White House, 2025-04-02 <https://example.com/eo>",
        "Federal Register notice <https://example.com/fr>",
    ):
        assert part in description, part
    assert reciprocal["SEQUENCE"] == 1  # one recorded change
    approximate = events["mid-august@trade-calendar"]
    assert str(approximate["STATUS"]) == "TENTATIVE"
    assert "approximate" in str(approximate["SUMMARY"])
    assert "approximate" in str(approximate["DESCRIPTION"])
    postponed = events["postponed-call@trade-calendar"]
    assert str(postponed["STATUS"]) == "TENTATIVE"
    assert str(postponed["SUMMARY"]).startswith("Postponed: ")


def test_superseded_event_is_cancelled_and_names_its_successor() -> None:
    event = events_by_uid(golden.CASES["small.ics"]())["expiry@trade-calendar"]
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["SUMMARY"]) == "Superseded: Truce expiry"
    assert "Superseded by: Geneva truce" in str(event["DESCRIPTION"])


def test_calendar_level_properties() -> None:
    calendar, states = rich()
    feed = render_feed(
        calendar, states, EventFilter(), refresh="PT6H", feed_url="https://x.example/c.ics?a=1"
    )
    text = unfolded(feed)
    assert text[:4] == ["BEGIN:VCALENDAR", "VERSION:2.0", text[2], "CALSCALE:GREGORIAN"]
    assert "NAME:Trade\\, policy\\; dates" in text
    assert "X-WR-CALNAME:Trade\\, policy\\; dates" in text
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT6H" in text
    assert "X-PUBLISHED-TTL:PT6H" in text
    assert "SOURCE;VALUE=URI:https://x.example/c.ics?a=1" in text
    assert not any(line.startswith("METHOD") for line in text)


# --- filters and alarms --------------------------------------------------------------------------------


def test_filtered_feed_holds_only_matching_events() -> None:
    calendar, states = rich()
    chosen = parse_filter({"country": ["GB,JP"]})
    feed = render_feed(calendar, states, chosen)
    parsed = assert_well_formed(feed)
    assert set(events_by_uid(feed)) == {"summer-talks@trade-calendar", "tokyo@trade-calendar"}
    assert "country" in str(parsed["X-WR-CALNAME"])
    assert {str(tz["TZID"]) for tz in parsed.walk("VTIMEZONE")} == {"Europe/London", "Asia/Tokyo"}


def test_hs_filter_feed() -> None:
    calendar, states = rich()
    feed = render_feed(calendar, states, parse_filter({"hs": ["854231"]}))
    assert_well_formed(feed)
    assert set(events_by_uid(feed)) == {"reciprocal@trade-calendar"}


def test_alarms_on_live_events_only() -> None:
    calendar, states = rich()
    feed = render_feed(calendar, states, EventFilter(), alarms=parse_alarms(["PT2H", "P1D"]))
    events = events_by_uid(feed)
    alarms = events["reciprocal@trade-calendar"].walk("VALARM")
    assert [a["TRIGGER"].to_ical() for a in alarms] == [b"-P1D", b"-PT2H"]
    assert all(str(a["ACTION"]) == "DISPLAY" and a["DESCRIPTION"] for a in alarms)
    assert not events["postponed-call@trade-calendar"].walk("VALARM")
    small = events_by_uid(render_feed(*golden.small_state(), EventFilter(), alarms=parse_alarms(["P1D"])))
    assert not small["expiry@trade-calendar"].walk("VALARM")  # superseded
    assert small["truce@trade-calendar"].walk("VALARM")


@pytest.mark.parametrize(
    ("values", "triggers"),
    [
        (["P1D"], ["P1D"]),
        (["P1D,PT2H", "P1D"], ["P1D", "PT2H"]),
        (["P1W"], ["P1W"]),
        (["PT0M"], ["PT0M"]),
    ],
)
def test_parse_alarms(values: list[str], triggers: list[str]) -> None:
    assert [d.text for d in parse_alarms(values)] == triggers


@pytest.mark.parametrize("value", ["-P1D", "1 day", "P", "PT", "P1Y", "P1,P2,P3,P4,P5,P6"])
def test_bad_alarm_names_the_parameter(value: str) -> None:
    values = [f"P{i}D" for i in range(1, 7)] if value.startswith("P1,") else [value]
    with pytest.raises(FilterError) as caught:
        parse_alarms(values)
    assert caught.value.parameter == "alarm"


# --- revisions -----------------------------------------------------------------------------------------


def test_sequence_rises_when_a_date_moves_and_removed_events_become_cancelled() -> None:
    before = events_by_uid(golden.CASES["small.ics"]())
    after = events_by_uid(golden.CASES["small-changed.ics"]())
    for uid in ("truce@trade-calendar", "expiry@trade-calendar"):
        assert after[uid]["DTSTART"].to_ical() != before[uid]["DTSTART"].to_ical()
        assert after[uid]["SEQUENCE"] > before[uid]["SEQUENCE"]
        assert after[uid]["LAST-MODIFIED"].dt > before[uid]["LAST-MODIFIED"].dt
    gone = after["london@trade-calendar"]
    assert str(gone["STATUS"]) == "CANCELLED"
    assert str(gone["SUMMARY"]).startswith("Cancelled: ")
    assert gone["SEQUENCE"] == before["london@trade-calendar"]["SEQUENCE"] + 1
    assert gone["DTSTART"].to_ical() == before["london@trade-calendar"]["DTSTART"].to_ical()


def test_tombstone_leaves_the_feed_after_retention() -> None:
    calendar, states = golden.changed_state()
    later = reconcile(states, calendar, golden.T1 + golden.RETENTION, golden.RETENTION)
    assert "london@trade-calendar" not in events_by_uid(render_feed(calendar, later, EventFilter()))


def test_tombstones_follow_the_filter() -> None:
    calendar, states = golden.changed_state()
    kept = parse_filter({"kind": ["talks"]})
    feed = render_feed(calendar, states, kept)
    assert set(events_by_uid(feed)) == {"london@trade-calendar"}
    assert_well_formed(feed)


def test_unreconciled_events_render_deterministically() -> None:
    calendar, _ = golden.small_state()
    feed = render_feed(calendar, {}, EventFilter())
    assert feed == render_feed(calendar, {}, EventFilter())
    assert b"DTSTAMP:20261101T000000Z" in feed  # the data's review date, not the clock


# --- escaping and folding ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a,b;c\\d", "a\\,b\\;c\\\\d"),
        ("one\ntwo\r\nthree\rfour", "one\\ntwo\\nthree\\nfour"),
        ("tab\tok\x07bell", "tab\tokbell"),
        ("plain", "plain"),
    ],
)
def test_escape_text(raw: str, escaped: str) -> None:
    assert escape_text(raw) == escaped


@pytest.mark.parametrize("filler", ["", "a", "ab", "abc"])
@pytest.mark.parametrize("char", ["é", "北", "✓", "🇺🇸", "𝄞"])
def test_fold_never_splits_a_character(filler: str, char: str) -> None:
    line = "SUMMARY:" + filler + char * 60
    folded = fold(line)
    parts = folded.split(b"\r\n")
    assert all(len(part) <= 75 for part in parts)
    assert all(part.startswith(b" ") for part in parts[1:])
    assert b"".join([parts[0], *(p[1:] for p in parts[1:])]).decode("utf-8") == line


def test_short_line_is_not_folded() -> None:
    assert fold("X" * 75) == b"X" * 75
    assert fold("X" * 76) == b"X" * 75 + b"\r\n X"


# --- the real data -------------------------------------------------------------------------------------


def test_real_data_feed_is_well_formed() -> None:
    from calendar_service.core.datafile import load_calendar

    calendar = load_calendar(DATA, today=golden.TODAY).calendar
    states = reconcile({}, calendar, golden.T0, golden.RETENTION)
    feed = render_feed(calendar, states, EventFilter(), alarms=parse_alarms(["P1D"]))
    parsed = assert_well_formed(feed)
    # A repeating entry is one VEVENT (with RRULE), written at its first date.
    firsts = {event.series or event.id: event for event in reversed(calendar.events)}
    assert len(parsed.walk("VEVENT")) == len(firsts)
    zones = {str(tz["TZID"]): tz.to_tz(lookup_tzid=False) for tz in parsed.walk("VTIMEZONE")}
    by_id = {str(e["UID"]).split("@")[0]: e for e in parsed.walk("VEVENT")}
    for uid, event in firsts.items():
        prop = by_id[uid]["DTSTART"]
        value = prop.dt
        if "TZID" in prop.params:
            value = value.replace(tzinfo=zones[str(prop.params["TZID"])])
        if isinstance(value, dt.datetime):
            assert value.astimezone(dt.UTC) == event.start_utc(calendar.tz), event.id
        else:
            assert value == event.start


def test_feed_matching_nothing_is_still_a_valid_calendar() -> None:
    calendar, states = rich()
    feed = render_feed(calendar, states, parse_filter({"hs": ["01"]}))
    parsed = icalendar.Calendar.from_ical(feed)
    assert not parsed.walk("VEVENT")
    # RFC 5545 §3.6: at least one component; the calendar's own zone serves.
    assert [str(tz["TZID"]) for tz in parsed.walk("VTIMEZONE")] == ["America/New_York"]
    assert all(len(line) <= 75 for line in lines_of(feed))


DST_EDGES = """\
calendar:
  name: DST edges
  timezone: America/New_York
  reviewed: 2025-06-01
  contact: a@b.invalid
events:
  - {id: after-gap, title: After the spring gap, kind: deadline, countries: [US], date: 2025-03-09,
     time: "03:30", sources: [{title: x}]}
  - {id: repeated-hour, title: In the repeated hour, kind: deadline, countries: [US], date: 2025-11-02,
     time: "01:45", sources: [{title: x}]}
  - {id: overnight, title: Across fall-back, kind: talks, countries: [US], date: 2025-11-01, time: "20:00",
     end_date: 2025-11-02, end_time: "06:00", sources: [{title: x}]}
  - {id: sydney, title: Across the southern autumn change, kind: talks, countries: [AU], date: 2025-12-31,
     time: "23:00", tz: Australia/Sydney, end_date: 2026-04-06, end_time: "09:00", sources: [{title: x}]}
"""


def test_instants_near_dst_changes_read_the_same_everywhere() -> None:
    calendar = golden.calendar_from(DST_EDGES)
    feed = render_feed(calendar, reconcile({}, calendar, golden.T0, golden.RETENTION), EventFilter())
    parsed = assert_well_formed(feed)
    zones = {str(tz["TZID"]): tz.to_tz(lookup_tzid=False) for tz in parsed.walk("VTIMEZONE")}
    for event in parsed.walk("VEVENT"):
        source = calendar.get(str(event["UID"]).split("@")[0])
        got = []
        for name in ("DTSTART", "DTEND"):
            prop = event[name]
            value = prop.dt
            if "TZID" in prop.params:
                value = value.replace(tzinfo=zones[str(prop.params["TZID"])])
            got.append(value.astimezone(dt.UTC))
        end = source.end_utc(calendar.tz) or source.start_utc(calendar.tz) + dt.timedelta(minutes=30)
        assert got == [source.start_utc(calendar.tz), end], source.id
    # Spans whose zone changes offset between start and end are written in UTC (ical.js would misread
    # DTEND - DTSTART added on the wall clock), as is a moment whose 30 minutes cross the change.
    text = unfolded(feed)
    assert "DTSTART:20251102T000000Z" in text
    assert "DTSTART:20251231T120000Z" in text
    assert "DTSTART:20251102T054500Z" in text
    assert "DTSTART;TZID=America/New_York:20250309T033000" in text
