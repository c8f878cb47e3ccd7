"""The delivery loop's decisions as tables: send, cancel (and why), missed, retry at T or give up, digests.

Pure: rows, a parsed subscription, a calendar, `now` and the rules in; a message or an outcome out.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from calendar_service.core.calendar import Calendar
from calendar_service.core.messages import Message, MessageType
from calendar_service.core.reminders import decisions
from calendar_service.core.reminders.attempts import Attempt, AttemptOutcome
from calendar_service.core.reminders.audience import audience
from calendar_service.core.reminders.decisions import Rules
from calendar_service.core.reminders.leadtime import LeadTime, read_lead_time
from calendar_service.core.reminders.reconciliation import why_not_owed
from calendar_service.core.reminders.records import Claimed, Member, Outcome, RowState
from calendar_service.core.reminders.retry import RetryPolicy
from calendar_service.core.subscriptions import Subscription
from tests.support.reminders import event, make_calendar

UTC = dt.UTC
DEADLINE = dt.datetime(2026, 6, 20, 16, 0, tzinfo=UTC)
DEADLINE_TEXT = "2026-06-20T16:00:00Z"
DUE = DEADLINE - dt.timedelta(days=1)
S = dt.timedelta(seconds=1)
RULES = Rules(
    late_after=60 * S,
    notification_max_age=dt.timedelta(hours=24),
    retry=RetryPolicy(base=10 * S, factor=2, max_attempts=3, max_delay=60 * S, jitter=False),
)
CALENDAR = make_calendar(event("a", DEADLINE), event("b", DEADLINE))
ONE_DAY = LeadTime.parse("P1D")
RANGE_HINT = "use an ISO 8601 duration in PT1M..P366D, such as P1D or PT1H"


@dataclass(frozen=True)
class Sub:
    id: str = "sub_1"
    lead_times: tuple[str, ...] = ("P1D",)
    filter: dict[str, tuple[str, ...]] = field(default_factory=dict)
    enabled: bool = True


def row(**changes: Any) -> Claimed:
    """A reminder of event `a`, one day ahead of its deadline, never tried."""
    base = Claimed(
        id="rem_a",
        subscription_id="sub_1",
        kind=MessageType.REMINDER_DUE,
        event_id="a",
        lead_time=ONE_DAY,
        payload=None,
        due_at=DUE,
        deadline_at=DEADLINE,
        attempts=0,
        late=False,
        first_attempt_at=None,
    )
    return replace(base, **changes)


def notice(**changes: Any) -> Claimed:
    """A change notice of event `a`, queued at `DUE`."""
    return row(id="chg_a", kind=MessageType.EVENT_RESCHEDULED, lead_time=None, deadline_at=None,
               payload={"event_id": "a"}, **changes)  # fmt: skip


@pytest.mark.parametrize(
    ("claimed", "sub", "calendar", "now", "state", "reason"),
    [
        (row(), None, CALENDAR, DUE, RowState.CANCELLED, "subscription removed"),
        (row(), Sub(enabled=False), CALENDAR, DUE, RowState.CANCELLED, "subscription disabled"),
        # paused wins over missed: the subscriber turned it off, nothing was owed
        (row(), Sub(enabled=False), CALENDAR, DEADLINE, RowState.CANCELLED, "subscription disabled"),
        (
            row(),
            Sub(),
            CALENDAR,
            DEADLINE,
            RowState.MISSED,
            f"deadline {DEADLINE_TEXT} passed before delivery",
        ),
        (row(), Sub(), None, DUE, RowState.CANCELLED, "no calendar loaded"),
        (row(event_id="gone"), Sub(), CALENDAR, DUE, RowState.CANCELLED, "event removed"),
        (
            row(),
            Sub(),
            make_calendar(event("a", DEADLINE, status="cancelled")),
            DUE,
            RowState.CANCELLED,
            "event cancelled",
        ),
        (
            row(),
            Sub(),
            make_calendar(event("a", DEADLINE + dt.timedelta(days=2))),
            DUE,
            RowState.CANCELLED,
            f"deadline moved: was due for {DEADLINE_TEXT}",
        ),
        (
            row(),
            Sub(lead_times=("P7D",)),
            CALENDAR,
            DUE,
            RowState.CANCELLED,
            "lead time no longer subscribed",
        ),
        (
            row(),
            Sub(filter={"country": ("DE",)}),
            CALENDAR,
            DUE,
            RowState.CANCELLED,
            "event no longer matches the subscription's filter",
        ),
        (notice(), None, CALENDAR, DUE, RowState.CANCELLED, "subscription removed"),
        (notice(), Sub(), CALENDAR, DUE + dt.timedelta(hours=25), RowState.FAILED, decisions.TOO_OLD),
        # Rows an earlier version stored with a lead time this one does not accept: cancelled, saying so.
        (
            row(lead_time=read_lead_time("P99999999999D")),
            Sub(),
            CALENDAR,
            DUE,
            RowState.CANCELLED,
            f"lead time not understood: 'P99999999999D' is not a lead time: it is outside the allowed "
            f"range; {RANGE_HINT}",
        ),
        (
            row(lead_time=read_lead_time("P400D")),
            Sub(lead_times=("P400D",)),  # a subscription stored before the range check, too
            CALENDAR,
            DUE,
            RowState.CANCELLED,
            f"lead time not understood: 'P400D' is not a lead time: it is outside the allowed range; "
            f"{RANGE_HINT}",
        ),
        (
            row(lead_time=read_lead_time("one day")),
            Sub(),
            CALENDAR,
            DUE,
            RowState.CANCELLED,
            f"lead time not understood: 'one day' is not a lead time: it is not an ISO 8601 duration; "
            f"{RANGE_HINT}",
        ),
        # ... and past its deadline it was missed, like any other.
        (
            row(lead_time=read_lead_time("one day")),
            Sub(),
            CALENDAR,
            DEADLINE,
            RowState.MISSED,
            f"deadline {DEADLINE_TEXT} passed before delivery",
        ),
    ],
)
def test_a_row_that_must_not_go_out_ends_with_its_reason(
    claimed: Claimed,
    sub: Sub | None,
    calendar: Calendar | None,
    now: dt.datetime,
    state: RowState,
    reason: str,
) -> None:
    parsed = None if sub is None else audience(sub)
    outcome = decisions.check_row(claimed, parsed, calendar, now, RULES)
    assert isinstance(outcome, Outcome)
    assert (outcome.id, outcome.state, outcome.error, outcome.finished_at) == (claimed.id, state, reason, now)
    assert outcome.started_at is None  # no attempt was made


@pytest.mark.parametrize(
    ("claimed", "now", "timestamp", "late"),
    [
        (row(), DUE, DUE, False),
        (row(), DUE - 3 * S, DUE, False),  # claimed ahead: it speaks as of its instant
        (
            row(next_attempt_at=DUE + 90 * S, attempts=1, first_attempt_at=DUE),
            DUE + 80 * S,
            DUE + 90 * S,
            False,
        ),
        (row(), DUE + 61 * S, DUE + 61 * S, True),  # a first attempt past `late_after`
        (row(late=True), DUE, DUE, True),  # late once, late on every retry
        (notice(), DUE + dt.timedelta(hours=23), DUE + dt.timedelta(hours=23), None),
    ],
)
def test_a_row_still_owed_becomes_its_message(
    claimed: Claimed, now: dt.datetime, timestamp: dt.datetime, late: bool | None
) -> None:
    message = decisions.check_row(claimed, audience(Sub()), CALENDAR, now, RULES)
    assert isinstance(message, Message)
    assert (message.id, message.type, message.timestamp) == (claimed.id, claimed.kind, timestamp)
    if late is None:
        assert message.data == {"event_id": "a"}  # a change notice carries what was queued
    else:
        assert (message.data["event_id"], message.data["late"]) == ("a", late)


def test_a_row_whose_message_cannot_be_built_fails_alone_naming_the_error() -> None:
    outcome = decisions.unpreparable(row(), KeyError("zone"), DUE)
    assert (outcome.state, outcome.error, outcome.started_at) == (
        RowState.FAILED,
        "could not be prepared: KeyError: 'zone'",
        None,
    )


def test_the_decisions_never_read_a_lead_time_from_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lead times are read once, where rows and subscriptions are read; deciding about a row reads none."""
    parsed = audience(Sub(lead_times=("P7D", "P1D")))
    rows = [
        row(),
        row(id="rem_b", event_id="b"),
        row(lead_time=LeadTime.parse("PT1H")),  # not subscribed
        row(lead_time=read_lead_time("P400D")),  # not understood
    ]

    def parse_again(cls: type[LeadTime], text: str) -> LeadTime:
        raise AssertionError(f"lead time {text!r} read from text again, downstream of the adapter")

    monkeypatch.setattr(LeadTime, "parse", classmethod(parse_again))
    checked = [decisions.check_row(r, parsed, CALENDAR, DUE, RULES) for r in rows]
    assert [type(c).__name__ for c in checked] == ["Message", "Message", "Outcome", "Outcome"]
    assert [c.data["lead_time"] for c in checked if isinstance(c, Message)] == ["P1D", "P1D"]
    reasons = [why_not_owed(r.event_id, r.deadline_at, r.lead_time, CALENDAR, parsed) for r in rows]
    assert reasons[:3] == ["", "", "lead time no longer subscribed"]
    assert reasons[3].startswith("lead time not understood: ")


