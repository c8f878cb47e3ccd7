"""The publications table on SQLite and on PostgreSQL (marked `postgres`, skipped without the URL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from calendar_service.adapters.db import make_engine, metadata
from calendar_service.adapters.db import publications as db
from calendar_service.core.publication import Published, reconcile
from tests import regen_golden as golden
from tests.support.dbtargets import BACKENDS, postgres_schema


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """A database URL (and engine arguments) with an empty publications table."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pub.sqlite3'}", {}
        return
    with postgres_schema("t_pub") as schema:
        yield schema.server_url, {"connect_args": schema.connect_args}


@pytest.fixture
def engine(url: tuple[str, dict[str, Any]]) -> Iterator[Engine]:
    eng = make_engine(url[0], **url[1])
    metadata.create_all(eng, tables=[db.publications, db.publication_revision])
    yield eng
    eng.dispose()


def first_states() -> dict[str, Published]:
    return reconcile({}, golden.calendar_from(golden.small_text()), golden.T0, golden.RETENTION)


def test_round_trip(engine: Engine) -> None:
    states = first_states()
    db.save_published(engine, states)
    loaded = db.load_published(engine)
    assert loaded == states
    assert all(s.last_modified.tzinfo is not None for s in loaded.values())


def test_changes_and_tombstones_survive_a_restart(engine: Engine) -> None:
    db.save_published(engine, first_states())
    calendar = golden.calendar_from(golden.changed_small_text())
    second = reconcile(db.load_published(engine), calendar, golden.T1, golden.RETENTION)
    db.save_published(engine, second)
    loaded = db.load_published(engine)
    assert loaded == second
    assert loaded["london"].removed_at == golden.T1
    assert loaded["truce"].sequence == 1
    # After retention the tombstone is dropped from the table too.
    third = reconcile(loaded, calendar, golden.T1 + golden.RETENTION, golden.RETENTION)
    db.save_published(engine, third)
    assert set(db.load_published(engine)) == {"truce", "expiry"}


def test_sequence_never_goes_down(engine: Engine) -> None:
    states = first_states()
    bumped = {k: dataclasses.replace(v, sequence=5) for k, v in states.items()}
    db.save_published(engine, bumped)
    db.save_published(engine, {k: dataclasses.replace(v, sequence=2) for k, v in states.items()})
    assert {s.sequence for s in db.load_published(engine).values()} == {5}


def test_unknown_live_rows_are_left_alone(engine: Engine) -> None:
    # Another process may have published an event from a newer file; saving our state must not erase it.
    states = first_states()
    db.save_published(engine, states)
    db.save_published(engine, {"truce": states["truce"]})
    assert set(db.load_published(engine)) == set(states)


def test_concurrent_saves_do_not_corrupt(url: tuple[str, dict[str, Any]]) -> None:
    engines = [make_engine(url[0], **url[1]) for _ in range(2)]
    metadata.create_all(engines[0], tables=[db.publications])
    base = first_states()
    many = {
        f"event-{i:04d}": dataclasses.replace(base["truce"], event_id=f"event-{i:04d}") for i in range(300)
    }
    errors: list[BaseException] = []

    def save(engine: Engine, sequence: int) -> None:
        try:
            for round_ in range(3):
                states = {k: dataclasses.replace(v, sequence=sequence + round_) for k, v in many.items()}
                db.save_published(engine, states)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(eng, n * 10)) for n, eng in enumerate(engines)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    loaded = db.load_published(engines[0])
    assert set(loaded) == set(many)
    assert {s.sequence for s in loaded.values()} == {12}  # the highest anyone saved
    for eng in engines:
        eng.dispose()


def test_publish_moves_the_revision_only_when_something_changed(engine: Engine) -> None:
    calendar = golden.calendar_from(golden.small_text())
    assert db.current_revision(engine) == 0
    first = db.publish(engine, lambda previous: reconcile(previous, calendar, golden.T0, golden.RETENTION))
    assert first.revision == db.current_revision(engine) == 1
    assert first.states == db.load_published(engine) == first_states()
    # The same data later: reconcile is a no-op, nothing is written, the T0 state stands.
    again = db.publish(engine, lambda previous: reconcile(previous, calendar, golden.T1, golden.RETENTION))
    assert again == first
    assert db.current_revision(engine) == 1
    changed = golden.calendar_from(golden.changed_small_text())
    moved = db.publish(engine, lambda previous: reconcile(previous, changed, golden.T1, golden.RETENTION))
    assert moved.revision == db.current_revision(engine) == 2
    assert moved.states == db.load_published(engine)
    assert moved.states["truce"].sequence == 1
    assert moved.states["london"].removed_at == golden.T1


def test_publish_returns_what_is_stored_when_the_table_holds_more(engine: Engine) -> None:
    # A row with a higher SEQUENCE than the callback computes (written by an older release that saved
    # without the lock): the stored, higher value is what publish returns and what the feed serves.
    states = first_states()
    db.save_published(engine, {k: dataclasses.replace(v, sequence=7) for k, v in states.items()})
    stored = db.publish(
        engine, lambda previous: {k: dataclasses.replace(v, sequence=1) for k, v in states.items()}
    )
    assert {s.sequence for s in stored.states.values()} == {7}
    assert stored.states == db.load_published(engine)


def test_concurrent_publishers_store_and_return_one_state(url: tuple[str, dict[str, Any]]) -> None:
    # Four processes load the same data at once, each with its own clock: the first to take the lock
    # publishes, the others find their reconcile a no-op, and all of them return the stored state.
    engines = [make_engine(url[0], **url[1]) for _ in range(4)]
    metadata.create_all(engines[0], tables=[db.publications, db.publication_revision])
    calendar = golden.calendar_from(golden.small_text())
    start = threading.Barrier(len(engines), timeout=10)
    results: list[db.StoredPublication] = []
    errors: list[BaseException] = []

    def run(engine: Engine, offset: int) -> None:
        now = golden.T0 + dt.timedelta(seconds=offset)
        try:
            start.wait()
            results.append(db.publish(engine, lambda prev: reconcile(prev, calendar, now, golden.RETENTION)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(eng, n)) for n, eng in enumerate(engines)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(results) == len(engines)
    assert all(result == results[0] for result in results)
    assert results[0].revision == db.current_revision(engines[0]) == 1
    assert results[0].states == db.load_published(engines[0])
    for eng in engines:
        eng.dispose()
