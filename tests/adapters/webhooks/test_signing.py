"""Our Standard Webhooks signatures are the reference library's, byte for byte, and verify with it."""

from __future__ import annotations

import base64
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from standardwebhooks import Webhook

from calendar_service.adapters.webhooks.signing import new_secret, sign

NOW = dt.datetime(2026, 7, 9, 4, 1, 30, 500_000, tzinfo=dt.UTC)
UNPADDED = "whsec_" + base64.b64encode(b"twenty-four bytes long!!").decode().rstrip("=")


@pytest.mark.parametrize(
    ("secret", "body", "at"),
    [
        (new_secret(), b'{"type":"reminder.due","data":{}}', NOW),
        (new_secret(), '{"title":"Zölle – 関税 ✓"}'.encode(), NOW),
        (new_secret(), b"", NOW),
        (UNPADDED, b"{}", NOW.astimezone(ZoneInfo("America/New_York"))),  # the instant, not the wall time
        ("whsec_" + base64.b64encode(bytes(range(64))).decode(), b"[1,2,3]", NOW),
    ],
    # Not the random secrets: every pytest-xdist worker must collect the same test ids.
    ids=["generated", "generated-unicode-body", "generated-empty-body", "unpadded-new-york", "64-bytes"],
)
def test_the_signature_is_the_reference_librarys(secret: str, body: bytes, at: dt.datetime) -> None:
    headers = sign(secret, "rem_123", at, body)
    assert headers["webhook-signature"] == Webhook(secret).sign("rem_123", at, body)
    assert headers["webhook-timestamp"] == str(int(NOW.timestamp()))


def test_during_a_rotation_either_secret_verifies() -> None:
    old, new = new_secret(), new_secret()
    now = dt.datetime.now(dt.UTC)
    headers = sign(new, "rem_9", now, b'{"a":1}', previous_secret=old)
    assert headers["webhook-signature"].split(" ") == [
        Webhook(new).sign("rem_9", now, b'{"a":1}'),
        Webhook(old).sign("rem_9", now, b'{"a":1}'),
    ]
    for secret in (old, new):
        Webhook(secret).verify(b'{"a":1}', headers, json_parse=False)  # raises if it does not verify


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        sign(new_secret(), "rem_1", dt.datetime(2026, 1, 1), b"{}")
