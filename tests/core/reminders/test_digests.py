"""Digests end to end: one message per due minute for subscriptions that ask, real loopback receivers,
SQLite and PostgreSQL, retries, a second worker, a receiver refusing a digest as too large (413)."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from standardwebhooks import Webhook

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import ledger
from calendar_service.core.reminders.digests import digest_id
from calendar_service.worker.service import Tuning
from tests.support.receiver import Receiver, Recorded, Reply
from tests.support.reminders import add_subscription, event, make_calendar, make_service, run_together

NY = ZoneInfo("America/New_York")
UTC = dt.UTC
DEADLINE = dt.datetime(2026, 7, 9, 0, 1, tzinfo=NY)  # 04:01Z: the US 00:01 burst
START = dt.datetime(2026, 6, 1, tzinfo=UTC)
HOUR = dt.timedelta(hours=1)


def body(request: Recorded) -> dict:
    return json.loads(request.body)


def items(request: Recorded) -> list[str]:
    """The event ids a request carries: a digest's items, or a single message's event."""
    data = body(request)["data"]
    return [i["event_id"] for i in data["items"]] if "items" in data else [data["event_id"]]


def burst(n: int) -> list[dict]:
    """`n` events due at the same minute, and one five minutes later."""
    return [event(f"e{i}", DEADLINE) for i in range(n)] + [event("later", DEADLINE + dt.timedelta(minutes=5))]


def test_same_minute_reminders_go_out_as_one_signed_digest(engine: Engine) -> None:
    clock = SettableClock(START)
    with Receiver() as rx:
        sub = add_subscription(engine, rx.url + "/digest", clock, digest=True, sub_id="sub-d")
        add_subscription(engine, rx.url + "/each", clock, sub_id="sub-e")
        service = make_service(engine, make_calendar(*burst(3)), clock)
        service.start(schedule=False)
        try:
            clock.set(DEADLINE - HOUR)
            stats = service.run_due(clock.now())
            clock.set(DEADLINE - HOUR + dt.timedelta(minutes=5))
            service.run_due(clock.now())
            assert service.run_due(clock.now()).claimed == 0  # nothing twice
            requests = rx.wait_for(1 + 1 + 4)
        finally:
            service.shutdown()
    assert stats.delivered == 6  # three reminders in the digest, three sent one by one
    digest, alone = [r for r in requests if r.path == "/digest"]
    assert [r.path for r in requests].count("/each") == 4
    assert body(digest)["type"] == "reminder.digest"
    assert body(digest)["data"]["count"] == 3
    assert sorted(items(digest)) == ["e0", "e1", "e2"]
    members = sorted(i["id"] for i in body(digest)["data"]["items"])
    assert digest.headers["webhook-id"] == digest_id(sub.id, members)
    sent_at = dt.datetime.fromtimestamp(int(digest.headers["webhook-timestamp"]), UTC)
    expected = Webhook(sub.secret).sign(digest.headers["webhook-id"], sent_at, digest.body.decode())
    assert digest.headers["webhook-signature"] == expected
    # The reminder alone in its minute goes out as the ordinary message, under its own id.
    assert (body(alone)["type"], items(alone)) == ("reminder.due", ["later"])
    rows = {r["id"]: r for r in ledger.list_rows(engine, subscription_id=sub.id)}
    assert alone.headers["webhook-id"] in rows
    assert {r["state"] for r in rows.values()} == {"delivered"}
    log = ledger.list_attempts(engine, sub.id, 10)
    carried = next(a for a in log if a.type == "reminder.digest")
    assert carried.webhook_id == digest.headers["webhook-id"]
    assert sorted(m["id"] for m in carried.members or ()) == members
    assert sorted(m["event_id"] for m in carried.members or ()) == ["e0", "e1", "e2"]


def test_a_retried_digest_keeps_its_webhook_id_across_a_restart(sqlite_engine: Engine) -> None:
    clock = SettableClock(START)
    calendar = make_calendar(*burst(2))
    with Receiver() as rx:
        rx.script(Reply(503))
        add_subscription(sqlite_engine, rx.url, clock, digest=True)
        first = make_service(sqlite_engine, calendar, clock)
        first.start(schedule=False)
        clock.set(DEADLINE - HOUR)
        assert first.run_due(clock.now()).retrying == 1
        first.shutdown()
        # A restarted process, with a third event added to the same minute meanwhile.
        second = make_service(sqlite_engine, make_calendar(*burst(3)), clock)
        second.start(schedule=False)
        clock.advance(dt.timedelta(seconds=10))
        second.run_due(clock.now())
        second.shutdown()
        requests = rx.wait_for(3)
    first_try = requests[0].headers["webhook-id"]
    again = [r for r in requests[1:] if r.headers["webhook-id"] == first_try]
    assert len(again) == 1
    assert sorted(items(requests[0])) == sorted(items(again[0])) == ["e0", "e1"]
    # The newcomer was never in that digest: it goes on its own, once.
    (newcomer,) = [r for r in requests[1:] if r.headers["webhook-id"] != first_try]
    assert items(newcomer) == ["e2"]


def test_two_workers_racing_send_each_digest_once(engine: Engine) -> None:
    clock = SettableClock(START)
    events = [event(f"e{i:02d}", DEADLINE) for i in range(8)]
    with Receiver() as rx:
        for n in range(6):
            add_subscription(engine, f"{rx.url}/s{n}", clock, digest=True, sub_id=f"sub-{n}")
        # Small claims, so the two workers' batches interleave inside the burst.
        services = [
            make_service(engine, make_calendar(*events), clock, tuning=Tuning(concurrency=2, batch=3))
            for _ in range(2)
        ]
        for service in services:
            service.start(schedule=False)
        clock.set(DEADLINE - HOUR)
        run_together(services, clock.now())
    paths = Counter(r.path for r in rx.requests)
    assert paths == Counter({f"/s{n}": 1 for n in range(6)})
    assert all(sorted(items(r)) == [f"e{i:02d}" for i in range(8)] for r in rx.requests)
    assert ledger.count_by_state(engine) == {"delivered": 48}


def test_a_digest_refused_as_too_large_is_split_not_dropped(engine: Engine) -> None:
    clock = SettableClock(START)
    with Receiver() as rx:
        rx.script(Reply(413), Reply(413))  # the digest of 4, then its first half of 2; the rest pass
        sub = add_subscription(engine, rx.url, clock, digest=True)
        service = make_service(engine, make_calendar(*[event(f"e{i}", DEADLINE) for i in range(4)]), clock)
        service.start(schedule=False)
        clock.set(DEADLINE - HOUR)
        stats = service.run_due(clock.now())
        service.shutdown()
        requests = rx.wait_for(5)
    assert [len(items(r)) for r in requests] == [4, 2, 1, 1, 2]
    assert stats.delivered == 4
    assert stats.failed == 0
    assert sorted(e for r in requests[2:] for e in items(r)) == ["e0", "e1", "e2", "e3"]
    rows = {r["id"]: r for r in ledger.list_rows(engine, subscription_id=sub.id)}
    assert {r["state"] for r in rows.values()} == {"delivered"}
    # Each part is named for what it carries: a half by its members, one alone by its own id.
    assert requests[2].headers["webhook-id"] in rows
    assert body(requests[2])["type"] == "reminder.due"
    half = [i["id"] for i in body(requests[4])["data"]["items"]]
    assert requests[4].headers["webhook-id"] == digest_id(sub.id, half)
    assert {rows[i]["digest_id"] for i in half} == {requests[4].headers["webhook-id"]}
    log = ledger.list_attempts(engine, sub.id, 10)
    assert [a.outcome for a in reversed(log)] == ["split", "split", "delivered", "delivered", "delivered"]
    assert len(log[-1].members or ()) == 4
    assert sub.failure_count == 0
    assert ledger.list_attempts(engine, sub.id, 1)[0].status == 200


def test_change_notices_of_one_edit_form_one_digest(sqlite_engine: Engine) -> None:
    clock = SettableClock(START)
    later = DEADLINE + dt.timedelta(days=30)
    old = make_calendar(event("a", DEADLINE), event("b", DEADLINE), event("c", DEADLINE))
    new = make_calendar(event("a", later), event("b", later), event("c", DEADLINE, status="cancelled"))
    with Receiver() as rx:
        add_subscription(sqlite_engine, rx.url + "/digest", clock, digest=True)
        add_subscription(sqlite_engine, rx.url + "/each", clock)
        service = make_service(sqlite_engine, old, clock)
        service.start(schedule=False)
        service.on_calendar_change(old, new)
        service.run_due(clock.now())
        service.shutdown()
        requests = rx.wait_for(4)
    (digest,) = [r for r in requests if r.path == "/digest"]
    assert body(digest)["type"] == "event.digest"
    kinds = sorted((i["type"], i["event_id"]) for i in body(digest)["data"]["items"])
    assert kinds == [("event.cancelled", "c"), ("event.rescheduled", "a"), ("event.rescheduled", "b")]
    assert sum(r.path == "/each" for r in requests) == 3
