"""The home page in a real browser: build a filtered feed address in the form and fetch it."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.web.conftest import LiveServer

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium (make browser)"
    ),
]


def test_build_a_filtered_feed_in_the_form_and_subscribe(live_server: LiveServer) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-background-networking"]
        )
        try:
            page = browser.new_page()
            page.goto(live_server.url + "/")
            assert page.locator("#feed-webcal").get_attribute("href", timeout=5000) == (
                live_server.url.replace("http://", "webcal://") + "/calendar.ics"
            )
            page.select_option("#f-country", ["CN"])
            page.select_option("#f-kind", ["tariff", "talks"])
            page.fill("#f-alarm", "P1D")
            page.click("#build")
            href = page.locator("#built-https").get_attribute("href", timeout=5000)
            webcal = page.locator("#built-webcal").get_attribute("href")
        finally:
            browser.close()
    assert href == live_server.url + "/calendar.ics?country=CN&kind=talks,tariff&alarm=P1D"
    assert webcal == href.replace("http://", "webcal://")
    feed = requests.get(href, timeout=10)
    assert feed.status_code == 200
    assert feed.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "UID:tariff-hike" in feed.text
    assert "UID:london" in feed.text
    assert "UID:eu-hearing" not in feed.text
    assert "BEGIN:VALARM" in feed.text
