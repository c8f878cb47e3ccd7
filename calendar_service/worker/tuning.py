"""The knobs of the reminder engine, shared by its planning and its delivery."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Tuning:
    """Knobs of the engine; the defaults suit one worker against a handful of endpoints."""

    concurrency: int = 64  # sends in flight at once (coroutines on one event loop, not threads)
    batch: int = 500  # rows claimed per query
    # Rows due this soon are claimed, checked, rendered and signed before their time, then sent at it
    # (never before): at a burst's due second only the requests are left to make.
    prepare_ahead: dt.timedelta = dt.timedelta(seconds=5)
    queue_max: int = 10_000  # jobs claimed and not yet finished (waiting for their instant or sending)
    lease: dt.timedelta = dt.timedelta(seconds=120)  # a claim outlives a crash by at most this
    late_after: dt.timedelta = dt.timedelta(seconds=60)  # a first attempt this far past due is "late"
    plan_late_window: dt.timedelta = dt.timedelta(minutes=10)  # a just-missed due time is still planned
    notification_max_age: dt.timedelta = dt.timedelta(hours=24)  # stop retrying a change notice after
    disable_after: int = 5  # consecutive finally-failed deliveries that disable an endpoint
    max_sleep: float = 30.0  # wake at least this often: other processes plan and retry too
    # After a failed wake-up (database away, a bug) the alarm rings again after this, doubling up to
    # `backoff_max`: never at once, so a fault that persists costs a log line now and then, not a core.
    backoff_first: float = 1.0
    backoff_max: float = 30.0
    # A pending reminder this far past due that no wake-up has delivered makes health say "stale".
    stale_after: dt.timedelta = dt.timedelta(seconds=90)
