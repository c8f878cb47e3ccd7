"""A kept answer is the answer: pages and the API, served from the per-process cache, give exactly the
bytes a fresh computation gives at the same clock, across clock moves and data versions.

Hypothesis walks the settable clock over the instants where something turns (deadlines passing,
countdowns ticking, tentative dates passing, a minute or a day turning, one tick before and after
each), sometimes backwards, with data edits and their reverts in between. After each step every path
is fetched from a real loopback server with the caches on, then computed afresh by the same app with
empty caches that keep nothing, then fetched from the server again; the bodies must be equal byte for
byte.

One app and one server serve every example: each starts from the original data file (reloaded), the
clock at START and empty caches, so no example sees another's leftovers. The fresh answer is asked of
the app in-process (the same WSGI stack, Host included, without the socket): a loopback round trip
costs ~3 ms of CPU, ten times a cached answer, and the socket is what the kept answers already cross.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.generate import generate_yaml
from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.settings import Settings
from calendar_service.application.answers import AnswerCache
from calendar_service.application.expiry import TICK
from calendar_service.core.datafile import parse_calendar
from calendar_service.core.model import Status
from calendar_service.web import api, create_app, eventpages, pages
from tests.support.webapp import reloaded, serving

START = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)
# A tentative moment without an end, the day after the clock starts: its status turns while the
# countdown reads "now" (a minute each side), so nothing else bounds that page at that instant.
TIMED = """  - id: hand-timed-tentative
    title: Talks may conclude
    kind: talks
    status: tentative
    countries: [CN]
    date: 2025-06-11
    time: "09:30"
    tz: America/New_York
    sources: [{title: Notice, url: "https://example.org/n"}]
"""
TEXT = generate_yaml(80, seed=11) + TIMED
CALENDAR = parse_calendar(TEXT.encode(), "g.yaml", today=START.date()).calendar
ACTIONS = {e.action for e in CALENDAR if e.action and len(CALENDAR.events_of(e.action)) > 1}
# Event pages that move with the clock: tentative dates (with an action's timeline and without: the
# data's times are whole minutes, so a drawn minute would hide a status left unwatched), a deadline, a
# span (under way).
EVENTS = [
    CALENDAR.get("hand-timed-tentative"),
    next(e for e in CALENDAR if e.status is Status.TENTATIVE and e.action in ACTIONS),
    next(e for e in CALENDAR if e.status is Status.TENTATIVE and e.action not in ACTIONS),
    next(e for e in CALENDAR if e.deadline_at is not None and e.action in ACTIONS),
    next(e for e in CALENDAR if e.end is not None and e.status is Status.SCHEDULED),
]
PATHS = (
    *(f"/events/{event.id}" for event in EVENTS),
    "/",
    "/?deadlines=all",
    "/?country=CN&kind=tariff,deadline",
    "/api/v1/deadlines/upcoming",
    "/api/v1/deadlines/upcoming?within=P7D&limit=5&country=US",
    "/api/v1/events?country=CN",
    "/api/v1/events?status=tentative&limit=7",
)
KEY_INSTANTS = sorted(
    {
        moment
        for event in CALENDAR
        for moment in (event.deadline_at, event.start_utc(CALENDAR.tz), event.end_utc(CALENDAR.tz))
        if moment is not None and START - dt.timedelta(days=30) < moment < START + dt.timedelta(days=60)
    }
)
NUDGES = [
    dt.timedelta(seconds=s, microseconds=u)
    for s in (0, -1, -59, -60, -61, -3600, 60, 3600, 86400 * 7)
    for u in (0, 1, -1)
]
TITLES = [m.start() for m in re.finditer(r"^    title: ", TEXT, re.MULTILINE)]

# The instants where the event pages above turn (a status, a countdown, "under way"), for the table test.
TURNS = sorted(
    {
        moment
        for event in EVENTS
        for moment in (event.deadline_at, event.start_utc(CALENDAR.tz), event.end_utc(CALENDAR.tz))
        if moment is not None
    }
)

Step = tuple[str, object]
STEPS: st.SearchStrategy[Step] = st.one_of(
    st.tuples(st.just("near"), st.tuples(st.sampled_from(KEY_INSTANTS), st.sampled_from(NUDGES))),
    st.tuples(st.just("advance"), st.integers(min_value=1, max_value=90 * 1_000_000)),  # up to 90 s, in µs
    st.tuples(st.just("advance"), st.sampled_from([1, 999_999, 59_000_000, 3_600_000_000, 86_400_000_000])),
    st.tuples(st.just("edit"), st.integers(min_value=0, max_value=len(TITLES) - 1)),
    st.tuples(st.just("revert"), st.none()),
)


CACHES = (pages.ANSWERS, eventpages.ANSWERS, api.ANSWERS, api.FRAGMENTS)


def _emptied(app: Flask, max_entries: int | None = None) -> dict[str, AnswerCache[object]]:
    """New caches for `app`'s, with their bounds (or keeping at most `max_entries`)."""
    return {
        name: AnswerCache(
            max_entries=app.extensions[name].max_entries if max_entries is None else max_entries,
            max_bytes=app.extensions[name].max_bytes,
        )
        for name in CACHES
    }


