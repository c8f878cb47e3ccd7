"""A PostgreSQL 15 cluster the test owns: its own data directory, a free loopback port, trust auth.

Outage tests stop and start the server under the service (`stop(mode="immediate")` is a crash as far
as clients are concerned; `start()` runs crash recovery), which must never happen to the machine's own
PostgreSQL. `initdb` refuses to run as root, so as root the cluster runs as the `postgres` user
(through `runuser`) in a temporary directory that user owns; as anyone else it runs as that user.

Use the `pg_cluster` fixture (import it into the test module), or `PgCluster` directly. Both skip with
the reason when the binaries (or, as root, the `postgres` user) are missing.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import free_port

PG_BIN_ENV = "TRADE_CALENDAR_TEST_PG_BIN"
PG_BIN = Path(os.environ.get(PG_BIN_ENV, "/usr/lib/postgresql/15/bin"))
RUN_AS = "postgres"  # the user the cluster runs as when we are root
PORT_ATTEMPTS = 3
PORT_TAKEN = "Address already in use"  # the server log's words when its port was taken first

# A test cluster holds nothing worth a disk flush: the WAL still reaches the OS before a commit returns
# (synchronous_commit stays on), so a commit survives `stop -m immediate`, which kills only processes.
SETTINGS = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = ''
fsync = off
full_page_writes = off
max_connections = 100
shared_buffers = 16MB
"""


def missing_reason() -> str | None:
    """Why a cluster cannot be started here, or None when it can."""
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (PG_BIN / tool).is_file():
            return f"needs PostgreSQL 15 in {PG_BIN} (apt-get install postgresql-15, or set {PG_BIN_ENV})"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "needs `runuser` to run PostgreSQL as a non-root user"
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return f"running as root needs a `{RUN_AS}` user to own the test cluster (initdb refuses root)"
    return None


requires_pg_cluster = pytest.mark.skipif(
    missing_reason() is not None, reason=missing_reason() or "PostgreSQL binaries present"
)


class ClusterError(RuntimeError):
    """A pg_ctl or initdb command failed; the message carries its output and the server's log."""

    def __init__(self, what: str, cluster: PgCluster) -> None:
        super().__init__(f"{what}\n--- server log ({cluster.log}) ---\n{cluster.server_log()}")


class PgCluster:
    """One private PostgreSQL cluster; `start`, `stop`, `url`, and `close` to remove every trace."""

    def __init__(self) -> None:
        reason = missing_reason()
        if reason is not None:
            pytest.skip(reason)
        self.root = Path(tempfile.mkdtemp(prefix="trade-calendar-pg-"))
        self._owner: pwd.struct_passwd | None = pwd.getpwnam(RUN_AS) if os.geteuid() == 0 else None
        if self._owner is not None:
            os.chown(self.root, self._owner.pw_uid, self._owner.pw_gid)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self.running = False
        try:
            self._run(
                "initdb", "--no-sync", "--auth=trust", "--username=postgres", "--encoding=UTF8",
                "--locale=C", f"--pgdata={self.data}",
            )  # fmt: skip
            self._start_on_a_free_port()
        except BaseException:
            self.close()
            raise

    def _start_on_a_free_port(self) -> None:
        # The server binds the port itself, so it can only be one that was free a moment ago: chosen
        # just before the start, and chosen again if another process (a parallel test run, another
        # pytest-xdist worker's cluster) took it in between.
        for attempt in range(1, PORT_ATTEMPTS + 1):
            self.port = free_port()
            with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
                conf.write(SETTINGS.format(port=self.port))  # the last setting in the file wins
            try:
                self.start()
                return
            except ClusterError as exc:
                self.running = False
                if attempt == PORT_ATTEMPTS or PORT_TAKEN not in str(exc):
                    raise

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the cluster's `postgres` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start the server and wait until it accepts connections (runs crash recovery if needed)."""
        self.running = True  # first: a start cut short (Ctrl-C, a timeout) may still leave a server
        self._run("pg_ctl", "start", "--wait", "--timeout=30", f"--pgdata={self.data}", f"--log={self.log}")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: "immediate" kills it without a checkpoint (clients see a crash)."""
        if mode not in ("smart", "fast", "immediate"):
            raise ValueError(f"pg_ctl stop mode must be smart, fast or immediate, not {mode!r}")
        self._run("pg_ctl", "stop", "--wait", "--timeout=30", f"--mode={mode}", f"--pgdata={self.data}")
        self.running = False

    def restart(self, mode: str = "immediate") -> None:
        """Stop (a crash by default) and start again on the same port."""
        self.stop(mode)
        self.start()

    def close(self) -> None:
        """Stop the server if it runs and delete the cluster."""
        if self.running or (self.data / "postmaster.pid").exists():
            # Already gone is fine: the directory is removed either way.
            with contextlib.suppress(ClusterError):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def server_log(self) -> str:
        """The server's log so far (for failure messages)."""
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def _run(self, tool: str, *args: str) -> None:
        command = [str(PG_BIN / tool), *args]
        if self._owner is not None:
            command = ["runuser", "-u", RUN_AS, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, cwd=self.root)
        if done.returncode != 0:
            raise ClusterError(f"{tool} {' '.join(args)} exited {done.returncode}:\n{done.stderr}", self)


@pytest.fixture
def pg_cluster() -> Iterator[PgCluster]:
    """A running private PostgreSQL cluster, removed after the test (or skip, saying what is missing)."""
    cluster = PgCluster()
    try:
        yield cluster
    finally:
        cluster.close()
