"""VTIMEZONE components built from the IANA database (zoneinfo), in the form every client reads.

RFC 5545 §3.6.5 allows an observance to repeat by RRULE or to list its onsets by RDATE. Outlook reads
only the first form correctly (a list of RDATEs shifts its events by an hour), so this module finds the
yearly rule behind a zone's transitions ("2nd Sunday of March at 02:00") and writes STANDARD/DAYLIGHT
sub-components with RRULE. A rule that ended inside the covered years gets an RRULE UNTIL and the rule
after it its own pair; a transition that fits no yearly rule is written as a one-off observance, and a
zone without transitions as a single STANDARD. Every derived rule is expanded again and compared with
the transitions it came from before it is used (`_series_fits`), and `offset_at` evaluates the result
so tests can compare it with zoneinfo for any instant.

icalendar's own `Timezone.from_tzinfo` is not used: it writes RDATE lists and a COMMENT, which
RFC 5545 §3.6.5 does not allow in VTIMEZONE.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

_DAY = dt.timedelta(days=1)
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# Rule forms, most widely understood first: "2SU" / "-1SU", a fixed day of the month, then "the first
# Sunday on or after the 8th" written as BYDAY with a seven-day BYMONTHDAY window (RFC 5545 §3.3.10).
_NTH, _LAST, _FIXED, _WINDOW = "nth", "last", "fixed", "window"
_LOOKAHEAD = 12  # years scanned past the span to choose between rules and to tell whether one ends

# (form, parameter, weekday 0-6 or -1 for a fixed date): (nth, 2, 6) is the 2nd Sunday, (last, -1, 6)
# the last Sunday, (fixed, 21, -1) the 21st, (window, 8, 6) the first Sunday on or after the 8th.
Rule = tuple[str, int, int]


def _preference(rule: Rule) -> tuple[int, int]:
    form, value, _ = rule
    # A run of onsets on days 22-28 fits both "4th" and "last"; the IANA rules say "lastSun" far more
    # often than "Sun>=22", and the two part ways in later years, so "last" wins that tie.
    rank = {_NTH: 0 if value < 4 else 2, _LAST: 1, _FIXED: 3, _WINDOW: 4}[form]
    return rank, value


@dataclass(frozen=True, slots=True)
class Transition:
    """One change of a zone's offset or name, at a UTC instant."""

    at: dt.datetime  # UTC
    offset_from: dt.timedelta
    offset_to: dt.timedelta
    name: str
    is_dst: bool

    @property
    def local_onset(self) -> dt.datetime:
        """The onset in local time before the change: how RFC 5545 writes an observance's DTSTART."""
        return (self.at + self.offset_from).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class Observance:
    """A STANDARD or DAYLIGHT sub-component: its first onset and, if it repeats, its yearly rule."""

    is_dst: bool
    start: dt.datetime  # local onset, naive
    offset_from: dt.timedelta
    offset_to: dt.timedelta
    name: str
    rule: Rule | None = None
    until: dt.datetime | None = None  # UTC instant of the last onset, for a rule that stopped

    def onsets(self, up_to: dt.datetime) -> list[dt.datetime]:
        """Local onsets (naive) from `start` up to and including `up_to` (naive local)."""
        if self.rule is None:
            return [self.start] if self.start <= up_to else []
        out = []
        until_local = None if self.until is None else (self.until + self.offset_from).replace(tzinfo=None)
        for year in range(self.start.year, up_to.year + 1):
            day = _rule_day(year, self.start.month, self.rule)
            if day is None:
                continue
            onset = dt.datetime.combine(day, self.start.time())
            if onset < self.start or onset > up_to or (until_local is not None and onset > until_local):
                continue
            out.append(onset)
        return out

    def lines(self) -> list[str]:
        """The sub-component as unfolded content lines."""
        kind = "DAYLIGHT" if self.is_dst else "STANDARD"
        out = [
            f"BEGIN:{kind}",
            f"DTSTART:{self.start:%Y%m%dT%H%M%S}",
            f"TZOFFSETFROM:{_offset_text(self.offset_from)}",
            f"TZOFFSETTO:{_offset_text(self.offset_to)}",
        ]
        if self.rule is not None:
            out.append(f"RRULE:{_rrule_text(self.start, self.rule, self.until)}")
        if self.name:
            out.append(f"TZNAME:{_escape_name(self.name)}")
        out.append(f"END:{kind}")
        return out