def test_a_subscription_whose_lead_times_cannot_be_parsed_is_owed_nothing() -> None:
    parsed = audience(Sub(lead_times=("P99999999999D",)))
    outcome = decisions.check_row(row(), parsed, CALENDAR, DUE, RULES)
    assert isinstance(outcome, Outcome)
    assert str(outcome.error).startswith("subscription cannot be planned: ")


def attempt(outcome: AttemptOutcome, status: int | None, started: dt.datetime = DUE) -> Attempt:
    return Attempt(started, status, 12.4, None if outcome == "delivered" else f"HTTP {status}", None, outcome)


AFTER = DUE + 2 * S  # when the attempt finished
GAVE_UP = "HTTP 503; gave up after 3 attempt(s)"


@pytest.mark.parametrize(
    ("rows", "made", "state", "next_at", "error"),
    [
        ([row()], attempt("delivered", 200), RowState.DELIVERED, None, None),
        ([row()], attempt("retry", 503), RowState.PENDING, AFTER + 10 * S, "HTTP 503"),
        ([row(attempts=1)], attempt("retry", 503), RowState.PENDING, AFTER + 20 * S, "HTTP 503"),
        ([row(attempts=2)], attempt("retry", 503), RowState.FAILED, None, GAVE_UP),
        (
            [row(deadline_at=AFTER + 10 * S)],
            attempt("retry", 503),
            RowState.FAILED,
            None,
            "HTTP 503; gave up: the deadline comes first",
        ),
        (
            [row(deadline_at=AFTER + 11 * S)],
            attempt("retry", 503),
            RowState.PENDING,
            AFTER + 10 * S,
            "HTTP 503",
        ),
        ([row()], attempt("failed", 410), RowState.FAILED, None, "HTTP 410"),  # permanent: no retry
        ([notice(attempts=1)], attempt("retry", 500), RowState.PENDING, AFTER + 20 * S, "HTTP 500"),
        # a digest retries while any member's deadline allows; a member without one lifts the limit
        (
            [row(deadline_at=AFTER), row(id="rem_b", event_id="b", deadline_at=AFTER + 11 * S)],
            attempt("retry", 503),
            RowState.PENDING,
            AFTER + 10 * S,
            "HTTP 503",
        ),
        (
            [row(deadline_at=AFTER), notice()],
            attempt("retry", 503),
            RowState.PENDING,
            AFTER + 10 * S,
            "HTTP 503",
        ),
        # attempts are counted from the member tried most
        (
            [row(attempts=2), row(id="rem_b", event_id="b")],
            attempt("retry", 503),
            RowState.FAILED,
            None,
            GAVE_UP,
        ),
    ],
)
def test_an_attempt_leaves_delivered_retry_at_t_or_given_up(
    rows: list[Claimed], made: Attempt, state: RowState, next_at: dt.datetime | None, error: str | None
) -> None:
    in_digest = len(rows) > 1
    message = Message(id="dig_x" if in_digest else rows[0].id, type=rows[0].kind, timestamp=DUE, data={})
    outcome = decisions.after_attempt(
        rows, message, made, in_digest=in_digest, now=AFTER, rules=RULES, rng=random.Random(0)
    )
    assert (outcome.state, outcome.next_attempt_at, outcome.error) == (state, next_at, error)
    assert outcome.attempt == max(r.attempts for r in rows) + 1
    assert outcome.finished_at == (None if state == RowState.PENDING else AFTER)
    assert (outcome.status, outcome.latency_ms, outcome.started_at) == (made.status, 12, DUE)
    if in_digest:
        assert (outcome.id, outcome.event_id) == ("dig_x", "")
        assert outcome.members == tuple(Member(r.id, r.kind, r.event_id) for r in rows)
    else:
        assert (outcome.id, outcome.event_id, outcome.members) == (rows[0].id, rows[0].event_id, ())


