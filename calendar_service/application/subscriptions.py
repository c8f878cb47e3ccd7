"""The subscription use cases: the one place a subscription is created, changed, removed or tested.

Each takes the service's parts (`Services`) and a body already read by the adapter (parsed JSON from
the API, a dict built from options in the CLI), checks it in full with `subscriptions.parse_input` /
`parse_patch` (filter values against the vocabulary, the URL against the address policy), writes, and
asks the reminder service running in this process (if any) to reconcile that subscription at once.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from calendar_service.adapters.db import ledger
from calendar_service.adapters.db import subscriptions as subscription_rows
from calendar_service.adapters.webhooks.security import redact_url
from calendar_service.adapters.webhooks.signing import new_secret
from calendar_service.core.errors import SubscriptionInvalid
from calendar_service.core.messages import Message, MessageType
from calendar_service.core.subscriptions import (
    Subscription,
    new_subscription,
    parse_input,
    parse_patch,
    parse_rotation,
    patch_fields,
)

if TYPE_CHECKING:
    from calendar_service.core.reminders.attempts import Attempt
    from calendar_service.services import Services

log = logging.getLogger(__name__)

TEST_MESSAGE = "Test message from Trade Calendar"


def create_subscription(services: Services, body: Any) -> Subscription:
    """Check `body` in full, store a new subscription with a fresh secret and return it.

    SubscriptionLimit when there are `max_subscriptions` already.
    """
    checked = parse_input(body, check_url=services.address_policy.check_url)
    sub = new_subscription(checked, secret=new_secret(), now=services.clock.now())
    sub = subscription_rows.create_subscription(
        services.engine, sub, limit=services.settings.max_subscriptions
    )
    log.info("subscription %s created for %s", sub.id, redact_url(sub.url))
    _replan(services, sub.id)
    return sub


def get_subscription(services: Services, subscription_id: str) -> Subscription:
    """One subscription (SubscriptionNotFound when there is none)."""
    return subscription_rows.get_subscription(services.engine, subscription_id)


def list_subscriptions(services: Services) -> list[Subscription]:
    """Every subscription, oldest first."""
    return subscription_rows.list_subscriptions(services.engine)


@dataclass(frozen=True)
class Page:
    """Some subscriptions, oldest first, and the cursor of the next page (None on the last)."""

    subscriptions: list[Subscription]
    next: str | None


def list_page(services: Services, *, limit: int, after: str | None = None) -> Page:
    """`limit` subscriptions following the cursor `after` (SubscriptionInvalid for a cursor not ours)."""
    position = None if after is None else _position(after)
    # One more than asked: whether a next page exists without a second query.
    found = subscription_rows.list_subscriptions(services.engine, limit=limit + 1, after=position)
    page = found[:limit]
    more = len(found) > limit
    return Page(page, _cursor(page[-1]) if more else None)


def _cursor(sub: Subscription) -> str:
    """Where a page ends, opaque to clients: the position of its last subscription."""
    text = f"{sub.created_at.astimezone(dt.UTC).isoformat()} {sub.id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _position(cursor: str) -> tuple[dt.datetime, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, sub_id = text.split(" ", 1)
        moment = dt.datetime.fromisoformat(created)
        if moment.tzinfo is None:
            raise ValueError(created)
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        wrong = {"field": "after", "message": "is not a cursor this list gave; send its `next` value"}
        raise SubscriptionInvalid([wrong]) from None
    return moment, sub_id


def change_subscription(
    services: Services, subscription_id: str, body: Any, *, if_match: Collection[int] | None = None
) -> Subscription:
    """Write the fields in `body`, and only those; nothing changes unless every field sent is valid.

    With `if_match` (the versions a client's If-Match names) the write happens only while the
    subscription is still at one of them (SubscriptionChanged otherwise).
    """
    checked = parse_patch(body, check_url=services.address_policy.check_url)
    updated = subscription_rows.patch_subscription(
        services.engine, subscription_id, patch_fields(checked), now=services.clock.now(), if_match=if_match
    )
    log.info("subscription %s changed: %s", subscription_id, ", ".join(sorted(checked.model_fields_set)))
    _replan(services, subscription_id)
    return updated


def delete_subscription(
    services: Services, subscription_id: str, *, if_match: Collection[int] | None = None
) -> None:
    """Delete a subscription and cancel the reminders it still had pending (only at `if_match`, if given)."""
    subscription_rows.delete_subscription(
        services.engine, subscription_id, now=services.clock.now(), if_match=if_match
    )
    log.info("subscription %s deleted", subscription_id)
    _replan(services, subscription_id)


def enable_subscription(services: Services, subscription_id: str) -> tuple[Subscription, str | None]:
    """Re-enable an endpoint; return it and the reason it had been disabled (None if it was not)."""
    sub, reason = subscription_rows.enable_subscription(
        services.engine, subscription_id, now=services.clock.now()
    )
    log.info("subscription %s re-enabled (was: %s)", subscription_id, reason)
    _replan(services, subscription_id)
    return sub, reason


def rotate_secret(services: Services, subscription_id: str, body: Any = None) -> Subscription:
    """Give an enabled subscription a new secret; the old one also signs for `body["grace"]` (24 h).

    The answer holds the new secret (shown this once) and when the old one stops signing.
    SubscriptionNotFound, SubscriptionDisabled, or SubscriptionInvalid for a bad grace period.
    """
    grace = parse_rotation(body)
    sub = subscription_rows.rotate_secret(
        services.engine, subscription_id, new_secret(), now=services.clock.now(), grace=grace
    )
    # Log that it happened and until when, never either secret.
    until = sub.previous_secret_expires_at
    log.info(
        "subscription %s secret rotated; the old one signs %s",
        subscription_id, f"until {until.isoformat()}" if until else "no more",
    )  # fmt: skip
    return sub


def delivery_log(services: Services, subscription_id: str, limit: int) -> list[ledger.DeliveryAttempt]:
    """The delivery attempts of one subscription, newest first (SubscriptionNotFound for an unknown id)."""
    subscription_rows.get_subscription(services.engine, subscription_id)  # unknown: an error, not []
    return ledger.list_attempts(services.engine, subscription_id, limit)


@dataclass(frozen=True)
class TestSent:
    """A test message and what its one attempt did."""

    message: Message
    attempt: Attempt


def send_test(services: Services, subscription_id: str) -> TestSent:
    """Send a `test` message now (one attempt, no retries) and record it in the delivery log."""
    sub = subscription_rows.get_subscription(services.engine, subscription_id)
    message = Message(
        id=f"test_{secrets.token_urlsafe(12)}",
        type=MessageType.TEST,
        timestamp=services.clock.now(),
        data={"subscription_id": sub.id, "message": TEST_MESSAGE},
    )
    previous = sub.secret_in_grace(services.clock.now())
    attempt = services.webhooks.send(sub.url, sub.secret, message, sub.format, previous_secret=previous)
    # A test does not count towards disabling the endpoint: only real deliveries do.
    record_outcome(services, sub, message, attempt)
    return TestSent(message, attempt)


def record_outcome(services: Services, sub: Subscription, message: Message, attempt: Attempt) -> None:
    """Log one attempt outside the outbox (a test): its status, latency, outcome and error."""
    ledger.record_outcomes(
        services.engine,
        [
            ledger.Outcome(
                id=message.id,
                subscription_id=sub.id,
                kind=message.type,
                event_id="",
                state=ledger.DELIVERED if attempt.outcome == "delivered" else ledger.FAILED,
                attempt=1,
                started_at=attempt.started_at,
                status=attempt.status,
                latency_ms=round(attempt.latency_ms),
                outcome=attempt.outcome,
                error=attempt.error,
                finished_at=services.clock.now(),
            )
        ],
    )


def _replan(services: Services, subscription_id: str) -> None:
    """Make the ledger match what the subscription is now owed, before the caller answers.

    Only this subscription is reconciled (its share of the data, whatever the number of others). Under
    gunicorn no reminder service runs in the web process: the worker's next wake-up catches up. A
    failure here (the database away) is logged and left to that catch-up: the change itself is stored.
    """
    if services.reminders is None:
        return
    try:
        services.reminders.reconcile_subscriptions([subscription_id])
    except Exception:
        log.exception(
            "reconciling the reminders of subscription %s failed; the next wake-up retries", subscription_id
        )
        services.reminders.request_plan()
