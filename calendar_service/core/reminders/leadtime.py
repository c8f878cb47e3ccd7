"""How long before a deadline a reminder is due: one value from the text that brings it in to the text
that takes it out.

A lead time is read from text once, where it enters (a subscription request, a stored subscription, a
ledger row as the adapter reads it), and written as text only where it leaves (the ledger's column,
the webhook's JSON, the API). In between it is a `LeadTime`: a whole number of minutes in PT1M..P366D,
compared and hashed by the span it names, so `P1D` and `PT24H` are one lead time (and one reminder).

A ledger row written by an earlier version may hold text this one does not accept. `read_lead_time`
turns that into an `UnreadLeadTime` keeping the text and why, so the row is cancelled with a reason
instead of stopping the worker or the planner at it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from calendar_service.core.errors import LeadTimeInvalid
from calendar_service.core.timing import iso_duration, parse_duration

# A minute (finer is noise next to delivery latency) up to a year and a day (an annual deadline,
# announced a year ahead). Beyond these, due times leave datetime's range or the ledger's column.
LEAD_TIME_MIN = dt.timedelta(minutes=1)
LEAD_TIME_MAX = dt.timedelta(days=366)
LEAD_TIME_RANGE = "PT1M..P366D"
MAX_CHARS = 64  # zero-padded spellings are fine; megabytes of digits are not
NOT_UNDERSTOOD = "lead time not understood"


@dataclass(frozen=True, order=True, slots=True)
class LeadTime:
    """A lead time: a whole number of minutes in `LEAD_TIME_RANGE`, ordered by length."""

    delta: dt.timedelta

    def __post_init__(self) -> None:
        if not LEAD_TIME_MIN <= self.delta <= LEAD_TIME_MAX:
            raise LeadTimeInvalid(_spelled(self.delta), "it is outside the allowed range")
        if self.delta % dt.timedelta(minutes=1):
            raise LeadTimeInvalid(_spelled(self.delta), "it is not a whole number of minutes")

    @classmethod
    def parse(cls, text: str) -> LeadTime:
        """Read `P1D`, `PT90M`, `P1W`, ` P0001D `; `LeadTimeInvalid` names the text and the range."""
        if len(text) > MAX_CHARS:
            raise LeadTimeInvalid(text, f"it is {len(text)} characters long, more than any lead time")
        try:
            duration = parse_duration(text)
        except ValueError:
            raise LeadTimeInvalid(text, "it is not an ISO 8601 duration") from None
        if not duration.is_positive or duration.days < 0 or duration.seconds < 0:
            raise LeadTimeInvalid(text, "it is not positive (a lead time counts back from the deadline)")
        # Checked on the parts first: P99999999999D is too many days for a timedelta to hold.
        if duration.days > LEAD_TIME_MAX.days or duration.seconds > LEAD_TIME_MAX.total_seconds():
            raise LeadTimeInvalid(text, "it is outside the allowed range")
        try:
            return cls(duration.as_timedelta())
        except LeadTimeInvalid as exc:
            raise LeadTimeInvalid(text, exc.reason) from None

    @property
    def text(self) -> str:
        """The one spelling: `P1D`, `PT1H30M`, `P2DT6H` (no weeks)."""
        return iso_duration(self.delta)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class UnreadLeadTime:
    """A stored lead time this version does not accept (written by an earlier one): its text and why."""

    text: str
    reason: str

    @property
    def problem(self) -> str:
        """The reason a row holding it is cancelled with."""
        return f"{NOT_UNDERSTOOD}: {self.reason}"[:500]


def read_lead_time(text: str | None) -> LeadTime | UnreadLeadTime | None:
    """A stored lead time as a value: None for none (a change notice), `UnreadLeadTime` for text that
    is not one (never raises: one old row must not stop the others)."""
    if text is None:
        return None
    try:
        return LeadTime.parse(text)
    except LeadTimeInvalid as exc:
        return UnreadLeadTime(text, str(exc))


def _spelled(delta: dt.timedelta) -> str:
    return iso_duration(delta) if delta >= dt.timedelta(0) else "-" + iso_duration(-delta)
