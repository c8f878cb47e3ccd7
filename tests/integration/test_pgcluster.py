"""The private PostgreSQL cluster helper: it runs on its own port, survives a crash stop, cleans up."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from calendar_service.adapters.db import make_engine
from tests.support.pgcluster import PgCluster, pg_cluster, requires_pg_cluster

pytestmark = [pytest.mark.postgres, requires_pg_cluster]
__all__ = ["pg_cluster"]  # the fixture, imported to be used here


def test_committed_rows_survive_an_immediate_stop_and_the_directory_goes(pg_cluster: PgCluster) -> None:
    engine = make_engine(pg_cluster.url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE kept (n integer)"))
            conn.execute(text("INSERT INTO kept VALUES (7)"))
        pg_cluster.stop(mode="immediate")
        with pytest.raises(OperationalError), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        pg_cluster.start()
        engine.dispose()  # pooled connections died with the server
        with engine.connect() as conn:
            assert conn.execute(text("SELECT n FROM kept")).scalar_one() == 7
    finally:
        engine.dispose()
    root = pg_cluster.root
    pg_cluster.close()
    assert not root.exists()
    pg_cluster.close()  # twice is harmless (the fixture closes again)


def test_the_stop_mode_is_checked(pg_cluster: PgCluster) -> None:
    with pytest.raises(ValueError, match="immediate"):
        pg_cluster.stop(mode="now")
