"""The morning view in a real browser (Debian's chromium), at a laptop's and a phone's size, light and
dark: the next deadlines on the first screen, status marks that are not colour alone, a timeline whose
text never overlaps, marks with 3:1 contrast, and axe-core finding nothing on any page.

Screenshots go to build/screenshots/morning/ for a person to look at. The clock is the settable one
(10 June 2025 12:00 UTC), so nothing here depends on today's date.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import CHROMIUM, SHOTS
from tests.support.pages import page_yaml
from tests.support.webapp import LiveServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"
    ),
]

MORNING = SHOTS / "morning"
SIZES = [(1366, 900), (390, 844)]
SCHEMES = ["light", "dark"]

BIG_ACTION = """  - id: big-action
    title: Safeguard review of steel products with many dates
    sources: [{title: Notice of initiation}]
"""

EXTRA = """
  - id: signing-target
    title: Target date for signing the India–EU agreement
    kind: agreement
    status: tentative
    countries: [IN, EU]
    date: 2025-06-24
    sources: [{title: Press report}]
  - id: preferences-expire
    title: Trade preferences expire
    kind: deadline
    countries: [US]
    hs: ["610910", "85"]
    chapter99: ["9903.01.25"]
    date: 2025-06-30
    sources: [{title: Public law, url: "https://example.com/pl"}]
  - id: eu-rule
    title: EU rule applies
    kind: regulation
    countries: [EU]
    date: 2025-07-01
    sources: [{title: Official Journal}]
  - id: arrangement-expiry
    title: Arrangement expiry, outcome not yet reported
    kind: deadline
    status: tentative
    countries: [US, CN]
    date: 2025-06-05
    sources: [{title: Joint statement}]
  - id: summit
    title: Two-day leaders' summit
    kind: summit
    countries: [US, "*"]
    date: 2025-06-10
    duration: P2D
    sources: [{title: Host announcement}]
  - id: monthly-report
    title: Monthly safeguard monitoring report
    kind: announcement
    countries: [EU]
    date: 2025-06-15
    repeat:
      rrule: FREQ=MONTHLY;BYMONTHDAY=15;COUNT=6
      exdate: [2025-08-15]
    sources: [{title: Implementing regulation}]
"""


def _big_action_events() -> str:
    """Fifteen dates of one action: five in one week (a cluster on the timeline), then weekly."""
    days = [dt.date(2025, 6, 16) + dt.timedelta(days=i) for i in range(5)]
    days += [dt.date(2025, 7, 1) + dt.timedelta(weeks=i) for i in range(10)]
    return "".join(
        f"""  - id: big-{i}
    title: Steel safeguard step {i}
    kind: {"hearing" if i % 2 else "deadline"}
    action: big-action
    countries: [EU]
    date: {day.isoformat()}
    sources: [{{title: Notice of initiation}}]
