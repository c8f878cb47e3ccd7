"""A timeline of events drawn as inline SVG on the server: no script, no CDN, readable at 400 px.

Horizontal positions are percentages of the drawing's width and text sizes are pixels, so the same
markup fits a phone and a desktop without the text shrinking with a viewBox. Each lane carries its
label as real `<text>`, and each mark is a link whose `<title>` names the event and its date, which
is what a screen reader announces.

Pure: it takes events, a window and "today" and returns markup; the web layer decides which events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape

from calendar_service.core.calendar import Event

LANE_HEIGHT = 38
AXIS_HEIGHT = 26
MIN_BAR = 0.6  # per cent: a one-day span in a year-long window still shows


@dataclass(frozen=True, slots=True)
class Item:
    """One event on a lane: a bar from `start` to `end`, or a mark at `start` when `end` is None."""

    event_id: str
    title: str
    start: dt.datetime  # aware
    end: dt.datetime | None
    label: str  # the date as a person reads it
    live: bool
    href: str


@dataclass(frozen=True, slots=True)
class Lane:
    """A row of the timeline: one action (or one event), named by `label`."""

    label: str
    items: tuple[Item, ...]
    href: str | None = None


def moment_label(value: dt.date | dt.datetime, *, last_day: bool = False) -> str:
    """`9 Jul 2025 00:01 EDT` for a time, `9 Jul 2025` for a date (`last_day`: an exclusive end)."""
    if isinstance(value, dt.datetime):
        return f"{value.day} {value:%b %Y %H:%M} {value.tzname() or ''}".rstrip()
    if last_day:
        value -= dt.timedelta(days=1)
    return f"{value.day} {value:%b %Y}"


def span_label(event: Event) -> str:
    """The event's date or span, in its own zone."""
    start = moment_label(event.start)
    if event.end is None:
        return start
    if isinstance(event.end, dt.datetime):
        same_day = isinstance(event.start, dt.datetime) and event.start.date() == event.end.date()
        end = (
            f"{event.end:%H:%M} {event.end.tzname() or ''}".rstrip() if same_day else moment_label(event.end)
        )
        return f"{start} – {end}"
    if event.end - dt.timedelta(days=1) == event.start:
        return start  # one all-day date
    return f"{start} – {moment_label(event.end, last_day=True)}"


