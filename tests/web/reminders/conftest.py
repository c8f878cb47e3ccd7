"""Fixtures of the wiring tests: the app with reminders started as `serve` starts them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from calendar_service.adapters.settings import Settings
from calendar_service.web import create_app
from calendar_service.web.extension import services
from calendar_service.worker.service import ReminderService
from tests.support.reminders import event, write_calendar
from tests.support.wiring import DEADLINE, DUE, TOKEN, OffsetClock


@pytest.fixture
def wiring_settings(tmp_path: Path) -> Settings:
    data = write_calendar(tmp_path / "events.yaml", event("soon", DEADLINE))
    return Settings.from_env(
        {}, data_path=data, state_dir=tmp_path / "state", admin_tokens=(TOKEN,),
        allow_private_webhooks=True, reload_interval=60, base_url="", reload_settle=0,
    )  # fmt: skip


@pytest.fixture
def offset_clock() -> OffsetClock:
    """An hour before the reminder falls due."""
    offset_clock = OffsetClock()
    offset_clock.put_before(DUE, 3600)
    return offset_clock


@pytest.fixture
def served(wiring_settings: Settings, offset_clock: OffsetClock) -> Iterator[tuple[Flask, ReminderService]]:
    """The app with the reminder service started as `serve` starts it."""
    app = create_app(wiring_settings, clock=offset_clock)
    service = services(app).start_reminders()
    try:
        yield app, service
    finally:
        service.shutdown()