@pytest.mark.parametrize(
    ("rows", "started", "late"),
    [
        ([row()], DUE + 60 * S, False),
        ([row()], DUE + 61 * S, True),
        ([row(first_attempt_at=DUE, attempts=1)], DUE + dt.timedelta(hours=1), False),  # a retry is not late
        ([row(late=True, first_attempt_at=DUE, attempts=1)], DUE + 10 * S, True),
        # a digest is as early as its earliest member
        ([row(due_at=DUE - 61 * S), row(id="rem_b", event_id="b")], DUE, True),
    ],
)
def test_a_first_attempt_past_late_after_is_late(
    rows: list[Claimed], started: dt.datetime, late: bool
) -> None:
    message = Message(id="m", type=MessageType.REMINDER_DUE, timestamp=started, data={})
    made = attempt("delivered", 200, started)
    outcome = decisions.after_attempt(
        rows, message, made, in_digest=len(rows) > 1, now=started, rules=RULES, rng=random.Random(0)
    )
    assert outcome.late is late


@pytest.mark.parametrize(
    ("digest_ids", "alone", "groups"),
    [
        ([None, None], ["r0", "r1"], {}),
        (["r0", "r1"], ["r0", "r1"], {}),  # alone in its minute: its own id, an ordinary message
        (["d", "d", None], ["r2"], {"d": ["r0", "r1"]}),
        (["d", "e", "d", "e"], [], {"d": ["r0", "r2"], "e": ["r1", "r3"]}),
    ],
)
def test_rows_sharing_a_digest_id_are_grouped(
    digest_ids: list[str | None], alone: list[str], groups: dict[str, list[str]]
) -> None:
    rows = [row(id=f"r{i}", digest_id=did) for i, did in enumerate(digest_ids)]
    got_alone, got_groups = decisions.group(rows)
    assert [r.id for r in got_alone] == alone
    assert {did: [r.id for r in members] for did, members in got_groups.items()} == groups


