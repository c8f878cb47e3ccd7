"""Several app instances on one database (gunicorn workers, web replicas) serve the same bytes.

Each instance has its own engine and its own clock, a second apart, as two processes would. A
`Rendezvous` on the engines forces the interleaving that made them disagree: the first load of the
publication state in one instance waits (briefly) until the other has loaded too, so without a lock
around "load, reconcile, save" both reconcile from the same empty state at their own `now`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import make_engine
from calendar_service.adapters.settings import Settings
from calendar_service.services import Services, build_services
from calendar_service.web import create_app
from calendar_service.web.extension import services
from tests.support.dbtargets import postgres_url_or_skip
from tests.support.ics import edit, prop, vevent
from tests.support.webapp import sample_yaml

T0 = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)
HOST = {"Host": "calendar.test"}
_LOAD = re.compile(r"^\s*SELECT\b.*\bFROM publications\b", re.S | re.I)


class Rendezvous:
    """Hold each engine's next load of the publication state until every engine has reached one.

    With a lock around publishing, the second engine cannot reach its load while the first holds the
    lock, so the wait times out and the first carries on: the rendezvous widens a race, it never
    deadlocks.
    """

    def __init__(self, engines: list[Engine], timeout: float = 0.5) -> None:
        self.timeout = timeout
        self._keys = {id(engine) for engine in engines}
        self._armed: set[int] = set()
        self._barrier = threading.Barrier(len(engines), timeout=timeout)
        for engine in engines:
            event.listen(engine, "before_cursor_execute", self._hook(id(engine)))

    def arm(self) -> None:
        """Make the next load on every engine wait for the others."""
        self._barrier = threading.Barrier(len(self._keys), timeout=self.timeout)
        self._armed = set(self._keys)

    def _hook(self, key: int) -> Callable[..., None]:
        def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if key in self._armed and _LOAD.match(statement):
                self._armed.discard(key)
                # Broken: the other is waiting for a lock this one holds, so go on.
                with contextlib.suppress(threading.BrokenBarrierError):
                    self._barrier.wait()

        return before


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def engines(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Engine]]:
    """Two engines on one fresh database, as two processes would have."""
    if request.param == "sqlite":
        url, kwargs = f"sqlite:///{tmp_path / 'shared.sqlite3'}", {}
        made = [make_engine(url, **kwargs) for _ in range(2)]
        yield made
        for engine in made:
            engine.dispose()
        return
    server = postgres_url_or_skip()
    schema = f"t_shared_{secrets.token_hex(6)}"
    admin = make_engine(server)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    made = [make_engine(server, connect_args={"options": f"-csearch_path={schema}"}) for _ in range(2)]
    try:
        yield made
    finally:
        for engine in made:
            engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def in_parallel(*calls: Callable[[], object]) -> list[object]:
    """Run `calls` in threads started together; return their results or raise the first error."""
    results: list[object] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            results[index] = call()
        except BaseException as exc:  # pragma: no cover - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a call did not finish in 30 s"
    if errors:
        raise errors[0]
    return results


def feed(app: Flask) -> tuple[bytes, str]:
    """The full feed from `app` and its ETag."""
    response = app.test_client().get("/calendar.ics", headers=HOST)
    assert response.status_code == 200
    return response.data, response.headers["ETag"]


@pytest.fixture
def stopped() -> Iterator[list[Flask]]:
    """Apps whose background checks are waited for before the engines go (a check a request started
    may still hold a connection; disposing the engine under it leaves that connection unclosed)."""
    apps: list[Flask] = []
    yield apps
    for app in apps:
        services(app).live.stop_polling()


def make_apps(settings: list[Settings], clocks: list[SettableClock], engines: list[Engine]) -> list[Flask]:
    """Build one app per engine, each loading and publishing the data at the same moment.

    The services (schema, load, publish: what races) are built in threads; the Flask apps around them
    one after the other, because building two apps at once compiles werkzeug's URL rules with
    `ast.parse` in two threads, which CPython 3.11.7 can fail with "SystemError: AST constructor
    recursion depth mismatch" (seen once under load) — a flake that says nothing about our code.
    """
    calls = [
        (lambda s=s, c=c, e=e: build_services(s, clock=c, engine=e))
        for s, c, e in zip(settings, clocks, engines, strict=True)
    ]
    return [create_app(built) for built in in_parallel(*calls) if isinstance(built, Services)]


def test_instances_loading_together_serve_identical_bytes(
    engines: list[Engine], tmp_path: Path, stopped: list[Flask]
) -> None:
    data = tmp_path / "events.yaml"
    data.write_text(sample_yaml(), encoding="utf-8")
    settings = Settings.from_env(
        {}, data_path=data, state_dir=tmp_path / "state", reload_interval=0.001, reload_settle=0
    )
    clocks = [SettableClock(T0), SettableClock(T0 + dt.timedelta(seconds=1))]
    rendezvous = Rendezvous(engines)

    rendezvous.arm()
    apps = make_apps([settings, settings], clocks, engines)
    stopped += apps
    assert len(apps) == 2
    (body_a, etag_a), (body_b, etag_b) = feed(apps[0]), feed(apps[1])
    assert body_a == body_b
    assert etag_a == etag_b
    # A conditional request with one instance's ETag is a 304 at the other.
    other = apps[1].test_client().get("/calendar.ics", headers={**HOST, "If-None-Match": etag_a})
    assert other.status_code == 304
    sequence = int(prop(vevent(body_a.decode(), "london"), "SEQUENCE"))

    edit(data, "time: 10:40", "time: 11:40")
    for clock in clocks:
        clock.advance(dt.timedelta(hours=1))
    rendezvous.arm()
    # Both reload at once, as two processes' reload threads would after one edit.
    in_parallel(lambda: services(apps[0]).live.check(), lambda: services(apps[1]).live.check())
    (new_a, new_etag_a), (new_b, new_etag_b) = feed(apps[0]), feed(apps[1])
    assert new_a == new_b
    assert new_etag_a == new_etag_b != etag_a
    for body in (new_a, new_b):
        london = vevent(body.decode(), "london")
        assert "T114000" in prop(london, "DTSTART")
        assert int(prop(london, "SEQUENCE")) == sequence + 1
    # And they stay together on later requests.
    assert feed(apps[0]) == feed(apps[1]) == (new_a, new_etag_a)


def test_replica_on_an_older_file_cannot_hold_the_state_back(
    engines: list[Engine], tmp_path: Path, stopped: list[Flask]
) -> None:
    # Two replicas, each with its own copy of the data file (a rolling deploy updates them one by one).
    files = [tmp_path / "a.yaml", tmp_path / "b.yaml"]
    for path in files:
        path.write_text(sample_yaml(), encoding="utf-8")
    settings = [
        Settings.from_env(
            {}, data_path=path, state_dir=tmp_path / "state", reload_interval=0.001, reload_settle=0
        )
        for path in files
    ]
    clocks = [SettableClock(T0), SettableClock(T0 + dt.timedelta(seconds=1))]
    apps = [create_app(s, clock=c, engine=e) for s, c, e in zip(settings, clocks, engines, strict=True)]
    stopped += apps
    assert feed(apps[0]) == feed(apps[1])
    sequences: list[int] = [int(prop(vevent(feed(apps[0])[0].decode(), "london"), "SEQUENCE"))]

    def london_sequence(app: Flask) -> int:
        services(app).live.check()  # what its reload thread does every `reload_interval`
        body = feed(app)[0].decode()
        return int(prop(vevent(body, "london"), "SEQUENCE"))

    # Replica A gets the new file first; B still has the old one for a while and keeps checking.
    edit(files[0], "time: 10:40", "time: 11:40")
    for _ in range(3):
        for clock in clocks:
            clock.advance(dt.timedelta(minutes=1))
        sequences += [london_sequence(apps[0]), london_sequence(apps[1])]
    # Then B gets it too: from here on both serve the new version, identically, and nothing moves.
    edit(files[1], "time: 10:40", "time: 11:40")
    for clock in clocks:
        clock.advance(dt.timedelta(minutes=1))
    sequences += [london_sequence(apps[1]), london_sequence(apps[0])]
    services(apps[0]).live.check()  # A follows B's publication
    settled = feed(apps[0])
    assert feed(apps[1]) == settled
    assert "T114000" in prop(vevent(settled[0].decode(), "london"), "DTSTART")
    for clock in clocks:
        clock.advance(dt.timedelta(minutes=1))
    for app in apps:
        services(app).live.check()
    assert feed(apps[0]) == feed(apps[1]) == settled
    # SEQUENCE never went down, whatever order the replicas published in.
    assert sequences == sorted(sequences)
    assert sequences[-1] > sequences[0]
