"""The filter parser: the vocabulary decides what is valid, never the data loaded today."""

from __future__ import annotations

import datetime as dt

import pytest

from calendar_service.core.calendar import Calendar
from calendar_service.core.errors import FilterError
from calendar_service.core.filters import FILTER_PARAMETERS, EventFilter, known_values, parse_filter
from calendar_service.core.model import Authority, Kind, Status
from tests.support.reminders import event, make_calendar

AT = dt.datetime(2027, 3, 1, 15, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("name", "given", "canonical"),
    [
        ("country", "gb", "GB"),
        ("country", "eu", "EU"),
        ("country", "*", "*"),
        ("kind", "Export-Control", Kind.EXPORT_CONTROL),
        ("status", "POSTPONED", Status.POSTPONED),
        ("authority", "section-232", Authority.SECTION_232),
        ("authority", "ad/cvd", Authority.AD_CVD),
        ("tag", "Rare-Earths", "rare-earths"),
        ("action", "China-Fentanyl-Tariff", "china-fentanyl-tariff"),
        ("hs", "8542.31", "854231"),
        ("hs", "9903.88.15", "9903.88.15"),
        ("hs", "8542310000", "8542310000"),
    ],
)
def test_spellings_of_valid_values(name: str, given: str, canonical: object) -> None:
    assert getattr(parse_filter({name: [given]}), name) == (canonical,)


@pytest.mark.parametrize(
    ("name", "given"),
    [
        ("country", "UK"),
        ("country", "USA"),
        ("kind", "party"),
        ("status", "done"),
        ("importance", "urgent"),
        ("authority", "Section 999"),
        ("tag", "two words"),
        ("tag", "under_score"),
        ("action", "-leading"),
        ("hs", "854"),
        ("hs", "85a"),
        ("hs", "12345678901"),
        ("country", "U" * 500),
    ],
)
def test_values_outside_the_vocabulary_name_the_parameter(name: str, given: str) -> None:
    with pytest.raises(FilterError) as info:
        parse_filter({name: [given]})
    assert info.value.parameter == name
    assert name in str(info.value)
    assert len(str(info.value)) < 300


def test_unknown_names_and_non_text_values_are_refused_by_name() -> None:
    with pytest.raises(FilterError) as unknown:
        parse_filter({"cuntry": ["GB"]})
    assert unknown.value.parameter == "cuntry"
    with pytest.raises(FilterError) as number:
        parse_filter({"kind": [1]})  # type: ignore[list-item]
    assert number.value.parameter == "kind"


def test_every_parameter_is_a_field_of_the_filter() -> None:
    assert tuple(EventFilter.__dataclass_fields__) == FILTER_PARAMETERS


def test_a_valid_value_no_event_has_selects_nothing_without_an_error() -> None:
    calendar = make_calendar(event("a", AT), event("b", AT, tags=("steel",)))
    assert parse_filter({"action": ["eu-steel-quota"]}).apply(calendar) == []
    assert parse_filter({"tag": ["rare-earths"]}).apply(calendar) == []
    assert parse_filter({"tag": ["steel"]}).apply(calendar) == [calendar.get("b")]


def test_a_chapter_99_heading_finds_the_events_filed_under_it() -> None:
    one = {**event("one", AT), "chapter99": ["9903.01.25"]}
    span = {**event("span", AT), "chapter99": ["9903.01.43-9903.01.76"]}
    product = {**event("product", AT), "hs": ["85"]}
    calendar = make_calendar(one, span, product)

    def ids(code: str) -> list[str]:
        return [e.id for e in parse_filter({"hs": [code]}).apply(calendar)]

    assert ids("9903.01.25") == ["one"]
    assert ids("9903.01.43") == ids("9903.01.50") == ids("9903.01.76") == ["span"]
    assert ids("9903.01.77") == []
    assert ids("8542.31") == ["product"]
    assert ids("99") == []  # digits are a product code, never a heading


def test_choices_offered_follow_the_content_not_a_version_label() -> None:
    """Two calendars sharing a version label (as a one-event slice once did) keep their own values."""
    whole = make_calendar(event("us", AT, countries=("US", "CN")), event("gb", AT, countries=("GB",)))
    slice_ = Calendar(whole.meta, (whole.get("us"),), whole.version)
    assert known_values(slice_)["country"] == {"US", "CN"}
    assert known_values(whole)["country"] == {"US", "CN", "GB"}
    assert parse_filter({"country": ["GB"]}).apply(whole) == [whole.get("gb")]
