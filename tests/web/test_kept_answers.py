"""A kept answer is the answer: pages and the API, served from the per-process cache, give exactly the
bytes a fresh computation gives at the same clock, across clock moves and data versions.

Hypothesis walks the settable clock over the instants where something turns (deadlines passing,
countdowns ticking, tentative dates passing, a minute or a day turning, one tick before and after
each), sometimes backwards, with data edits and their reverts in between. After each step every path
is fetched from a real loopback server with the caches on, then again with empty caches that keep
nothing; the two bodies must be equal byte for byte.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import generate_yaml
from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.settings import Settings
from calendar_service.application.answers import AnswerCache
from calendar_service.core.datafile import parse_calendar
from calendar_service.web import api, create_app, pages
from tests.support.webapp import serving

START = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)
PATHS = (
    "/",
    "/?deadlines=all",
    "/?country=CN&kind=tariff,deadline",
    "/api/v1/deadlines/upcoming",
    "/api/v1/deadlines/upcoming?within=P7D&limit=5&country=US",
    "/api/v1/events?country=CN",
    "/api/v1/events?status=tentative&limit=7",
)
TEXT = generate_yaml(60, seed=11)
CALENDAR = parse_calendar(TEXT.encode(), "g.yaml", today=START.date()).calendar
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

Step = tuple[str, object]
STEPS: st.SearchStrategy[Step] = st.one_of(
    st.tuples(st.just("near"), st.tuples(st.sampled_from(KEY_INSTANTS), st.sampled_from(NUDGES))),
    st.tuples(st.just("advance"), st.integers(min_value=1, max_value=90 * 1_000_000)),  # up to 90 s, in µs
    st.tuples(st.just("advance"), st.sampled_from([1, 999_999, 59_000_000, 3_600_000_000, 86_400_000_000])),
    st.tuples(st.just("edit"), st.integers(min_value=0, max_value=len(TITLES) - 1)),
    st.tuples(st.just("revert"), st.none()),
)


def _uncached() -> dict[str, AnswerCache[object]]:
    return {name: AnswerCache(max_entries=0) for name in (pages.ANSWERS, api.ANSWERS, api.FRAGMENTS)}


@contextmanager
def _without_caches(app: Flask) -> Iterator[None]:
    kept = {name: app.extensions[name] for name in _uncached()}
    app.extensions.update(_uncached())
    try:
        yield
    finally:
        app.extensions.update(kept)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEPS, min_size=3, max_size=8))
def test_kept_answers_equal_fresh_ones(tmp_path_factory: object, steps: list[Step]) -> None:
    tmp = Path(str(tmp_path_factory.mktemp("kept")))  # type: ignore[attr-defined]
    data = tmp / "events.yaml"
    data.write_text(TEXT, encoding="utf-8")
    clock = SettableClock(START)
    config = Settings.from_env(
        {}, data_path=data, state_dir=tmp / "state", reload_interval=0.001, base_url="", reload_settle=0
    )
    app = create_app(config, clock=clock)
    with serving(app) as url:
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
            for path in PATHS:
                kept = requests.get(url + path, timeout=30)
                with _without_caches(app):
                    fresh = requests.get(url + path, timeout=30)
                again = requests.get(url + path, timeout=30)  # from the cache, filled by `kept` or before
                assert kept.status_code == fresh.status_code == again.status_code == 200, path
                where = f"{path} at {clock.now().isoformat()} after {kind}"
                assert kept.content == fresh.content, where
                assert again.content == fresh.content, where
    answers = app.extensions[pages.ANSWERS], app.extensions[api.ANSWERS]
    assert sum(cache.hits for cache in answers) > 0  # the walk did answer from the cache
