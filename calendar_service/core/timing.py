"""Turn the times a curator writes into real instants.

Calendar arithmetic follows RFC 5545 §3.3.6: weeks and days are nominal (added on the local wall clock,
so "90 days after 00:01 EDT" is 00:01 local even when daylight saving time ended in between), hours and
minutes are exact elapsed time.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_DURATION = re.compile(
    r"^(?P<sign>[-+])?P(?:(?P<w>[0-9]+)W)?(?:(?P<d>[0-9]+)D)?(?:T(?:(?P<h>[0-9]+)H)?(?:(?P<m>[0-9]+)M)?)?$"
)


# The years a date may fall in: wide enough for any trade measure's history and horizon, narrow enough
# that every instant computed from one (plus the longest span, in any zone) stays far inside what
# Python's datetime holds (years 1-9999), so no view ever overflows on a value the validator passed.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2199
MAX_SPAN_DAYS = 36_525  # 100 years: the longest duration or offset an entry may give


def year_problem(day: dt.date) -> str | None:
    """Why `day` is outside the years a calendar may use, or None when it is inside."""
    if EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        return None
    return f"{day.isoformat()} is outside the years {EARLIEST_YEAR}-{LATEST_YEAR} — check the year"


def span_problem(duration: Duration) -> str | None:
    """Why `duration` is longer than any entry may give, or None when it is not."""
    if abs(duration.days) + abs(duration.seconds) // 86_400 <= MAX_SPAN_DAYS:
        return None
    return f"{duration.text} is longer than 100 years (P{MAX_SPAN_DAYS}D) — check the number"


@dataclass(frozen=True, slots=True)
class Duration:
    """An ISO 8601 duration split into its nominal (days) and exact (seconds) parts."""

    days: int
    seconds: int
    text: str

    @property
    def is_positive(self) -> bool:
        """Whether the duration points forward in time."""
        return self.days > 0 or self.seconds > 0

    def as_timedelta(self) -> dt.timedelta:
        """Treat days as 24 hours: right for lead times measured in real elapsed time."""
        return dt.timedelta(days=self.days, seconds=self.seconds)


def parse_duration(text: str) -> Duration:
    """Parse `P90D`, `PT1H`, `-P7D`, `P1W`; raise ValueError naming the text otherwise."""
    match = _DURATION.match(text.strip())
    if not match or text.strip() in {"P", "-P", "+P", "PT"} or text.strip().endswith("T"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as P90D, P1D or PT1H")
    sign = -1 if match["sign"] == "-" else 1
    days = int(match["w"] or 0) * 7 + int(match["d"] or 0)
    seconds = int(match["h"] or 0) * 3600 + int(match["m"] or 0) * 60
    return Duration(sign * days, sign * seconds, text.strip())


def duration_text(days: int, seconds: int = 0) -> str:
    """Non-negative days and seconds as an ISO 8601 duration: P1D, PT1H30M, P2DT5S; PT0S for nothing."""
    text = "P" + (f"{days}D" if days else "")
    if seconds or not days:
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        text += "T" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
        text += f"{secs}S" if secs or not (hours or minutes) else ""
    return text


def iso_duration(delta: dt.timedelta) -> str:
    """The one ISO 8601 writer for a span: whole seconds, negative spans as zero (`P1DT2H30M`, `PT0S`)."""
    return duration_text(*divmod(max(int(delta.total_seconds()), 0), 86400))


def utc_text(value: dt.datetime) -> str:
    """An aware datetime as ISO 8601 UTC with a Z (microseconds kept when there are any)."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; ValueError (not a cryptic KeyError) when there is none by that name."""
    if name not in _zone_names():
        close = difflib.get_close_matches(name, sorted(_zone_names()), n=1, cutoff=0.8)
        hint = f"did you mean {close[0]!r}?" if close else "use an IANA name such as America/New_York"
        raise ValueError(f"unknown time zone {name!r} — {hint}")
    try:
        return _cached_zone(name)
    except ZoneInfoNotFoundError as exc:  # pragma: no cover - listed but not loadable
        raise ValueError(f"unknown time zone {name!r}") from exc


@cache
def _cached_zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def parse_clock(text: str) -> dt.time:
    """Parse `HH:MM`."""
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def local_instant(day: dt.date, clock: dt.time, tz: dt.tzinfo) -> dt.datetime:
    """Attach `tz` to a wall-clock time; in a DST gap the time is read as if the clock had not moved."""
    return dt.datetime.combine(day, clock, tzinfo=tz)