def transitions(zone: ZoneInfo, first_year: int, last_year: int) -> list[Transition]:
    """Every transition of `zone` between 1 January `first_year` and 31 December `last_year` (UTC)."""
    start = dt.datetime(first_year, 1, 1, tzinfo=dt.UTC)
    stop = dt.datetime(last_year + 1, 1, 1, tzinfo=dt.UTC)
    found: list[Transition] = []
    moment, state = start, _state(zone, start)
    while moment < stop:
        # A day is shorter than any gap between two real transitions of one zone, so a daily scan
        # finds each one; bisection then pins it to the second.
        later = min(moment + _DAY, stop)
        later_state = _state(zone, later)
        if later_state != state:
            low, high = moment, later
            while high - low > dt.timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if middle <= low:
                    break
                if _state(zone, middle) == state:
                    low = middle
                else:
                    high = middle
            offset, dst, name = later_state
            found.append(Transition(high, state[0], offset, name, dst))
        moment, state = later, later_state
    return found


def _state(zone: ZoneInfo, moment: dt.datetime) -> tuple[dt.timedelta, bool, str]:
    local = moment.astimezone(zone)
    offset = local.utcoffset() or dt.timedelta(0)
    return offset, bool(local.dst()), local.tzname() or ""


def observances(name: str, first_year: int, last_year: int) -> tuple[Observance, ...]:
    """The observances that describe `name` for instants from `first_year` to `last_year`."""
    return _observances(name, first_year, last_year)


@cache
def _observances(name: str, first_year: int, last_year: int) -> tuple[Observance, ...]:
    zone = ZoneInfo(name)
    # Start a year early: the onset in force on 1 January of `first_year` lies in the year before. Look
    # some years past the end: a rule still running then is written without UNTIL, and the extra years
    # tell apart rules that agree within the span ("4th Sunday" and "last Sunday" in most years).
    found = transitions(zone, first_year - 1, last_year + _LOOKAHEAD)
    horizon = last_year + 1
    out: list[Observance] = []
    if not found or found[0].at.year >= first_year:
        # Nothing changed in the year before the span: say what was in force then.
        before = dt.datetime(first_year - 1, 1, 1, tzinfo=dt.UTC)
        offset, dst, label = _state(zone, before)
        if not found or found[0].at.year > horizon:
            # RFC 5545 needs a DTSTART; 1970 is the conventional "since ever" for a fixed zone.
            begin = dt.datetime(1970, 1, 1)
        else:
            begin = (before + offset).replace(tzinfo=None)
        out.append(Observance(dst, begin, offset, offset, label))
    for series in _series(found):
        shown = [t for t in series if t.at.year <= horizon]
        if not shown:
            continue
        head = series[0]
        common = _fitting_rules(series)
        if len(series) > 1 and common:
            rule = min(common, key=_preference)
            until = None if series[-1].at.year >= horizon else series[-1].at
            candidate = Observance(
                head.is_dst, head.local_onset, head.offset_from, head.offset_to, head.name, rule, until
            )
            if _series_fits(candidate, series):
                out.append(candidate)
                continue
        out.extend(Observance(t.is_dst, t.local_onset, t.offset_from, t.offset_to, t.name) for t in shown)
    out.sort(key=lambda o: (o.start, o.is_dst))
    return tuple(out)


def _series(found: list[Transition]) -> list[list[Transition]]:
    """Group transitions into runs of one per consecutive year with the same shape and a common rule."""
    open_runs: dict[tuple[object, ...], list[Transition]] = {}
    closed: list[list[Transition]] = []
    for item in found:
        onset = item.local_onset
        key = (item.is_dst, item.offset_from, item.offset_to, item.name, onset.month, onset.time())
        run = open_runs.get(key)
        if run is not None and run[-1].at.year + 1 == item.at.year and _fitting_rules([*run, item]):
            run.append(item)
            continue
        if run is not None:
            closed.append(run)
        open_runs[key] = [item]
    closed.extend(open_runs.values())
    closed.sort(key=lambda run: run[0].at)
    return closed


def _fitting_rules(run: list[Transition]) -> set[Rule]:
    common: set[Rule] | None = None
    for item in run:
        rules = _rules_for(item.local_onset.date())
        common = rules if common is None else common & rules
        if not common:
            return set()
    return common or set()


