"""Outbound webhooks: one message becomes a signed HTTP request in the subscriber's format, sent safely.

    Message, render_payload, reminder_data, change_data   payloads.py  the three wire formats
    sign, new_secret                                      signing.py   Standard Webhooks headers
    AddressPolicy, UnsafeWebhookURL                       security.py  which targets we may reach
    WebhookClient, Attempt                                client.py    one attempt, its outcome
    RetryPolicy, parse_retry_after                        retry.py     when to try again (pure)
"""

from ..errors import UnsafeWebhookURL
from .client import Attempt, Outcome, WebhookClient, hardened_session
from .payloads import FORMATS, MESSAGE_TYPES, Format, Message, change_data, reminder_data, render_payload
from .retry import RetryPolicy, parse_retry_after
from .security import METADATA_ADDRESSES, AddressPolicy, Resolver, redact_url, system_resolver
from .signing import new_secret, sign

__all__ = [
    "FORMATS",
    "MESSAGE_TYPES",
    "METADATA_ADDRESSES",
    "AddressPolicy",
    "Attempt",
    "Format",
    "Message",
    "Outcome",
    "Resolver",
    "RetryPolicy",
    "UnsafeWebhookURL",
    "WebhookClient",
    "change_data",
    "hardened_session",
    "new_secret",
    "parse_retry_after",
    "redact_url",
    "reminder_data",
    "render_payload",
    "sign",
    "system_resolver",
]
