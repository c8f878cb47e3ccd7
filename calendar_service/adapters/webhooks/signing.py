"""Standard Webhooks signatures (`webhook-id`, `webhook-timestamp`, `webhook-signature`), via the
`standardwebhooks` reference library so receivers using it verify what we send."""

from __future__ import annotations

import base64
import datetime as dt
import secrets

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret


def new_secret() -> str:
    """A fresh signing secret, `whsec_` + base64 of 32 random bytes (the spec allows 24–64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def sign(
    secret: str, message_id: str, timestamp: dt.datetime, body: bytes, *, previous_secret: str | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for `body`, signed with HMAC-SHA256 under `secret`.

    With `previous_secret` (a rotation's grace period) the signature header carries both signatures,
    new first, space-separated as the spec allows ("v1,<new> v1,<old>"): a receiver still holding the
    old secret verifies as well as one already switched.
    """
    if timestamp.tzinfo is None:
        raise ValueError(f"sign() needs an aware timestamp, got naive {timestamp.isoformat()}")
    # The library does timestamp.replace(tzinfo=UTC): hand it UTC so the wall time is not misread.
    moment = timestamp.astimezone(dt.UTC)
    text = body.decode("utf-8")
    signature = Webhook(secret).sign(message_id, moment, text)
    if previous_secret is not None:
        signature += " " + Webhook(previous_secret).sign(message_id, moment, text)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
    }
