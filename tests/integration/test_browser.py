"""The pages in a real browser (Debian's chromium): the feed builder, the path from the home page to an
event and its action, accessibility (axe-core) and layout at a phone's width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.browser import CHROMIUM, SHOTS
from tests.support.pages import page_yaml
from tests.support.webapp import LiveServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium (make browser)"
    ),
]


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    """The sample data with an action (see test_pages)."""
    path = tmp_path / "events.yaml"
    path.write_text(page_yaml(), encoding="utf-8")
    return path


def test_build_a_filtered_feed_in_the_form_and_subscribe(live_server: LiveServer, browser: Any) -> None:
    page = browser.new_page()
    page.goto(live_server.url + "/")
    assert page.locator("#feed-webcal").get_attribute("href", timeout=5000) == (
        live_server.url.replace("http://", "webcal://") + "/calendar.ics"
    )
    # Checkboxes, not a multi-select: no Ctrl-click needed to pick two kinds.
    page.check("#f-country input[value=CN]")
    page.check("#f-kind input[value=tariff]")
    page.check("#f-kind input[value=talks]")
    page.fill("#f-alarm", "P1D")
    page.click("#build")
    href = page.locator("#built-https").get_attribute("href", timeout=5000)
    webcal = page.locator("#built-webcal").get_attribute("href")
    assert href == live_server.url + "/calendar.ics?country=CN&kind=talks,tariff&alarm=P1D"
    assert webcal == href.replace("http://", "webcal://")
    feed = requests.get(href, timeout=10)
    assert feed.status_code == 200
    assert feed.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "UID:tariff-hike" in feed.text
    assert "UID:london" in feed.text
    assert "UID:eu-hearing" not in feed.text
    assert "BEGIN:VALARM" in feed.text


def test_from_the_home_page_to_an_event_to_its_action(live_server: LiveServer, browser: Any) -> None:
    page = browser.new_page()
    page.goto(live_server.url + "/")
    page.locator("#upcoming").get_by_role("link", name="Pause ends 1 August").click()
    page.wait_for_url("**/events/pause-end-august")
    assert page.locator("h1").inner_text() == "Pause ends 1 August"
    # The script adds the time in the reader's zone; the page itself needs none of it.
    assert page.locator("dd .reader-time").first.inner_text().startswith("In your time zone:")
    google = page.locator("#add-google").get_attribute("href")
    assert google is not None
    assert google.startswith("https://calendar.google.com/calendar/render?action=TEMPLATE")
    ics = requests.get(live_server.url + (page.locator("#add-ics").get_attribute("href") or ""), timeout=10)
    assert ics.text.count("BEGIN:VEVENT") == 1
    page.click("#action-link")
    page.wait_for_url("**/actions/reciprocal-pause")
    assert page.locator("#dates li").count() == 3
    page.locator("#action-timeline a").first.click()  # a mark on the timeline is a link
    page.wait_for_url("**/events/pause-start")


PAGES = ("/", "/events/pause-end-august", "/actions/reciprocal-pause", "/changes?since=2025-01-01")


@pytest.mark.parametrize("path", PAGES)
def test_no_serious_accessibility_violations(
    live_server: LiveServer, browser: Any, axe_script: Path, path: str
) -> None:
    page = browser.new_page()
    page.goto(live_server.url + path)
    page.add_script_tag(path=str(axe_script))
    violations = page.evaluate(
        "axe.run().then(r => r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length})))"
    )
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


@pytest.mark.parametrize("path", [*PAGES, "/docs"])
@pytest.mark.parametrize("width", [1280, 400])
def test_pages_fit_the_screen_without_sideways_scrolling(
    live_server: LiveServer, browser: Any, path: str, width: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(live_server.url + path)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    SHOTS.mkdir(parents=True, exist_ok=True)  # for a person to look at: build/screenshots/
    name = path.strip("/").split("?")[0].replace("/", "-") or "home"
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
