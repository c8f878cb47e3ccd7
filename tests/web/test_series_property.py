"""One series, one set of instants: over generated repeating entries (COUNT, UNTIL, BYDAY, EXDATE;
whole-day and timed; four zones with and without clock changes), the API's occurrences, the feed
read by icalendar + recurring-ical-events, every date's own .ics and the Google link name the same
instants, and a client that imports one date's file and then the feed holds each date once."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from dateutil.rrule import rrulestr
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.settings import Settings
from calendar_service.core import timing
from calendar_service.web import create_app
from tests.support.paths import CALENDAR_HEAD

# Three zones that change their clocks (north and south) and one that does not.
ZONES = ["America/New_York", "Europe/Brussels", "Australia/Sydney", "Asia/Shanghai"]
TIMES = ["00:01", "01:30", "09:30", "23:45"]  # 01:30 happens twice on New York's fall-back night
FIRST = dt.date(2026, 1, 1)
Instant = dt.date | dt.datetime


@dataclass(frozen=True)
class Series:
    """A generated `repeat:` entry."""

    start: dt.date
    time: str | None
    zone: str
    rrule: str
    exdates: tuple[dt.date, ...]

    def yaml(self) -> str:
        """The entry as a curator writes it."""
        lines = [
            "  - id: gen",
            "    title: Generated series",
            "    kind: deadline",
            "    countries: [US]",
            f"    date: {self.start.isoformat()}",
        ]
        lines += (
            [f'    time: "{self.time}"', f"    tz: {self.zone}"]
            if self.time
            else [f"    day_tz: {self.zone}"]
        )
        lines += ["    repeat:", f"      rrule: {self.rrule}"]
        if self.exdates:
            lines.append(f"      exdate: [{', '.join(d.isoformat() for d in self.exdates)}]")
        lines.append('    sources: [{title: Notice, url: "https://example.com/n"}]')
        return CALENDAR_HEAD + "\n".join(lines) + "\n"


@st.composite
def series(draw: st.DrawFn) -> Series:
    zone = draw(st.sampled_from(ZONES))
    start = FIRST + dt.timedelta(days=draw(st.integers(0, 400)))
    time = draw(st.sampled_from([None, *TIMES]))
    freq = draw(st.sampled_from(["DAILY;INTERVAL=9", "WEEKLY", "WEEKLY;INTERVAL=3", "MONTHLY"]))
    rule = f"FREQ={freq}"
    if freq.startswith("WEEKLY") and draw(st.booleans()):
        rule += ";BYDAY=" + draw(st.sampled_from(["MO,TH", "TU", "FR,SA,SU"]))
    if draw(st.booleans()):
        rule += f";COUNT={draw(st.integers(2, 8))}"
    else:
        until = start + dt.timedelta(days=draw(st.integers(20, 120)))
        rule += f";UNTIL={until:%Y%m%d}" + ("T235959Z" if time else "")
    # The entry's own date is the first the rule gives (validate refuses one off the rule).
    pattern = ";".join(p for p in rule.split(";") if not p.startswith(("COUNT", "UNTIL")))
    start = next(iter(rrulestr(pattern + ";COUNT=1", dtstart=dt.datetime.combine(start, dt.time(0))))).date()
    first: Instant = start
    if time:
        first = timing.local_instant(start, timing.parse_clock(time), ZoneInfo(zone))
    dates = [d if isinstance(d, dt.date) and not isinstance(d, dt.datetime) else d.date() for d in
             timing.expand_rule(first, rule)]  # fmt: skip
    skipped = draw(st.lists(st.sampled_from(dates), max_size=min(3, len(dates) - 1), unique=True))
    return Series(start, time, zone, rule, tuple(sorted(skipped)))


def _instant(value: Instant) -> Instant:
    """A date stays a date (a whole day is a day everywhere); a time becomes its UTC instant."""
    return value.astimezone(dt.UTC) if isinstance(value, dt.datetime) else value


def _expanded(ics: bytes) -> list[Instant]:
    """What icalendar + recurring-ical-events read: every occurrence's start."""
    parsed = icalendar.Calendar.from_ical(ics)
    found = recurring_ical_events.of(parsed).between(dt.date(2025, 1, 1), dt.date(2030, 1, 1))
    return sorted(_instant(o["DTSTART"].dt) for o in found)


