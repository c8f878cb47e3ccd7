"""Outbound webhooks: one message becomes a signed HTTP request in the subscriber's format, sent safely.

    Message, MessageType, render_payload, ...             payloads.py  the three wire formats
    sign, new_secret                                      signing.py   Standard Webhooks headers
    AddressPolicy, UnsafeWebhookURL                       security.py  which targets we may reach
    WebhookClient, Prepared                               client.py    signed attempts over HTTP (aiohttp)
    Attempt, AttemptOutcome                               attempt.py   what one attempt did
    RetryPolicy, parse_retry_after                        retry.py     when to try again (pure)

Each name is imported from its module on first use (PEP 562): importing a pure module of this package
(`payloads`, `retry`, `attempt`) must not load aiohttp, which `client` needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..errors import UnsafeWebhookURL
    from .attempt import Attempt, AttemptOutcome
    from .client import Prepared, WebhookClient
    from .payloads import (
        FORMATS,
        MESSAGE_TYPES,
        Format,
        Message,
        MessageType,
        change_data,
        reminder_data,
        render_payload,
    )
    from .retry import RetryPolicy, parse_retry_after
    from .security import METADATA_ADDRESSES, AddressPolicy, Resolver, redact_url, system_resolver
    from .signing import new_secret, sign

_WHERE = {
    "UnsafeWebhookURL": "..errors",
    "Attempt": ".attempt",
    "AttemptOutcome": ".attempt",
    "WebhookClient": ".client",
    "Prepared": ".client",
    **dict.fromkeys(
        (
            "FORMATS", "MESSAGE_TYPES", "Format", "Message", "MessageType", "change_data", "reminder_data",
            "render_payload",
        ),
        ".payloads",
    ),
    "RetryPolicy": ".retry",
    "parse_retry_after": ".retry",
    **dict.fromkeys(
        ("METADATA_ADDRESSES", "AddressPolicy", "Resolver", "redact_url", "system_resolver"), ".security"
    ),
    "new_secret": ".signing",
    "sign": ".signing",
}


def __getattr__(name: str) -> Any:
    """Import `name` from its module on first use."""
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name], __name__), name)


__all__ = [
    "FORMATS",
    "MESSAGE_TYPES",
    "METADATA_ADDRESSES",
    "AddressPolicy",
    "Attempt",
    "AttemptOutcome",
    "Format",
    "Message",
    "MessageType",
    "Prepared",
    "Resolver",
    "RetryPolicy",
    "UnsafeWebhookURL",
    "WebhookClient",
    "change_data",
    "new_secret",
    "parse_retry_after",
    "redact_url",
    "reminder_data",
    "render_payload",
    "sign",
    "system_resolver",
]
