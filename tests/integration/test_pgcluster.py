"""The private PostgreSQL cluster helper: it runs on its own port, survives a crash stop, cleans up."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from calendar_service.adapters.db import make_engine
from tests.support.dbtargets import POSTGRES_ENV, postgres_summary, postgres_url_or_skip
from tests.support.pgcluster import PgCluster, missing_reason, pg_cluster, requires_pg_cluster

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


def test_without_a_configured_server_the_postgres_tests_start_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`python3 dev.py test` is the whole suite on a fresh machine: no variable needed for PostgreSQL."""
    if missing_reason() is not None:
        pytest.skip(f"no PostgreSQL binaries here: {missing_reason()}")
    monkeypatch.delenv(POSTGRES_ENV, raising=False)
    try:
        url = postgres_url_or_skip()
    except pytest.skip.Exception as skipped:
        pytest.fail(f"the PostgreSQL tests would skip though a cluster can be started: {skipped}")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()
    assert postgres_summary().startswith("PostgreSQL tests ran on a throwaway cluster")