def _google(link: str) -> list[Instant]:
    """The dates Google's template link makes: `dates` as DTSTART, `recur` as RRULE or RDATE."""
    query = parse_qs(urlsplit(link).query)
    first_text = query["dates"][0].split("/")[0]
    first: Instant
    if "T" in first_text:
        utc = dt.datetime.strptime(first_text, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        first = utc.astimezone(ZoneInfo(query["ctz"][0]))  # a rule repeats on the ctz wall clock
    else:
        first = dt.datetime.strptime(first_text, "%Y%m%d").date()
    recur = query.get("recur", [""])[0]
    if recur.startswith("RRULE:"):
        start = first if isinstance(first, dt.datetime) else dt.datetime.combine(first, dt.time(0))
        dates = list(rrulestr(recur.removeprefix("RRULE:"), dtstart=start))
        return sorted(_instant(d if isinstance(first, dt.datetime) else d.date()) for d in dates)
    others: list[Instant] = []
    if recur.startswith("RDATE"):
        for text in recur.partition(":")[2].split(","):
            if "T" in text:
                others.append(dt.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC))
            else:
                others.append(dt.datetime.strptime(text, "%Y%m%d").date())
    return sorted([_instant(first), *others])


def _client_store(*files: bytes) -> bytes:
    """A calendar client importing files in turn: one object per UID + RECURRENCE-ID, the later wins."""
    store: dict[tuple[str, str], icalendar.cal.Component] = {}
    zones: dict[str, icalendar.cal.Component] = {}
    for ics in files:
        parsed = icalendar.Calendar.from_ical(ics)
        for zone in parsed.walk("VTIMEZONE"):
            zones[str(zone["TZID"])] = zone
        for vevent in parsed.walk("VEVENT"):
            key = (
                str(vevent["UID"]),
                vevent["RECURRENCE-ID"].to_ical().decode() if "RECURRENCE-ID" in vevent else "",
            )
            store[key] = vevent
    merged = icalendar.Calendar()
    for part in [*zones.values(), *store.values()]:
        merged.add_component(part)
    return merged.to_ical()


def _check(client: FlaskClient, generated: Series) -> None:
    api = client.get("/api/v1/events/gen").get_json()
    occurrences = api["occurrences"]
    ours = sorted(
        dt.date.fromisoformat(o["start"]["date"])
        if o["start"]["all_day"]
        else dt.datetime.fromisoformat(o["start"]["utc"].replace("Z", "+00:00"))
        for o in occurrences
    )
    assert not {o["id"].removeprefix("gen-") for o in occurrences} & {
        d.isoformat() for d in generated.exdates
    }
    feed = client.get("/calendar.ics").data
    assert _expanded(feed) == ours
    assert _expanded(client.get("/events/gen.ics").data) == ours
    for occurrence in occurrences:
        own = client.get(f"/events/{occurrence['id']}.ics").data
        assert _expanded(own) == ours, occurrence["id"]
        assert _expanded(_client_store(own, feed)) == ours  # imported, then subscribed: no duplicate
    html = client.get(f"/events/{occurrences[0]['id']}").data.decode()
    link = html.split('id="add-google" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert _google(link) == ours


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=series())
def test_every_view_of_a_series_names_the_same_instants(generated: Series) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "events.yaml"
        data.write_text(generated.yaml(), encoding="utf-8")
        config = Settings.from_env(
            {}, data_path=data, state_dir=Path(tmp) / "state", base_url="", reload_settle=0
        )
        app = create_app(config, clock=SettableClock(dt.datetime(2025, 6, 1, tzinfo=dt.UTC)))
        _check(app.test_client(), generated)
