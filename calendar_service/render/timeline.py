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
from calendar_service.render.wording import badge

LANE_HEIGHT = 40
AXIS_HEIGHT = 48  # three rows: "today", the months, the years where they change
MIN_BAR = 0.6  # per cent: a one-day span in a year-long window still shows
CLUSTER_GAP = 4.5  # per cent: marks closer than this are one mark with a count (16 px on a phone)
LABEL_CHARS = 46  # a lane label longer than this is cut (the full text stays in its <title>)
MAX_EVENT_LANES = 12  # an action with more dates draws one lane per kind, not one per date
EDGE = 93.0  # per cent: a tick label right of this would run off the drawing, so it is left out


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
    state: str = ""  # the status badge's key (wording.Badge.key); empty: from `live`

    @property
    def status(self) -> str:
        """The status key, `scheduled` or `superseded` when only liveness is known."""
        return self.state or ("scheduled" if self.live else "superseded")


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
    event: Event,
    tz: dt.tzinfo,
    href: str,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Item:
    """An event as a timeline item: spans of more than a day become bars, the rest marks.

    `start`/`end` are the event's UTC instants when the caller has them already; with `now` the item
    carries its status badge (a tentative date already past reads "date passed, not confirmed").
    """
    start = start or event.start_utc(tz)
    end = end or event.end_utc(tz)
    if end is not None and end - start <= dt.timedelta(days=1):
        end = None
    state = badge(event, now, tz).key if now is not None else ""
    return Item(event.id, event.title, start, end, span_label(event), event.is_live, href, state)


Span = tuple[Event, dt.datetime, dt.datetime | None]  # an event with its UTC start and end


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1].rstrip() + "…"


