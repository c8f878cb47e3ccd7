"""RetryPolicy: which outcomes retry, the backoff curve, jitter bounds, Retry-After."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from calendar_service.core.reminders.attempts import Attempt
from calendar_service.core.reminders.retry import RetryPolicy, parse_retry_after

T0 = dt.datetime(2025, 7, 8, 12, 0, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)


def attempt(outcome: str = "retry", status: int | None = 500, retry_after: float | None = None) -> Attempt:
    return Attempt(T0, status, 12.0, "x", retry_after, outcome)  # type: ignore[arg-type]


def test_backoff_doubles_up_to_max_delay_without_jitter() -> None:
    policy = RetryPolicy(base=10 * S, factor=2, max_attempts=10, max_delay=60 * S, jitter=False)
    delays = [policy.next_delay(n, attempt(), random.Random(0)) for n in range(1, 10)]
    assert delays == [10 * S, 20 * S, 40 * S, 60 * S, 60 * S, 60 * S, 60 * S, 60 * S, 60 * S]
    assert policy.next_delay(10, attempt(), random.Random(0)) is None


def test_full_jitter_stays_within_the_backoff_and_is_seedable() -> None:
    policy = RetryPolicy(base=10 * S, max_attempts=20, max_delay=dt.timedelta(hours=1))
    for n in range(1, 12):
        ceiling = policy.backoff(n)
        for seed in range(20):
            delay = policy.next_delay(n, attempt(), random.Random(seed))
            assert delay is not None
            assert dt.timedelta(0) <= delay <= dt.timedelta(seconds=ceiling)
    again = policy.next_delay(3, attempt(), random.Random(7))
    assert policy.next_delay(3, attempt(), random.Random(7)) == again


@pytest.mark.parametrize(
    ("outcome", "status"), [("delivered", 200), ("failed", 410), ("failed", 400), ("failed", None)]
)
def test_no_retry_after_success_or_permanent_failure(outcome: str, status: int | None) -> None:
    assert RetryPolicy().next_delay(1, attempt(outcome, status), random.Random(0)) is None


@pytest.mark.parametrize("status", [None, 429, 500, 502, 503, 504])
def test_retryable_outcomes_get_a_delay(status: int | None) -> None:
    assert RetryPolicy().next_delay(1, attempt("retry", status), random.Random(0)) is not None


def test_retry_after_is_a_floor_capped_by_max_delay() -> None:
    policy = RetryPolicy(base=S, max_delay=dt.timedelta(minutes=10))
    assert policy.next_delay(1, attempt(status=429, retry_after=120), random.Random(0)) == 120 * S
    assert policy.next_delay(1, attempt(status=429, retry_after=86400), random.Random(0)) == 600 * S


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Tue, 08 Jul 2025 12:05:00 GMT", 300.0),
        ("Tue, 08 Jul 2025 11:00:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, T0) == seconds


@pytest.mark.parametrize(
    "kwargs",
    [{"base": dt.timedelta(0)}, {"factor": 0.5}, {"max_attempts": 0}, {"base": 10 * S, "max_delay": S}],
)
def test_policy_refuses_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
