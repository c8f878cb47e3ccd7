"""A reminder delivered by the engine during a secret rotation carries both signatures, then one."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from standardwebhooks import Webhook

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import subscriptions as subs_db
from calendar_service.adapters.webhooks.signing import new_secret
from tests.support.receiver import Receiver, Recorded
from tests.support.reminders import add_subscription, event, make_calendar, make_service

NY = ZoneInfo("America/New_York")
DEADLINE = dt.datetime(2026, 7, 9, 0, 1, tzinfo=NY)


def signed_with(request: Recorded, secret: str) -> bool:
    """Whether one of the request's signatures is `secret`'s (as the library computes it)."""
    sent_at = dt.datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), dt.UTC)
    expected = Webhook(secret).sign(request.headers["webhook-id"], sent_at, request.body.decode())
    return expected in request.headers["webhook-signature"].split(" ")


def test_reminders_carry_the_old_signature_only_during_the_grace_period(engine: Engine) -> None:
    clock = SettableClock(DEADLINE - dt.timedelta(days=8))
    with Receiver() as rx:
        sub = add_subscription(engine, rx.url, clock, lead_times=("P7D", "P1D"))
        # Rotated 8 days ahead with 2 days of grace: the P7D reminder falls inside it, P1D after it.
        rotated = subs_db.rotate_secret(engine, sub.id, new_secret(), now=clock.now(),
                                        grace=dt.timedelta(days=2))  # fmt: skip
        service = make_service(engine, make_calendar(event("truce-end", DEADLINE)), clock)
        service.start(schedule=False)
        try:
            for lead in (dt.timedelta(days=7), dt.timedelta(days=1)):
                clock.set(DEADLINE - lead)
                assert service.run_due(clock.now()).delivered == 1
            inside, after = rx.wait_for(2)
        finally:
            service.shutdown()
    assert len(inside.headers["webhook-signature"].split(" ")) == 2
    assert signed_with(inside, rotated.secret)
    assert signed_with(inside, sub.secret)
    assert after.headers["webhook-signature"].count("v1,") == 1
    assert signed_with(after, rotated.secret)
    assert not signed_with(after, sub.secret)
