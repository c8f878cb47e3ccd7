"""Outbound webhooks: a signed HTTP request in the subscriber's format, sent safely.

    client.py    WebhookClient: signed attempts over HTTP (aiohttp), on the loop of loop.py
    security.py  AddressPolicy: which targets we may reach (no private, loopback, link-local)
    signing.py   Standard Webhooks headers

The pure parts live below: the wire formats in `render.webhook_payloads`, what one attempt did and when to
try again in `core.reminders.attempts` and `core.reminders.retry`.
"""