def lanes_by_action(
    spans: Iterable[Span],
    tz: dt.tzinfo,
    now: dt.datetime,
    *,
    href: Callable[[str], str],
    group_href: Callable[[str, str], str | None],
    max_lanes: int,
    max_items: int,
    group_title: Callable[[str, str], str] | None = None,
    state_at: dt.datetime | None = None,
) -> tuple[list[Lane], int]:
    """One lane per action (events without one share a lane per kind) and how many lanes were left out.

    A calendar of thousands of events would draw an unreadable (and heavy) picture, so at most
    `max_lanes` lanes are drawn, those with the soonest date still ahead first, and at most `max_items`
    marks per lane, those nearest `now`; the lane's label says how many it leaves out. `group_title`
    names an action's lane (its title rather than its id). Each mark's status is as of `state_at`
    (default `now`): a page drawn for a minute still says "date passed" the moment it has.
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
            (item_of(event, tz, href(event.id), start, end, state_at or now) for event, start, end in shown),
            key=lambda i: (i.start, i.event_id),
        )
        what, name = key
        if what == "action":
            label = group_title(what, name) if group_title else name
        else:
            label = f"{name} (no action)"
        if len(members) > len(shown):
            label += f" · {len(shown)} of {len(members)} nearest today"
        lanes.append(Lane(label, tuple(items), group_href(what, name)))
    lanes.sort(key=lambda lane: (lane.items[0].start, lane.label))
    return lanes, len(groups) - len(picked)


def lanes_per_event(
    events: Sequence[Event], tz: dt.tzinfo, href: Callable[[str], str], now: dt.datetime | None = None
) -> list[Lane]:
    """One lane per event, in time order: an action's dates one under the other.

    An action of more than `MAX_EVENT_LANES` dates gets one lane per kind instead (close dates then
    merge into a mark with a count), so a big action stays a picture rather than a list.
    """
    ordered = sorted(events, key=lambda e: (e.start_utc(tz), e.id))
    if len(ordered) <= MAX_EVENT_LANES:
        return [Lane(f"{span_label(e)} · {e.title}", (item_of(e, tz, href(e.id), now=now),)) for e in ordered]
    kinds: dict[str, list[Event]] = {}
    for event in ordered:
        kinds.setdefault(event.kind.value, []).append(event)
    return [
        Lane(
            f"{kind} · {len(members)} date{'s' if len(members) != 1 else ''}",
            tuple(item_of(e, tz, href(e.id), now=now) for e in members),
        )
        for kind, members in kinds.items()
    ]


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
    """The lanes between `begin` and `end` as an `<svg>` element (a string of safe markup).

    Each lane is a row of its own: its name on a line, its marks on the line below, so no text is
    drawn over another; today's line runs through the mark rows only, never through a name.
    """
    total = (end - begin).total_seconds()

    def x(moment: dt.datetime) -> float:
        return max(0.0, min(100.0, (moment - begin).total_seconds() / total * 100))

    height = AXIS_HEIGHT + LANE_HEIGHT * len(lanes) + 4
    out = [
        f'<svg id="{escape(element_id)}" class="timeline" width="100%" height="{height}" '
        f'role="group" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    out.extend(_axis(begin, end, x, height))
    shown_today = begin <= today <= end
    for row, lane in enumerate(lanes):
        top = AXIS_HEIGHT + row * LANE_HEIGHT
        name = escape(_short(lane.label))
        title = f"<title>{escape(lane.label)}</title>" if len(lane.label) > LABEL_CHARS else ""
        text = f'<text x="0.3%" y="{top + 13}" class="lane">{title}{name}</text>'
        out.append(f'<a href="{escape(lane.href)}">{text}</a>' if lane.href else text)
        if shown_today:
            at = f"{x(today):.2f}%"
            out.append(f'<line class="today" x1="{at}" x2="{at}" y1="{top + 17}" y2="{top + LANE_HEIGHT}"/>')
        marks: list[Item] = []
        for item in lane.items:
            if item.end is not None and item.end > begin and item.start < end:
                out.append(_bar(item, top + 27, x))
            else:
                marks.append(item)
        for group in _clusters(marks, x):
            out.append(_mark(group, top + 27, x, lane.href))
    if shown_today:
        at = f"{x(today):.2f}%"
        anchor = "end" if x(today) > 90 else "middle" if x(today) > 8 else "start"
        out.append(f'<text class="today" x="{at}" y="11" text-anchor="{anchor}">today</text>')
    out.append("</svg>")
    return "".join(out)


def _clusters(marks: Sequence[Item], x: Callable[[dt.datetime], float]) -> list[list[Item]]:
    """Marks in time order, each within `CLUSTER_GAP` of the previous one merged into its group (so a
    mark never sits on the edge of a count's larger circle)."""
    groups: list[list[Item]] = []
    for item in sorted(marks, key=lambda i: (i.start, i.event_id)):
        if groups and x(item.start) - x(groups[-1][-1].start) < CLUSTER_GAP:
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def _axis(begin: dt.datetime, end: dt.datetime, x: Callable[[dt.datetime], float], height: int) -> list[str]:
    """Month ticks (every 1, 3 or 12 months, at most about eight) named on one row, with the year on a
    row below wherever it changes, so `Jan` never reads as a day and no two labels share a place."""
    out = []
    months = (end.year - begin.year) * 12 + end.month - begin.month
    step = 1 if months <= 8 else 3 if months <= 24 else 6 if months <= 48 else 12
    tick = dt.datetime(begin.year, begin.month, 1, tzinfo=dt.UTC)
    last_year: int | None = None
    while tick <= end:
        if tick >= begin and (tick.month - 1) % step == 0:
            at = f"{x(tick):.2f}%"
            out.append(f'<line class="tick" x1="{at}" x2="{at}" y1="29" y2="{height}"/>')
            if x(tick) <= EDGE:
                if step < 12:
                    out.append(f'<text class="tick" x="{at}" y="26" dx="2">{tick:%b}</text>')
                if tick.year != last_year:
                    out.append(
                        f'<text class="tick year" x="{at}" y="{AXIS_HEIGHT - 6}" dx="2">{tick:%Y}</text>'
                    )
                    last_year = tick.year
        month = tick.month + 1
        tick = tick.replace(year=tick.year + (month > 12), month=(month - 1) % 12 + 1)
    return out


_KIND = {"scheduled": "firm", "held": "firm", "tentative": "unsure", "postponed": "unsure",
         "unconfirmed": "unsure"}  # fmt: skip


def _look(status: str) -> str:
    """The mark's style: firm (filled), unsure (a ring, dashed for a bar) or gone (a grey cross)."""
    return _KIND.get(status, "gone")


def _words(item: Item) -> str:
    return f"{item.title} — {item.label} ({WORDS.get(item.status, item.status)})"


WORDS = {"unconfirmed": "date passed, not confirmed", "superseded": "superseded, no longer holds",
         "cancelled": "cancelled, no longer holds"}  # fmt: skip


def _bar(item: Item, y: int, x: Callable[[dt.datetime], float]) -> str:
    left = x(item.start)
    width = max(MIN_BAR, x(item.end or item.start) - left)
    look = _look(item.status)
    tall = 8 if look == "gone" else 12
    shape = (
        f'<rect class="bar {look}" x="{left:.2f}%" y="{y - tall // 2}" width="{width:.2f}%" '
        f'height="{tall}" rx="3"/>'
    )
    return f'<a href="{escape(item.href)}"><title>{escape(_words(item))}</title>{shape}</a>'


def _mark(group: Sequence[Item], y: int, x: Callable[[dt.datetime], float], lane_href: str | None) -> str:
    first = group[0]
    at = f"{x(first.start):.2f}%"
    if len(group) == 1:
        look = _look(first.status)
        if look == "gone":
            # A cross, in pixels around a point given in per cent: a nested <svg> sets the origin.
            shape = (
                f'<svg x="{at}" y="{y}" width="1" height="1" overflow="visible">'
                '<path class="mark gone" d="M-5,-5L5,5M5,-5L-5,5"/></svg>'
            )
        else:
            shape = f'<circle class="mark {look}" cx="{at}" cy="{y}" r="6"/>'
        return f'<a href="{escape(first.href)}"><title>{escape(_words(first))}</title>{shape}</a>'
    looks = {_look(i.status) for i in group}
    look = looks.pop() if len(looks) == 1 else "firm"
    listed = "; ".join(_words(i) for i in group)
    title = f"{len(group)} dates: {listed}"
    href = lane_href or first.href
    return (
        f'<a href="{escape(href)}" class="cluster"><title>{escape(title)}</title>'
        f'<circle class="mark cluster {look}" cx="{at}" cy="{y}" r="10"/>'
        f'<text class="count {look}" x="{at}" y="{y + 4}" text-anchor="middle" aria-hidden="true">'
        f"{len(group)}</text></a>"
    )
