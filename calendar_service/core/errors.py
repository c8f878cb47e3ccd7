"""Errors the service raises, in one shallow tree.

    TradeCalendarError
    ├── StoreError                      the event file cannot be used
    │   ├── StoreUnreadable (OSError)   missing, unreadable or not UTF-8: exit code 2
    │   └── StoreInvalid (ValueError)   readable, but has validation errors: exit code 1
    ├── FilterError (ValueError)        a filter parameter or value the calendar does not know
    ├── EventNotFound (LookupError)     no event with that id
    ├── CalendarNotLoaded (LookupError) no valid data file has been loaded yet
    ├── ConfigError (ValueError)        a TRADE_CALENDAR_* setting is missing or unsafe
    ├── DatabaseUnreachable (ConnectionError) the configured database cannot be reached at start-up
    ├── SubscriptionInvalid (ValueError) a subscription request has bad fields (`.errors` lists them)
    ├── LeadTimeInvalid (ValueError)    text that is not a lead time in PT1M..P366D
    ├── SubscriptionNotFound (LookupError) no subscription with that id
    ├── SubscriptionDisabled (ValueError) the operation needs an enabled subscription
    ├── SubscriptionChanged (ValueError) a conditional write named a version that is no longer current
    ├── SubscriptionLimit (ValueError)  creating one more would pass the configured cap
    ├── UnsafeWebhookURL (ValueError)   a webhook URL (or the address it resolves to) is refused
    ├── WatchInvalid (ValueError)       the watch list (watch.yaml) has errors (`.problems`)
    └── ProposalNotFound (LookupError)  no open proposal with that id

Each message is built from the offending value and says what to do about it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calendar_service.core.problems import Problem


class TradeCalendarError(Exception):
    """Base of every error this package raises on purpose."""


class StoreError(TradeCalendarError):
    """The event file cannot be turned into a calendar."""


class StoreUnreadable(StoreError, OSError):
    """The event file could not be read at all."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: cannot read the event file: {reason}")


class StoreInvalid(StoreError, ValueError):
    """The event file was read but has errors; `problems` lists all of them."""

    def __init__(self, path: str, problems: Sequence[Problem]) -> None:
        self.path = path
        self.problems = tuple(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        lines = "\n".join(p.format() for p in errors[:20])
        more = f"\n… and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{path}: {len(errors)} error(s); fix them and reload:\n{lines}{more}")


MAX_ECHO = 80  # characters of a refused value repeated back in an error


class FilterError(TradeCalendarError, ValueError):
    """A filter the calendar does not understand."""

    def __init__(self, parameter: str, value: str, hint: str) -> None:
        self.parameter = parameter
        # Echoed in the 400 (a 1,000-value `alarm=` was echoed whole, 14 KB): enough to recognise it.
        self.value = value if len(value) <= MAX_ECHO else value[:MAX_ECHO] + "…"
        self.hint = hint
        super().__init__(f"{parameter}={self.value!r} is not a valid filter: {hint}")


class EventNotFound(TradeCalendarError, LookupError):
    """No event has the requested id."""

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
        super().__init__(f"no event with id {event_id!r}; list ids with GET /api/v1/events")


class CalendarNotLoaded(TradeCalendarError, LookupError):
    """No valid data file has been loaded yet; `messages` says why the last load failed."""

    def __init__(self, messages: Sequence[str] = ()) -> None:
        self.messages = tuple(messages)
        super().__init__("no valid data file has been loaded yet; see /healthz")


class ActionNotFound(TradeCalendarError, LookupError):
    """No action has the requested id."""

    def __init__(self, action_id: str) -> None:
        self.action_id = action_id
        super().__init__(f"no action with id {action_id!r}; the calendar's `actions:` list names them")


class ConfigError(TradeCalendarError, ValueError):
    """A setting is missing, malformed or unsafe."""

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        super().__init__(f"{name}: {problem}")


