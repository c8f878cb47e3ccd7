"""The engine through a SQLite file made read-only for a while (`chmod a-w` on the database and its
WAL files, a read-only remount): once it is writable again, writes work again with no restart.

SQLite opens a file it cannot write read-only and keeps that connection read-only for its life, so a
pool that grew during the window kept failing writes until restart. Root writes through any mode
bits, so as root the test acts as `nobody` for the few statements involved (seteuid, then back).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import sqlite3  # noqa: F401 - imported while we can still read the standard library as root
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from calendar_service.adapters.db import _registry, create_schema, database_status, make_engine  # noqa: F401


@contextlib.contextmanager
def _unprivileged() -> Iterator[None]:
    """Act as `nobody` if we are root (mode bits bind only then); as anyone else, stay as we are."""
    if os.geteuid() != 0:
        yield
        return
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root needs a `nobody` user for the read-only file to bind")
    os.setegid(nobody.pw_gid)
    os.seteuid(nobody.pw_uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def _chmod_database(path: Path, mode: int) -> None:
    for file in path.parent.glob(path.name + "*"):  # the database, its -wal and -shm
        file.chmod(mode)


def test_writes_work_again_once_the_file_is_writable(tmp_path: Path) -> None:
    # The temporary directory of the test is root's (0700): use one `nobody` can enter.
    with tempfile.TemporaryDirectory(prefix="trade-calendar-ro-") as folder:
        os.chmod(folder, 0o777)
        path = Path(folder) / "ro.sqlite3"
        outcomes: list[str] = []
        with _unprivileged():
            engine = make_engine(f"sqlite:///{path.as_posix()}")
            try:
                create_schema(engine)
                with engine.begin() as conn:
                    conn.execute(text("CREATE TABLE notes (n INTEGER)"))
                keeper = engine.connect()  # a connection in use throughout, as in a running server
                keeper.execute(text("SELECT count(*) FROM notes")).scalar_one()
                _chmod_database(path, 0o444)
                growth = [engine.connect() for _ in range(3)]  # the pool grows while read-only
                for conn in growth:
                    with pytest.raises(OperationalError, match="readonly"):
                        conn.execute(text("INSERT INTO notes VALUES (1)"))
                    conn.close()
                assert database_status(engine).down
                _chmod_database(path, 0o644)
                for n in range(6):
                    try:
                        with engine.begin() as conn:
                            conn.execute(text("INSERT INTO notes VALUES (:n)"), {"n": n})
                        outcomes.append("ok")
                    except OperationalError as exc:
                        outcomes.append(str(exc.orig))
                keeper.close()
                assert not database_status(engine).down
            finally:
                engine.dispose()
    assert outcomes == ["ok"] * 6