def wall_clock_exists(moment: dt.datetime) -> bool:
    """Whether a local time exists (is not skipped by a spring-forward gap)."""
    utc = moment.astimezone(dt.UTC)
    back = utc.astimezone(moment.tzinfo)
    return back.replace(tzinfo=None) == moment.replace(tzinfo=None)


def clock_change(moment: dt.datetime) -> tuple[dt.time, dt.time] | None:
    """For a local time in a DST gap or overlap, the wall clock just before and just after the change."""
    tz = moment.tzinfo
    early = moment.replace(fold=0).astimezone(dt.UTC)
    late = moment.replace(fold=1).astimezone(dt.UTC)
    if early == late or tz is None:
        return None
    low, high = min(early, late), max(early, late)
    before = low.astimezone(tz).utcoffset()
    # Transitions fall on whole seconds: bisect the instant the offset changes.
    span = int((high - low).total_seconds())
    lo, hi = 0, span
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if (low + dt.timedelta(seconds=mid)).astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    change = low + dt.timedelta(seconds=hi)
    after = change.astimezone(tz).utcoffset()
    assert before is not None
    assert after is not None
    return (change + before).time(), (change + after).time()


def shift(moment: dt.date | dt.datetime, by: Duration) -> dt.date | dt.datetime:
    """Add a duration: days on the local calendar, hours and minutes in elapsed time."""
    if isinstance(moment, dt.datetime):
        local = moment + dt.timedelta(days=by.days)  # aware + timedelta keeps the wall clock
        if by.seconds:
            tz = local.tzinfo
            local = (local.astimezone(dt.UTC) + dt.timedelta(seconds=by.seconds)).astimezone(tz)
        return local
    return moment + dt.timedelta(days=by.days)


# --- recurrence (RFC 5545 §3.3.10, expanded with python-dateutil) --------------------------------------

MAX_OCCURRENCES = 500  # dates one rule may give
MAX_FILE_OCCURRENCES = 5_000  # dates all the rules of a file may give together
MAX_SERIES_YEARS = 50  # a series' dates all fall within this many years of its first
# Periods (months; years for YEARLY) all the rules of a file may walk: 500 monthly dates are 500, a daily
# rule walked through 50 years 600 (~60 ms of dateutil's day-by-day stepping).
MAX_FILE_STEPS = 10_000
# RFC 5545 §3.3.10's rule parts, less the sub-daily ones (below); dateutil also reads BYEASTER, which no
# calendar client does: a rule using it would be a different series in the feed and in the API.
_RULE_PARTS = frozenset(
    {"FREQ", "UNTIL", "COUNT", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH",
     "BYSETPOS", "WKST"}
)  # fmt: skip
_SUB_DAILY_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
# Where RFC 5545 allows a part only with some frequencies (dateutil accepts them everywhere).
_ONLY_WITH = {
    "BYWEEKNO": ("YEARLY",),
    "BYYEARDAY": ("YEARLY",),  # also HOURLY and finer, which are refused anyway
    "BYMONTHDAY": ("DAILY", "MONTHLY", "YEARLY"),
}


def rule_parts(rule: str) -> dict[str, str]:
    """`FREQ=YEARLY;COUNT=3` as {"FREQ": "YEARLY", "COUNT": "3"} (names and values upper-cased)."""
    parts: dict[str, str] = {}
    for part in rule.strip().split(";"):
        name, sep, value = part.partition("=")
        name = name.strip().upper()
        if not sep or not name or not value.strip():
            raise ValueError(f"{part!r} is not NAME=VALUE — write the rule as e.g. FREQ=YEARLY;COUNT=4")
        if name in parts:
            raise ValueError(f"{name} is given twice — RFC 5545 allows each rule part once")
        parts[name] = value.strip().upper()
    return parts


