"""The admin token check shared by every route behind `TRADE_CALENDAR_ADMIN_TOKENS`.

Subscription management and the `/review` page refuse the same way: 403 when no token is configured
(the feature is off), 401 with a Bearer challenge when the request carries none of the tokens. The
tokens are compared in constant time; the log names who knocked, never what they presented.
"""

from __future__ import annotations

import hmac
import logging

from flask import Response, request

from calendar_service.web.errorhandlers import problem
from calendar_service.web.extension import services


def token_matches(presented: str, tokens: tuple[str, ...]) -> bool:
    """Compare against every configured token in constant time, without stopping at the first match."""
    given = presented.encode("utf-8", "surrogateescape")
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(given, token.encode("utf-8"))
    return matched


def admin_refusal(*, off: tuple[str, str], unauthorized: str, log: logging.Logger) -> Response | None:
    """None when the request carries an admin token; otherwise the 403 (`off`: title, detail) or 401."""
    tokens = services().settings.admin_tokens
    if not tokens:
        return problem(403, *off)
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and presented.strip() and token_matches(presented.strip(), tokens):
        return None
    log.warning(
        "refused %s %s from %s: bad or missing admin token", request.method, request.path, request.remote_addr
    )
    response = problem(401, "Unauthorized", unauthorized)
    response.headers["WWW-Authenticate"] = 'Bearer realm="trade-calendar"'
    return response
