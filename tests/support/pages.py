"""The calendar the page tests render."""

from __future__ import annotations

from tests.support.webapp import sample_yaml


def page_yaml() -> str:
    """The web sample plus one action of three dates."""
    text = sample_yaml().replace("\nevents:\n", "\n" + ACTIONS + "events:\n", 1)
    return text.rstrip("\n") + "\n" + ACTION_EVENTS


# An action of three dates (one moved once, one superseded by its successor) around the clock
# fixture (10 June 2025), on top of the shared sample.
ACTION_EVENTS = """
  - id: pause-start
    title: Pause on reciprocal rates begins
    kind: tariff
    action: reciprocal-pause
    countries: [US]
    authority: IEEPA
    instrument: EO 14266
    hs: ["72", "7601"]
    date: 2025-04-10
    time: "00:01"
    tz: America/New_York
    sources: [{title: EO 14266, publisher: White House, url: "https://example.com/eo-14266"}]
  - id: pause-end-july
    title: Pause ends 9 July
    kind: deadline
    status: superseded
    superseded_by: pause-end-august
    action: reciprocal-pause
    countries: [US]
    authority: IEEPA
    instrument: EO 14266
    date: 2025-07-09
    time: "00:01"
    tz: America/New_York
    sources: [{title: EO 14266, url: "https://example.com/eo-14266"}]
  - id: pause-end-august
    title: Pause ends 1 August
    kind: deadline
    action: reciprocal-pause
    countries: [US]
    authority: IEEPA
    instrument: EO 14316
    date: 2025-08-01
    time: "00:01"
    tz: America/New_York
    history:
      - changed: 2025-06-07
        kind: rescheduled
        was: {date: 2025-07-09, time: "00:01", tz: America/New_York}
        note: Extended
        source: {title: EO 14316, url: "https://example.com/eo-14316"}
    sources: [{title: EO 14316, url: "https://example.com/eo-14316"}]
"""


# The record the three dates name in `action:` (events may only name an action listed under `actions:`).
ACTIONS = """actions:
  - id: reciprocal-pause
    title: Pause on country-specific reciprocal rates
    instrument: EO 14266
    authority: IEEPA
    sources: [{title: EO 14266, url: "https://example.com/eo-14266"}]
"""