"""
        for i, day in enumerate(days, 1)
    )


def morning_yaml() -> str:
    """The page sample plus a tentative deadline, an all-day one, a past tentative date, a two-day
    summit under way, a monthly series and an action of fifteen dates."""
    text = page_yaml().replace("actions:\n", "actions:\n" + BIG_ACTION, 1)
    return text.rstrip("\n") + "\n" + EXTRA + _big_action_events()


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    """The morning sample (overrides the shared fixture)."""
    path = tmp_path / "events.yaml"
    path.write_text(morning_yaml(), encoding="utf-8")
    return path


PAGES = {
    "home": "/",
    "timed-event": "/events/pause-end-august",
    "all-day-deadline": "/events/preferences-expire",
    "repeating-event": "/events/monthly-report-2025-07-15",
    "event-with-history": "/events/tariff-hike",
    "big-action": "/actions/big-action",
    "changes": "/changes?since=2025-06-01",
    "search": "/search?q=safeguard",
}


@pytest.fixture
def context(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    """A browser context of the size and colour scheme in `request.param`, reading in Tokyo time."""
    (width, height), scheme = request.param
    ctx = browser.new_context(
        viewport={"width": width, "height": height}, color_scheme=scheme, timezone_id="Asia/Tokyo"
    )
    try:
        yield ctx
    finally:
        ctx.close()


COMBOS = [(size, scheme) for size in SIZES for scheme in SCHEMES]
COMBO_IDS = [f"{w}-{scheme}" for (w, _), scheme in COMBOS]


@pytest.mark.parametrize("context", COMBOS, ids=COMBO_IDS, indirect=True)
def test_every_page_fits_passes_axe_and_is_photographed(
    live_server: LiveServer, context: Any, axe_script: Path
) -> None:
    page = context.new_page()
    width = page.viewport_size["width"]
    scheme = "dark" if page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") else "light"
    MORNING.mkdir(parents=True, exist_ok=True)
    failures = {}
    for name, path in PAGES.items():
        response = page.goto(live_server.url + path)
        assert response is not None
        assert response.status == 200, path
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{path} scrolls sideways"
        page.screenshot(path=str(MORNING / f"{name}-{width}-{scheme}.png"))
        page.add_script_tag(path=str(axe_script))
        violations = page.evaluate(
            "axe.run().then(r => r.violations.map(v => ({id: v.id, impact: v.impact, "
            "nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)})))"
        )
        if violations:
            failures[path] = violations
    assert failures == {}


@pytest.mark.parametrize("context", COMBOS, ids=COMBO_IDS, indirect=True)
def test_the_first_screen_answers_what_is_due_next_and_how_sure(
    live_server: LiveServer, context: Any
) -> None:
    page = context.new_page()
    page.goto(live_server.url + "/")
    height = page.viewport_size["height"]
    rows = page.locator("#upcoming tbody tr")
    first = rows.first.bounding_box()
    assert first is not None
    assert first["y"] + first["height"] <= height, "the first deadline row is below the fold"
    # Sorted by the day the reader sees; each row says when, how long, what and how sure.
    texts = rows.all_inner_texts()
    assert "Monthly safeguard monitoring report" in texts[0]
    assert "in 4 days" in texts[0]
    # End of 30 Jun in New York is 04:00 UTC on 1 Jul, after the start of 1 Jul in Brussels (22:00 UTC
    # on 30 Jun); the reader sees 30 Jun first, so it comes first.
    order = [next(i for i, t in enumerate(texts) if title in t) for title in ("Trade preferences", "EU rule")]
    assert order[0] < order[1]
    due = page.locator("#upcoming tbody tr", has_text="Trade preferences expire")
    assert "by end of 30 Jun 2025, New York" in due.inner_text()
    assert "in 20 days" in due.inner_text()  # 10 Jun 12:00 UTC → 1 Jul 04:00 UTC (end of 30 Jun, EDT)
    # The reader is in Tokyo: the same moment in their time, worked out by the page's script.
    assert re.search(r"Jul 1.*1:00.*(PM|13).*your time", due.locator(".reader-time").inner_text())
    assert "scheduled" in due.locator(".badge").inner_text()
    # What changed is on the first screen too, as a line above the table.
    summary = page.locator("#summary").bounding_box()
    assert summary is not None
    assert summary["y"] < first["y"]


@pytest.mark.parametrize("context", [((1366, 900), "light"), ((390, 844), "dark")], indirect=True)
def test_a_tentative_row_carries_a_mark_that_is_not_colour(live_server: LiveServer, context: Any) -> None:
    page = context.new_page()
    page.goto(live_server.url + "/")
    tentative = page.locator("#upcoming tbody tr", has_text="Target date for signing").locator(".badge")
    firm = page.locator("#upcoming tbody tr", has_text="Trade preferences expire").locator(".badge")
    assert tentative.inner_text().split() == ["?", "tentative"]
    assert firm.inner_text().split() == ["●", "scheduled"]
    assert tentative.is_visible()
    style = "el => getComputedStyle(el).borderTopStyle"
    assert (tentative.evaluate(style), firm.evaluate(style)) == ("dashed", "solid")
    # A tentative date already past says so, on its page and on the timeline.
    page.goto(live_server.url + "/events/arrangement-expiry")
    assert page.locator(".tags .badge").inner_text().split() == ["⚠", "date", "passed,", "not", "confirmed"]
    assert "no source yet says whether it happened" in page.locator("#notice").inner_text()


def _boxes(page: Any, selector: str) -> list[dict[str, Any]]:
    return page.evaluate(
        """sel => Array.from(document.querySelectorAll(sel)).map(el => {
            const r = el.getBoundingClientRect();
            return {text: el.textContent, svg: el.ownerSVGElement && el.ownerSVGElement.id,
                    x: r.x, y: r.y, w: r.width, h: r.height};
        })""",
        selector,
    )


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (
        a["x"] < b["x"] + b["w"] - 0.5
        and b["x"] < a["x"] + a["w"] - 0.5
        and a["y"] < b["y"] + b["h"] - 0.5
        and b["y"] < a["y"] + a["h"] - 0.5
    )


@pytest.mark.parametrize("context", [(size, "light") for size in SIZES], ids=["1366", "390"], indirect=True)
@pytest.mark.parametrize("path", ["/", "/actions/big-action", "/events/pause-end-august"])
def test_no_text_in_a_timeline_overlaps_other_text_or_the_today_line(
    live_server: LiveServer, context: Any, path: str
) -> None:
    page = context.new_page()
    page.goto(live_server.url + path)
    texts = _boxes(page, "svg.timeline text")
    assert texts
    clashes = [
        (a["text"], b["text"])
        for i, a in enumerate(texts)
        for b in texts[i + 1 :]
        if a["svg"] == b["svg"] and _overlap(a, b)
    ]
    assert clashes == []
    crossed = [
        t["text"] for t in texts for line in _boxes(page, "svg.timeline line.today") if _overlap(t, line)
    ]
    assert crossed == []
    width = page.viewport_size["width"]
    assert all(t["x"] >= 0 and t["x"] + t["w"] <= width for t in texts), "a label runs off the screen"


def test_close_dates_merge_into_one_mark_that_counts_them(live_server: LiveServer, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(live_server.url + "/")
    cluster = page.locator("#timeline a.cluster").first
    assert cluster.locator("text").text_content() == "5"
    assert (cluster.locator("title").text_content() or "").startswith("5 dates: Steel safeguard step 1")
    assert cluster.get_attribute("href") == "/actions/big-action"  # the action's page lists them all
    # Titles, not ids, name the rows; the year is on the axis.
    lanes = page.locator("#timeline text.lane").all_text_contents()
    assert "Safeguard review of steel products with many…" in lanes or any(
        "Safeguard review" in t for t in lanes
    )
    assert "2025" in page.locator("#timeline text.year").all_text_contents()


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _rgb(css: str) -> tuple[float, float, float] | None:
    found = re.match(r"rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)", css)
    if not found or (found.group(4) is not None and float(found.group(4)) == 0):
        return None
    return float(found.group(1)), float(found.group(2)), float(found.group(3))


def test_contrast_helper_matches_known_pairs() -> None:
    assert round(contrast((0, 0, 0), (255, 255, 255)), 1) == 21.0
    assert round(contrast((118, 118, 118), (255, 255, 255)), 2) == 4.54


@pytest.mark.parametrize("context", [((1366, 900), s) for s in SCHEMES], ids=SCHEMES, indirect=True)
def test_timeline_marks_contrast_three_to_one_with_the_page(live_server: LiveServer, context: Any) -> None:
    page = context.new_page()
    low = []
    for path in ("/", "/actions/big-action", "/actions/reciprocal-pause"):
        page.goto(live_server.url + path)
        background = _rgb(page.evaluate("getComputedStyle(document.body).backgroundColor"))
        assert background is not None
        marks = page.evaluate(
            """() => Array.from(document.querySelectorAll(
                    'svg.timeline .mark, svg.timeline .bar, svg.timeline line.today')).map(el => {
                const s = getComputedStyle(el);
                return {cls: el.getAttribute('class'), fill: s.fill, stroke: s.stroke,
                        strokeWidth: parseFloat(s.strokeWidth)};
            })"""
        )
        assert marks
        for mark in marks:
            fill = _rgb(mark["fill"]) if mark["fill"] != "none" else None
            stroke = _rgb(mark["stroke"]) if mark["stroke"] != "none" and mark["strokeWidth"] >= 2 else None
            # The mark is seen by whichever of its fill and outline stands out from the page.
            best = max((contrast(c, background) for c in (fill, stroke) if c is not None), default=0.0)
            if best < 3:
                low.append((path, mark["cls"], mark["fill"], mark["stroke"], round(best, 2)))
    assert low == []
