"""When to try a delivery again: exponential backoff with full jitter, `Retry-After` honoured. Pure.

The worker persists the next attempt time in the ledger, so this computes a delay from the attempt
number and the last outcome and nothing else; another process can pick the schedule up after a crash.
tenacity's `wait_random_exponential` computes the same curve but wants a live `RetryCallState` and draws
from the global `random` module, which a persisted, cross-process schedule and seeded tests cannot use.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calendar_service.core.reminders.attempts import Attempt


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff `base * factor**(n-1)` capped at `max_delay`, at most `max_attempts` attempts in all."""

    base: dt.timedelta = dt.timedelta(seconds=30)
    factor: float = 2.0
    max_attempts: int = 8
    max_delay: dt.timedelta = dt.timedelta(hours=1)
    jitter: bool = True  # "full jitter": uniform in [0, backoff] (AWS Architecture Blog, 2015)

    def __post_init__(self) -> None:
        if self.base <= dt.timedelta(0) or self.max_delay < self.base:
            raise ValueError(f"RetryPolicy needs 0 < base <= max_delay, got {self.base} and {self.max_delay}")
        if self.factor < 1:
            raise ValueError(f"RetryPolicy.factor must be >= 1, got {self.factor}")
        if self.max_attempts < 1:
            raise ValueError(f"RetryPolicy.max_attempts must be >= 1, got {self.max_attempts}")

    def next_delay(self, attempt_number: int, attempt: Attempt, rng: random.Random) -> dt.timedelta | None:
        """Delay before attempt `attempt_number + 1` after `attempt` (the `attempt_number`-th, from 1),
        or None to give up: delivered, a permanent failure, or attempts used up."""
        if attempt.outcome != "retry" or attempt_number >= self.max_attempts:
            return None
        backoff = self.backoff(attempt_number)
        delay = rng.uniform(0, backoff) if self.jitter else backoff
        if attempt.retry_after is not None:
            # RFC 9110 §10.2.3: the receiver asked us to wait at least this long; never longer than
            # max_delay, so one hostile header cannot park a reminder past its deadline.
            delay = max(delay, min(attempt.retry_after, self.max_delay.total_seconds()))
        return dt.timedelta(seconds=delay)

    def backoff(self, attempt_number: int) -> float:
        """The un-jittered ceiling in seconds after the `attempt_number`-th attempt."""
        exponent = min(attempt_number - 1, 64)  # keep factor**exponent finite
        return min(self.base.total_seconds() * self.factor**exponent, self.max_delay.total_seconds())


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header: delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" parses naive; HTTP-dates are GMT
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())
