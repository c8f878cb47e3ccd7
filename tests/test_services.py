"""Start-up against a busy SQLite file: busy is not unreachable."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import inspect

from calendar_service import services
from calendar_service.adapters.db import make_engine
from calendar_service.core.errors import DatabaseUnreachable


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # what a publishing replica or the worker holds while it writes
    return holder


def test_start_up_waits_for_a_busy_sqlite_file(tmp_path: Path) -> None:
    # Seen under load: a second instance starting while another published got "cannot use the
    # database … database is locked" and refused to start, though the file was fine.
    path = tmp_path / "busy.sqlite3"
    holder = _hold_write_lock(path)
    engine = make_engine(f"sqlite:///{path}", busy_timeout=0.2)
    release = threading.Timer(1.0, holder.rollback)
    release.start()
    try:
        services.prepare_database(engine, "TRADE_CALENDAR_STATE_DIR")
    finally:
        release.join()
        holder.close()
    assert "subscriptions" in inspect(engine).get_table_names()


def test_a_lock_never_released_is_reported_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "STARTUP_LOCK_WAIT", 0.5)
    path = tmp_path / "stuck.sqlite3"
    holder = _hold_write_lock(path)
    engine = make_engine(f"sqlite:///{path}", busy_timeout=0.1)
    try:
        with pytest.raises(DatabaseUnreachable, match="database is locked"):
            services.prepare_database(engine, "TRADE_CALENDAR_STATE_DIR")
    finally:
        holder.close()
