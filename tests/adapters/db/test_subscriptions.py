"""The subscriptions table on SQLite and on PostgreSQL (marked `postgres`, skipped without the URL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import threading

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from calendar_service.adapters.db import subscriptions as db
from calendar_service.core.errors import SubscriptionDisabled, SubscriptionNotFound
from calendar_service.core.subscriptions import Subscription, new_subscription_id

T0 = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)


def make_sub(**changes: object) -> Subscription:
    values: dict[str, object] = {
        "id": new_subscription_id(),
        "url": "https://hooks.example.com/trade",
        "filter": {"country": ("CN", "US"), "kind": ("tariff",)},
        "secret": "whsec_" + secrets.token_urlsafe(24),
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(changes)
    return Subscription(**values)  # type: ignore[arg-type]


def test_round_trip_keeps_every_field(engine: Engine) -> None:
    sub = make_sub(lead_times=("P2D", "PT30M"), format="slack")
    stored = db.create_subscription(engine, sub)
    got = db.get_subscription(engine, sub.id)
    assert got == stored == dataclasses.replace(sub, version=1)
    assert got.created_at.tzinfo is not None
    assert got.secret == sub.secret
    assert sub.secret not in repr(got)


def test_duplicate_id_is_refused(engine: Engine) -> None:
    sub = make_sub()
    db.create_subscription(engine, sub)
    with pytest.raises(IntegrityError):
        db.create_subscription(engine, sub)


def test_list_is_oldest_first_and_can_skip_disabled(engine: Engine) -> None:
    first = db.create_subscription(engine, make_sub(created_at=T0, updated_at=T0))
    later = T0 + dt.timedelta(minutes=1)
    second = db.create_subscription(engine, make_sub(created_at=later, updated_at=later))
    db.disable_subscription(engine, first.id, "gone", now=later)
    assert [s.id for s in db.list_subscriptions(engine)] == [first.id, second.id]
    assert [s.id for s in db.list_subscriptions(engine, enabled_only=True)] == [second.id]


def test_update_changes_fields_but_never_the_secret_or_creation_time(engine: Engine) -> None:
    sub = db.create_subscription(engine, make_sub())
    later = T0 + dt.timedelta(hours=1)
    changed = Subscription(
        **{**sub.__dict__, "url": "https://other.example.com/", "secret": "x", "created_at": later}
    )
    stored = db.update_subscription(engine, changed)
    assert stored.url == "https://other.example.com/"
    assert stored.secret == sub.secret
    assert stored.created_at == T0


def test_missing_ids_raise_not_found(engine: Engine) -> None:
    ghost = make_sub()
    with pytest.raises(SubscriptionNotFound, match=ghost.id):
        db.get_subscription(engine, ghost.id)
    with pytest.raises(SubscriptionNotFound):
        db.update_subscription(engine, ghost)
    with pytest.raises(SubscriptionNotFound):
        db.delete_subscription(engine, ghost.id, now=T0)
    with pytest.raises(SubscriptionNotFound):
        db.disable_subscription(engine, ghost.id, "x", now=T0)
    with pytest.raises(SubscriptionNotFound):
        db.enable_subscription(engine, ghost.id, now=T0)
    with pytest.raises(SubscriptionNotFound):
        db.record_failure(engine, ghost.id, now=T0)


def test_delete_removes_it(engine: Engine) -> None:
    sub = db.create_subscription(engine, make_sub())
    db.delete_subscription(engine, sub.id, now=T0)
    assert db.list_subscriptions(engine) == []


def test_failures_disable_at_the_threshold_and_enable_shows_why(engine: Engine) -> None:
    sub = db.create_subscription(engine, make_sub())
    for n in range(1, 3):
        after = db.record_failure(engine, sub.id, now=T0, disable_after=3, reason="HTTP 500 three times")
        assert (after.failure_count, after.enabled) == (n, True)
    after = db.record_failure(engine, sub.id, now=T0, disable_after=3, reason="HTTP 500 three times")
    assert (after.failure_count, after.enabled, after.disabled_reason) == (3, False, "HTTP 500 three times")
    enabled, reason = db.enable_subscription(engine, sub.id, now=T0 + dt.timedelta(days=1))
    assert reason == "HTTP 500 three times"
    assert (enabled.enabled, enabled.disabled_reason, enabled.failure_count) == (True, None, 0)
    assert enabled.updated_at == T0 + dt.timedelta(days=1)


def test_reset_failures_after_a_success(engine: Engine) -> None:
    sub = db.create_subscription(engine, make_sub())
    db.record_failure(engine, sub.id, now=T0)
    assert db.reset_failures(engine, sub.id, now=T0).failure_count == 0


def test_concurrent_failures_are_all_counted(engine: Engine) -> None:
    sub = db.create_subscription(engine, make_sub())

    def fail() -> None:
        for _ in range(10):
            db.record_failure(engine, sub.id, now=T0)

    threads = [threading.Thread(target=fail) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert db.get_subscription(engine, sub.id).failure_count == 40


def test_naive_times_are_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="aware"):
        db.create_subscription(engine, make_sub(created_at=dt.datetime(2025, 1, 1)))


def test_rotation_keeps_one_previous_secret_until_its_grace_ends(engine: Engine) -> None:
    sub = make_sub()
    db.create_subscription(engine, sub)
    rotated = db.rotate_secret(engine, sub.id, "whsec_second", now=T0, grace=dt.timedelta(hours=1))
    assert (rotated.secret, rotated.previous_secret) == ("whsec_second", sub.secret)
    assert rotated.previous_secret_expires_at == T0 + dt.timedelta(hours=1)
    assert db.get_subscription(engine, sub.id) == rotated
    assert rotated.secret_in_grace(T0 + dt.timedelta(minutes=59)) == sub.secret
    assert rotated.secret_in_grace(T0 + dt.timedelta(hours=1)) is None
    # Rotating again within the grace period keeps only the secret just replaced.
    again = db.rotate_secret(engine, sub.id, "whsec_third", now=T0, grace=dt.timedelta(hours=2))
    assert (again.secret, again.previous_secret) == ("whsec_third", "whsec_second")
    assert [s.previous_secret for s in db.list_subscriptions(engine)] == ["whsec_second"]
    db.delete_subscription(engine, sub.id, now=T0)  # the previous secret goes with it
    with pytest.raises(SubscriptionNotFound):
        db.rotate_secret(engine, sub.id, "whsec_fourth", now=T0, grace=dt.timedelta(0))


def test_a_disabled_subscription_does_not_rotate(engine: Engine) -> None:
    sub = make_sub()
    db.create_subscription(engine, sub)
    db.disable_subscription(engine, sub.id, "410 Gone", now=T0)
    with pytest.raises(SubscriptionDisabled, match="410 Gone"):
        db.rotate_secret(engine, sub.id, "whsec_new", now=T0, grace=dt.timedelta(hours=1))
    assert db.get_subscription(engine, sub.id).secret == sub.secret