def expand_rule(
    first: dt.date | dt.datetime, rule: str, exdates: Sequence[dt.date] = ()
) -> list[dt.date | dt.datetime]:
    """Every occurrence of `rule` from `first` (its DTSTART), without the local days in `exdates`.

    RFC 5545 semantics, the same for the feed, the API and reminders: `first` must be a date the rule
    gives (§3.8.5.3 leaves a DTSTART the rule does not give undefined, and clients disagree), the rule
    uses RFC 5545's parts only, ends by COUNT or by UNTIL (not both, §3.3.10), and UNTIL is not before
    `first`. A timed series repeats on the wall clock of `first`'s zone, so 00:01 stays 00:01 across
    daylight-saving changes; its UNTIL is UTC (ending in Z). An all-day series repeats dates and its
    UNTIL is a date. Every series is bounded: at most MAX_OCCURRENCES dates within MAX_SERIES_YEARS of
    `first`, so expanding any rule walks at most 50 years of its periods (the results are cached by
    start and rule: every feed filter and event page of one data version shares them).
    ValueError says what is wrong in a curator's terms.
    """
    skip = set(exdates)
    return [moment for moment in _expand(first, rule.strip())[0] if _day_of(moment) not in skip]


def expansion_steps(first: dt.date | dt.datetime, rule: str) -> int:
    """How many periods (months; years for YEARLY) expanding a valid `rule` walks: its cost.

    The same for the same rule every time (a cached expansion counts as much as a fresh one), so a
    file's verdict never depends on what was expanded before it.
    """
    return _expand(first, rule.strip())[1]