class DatabaseUnreachable(TradeCalendarError, ConnectionError):
    """The database named by the settings could not be reached (or prepared) at start-up."""

    def __init__(self, name: str, url: str, reason: str) -> None:
        self.name = name
        self.url = url  # with the password hidden
        self.reason = reason
        super().__init__(
            f"{name}: cannot use the database at {url}: {reason} — check the address and that the "
            "server is running"
        )


class SubscriptionInvalid(TradeCalendarError, ValueError):
    """A subscription request failed validation; `errors` holds every `{"field", "message"}` found."""

    def __init__(self, errors: Sequence[Mapping[str, str]]) -> None:
        self.errors = [dict(e) for e in errors]
        listed = "; ".join(f"{e['field']}: {e['message']}" for e in self.errors)
        super().__init__(f"invalid subscription: {listed}")


class LeadTimeInvalid(TradeCalendarError, ValueError):
    """Text that is not a lead time (`reminders.leadtime.LeadTime`): not a duration, or out of range."""

    def __init__(self, text: str, reason: str) -> None:
        # Echoed in a 400 and in the ledger: enough to recognise, never megabytes of digits.
        self.text = text if len(text) <= _LEAD_ECHO else text[:_LEAD_ECHO] + "…"
        self.reason = reason
        super().__init__(
            f"{self.text!r} is not a lead time: {reason}; use an ISO 8601 duration in PT1M..P366D, "
            "such as P1D or PT1H"
        )


_LEAD_ECHO = 40


class SubscriptionNotFound(TradeCalendarError, LookupError):
    """No subscription has the requested id."""

    def __init__(self, subscription_id: str) -> None:
        self.subscription_id = subscription_id
        super().__init__(
            f"no subscription with id {subscription_id!r}; list them with GET /api/v1/subscriptions"
        )


class SubscriptionDisabled(TradeCalendarError, ValueError):
    """The subscription is disabled, and the operation asked for needs it enabled."""

    def __init__(self, subscription_id: str, action: str, reason: str | None) -> None:
        self.subscription_id = subscription_id
        self.reason = reason
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"subscription {subscription_id!r} is disabled{why}; enable it first "
            f"(POST /api/v1/subscriptions/{subscription_id}/enable), then {action}"
        )


class SubscriptionChanged(TradeCalendarError, ValueError):
    """A write sent `If-Match` with a version the subscription no longer has (someone wrote since)."""

    def __init__(self, subscription_id: str, current: str) -> None:
        self.subscription_id = subscription_id
        self.current = current  # the version it has now, as an ETag
        super().__init__(
            f"subscription {subscription_id!r} changed since you read it (it is now {current}); "
            f"GET /api/v1/subscriptions/{subscription_id} again and send its ETag in If-Match"
        )


class SubscriptionLimit(TradeCalendarError, ValueError):
    """Creating a subscription would pass TRADE_CALENDAR_MAX_SUBSCRIPTIONS."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"there are already {limit} subscriptions, the most this service keeps; delete unused ones "
            "(GET /api/v1/subscriptions lists them) or raise TRADE_CALENDAR_MAX_SUBSCRIPTIONS"
        )


class UnsafeWebhookURL(TradeCalendarError, ValueError):
    """A webhook URL whose scheme, form or resolved address the address policy refuses."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"webhook URL {url!r} is not allowed: {reason}")


class WatchInvalid(TradeCalendarError, ValueError):
    """The watch list (`watch.yaml`) has errors; `problems` lists all of them. The last good list stays."""

    def __init__(self, path: str, problems: Sequence[Problem]) -> None:
        self.path = path
        self.problems = tuple(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        lines = "\n".join(p.format() for p in errors[:20])
        super().__init__(f"{path}: {len(errors)} error(s) in the watch list; fix them:\n{lines}")


class ProposalNotFound(TradeCalendarError, LookupError):
    """No proposal has the requested id."""

    def __init__(self, proposal_id: str) -> None:
        self.proposal_id = proposal_id
        super().__init__(f"no open proposal {proposal_id!r}; list them with `trade-calendar review`")