def item_of(
    event: Event, tz: dt.tzinfo, href: str, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> Item:
    """An event as a timeline item: spans of more than a day become bars, the rest marks.

    `start`/`end` are the event's UTC instants when the caller has them already.
    """
    start = start or event.start_utc(tz)
    end = end or event.end_utc(tz)
    if end is not None and end - start <= dt.timedelta(days=1):
        end = None
    return Item(event.id, event.title, start, end, span_label(event), event.is_live, href)


Span = tuple[Event, dt.datetime, dt.datetime | None]  # an event with its UTC start and end


def lanes_by_action(
    spans: Iterable[Span],
    tz: dt.tzinfo,
    now: dt.datetime,
    *,
    href: Callable[[str], str],
    group_href: Callable[[str, str], str | None],
    max_lanes: int,
    max_items: int,
) -> tuple[list[Lane], int]:
    """One lane per action (events without one share a lane per kind) and how many lanes were left out.

    A calendar of thousands of events would draw an unreadable (and heavy) picture, so at most
    `max_lanes` lanes are drawn, those with the soonest date still ahead first, and at most `max_items`
    marks per lane, those nearest `now`; the lane's label says how many it leaves out.
    """
    groups: dict[tuple[str, str], list[Span]] = {}
    for span in spans:
        event = span[0]
        key = ("action", event.action) if event.action else ("kind", event.kind.value)
        groups.setdefault(key, []).append(span)

    def urgency(key: tuple[str, str]) -> tuple[int, dt.datetime, str]:
        ahead = [end or start for _, start, end in groups[key] if (end or start) >= now]
        if ahead:
            return (0, min(ahead), key[1])
        return (1, min(start for _, start, _ in groups[key]), key[1])

    picked = sorted(groups, key=urgency)[:max_lanes]
    lanes = []
    for key in picked:
        members = groups[key]
        shown = members
        if len(members) > max_items:
            shown = sorted(members, key=lambda s: abs((s[1] - now).total_seconds()))[:max_items]
        items = sorted(
            (item_of(event, tz, href(event.id), start, end) for event, start, end in shown),
            key=lambda i: (i.start, i.event_id),
        )
        what, name = key
        label = name if what == "action" else f"{name} (no action)"
        if len(members) > len(shown):
            label += f" · {len(shown)} of {len(members)} nearest today"
        lanes.append(Lane(label, tuple(items), group_href(what, name)))
    lanes.sort(key=lambda lane: (lane.items[0].start, lane.label))
    return lanes, len(groups) - len(picked)


def lanes_per_event(events: Sequence[Event], tz: dt.tzinfo, href: Callable[[str], str]) -> list[Lane]:
    """One lane per event, in time order: an action's dates one under the other."""
    ordered = sorted(events, key=lambda e: (e.start_utc(tz), e.id))
    return [Lane(f"{span_label(e)} · {e.title}", (item_of(e, tz, href(e.id)),)) for e in ordered]


def window_around(items: Iterable[Item], today: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """A window holding every item (and today, when close), padded by a twentieth on each side."""
    points = [today]
    for item in items:
        points.append(item.start)
        if item.end is not None:
            points.append(item.end)
    begin, end = min(points), max(points)
    if end - begin < dt.timedelta(days=14):
        middle = begin + (end - begin) / 2
        begin, end = middle - dt.timedelta(days=7), middle + dt.timedelta(days=7)
    pad = (end - begin) / 20
    return begin - pad, end + pad


def render_svg(
    lanes: Sequence[Lane],
    begin: dt.datetime,
    end: dt.datetime,
    today: dt.datetime,
    *,
    label: str,
    element_id: str = "timeline",
) -> str:
    """The lanes between `begin` and `end` as an `<svg>` element (a string of safe markup)."""
    total = (end - begin).total_seconds()

    def x(moment: dt.datetime) -> float:
        return max(0.0, min(100.0, (moment - begin).total_seconds() / total * 100))

    height = AXIS_HEIGHT + LANE_HEIGHT * len(lanes) + 4
    out = [
        f'<svg id="{escape(element_id)}" class="timeline" width="100%" height="{height}" '
        f'role="group" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    out.extend(_axis(begin, end, x, height))
    for row, lane in enumerate(lanes):
        top = AXIS_HEIGHT + row * LANE_HEIGHT
        name = escape(lane.label)
        text = f'<text x="0.3%" y="{top + 13}" class="lane">{name}</text>'
        out.append(f'<a href="{escape(lane.href)}">{text}</a>' if lane.href else text)
        for item in lane.items:
            out.append(_shape(item, top + 24, x, begin, end))
    if begin <= today <= end:
        at = f"{x(today):.2f}%"
        out.append(f'<line class="today" x1="{at}" x2="{at}" y1="14" y2="{height}"/>')
        anchor = "end" if x(today) > 90 else "start"
        out.append(f'<text class="today" x="{at}" y="11" text-anchor="{anchor}">today</text>')
    out.append("</svg>")
    return "".join(out)


def _axis(begin: dt.datetime, end: dt.datetime, x: Callable[[dt.datetime], float], height: int) -> list[str]:
    """Month (or year, for long windows) ticks with short labels that fit 400 px."""
    out = []
    months = (end.year - begin.year) * 12 + end.month - begin.month
    step = 1 if months <= 8 else 3 if months <= 30 else 12
    tick = dt.datetime(begin.year, begin.month, 1, tzinfo=dt.UTC)
    while tick <= end:
        if tick >= begin and (tick.month - 1) % step == 0:
            at = f"{x(tick):.2f}%"
            text = f"{tick:%b}" if step < 12 and tick.month != 1 else f"{tick:%Y}"
            if step == 1 and tick.month == 1:
                text = f"Jan {tick:%y}"
            out.append(f'<line class="tick" x1="{at}" x2="{at}" y1="16" y2="{height}"/>')
            # A label near the right edge is drawn leftwards of its tick so it is not cut off.
            place = 'text-anchor="end" dx="-2"' if x(tick) > 92 else 'dx="2"'
            out.append(f'<text class="tick" x="{at}" y="24" {place}>{text}</text>')
        month = tick.month + 1
        tick = tick.replace(year=tick.year + (month > 12), month=(month - 1) % 12 + 1)
    return out


def _shape(
    item: Item, y: int, x: Callable[[dt.datetime], float], begin: dt.datetime, end: dt.datetime
) -> str:
    state = "live" if item.live else "gone"
    note = "" if item.live else " (no longer holds)"
    title = f"<title>{escape(item.title)} — {escape(item.label)}{note}</title>"
    if item.end is not None and item.end > begin and item.start < end:
        left = x(item.start)
        width = max(MIN_BAR, x(item.end) - left)
        shape = (
            f'<rect class="bar {state}" x="{left:.2f}%" y="{y - 6}" width="{width:.2f}%" height="12" rx="3"/>'
        )
    else:
        shape = f'<circle class="mark {state}" cx="{x(item.start):.2f}%" cy="{y}" r="6"/>'
    return f'<a href="{escape(item.href)}">{title}{shape}</a>'
