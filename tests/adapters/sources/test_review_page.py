"""`/review` (admin token) shows the queue with excerpts; `/healthz` names a watch that has not succeeded
for a day; `/metrics` counts sources and open proposals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import sources as db
from calendar_service.adapters.settings import Settings
from calendar_service.web import create_app
from tests.support.replay import Page, ReplayServer
from tests.support.sources import events_yaml, make_watch, notice

TOKEN = "review-token-0123456789abcdef0123456789"


@pytest.fixture
def client(tmp_path: Path, site: ReplayServer, clock: SettableClock) -> FlaskClient:
    data = tmp_path / "events.yaml"
    data.write_text(events_yaml(site), encoding="utf-8")
    settings = Settings.from_env(
        {}, data_path=data, state_dir=tmp_path / "state", admin_tokens=(TOKEN,), reload_settle=0
    )
    app = create_app(settings, clock=clock)
    app.config["WATCH_DATA"] = data
    return app.test_client()


def engine_of(client: FlaskClient):  # type: ignore[no-untyped-def]
    return client.application.extensions["trade_calendar"].services.engine


def test_review_page_needs_the_token_and_shows_what_changed(
    client: FlaskClient, site: ReplayServer, clock: SettableClock
) -> None:
    assert client.get("/review").status_code == 401
    assert client.get("/review", headers={"Authorization": "Bearer wrong"}).status_code == 401
    data = client.application.config["WATCH_DATA"]
    site.page("/notice", Page(notice("Hearing on January 20, 2027.")))
    watch = make_watch(engine_of(client), clock, data)
    watch.check_sources()
    site.page("/notice", Page(notice("Hearing moved to <b>March 3, 2027</b>.")))
    clock.advance(dt.timedelta(days=1))
    watch.check_sources()
    page = client.get("/review", headers={"Authorization": f"Bearer {TOKEN}"})
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "steel-hearing" in html
    assert "source-changed" in html
    assert "+ Hearing moved to March 3, 2027." in html
    assert "old-link" in html  # the 404


def test_healthz_names_a_watch_without_success_for_a_day(client: FlaskClient, clock: SettableClock) -> None:
    engine = engine_of(client)
    assert "sources" not in client.get("/healthz").get_json()  # never ran here: nothing to say
    db.record_run(engine, "ustr", clock.now(), None)
    db.record_run(engine, "csms", clock.now(), None)
    clock.advance(dt.timedelta(hours=25))
    db.record_run(engine, "csms", clock.now(), None)
    db.record_run(engine, "ustr", clock.now(), "page 1: HTTP 503")
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded"
    assert list(health["sources"]["stale"]) == ["ustr"]
    assert (
        "ustr: no success since 2026-12-07T12:00:00Z; last error: page 1: HTTP 503"
        in health["down"]["sources"]
    )
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "trade_calendar_watches_stale 1.0" in metrics
    assert 'trade_calendar_sources{state="known"} 0.0' in metrics
