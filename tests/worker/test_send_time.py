"""What the admin changed while reminders waited for their instant is what goes out (issue 17, finding 4).

`serve` as one process (the app on a real loopback port with the reminder service started in it) claims
a burst of reminders ahead of their instant and signs them; while they wait, the admin deletes, pauses,
re-points, re-keys (grace PT0S: "the old secret stops at once") or re-filters the subscription over
HTTP. When the instant comes, a real receiver must see exactly what the subscription says then.

The clock is the real one moved by an offset (the scheduler's alarms are real time): set 30 s before the
burst, so it is claimed at once (`prepare_ahead` 60 s), then moved past it once the admin has acted,
so nothing here waits for the burst and nothing depends on where a minute boundary falls. The burst is
due within minutes of the real time, so a receiver checks signatures with the `standardwebhooks`
library's own clock, as a subscriber would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from standardwebhooks import Webhook, WebhookVerificationError

from calendar_service.adapters.clock import SystemClock
from calendar_service.adapters.db import ledger
from calendar_service.adapters.settings import Settings
from calendar_service.web import create_app
from calendar_service.web.extension import services
from calendar_service.worker.service import ReminderService
from calendar_service.worker.tuning import Tuning
from tests.support.polling import wait_until
from tests.support.receiver import Receiver
from tests.support.reminders import OffsetClock, event, write_calendar
from tests.support.webapp import serving

TOKEN = "send-time-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BURST = 30  # reminders due at the same instant, claimed and signed ahead of it


class Served:
    """The running service: its subscriptions URL, engine, clock and the instant the burst is due."""

    def __init__(self, base: str, service: ReminderService, clock: OffsetClock, due: dt.datetime) -> None:
        self.base = base
        self.service = service
        self.engine = service.engine
        self.clock = clock
        self.due = due

    def subscribe(self, url: str) -> dict[str, Any]:
        """Create a subscription (PT1H before each deadline) and wait until the burst is claimed ahead."""
        created = requests.post(
            self.base, json={"url": url, "lead_times": ["PT1H"]}, headers=AUTH, timeout=10
        ).json()
        wait_until(lambda: self._claimed() == BURST, what=f"{BURST} reminders claimed ahead of their instant")
        return created  # type: ignore[no-any-return]

    def pass_the_instant(self) -> None:
        """Move the clock past the burst's instant and wait until the run that claimed it has finished."""
        self.clock.offset += self.due + dt.timedelta(seconds=0.5) - self.clock.now()
        # Wake-ups run one at a time, and the one holding the burst returns only once every message
        # of it was sent or dropped: the first to finish after the instant is that one.
        wait_until(self._ran_after_the_instant, what="the run holding the burst to finish")
        assert self._claimed() == 0

    def _ran_after_the_instant(self) -> bool:
        last = self.service.health()["last_run"]
        return last is not None and dt.datetime.fromisoformat(last) >= self.due

    def _claimed(self) -> int:
        outbox = ledger.outbox
        query = select(func.count()).where(outbox.c.state == "pending", outbox.c.claimed_by.is_not(None))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)


@pytest.fixture
def served(tmp_path: Path, database_url: str, engine: Engine) -> Iterator[Served]:
    """`serve` in this process on `database_url`, with a burst of reminders due minutes from now."""
    due = SystemClock().now().replace(second=0, microsecond=0) + dt.timedelta(minutes=2)
    deadline = due + dt.timedelta(hours=1)
    data = write_calendar(tmp_path / "events.yaml", *(event(f"e{i}", deadline) for i in range(BURST)))
    settings = Settings.from_env(
        {}, data_path=data, state_dir=tmp_path / "state", database_url=database_url, admin_tokens=(TOKEN,),
        allow_private_webhooks=True, reload_interval=60, reload_settle=0,
    )  # fmt: skip
    clock = OffsetClock.starting_at(due - dt.timedelta(seconds=30))
    app = create_app(settings, clock=clock, engine=engine)
    with ExitStack() as stack:
        service = services(app).start_reminders(tuning=Tuning(prepare_ahead=dt.timedelta(seconds=60)))
        stack.callback(service.shutdown)
        base = stack.enter_context(serving(app))
        yield Served(base + "/api/v1/subscriptions", service, clock, due)


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    with Receiver() as first, Receiver() as second:
        yield first, second


Act = Callable[[str], requests.Response]


def _patch(body: dict[str, Any]) -> Act:
    return lambda one: requests.patch(one, json=body, headers=AUTH, timeout=10)


@pytest.mark.parametrize(
    "act",
    [
        pytest.param(lambda one: requests.delete(one, headers=AUTH, timeout=10), id="deleted"),
        pytest.param(_patch({"enabled": False}), id="paused"),
        pytest.param(_patch({"filter": {"country": ["CN"]}}), id="filtered-out"),
        pytest.param(_patch({"lead_times": ["P1D"]}), id="lead-time-dropped"),
    ],
)
def test_nothing_queued_goes_out_once_the_subscription_says_stop(
    served: Served, receivers: tuple[Receiver, Receiver], act: Act
) -> None:
    rx, _ = receivers
    sub = served.subscribe(rx.url)
    answer = act(f"{served.base}/{sub['id']}")
    assert answer.status_code in (200, 204), answer.text
    served.pass_the_instant()
    assert rx.requests == []
    assert ledger.count_by_state(served.engine) == {"cancelled": BURST}


def test_a_new_url_receives_what_was_queued_for_the_old_one(
    served: Served, receivers: tuple[Receiver, Receiver]
) -> None:
    old, new = receivers
    sub = served.subscribe(old.url)
    assert _patch({"url": new.url})(f"{served.base}/{sub['id']}").status_code == 200
    served.pass_the_instant()
    assert old.requests == []
    assert len(new.wait_for(BURST)) == BURST
    assert ledger.count_by_state(served.engine) == {"delivered": BURST}


def test_a_secret_rotated_with_no_grace_signs_everything_sent_after_it(
    served: Served, receivers: tuple[Receiver, Receiver]
) -> None:
    rx, _ = receivers
    sub = served.subscribe(rx.url)
    rotated = requests.post(
        f"{served.base}/{sub['id']}/rotate-secret", json={"grace": "PT0S"}, headers=AUTH, timeout=10
    )
    assert rotated.status_code == 200, rotated.text
    served.pass_the_instant()
    got = rx.wait_for(BURST)
    new, old = Webhook(rotated.json()["secret"]), Webhook(sub["secret"])
    for request in got:
        assert len(request.headers["webhook-signature"].split(" ")) == 1
        assert new.verify(request.body, request.headers)["type"] == "reminder.due"
        with pytest.raises(WebhookVerificationError):
            old.verify(request.body, request.headers)