def test_a_digest_is_one_message_and_a_half_of_one_is_its_member_s_own() -> None:
    a, b = row(id="rem_a"), row(id="rem_b", event_id="b", next_attempt_at=DUE + 5 * S)
    items = (("rem_a", MessageType.REMINDER_DUE, {"deadline": {"utc": "2"}}),
             ("rem_b", MessageType.REMINDER_DUE, {"deadline": {"utc": "1"}}))  # fmt: skip
    whole = decisions.digest_message("dig_1", [a, b], items, DUE)
    assert (whole.id, whole.type, whole.timestamp) == ("dig_1", MessageType.REMINDER_DIGEST, DUE + 5 * S)
    assert whole.data["count"] == 2
    assert [item["id"] for item in whole.data["items"]] == ["rem_b", "rem_a"]  # by deadline
    mixed = decisions.digest_message(
        "dig_2", [a, notice()], (items[0], ("chg_a", "event.rescheduled", {})), DUE
    )
    assert mixed.type == MessageType.EVENT_DIGEST
    half = decisions.digest_message("rem_a", [a], items[:1], DUE + S)
    assert (half.id, half.type, half.timestamp, half.data) == ("rem_a", MessageType.REMINDER_DUE, DUE + S,
                                                               {"deadline": {"utc": "2"}})  # fmt: skip


def subscription(version: int = 1) -> Subscription:
    return Subscription(
        id="sub_1", url="https://example.com/hook", filter={}, secret="s", created_at=DUE, updated_at=DUE,
        version=version,
    )  # fmt: skip


CLAIMED_SUB = subscription()


@pytest.mark.parametrize(
    ("current", "version", "calendar", "again"),
    [
        (CLAIMED_SUB, CALENDAR.version, CALENDAR, False),
        (CLAIMED_SUB, None, CALENDAR, False),  # a change notice: checked against no data
        (CLAIMED_SUB, CALENDAR.version, None, False),  # no data now: nothing to compare
        (subscription(2), CALENDAR.version, CALENDAR, True),  # re-read: changed since the claim
        (None, CALENDAR.version, CALENDAR, True),  # deleted
        (CLAIMED_SUB, CALENDAR.version, make_calendar(event("a", DEADLINE)), True),  # the data moved
    ],
)
def test_a_job_claimed_ahead_is_prepared_again_when_what_it_was_checked_against_moved(
    current: Subscription | None, version: str | None, calendar: Calendar | None, again: bool
) -> None:
    assert decisions.recheck_needed(CLAIMED_SUB, current, version, calendar) is again


@pytest.mark.parametrize(
    ("status", "members", "split"), [(413, 2, True), (413, 1, False), (500, 2, False), (None, 3, False)]
)
def test_only_a_digest_refused_as_too_large_is_split(status: int | None, members: int, split: bool) -> None:
    outcome = Outcome("dig_x", "sub_1", "reminder.digest", "", RowState.FAILED, 1, status=status)
    assert decisions.should_split(outcome, members) is split
