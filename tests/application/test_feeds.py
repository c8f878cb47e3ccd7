"""The feed use case without HTTP: choices read from a query, the canonical address, the rendered feed."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest

from calendar_service.adapters.live import Snapshot
from calendar_service.application.feeds import FeedChoices, build_feed, choices_from_query
from calendar_service.core.errors import FilterError
from calendar_service.core.filters import EventFilter
from tests import regen_golden as golden

BASE = "https://calendar.example.org"


def small_snapshot(generation: int = 1) -> Snapshot:
    calendar, states = golden.small_state()
    moment = dt.datetime(2025, 6, 10, 12, 0, 0, 123456, tzinfo=dt.UTC)
    return Snapshot(calendar, states, moment, moment, generation)


@pytest.mark.parametrize(
    "params",
    [
        {"kind": ["talks,truce"], "alarm": ["PT2H,P1D"]},
        {"kind": ["truce", "talks"], "alarm": ["P1D", "PT2H"]},
        {"alarm": ["PT2H", "P1D", "PT2H"], "kind": [" truce ,talks"], "utm_source": ["mail"]},
    ],
)
def test_every_spelling_has_one_canonical_address(params: dict[str, list[str]]) -> None:
    choices = choices_from_query(params)
    assert choices.url(BASE + "/") == f"{BASE}/calendar.ics?kind=talks%2Ctruce&alarm=P1D%2CPT2H"


def test_no_choices_is_the_bare_address() -> None:
    assert choices_from_query({}).url(BASE) == f"{BASE}/calendar.ics"


def test_parameters_the_feed_does_not_take_are_named_once_in_order() -> None:
    choices = choices_from_query({"cuntry": ["GB"], "country": ["GB"], "_": ["1"], "utm_source": ["x"]})
    assert choices.ignored == ("cuntry", "_", "utm_source")
    assert choices.url(BASE) == f"{BASE}/calendar.ics?country=GB"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"kind": ["party"]}, "kind"),
        ({"alarm": ["tomorrow"]}, "alarm"),
        ({"alarm": ["-P1D"]}, "alarm"),
        ({"country": ["ZZ"], "alarm": ["P1D"]}, "country"),
    ],
)
def test_a_bad_choice_is_a_filter_error_naming_the_parameter(
    params: dict[str, list[str]], parameter: str
) -> None:
    with pytest.raises(FilterError) as raised:
        choices_from_query(params)
    assert raised.value.parameter == parameter


def test_the_feed_is_the_same_bytes_and_etag_for_the_same_inputs() -> None:
    snapshot = small_snapshot()
    first = build_feed(snapshot, choices_from_query({"kind": ["talks,truce"]}), BASE)
    again = build_feed(small_snapshot(generation=2), choices_from_query({"kind": ["truce", "talks"]}), BASE)
    assert (again.body, again.etag) == (first.body, first.etag)
    other = build_feed(snapshot, choices_from_query({"kind": ["talks"]}), BASE)
    assert other.etag != first.etag


def test_the_feed_advertises_its_canonical_address_and_links_each_event_to_its_page() -> None:
    choices = choices_from_query({"alarm": ["PT2H,P1D"], "kind": ["truce,talks"], "_": ["99"]})
    feed = build_feed(small_snapshot(), choices, BASE + "/", refresh="PT6H")
    assert feed.url == f"{BASE}/calendar.ics?kind=talks%2Ctruce&alarm=P1D%2CPT2H"
    parsed = icalendar.Calendar.from_ical(feed.body)
    assert str(parsed["SOURCE"]) == feed.url
    assert str(parsed["REFRESH-INTERVAL"].to_ical().decode()) == "PT6H"
    events = parsed.walk("VEVENT")
    assert events
    assert {str(e["CATEGORIES"].cats[0]) for e in events} <= {"talks", "truce"}
    for event in events:
        event_id = str(event["UID"]).split("@")[0]
        assert str(event["URL"]) == f"{BASE}/events/{event_id}"
        assert [str(a["TRIGGER"].to_ical().decode()) for a in event.walk("VALARM")] == ["-P1D", "-PT2H"]


def test_last_modified_is_the_snapshots_to_the_second() -> None:
    feed = build_feed(small_snapshot(), FeedChoices(EventFilter()), BASE)
    assert feed.last_modified == dt.datetime(2025, 6, 10, 12, 0, 0, tzinfo=dt.UTC)


def test_the_body_is_the_golden_feed_apart_from_the_address_lines() -> None:
    # The use case adds only what a served feed has: SOURCE, and each event's page on the site as URL.
    feed = build_feed(small_snapshot(), FeedChoices(EventFilter()), BASE)

    def unfolded(body: bytes) -> list[bytes]:
        lines = body.replace(b"\r\n ", b"").split(b"\r\n")
        return [line for line in lines if not line.startswith((b"SOURCE;", b"URL:"))]

    assert unfolded(feed.body) == unfolded((golden.GOLDEN / "small.ics").read_bytes())
