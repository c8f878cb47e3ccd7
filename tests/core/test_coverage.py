"""Coverage: every action and every authority, with the next dated step still ahead of `now`."""

from __future__ import annotations

import datetime as dt

from calendar_service.core.calendar import Calendar
from calendar_service.core.coverage import NO_ACTION, NO_AUTHORITY, coverage_of
from calendar_service.core.datafile import parse_calendar
from calendar_service.core.model import Authority

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
SOURCE = 'sources: [{title: Notice, url: "https://example.org/n"}]'

TEXT = f"""\
calendar:
  name: Test calendar
  timezone: America/New_York
  reviewed: 2026-11-01
  contact: curators@example.org
actions:
  - id: pharma
    title: Pharma tariffs
    authority: Section 232
    {SOURCE}
  - id: metals
    title: Metals tariffs
    authority: Section 232
    {SOURCE}
  - id: forgotten
    title: A measure nobody dated
    {SOURCE}
events:
  - id: pharma-proclamation
    title: Proclamation
    kind: announcement
    status: held
    action: pharma
    authority: Section 232
    countries: [US]
    date: 2026-04-02
    verified: 2026-12-07
    {SOURCE}
  - id: pharma-effective
    title: Tariff applies
    kind: tariff
    status: tentative
    outcome: unconfirmed
    action: pharma
    authority: Section 232
    countries: [US]
    date: 2026-07-31
    verified: 2026-12-05
    {SOURCE}
  - id: metals-window
    title: Reduced rates in force
    kind: truce
    status: held
    action: metals
    authority: Section 232
    countries: [US]
    date: 2026-06-08
    end_date: 2027-12-31
    verified: 2026-11-01
    {SOURCE}
  - id: metals-cancelled-step
    title: A step that was called off
    kind: tariff
    status: cancelled
    action: metals
    authority: Section 232
    countries: [US]
    date: 2027-01-15
    {SOURCE}
  - id: metals-review
    title: Review due
    kind: deadline
    action: metals
    authority: Section 232
    countries: [US]
    date: 2027-06-30
    verified: 2026-10-01
    {SOURCE}
  - id: loose-summit
    title: Summit
    kind: summit
    countries: [US]
    date: 2026-12-14
    {SOURCE}
"""


def calendar() -> Calendar:
    return parse_calendar(TEXT.encode(), "events.yaml", today=NOW.date()).calendar


def test_every_action_gets_a_row_and_empty_ones_show_as_gaps() -> None:
    report = coverage_of(calendar(), NOW)
    rows = {row.key: row for row in report.actions}
    assert list(rows) == ["forgotten", "metals", "pharma", NO_ACTION]
    assert (rows["forgotten"].events, rows["forgotten"].next_step, rows["forgotten"].last_verified) == (
        0,
        None,
        None,
    )
    pharma = rows["pharma"]
    assert pharma.next_step is None  # both dates are past
    assert pharma.unconfirmed == 1  # and one of them no source confirms
    assert pharma.last_verified == dt.date(2026, 12, 7)


def test_the_next_step_is_the_first_moment_ahead_and_cancelled_events_do_not_count() -> None:
    rows = {row.key: row for row in coverage_of(calendar(), NOW).actions}
    metals = rows["metals"]
    assert metals.events == 2  # the cancelled step is left out
    assert metals.next_step is not None
    # The window began before now and ends on 31 December 2027; the review of 30 June 2027 comes first.
    assert metals.next_step.event.id == "metals-review"
    assert metals.last_verified == dt.date(2026, 11, 1)
    later = coverage_of(calendar(), dt.datetime(2027, 7, 2, tzinfo=dt.UTC))
    after_review = {row.key: row for row in later.actions}["metals"].next_step
    assert after_review is not None
    assert after_review.event.id == "metals-window"  # now its end is the next moment
    assert after_review.at.date() == dt.date(2028, 1, 1)  # the end of 31 December in New York, in UTC


def test_every_authority_of_the_vocabulary_is_listed() -> None:
    rows = {row.key: row for row in coverage_of(calendar(), NOW).authorities}
    assert set(rows) == {authority.value for authority in Authority} | {NO_AUTHORITY}
    assert rows["Section 201"].events == 0
    assert rows["Section 201"].next_step is None
    section_232 = rows["Section 232"]
    assert section_232.events == 4
    assert section_232.next_step is not None
    assert section_232.next_step.event.id == "metals-review"
    assert section_232.unconfirmed == 1
    loose = rows[NO_AUTHORITY].next_step
    assert loose is not None
    assert loose.event.id == "loose-summit"
