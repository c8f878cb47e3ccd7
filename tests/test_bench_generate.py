"""The benchmarks' synthetic calendar is a valid file: its events' actions are listed as records."""

from __future__ import annotations

import datetime as dt

from bench.generate import generate_yaml
from calendar_service.core.datafile import parse_calendar


def test_generated_file_validates_with_its_action_records() -> None:
    text = generate_yaml(80, seed=3)
    calendar = parse_calendar(text.encode(), "gen.yaml", today=dt.date(2026, 1, 15)).calendar
    named = {event.action for event in calendar if event.action}
    assert named
    assert named == {action.id for action in calendar.actions}