def _rules_for(day: dt.date) -> set[Rule]:
    length = _calendar.monthrange(day.year, day.month)[1]
    weekday = day.weekday()
    rules: set[Rule] = {(_FIXED, day.day, -1)}
    if day.day <= 28:
        rules.add((_NTH, (day.day - 1) // 7 + 1, weekday))
    if day.day + 7 > length:
        rules.add((_LAST, -1, weekday))
    for first in range(max(1, day.day - 6), day.day + 1):
        if first + 6 <= 31:
            rules.add((_WINDOW, first, weekday))
    return rules


def _rule_day(year: int, month: int, rule: Rule) -> dt.date | None:
    form, value, weekday = rule
    length = _calendar.monthrange(year, month)[1]
    if form == _FIXED:
        return dt.date(year, month, value) if value <= length else None
    if form == _LAST:
        last = dt.date(year, month, length)
        return last - dt.timedelta(days=(last.weekday() - weekday) % 7)
    first = 1 + 7 * (value - 1) if form == _NTH else value
    if first + 6 > length and form == _WINDOW:
        return None
    day = dt.date(year, month, first)
    day += dt.timedelta(days=(weekday - day.weekday()) % 7)
    return day if day.month == month else None


def _series_fits(observance: Observance, series: list[Transition]) -> bool:
    """Whether the rule, expanded, gives exactly the onsets it was derived from (within the span)."""
    last = series[-1].local_onset
    return observance.onsets(last) == [t.local_onset for t in series]


def _rrule_text(start: dt.datetime, rule: Rule, until: dt.datetime | None) -> str:
    form, value, day = rule
    weekday = _WEEKDAYS[day]
    if form == _NTH:
        parts = f"FREQ=YEARLY;BYMONTH={start.month};BYDAY={value}{weekday}"
    elif form == _LAST:
        parts = f"FREQ=YEARLY;BYMONTH={start.month};BYDAY=-1{weekday}"
    elif form == _FIXED:
        parts = f"FREQ=YEARLY;BYMONTH={start.month};BYMONTHDAY={value}"
    else:
        days = ",".join(str(d) for d in range(value, value + 7))
        parts = f"FREQ=YEARLY;BYMONTH={start.month};BYDAY={weekday};BYMONTHDAY={days}"
    if until is not None:
        # RFC 5545 §3.3.10: in STANDARD/DAYLIGHT, UNTIL MUST be a UTC date-time.
        parts += f";UNTIL={until.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"
    return parts


def _offset_text(offset: dt.timedelta) -> str:
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{secs:02d}" if secs else "")


def _escape_name(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")


def vtimezone_lines(name: str, first_year: int, last_year: int) -> list[str]:
    """A complete VTIMEZONE for `name` covering `first_year`..`last_year`, as unfolded content lines."""
    return list(_vtimezone_lines(name, first_year, last_year))


@cache
def _vtimezone_lines(name: str, first_year: int, last_year: int) -> tuple[str, ...]:
    out = ["BEGIN:VTIMEZONE", f"TZID:{name}"]
    for observance in observances(name, first_year, last_year):
        out.extend(observance.lines())
    out.append("END:VTIMEZONE")
    return tuple(out)


def offset_at(found: tuple[Observance, ...], instant: dt.datetime) -> dt.timedelta:
    """The UTC offset the observances give at a UTC `instant` (what a client computes from them)."""
    best: tuple[dt.datetime, dt.timedelta] | None = None
    for observance in found:
        # Compare in UTC: an onset is local time before the change, i.e. under offset_from.
        for onset in observance.onsets((instant + dt.timedelta(days=2)).replace(tzinfo=None)):
            at = (onset - observance.offset_from).replace(tzinfo=dt.UTC)
            if at <= instant and (best is None or at > best[0]):
                best = (at, observance.offset_to)
    if best is None:
        raise ValueError(f"{instant.isoformat()} is before every observance")
    return best[1]


def verify(name: str, instants: list[dt.datetime], first_year: int, last_year: int) -> list[str]:
    """Compare the observances with zoneinfo at each UTC instant; describe every disagreement."""
    zone = ZoneInfo(name)
    found = observances(name, first_year, last_year)
    problems = []
    for instant in instants:
        expected = instant.astimezone(zone).utcoffset()
        try:
            got = offset_at(found, instant)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
            continue
        if got != expected:
            problems.append(f"{name} at {instant.isoformat()}: VTIMEZONE gives {got}, zoneinfo {expected}")
    return problems
