"""Turn the times a curator writes into real instants.

Calendar arithmetic follows RFC 5545 §3.3.6: weeks and days are nominal (added on the local wall clock,
so "90 days after 00:01 EDT" is 00:01 local even when daylight saving time ended in between), hours and
minutes are exact elapsed time.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_DURATION = re.compile(
    r"^(?P<sign>[-+])?P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?)?$"
)


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

MAX_OCCURRENCES = 500
_SUB_DAILY = ("HOURLY", "MINUTELY", "SECONDLY")


def rule_parts(rule: str) -> dict[str, str]:
    """`FREQ=YEARLY;COUNT=3` as {"FREQ": "YEARLY", "COUNT": "3"} (names upper-cased)."""
    parts: dict[str, str] = {}
    for part in rule.strip().split(";"):
        name, sep, value = part.partition("=")
        if not sep or not name or not value:
            raise ValueError(f"{part!r} is not NAME=VALUE — write the rule as e.g. FREQ=YEARLY;COUNT=4")
        parts[name.strip().upper()] = value.strip()
    return parts


def expand_rule(
    first: dt.date | dt.datetime, rule: str, exdates: Sequence[dt.date] = ()
) -> list[dt.date | dt.datetime]:
    """Every occurrence of `rule` from `first` (its DTSTART), without the local days in `exdates`.

    A timed series repeats on the wall clock of `first`'s zone (RFC 5545 §3.3.10), so 00:01 stays 00:01
    across daylight-saving changes; its UNTIL must be UTC (ending in Z). An all-day series repeats dates
    and its UNTIL is a date. The rule needs COUNT or UNTIL: a calendar lists a finite number of deadlines.
    ValueError says what is wrong in a curator's terms.
    """
    from dateutil.rrule import rrulestr  # imported here: only files with `repeat:` pay for it

    parts = rule_parts(rule)
    if "DTSTART" in parts:
        raise ValueError("DTSTART does not belong in the rule — the event's own date (and time) is the first")
    if parts.get("FREQ", "").upper() in _SUB_DAILY or "FREQ" not in parts:
        raise ValueError("the rule needs FREQ=DAILY, WEEKLY, MONTHLY or YEARLY (not hourly or finer)")
    if "COUNT" not in parts and "UNTIL" not in parts:
        raise ValueError("the rule has no end — add COUNT=n or UNTIL=YYYYMMDD so the series is finite")
    until = parts.get("UNTIL", "")
    timed = isinstance(first, dt.datetime)
    if until and timed and not re.fullmatch(r"\d{8}T\d{6}Z", until):
        raise ValueError(f"UNTIL={until} — a timed series ends at a UTC instant: write YYYYMMDDTHHMMSSZ")
    if until and not timed and not re.fullmatch(r"\d{8}", until):
        raise ValueError(f"UNTIL={until} — an all-day series ends on a date: write YYYYMMDD")
    start = first if isinstance(first, dt.datetime) else dt.datetime.combine(first, dt.time(0))
    try:
        series = rrulestr(rule, dtstart=start)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not an RFC 5545 rule: {exc}") from None
    skip = set(exdates)
    out: list[dt.date | dt.datetime] = []
    for moment in series:
        if len(out) >= MAX_OCCURRENCES:
            raise ValueError(f"the rule gives more than {MAX_OCCURRENCES} dates — lower COUNT or UNTIL")
        day = moment.date()
        if day in skip:
            continue
        out.append(moment if timed else day)
    return out