def _day_of(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


@lru_cache(maxsize=4096)
def _expand(first: dt.date | dt.datetime, rule: str) -> tuple[tuple[dt.date | dt.datetime, ...], int]:
    from dateutil.rrule import rrulestr  # imported here: only files with `repeat:` pay for it

    parts = _checked_parts(rule)
    timed = isinstance(first, dt.datetime)
    start = first if isinstance(first, dt.datetime) else dt.datetime.combine(first, dt.time(0))
    horizon = _years_after(_day_of(first), MAX_SERIES_YEARS)
    until = parts.get("UNTIL")
    if until is not None:
        until_day = _until_day(until, timed)
        before = _until_instant(until) < start if timed else until_day < _day_of(first)
        if before:
            raise ValueError(f"UNTIL={until} is before the first date {_day_of(first)} — the series is empty")
        if until_day > horizon:
            raise ValueError(
                f"UNTIL={until} is more than {MAX_SERIES_YEARS} years after the first date — end it sooner"
            )
        bounded = rule
    else:
        # COUNT: expanded up to the horizon, so a rule that rarely or never matches costs bounded steps.
        end = f"{horizon:%Y%m%d}T235959Z" if timed else f"{horizon:%Y%m%d}"
        bounded = ";".join(f"{k}={v}" for k, v in parts.items() if k != "COUNT") + f";UNTIL={end}"
    try:
        steps = [0]
        series = _walk_bounded(rrulestr(bounded, dtstart=start), parts["FREQ"], steps)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not an RFC 5545 rule: {exc}") from None
    wanted = int(parts["COUNT"]) if "COUNT" in parts else MAX_OCCURRENCES
    out: list[dt.date | dt.datetime] = []
    for moment in series:
        if len(out) == wanted:
            if "COUNT" in parts:
                break
            raise ValueError(f"the rule gives more than {MAX_OCCURRENCES} dates — lower COUNT or UNTIL")
        out.append(moment if timed else moment.date())
    if not out or out[0] != first:
        # RFC 5545 §3.8.5.3: a DTSTART the rule does not give makes the set undefined; calendar apps
        # show it as a date anyway while the rule's expansion (and so the API) would not.
        day = _day_of(first)
        raise ValueError(
            f"the rule does not give the entry's own date {day} ({day:%A}) — make `date:` the first date "
            "the rule gives, or change the rule (e.g. its BYDAY)"
        )
    if "COUNT" in parts and len(out) < wanted:
        raise ValueError(
            f"COUNT={wanted} but the rule gives {len(out)} date(s) in the {MAX_SERIES_YEARS} years from "
            f"{_day_of(first)} — lower COUNT"
        )
    last = _day_of(out[-1])
    if last.year > LATEST_YEAR:
        raise ValueError(f"the rule gives dates past {LATEST_YEAR} ({last}) — end it sooner")
    return tuple(out), steps[0]


class _OutOfSteps(Exception):
    pass


_FIRST_STEPS = 3  # month tables walked before the first date (1 when the start is a date the rule gives)


def _walk_bounded(series: Any, freq: str, steps: list[int]) -> Iterator[dt.datetime]:
    """`series`' dates, walking at most MAX_SERIES_YEARS of its periods (and a little more).

    dateutil checks UNTIL only against dates a rule gives: a daily rule whose BY parts never match
    (BYMONTH=2;BYMONTHDAY=30) steps day by day to the year 9999 (~6 s) before it ends. Its iterator
    rebuilds its month tables once per month walked (per year for YEARLY) and reads the rule's
    `_bynweekday` each time: counting those reads bounds the walk. Everything the series may give lies
    within MAX_SERIES_YEARS of its start, so stopping past that loses no date.
    """
    budget = MAX_SERIES_YEARS + 2 if freq == "YEARLY" else 12 * MAX_SERIES_YEARS + 14
    counted = type(series)
    yielded = [False]

    def bynweekday(rule: Any) -> Any:
        steps[0] += 1
        # The start must be the first date, and it lies in the first period walked (one rebuild): a
        # rule that gives nothing there is refused without walking on.
        if steps[0] > budget or (steps[0] > _FIRST_STEPS and not yielded[0]):
            raise _OutOfSteps
        return rule.__dict__["_bynweekday"]

    # A subclass for this series alone: the property (a data descriptor) sees each read of the field.
    series.__class__ = type("BoundedRule", (counted,), {"_bynweekday": property(bynweekday)})
    iterator = iter(series)
    while True:
        try:
            moment = next(iterator)
        except (StopIteration, _OutOfSteps):
            return
        yielded[0] = True
        yield moment


def _checked_parts(rule: str) -> dict[str, str]:
    """The rule's parts, refused unless RFC 5545 allows them and a calendar of days can publish them."""
    parts = rule_parts(rule)
    if "DTSTART" in parts:
        raise ValueError("DTSTART does not belong in the rule — the event's own date (and time) is the first")
    freq = parts.get("FREQ", "")
    if freq not in _FREQUENCIES:
        raise ValueError("the rule needs FREQ=DAILY, WEEKLY, MONTHLY or YEARLY (not hourly or finer)")
    for name in parts:
        if name in _SUB_DAILY_PARTS:
            # One date a day at most: each occurrence is published as `<id>-YYYY-MM-DD`, and its time of
            # day is the entry's own `time:`.
            raise ValueError(f"{name} repeats within a day — a series gives at most one date a day")
        if name not in _RULE_PARTS:
            raise ValueError(f"{name} is not an RFC 5545 rule part — calendar clients would not read it")
        if freq not in _ONLY_WITH.get(name, _FREQUENCIES):
            allowed = " or ".join(f"FREQ={f}" for f in _ONLY_WITH[name])
            raise ValueError(f"RFC 5545 allows {name} only with {allowed}")
    if re.search(r"[+-]?[0-9]", parts.get("BYDAY", "")) and freq not in ("MONTHLY", "YEARLY"):
        raise ValueError("BYDAY with a number (e.g. 1MO) needs FREQ=MONTHLY or YEARLY (RFC 5545)")
    if ("COUNT" in parts) == ("UNTIL" in parts):
        if "COUNT" in parts:
            raise ValueError("the rule has both COUNT and UNTIL — RFC 5545 allows one: keep one")
        raise ValueError("the rule has no end — add COUNT=n or UNTIL=YYYYMMDD so the series is finite")
    for name, high in (("COUNT", MAX_OCCURRENCES), ("INTERVAL", 10_000)):
        if name in parts and not (parts[name].isdigit() and 1 <= int(parts[name]) <= high):
            raise ValueError(f"{name}={parts[name]} — write a whole number from 1 to {high}")
    return parts


def _until_day(until: str, timed: bool) -> dt.date:
    if timed and not re.fullmatch(r"[0-9]{8}T[0-9]{6}Z", until):
        raise ValueError(f"UNTIL={until} — a timed series ends at a UTC instant: write YYYYMMDDTHHMMSSZ")
    if not timed and not re.fullmatch(r"[0-9]{8}", until):
        raise ValueError(f"UNTIL={until} — an all-day series ends on a date: write YYYYMMDD")
    try:
        return dt.datetime.strptime(until[:8], "%Y%m%d").date()
    except ValueError:
        raise ValueError(f"UNTIL={until} is not a date") from None


def _until_instant(until: str) -> dt.datetime:
    return dt.datetime.strptime(until, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)


def _years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