@contextmanager
def _without_caches(app: Flask) -> Iterator[None]:
    kept = {name: app.extensions[name] for name in CACHES}
    app.extensions.update(_emptied(app, max_entries=0))
    try:
        yield
    finally:
        app.extensions.update(kept)


@dataclass
class Served:
    """The app on test data, its loopback server, its clock and data file, a client of each."""

    app: Flask
    url: str
    clock: SettableClock
    data: Path
    http: requests.Session
    inside: FlaskClient

    def reset(self) -> None:
        """The original data (taken), the clock at START, empty caches: nothing left by an earlier walk."""
        self.data.write_text(TEXT, encoding="utf-8")
        reloaded(self.app)
        self.clock.set(START)
        self.app.extensions.update(_emptied(self.app))

    def same_as_fresh(self, path: str, where: str) -> None:
        kept = self.http.get(self.url + path, timeout=30)
        with _without_caches(self.app):
            fresh = self.inside.get(path, base_url=self.url)
        again = self.http.get(self.url + path, timeout=30)  # from the cache, filled by `kept` or before
        assert kept.status_code == fresh.status_code == again.status_code == 200, path
        assert kept.content == fresh.data, f"{path} {where}"
        assert again.content == fresh.data, f"{path} {where}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("kept")
    data = tmp / "events.yaml"
    data.write_text(TEXT, encoding="utf-8")
    config = Settings.from_env(
        {}, data_path=data, state_dir=tmp / "state", reload_interval=0.001, base_url="", reload_settle=0
    )
    clock = SettableClock(START)
    app = create_app(config, clock=clock)
    with serving(app) as url, requests.Session() as http:
        http.trust_env = False  # loopback: no proxy or netrc to look up on every request
        yield Served(app, url, clock, data, http, app.test_client())


def test_every_page_turns_at_each_instant(served: Served) -> None:
    """Filled a second before each instant where a shown event turns, then asked at it and just after."""
    served.reset()
    for turn in TURNS:
        for nudge in (-dt.timedelta(seconds=1), dt.timedelta(0), TICK, dt.timedelta(seconds=60)):
            served.clock.set(turn + nudge)
            for path in PATHS:
                served.same_as_fresh(path, f"at {served.clock.now().isoformat()}")


@settings(max_examples=10, deadline=None)
@given(steps=st.lists(STEPS, min_size=3, max_size=8))
def test_kept_answers_equal_fresh_ones(served: Served, steps: list[Step]) -> None:
    served.reset()
    clock, data = served.clock, served.data
    for kind, value in [("advance", 0), *steps]:
        if kind == "near":
            instant, nudge = value  # type: ignore[misc]
            clock.set(instant + nudge)
        elif kind == "advance":
            clock.advance(dt.timedelta(microseconds=value))  # type: ignore[arg-type]
        elif kind == "edit":
            at = TITLES[value]  # type: ignore[index]
            data.write_text(TEXT[:at] + "    title: Edited " + TEXT[at + 11 :], encoding="utf-8")
        else:
            data.write_text(TEXT, encoding="utf-8")
        if kind in ("edit", "revert"):
            reloaded(served.app)  # no request waits for a reload: the edit is taken before the comparison
        for path in PATHS:
            served.same_as_fresh(path, f"at {clock.now().isoformat()} after {kind}")
    answers = [served.app.extensions[name] for name in (pages.ANSWERS, eventpages.ANSWERS, api.ANSWERS)]
    assert sum(cache.hits for cache in answers) > 0  # this walk did answer from the cache (emptied at reset)
