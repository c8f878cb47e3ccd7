"""What one delivery attempt did: a value shared by the client (which makes it) and the retry policy."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

AttemptOutcome = Literal["delivered", "retry", "failed"]


@dataclass(frozen=True)
class Attempt:
    """What one delivery attempt did; `outcome` says whether trying again can help."""

    started_at: dt.datetime
    status: int | None
    latency_ms: float
    error: str | None
    retry_after: float | None  # seconds the receiver asked us to wait (429/503 Retry-After)
    outcome: AttemptOutcome
