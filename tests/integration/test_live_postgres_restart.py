"""The live calendar across a PostgreSQL restart: an edit made while the server is down is refused for
publishing (not settled as "unchanged") and published once it is back. Starts a private cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import create_schema, make_engine
from calendar_service.adapters.live import LiveCalendar
from tests.support.ics import edit
from tests.support.livecal import failure_text, title_of
from tests.support.pgcluster import PgCluster, pg_cluster, requires_pg_cluster

__all__ = ["pg_cluster"]  # the fixture, imported to be used here


@pytest.mark.postgres
@requires_pg_cluster
def test_edit_made_while_postgresql_is_stopped_is_published_after_it_starts(
    pg_cluster: PgCluster, data_file: Path, clock: SettableClock
) -> None:
    engine = make_engine(pg_cluster.url)
    try:
        create_schema(engine)
        live = LiveCalendar(data_file, clock=clock, engine=engine, reload_interval=0.001)
        assert live.check()
        pg_cluster.stop("immediate")
        edit(data_file, "title: London day 2", "title: London, day two")
        assert live.check() is False
        assert "is valid but publishing it failed (OperationalError" in failure_text(live)
        pg_cluster.start()
        assert live.check() is True  # before: "unchanged" for good, the old title served with "ok"
        assert title_of(live, "london") == "London, day two"
        assert live.last_failure is None
    finally:
        engine.dispose()
