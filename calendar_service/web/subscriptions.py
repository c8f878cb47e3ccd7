"""`/api/v1/subscriptions`: register, inspect, change and remove webhook subscriptions.

Every route needs `Authorization: Bearer <token>` matching one of `Settings.admin_tokens`; with none
configured, management is off (403), never open. Bodies are JSON, at most `max_body_bytes`, validated in
full (`subscriptions.parse_input`) before anything is written. The signing secret is returned once, in
the 201 of the POST, and never again.

Uses the app's `Services` (`extension.services()`): settings, engine, clock, the live calendar (for
checking filter values), the address policy and webhook client, and `reminders`, the reminder service
`trade-calendar serve` runs in this process. After every change the blueprint asks it to re-plan at
once; under gunicorn there is none, and the worker process picks the change up on its next wake-up
(at most 30 s).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any, Protocol

from flask import Blueprint, Response, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from calendar_service.application import subscriptions as usecases
from calendar_service.core.errors import (
    SubscriptionChanged,
    SubscriptionDisabled,
    SubscriptionInvalid,
    SubscriptionLimit,
    SubscriptionNotFound,
)
from calendar_service.core.subscriptions import (
    RotationInput,
    Subscription,
    SubscriptionInput,
    SubscriptionPatch,
)
from calendar_service.core.timing import utc_text
from calendar_service.web.adminauth import admin_refusal
from calendar_service.web.errorhandlers import problem
from calendar_service.web.extension import services
from calendar_service.web.openapi import BEARER, operation, parse_query, respond
from calendar_service.web.schemas import (
    DeliveriesQuery,
    DeliveryLog,
    SecretRotated,
    SubscriptionCreated,
    SubscriptionEnabled,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionsQuery,
    TestDelivery,
)

bp = Blueprint("subscriptions", __name__, url_prefix="/api/v1/subscriptions")
log = logging.getLogger(__name__)

JSON_TYPES = ("application/json",)
MAX_DELIVERIES = 500
PATH = "/api/v1/subscriptions"
ONE = PATH + "/{subscription_id}"
ID_PARAM = {"subscription_id": "The subscription's id, as the POST answered it"}
# Every route answers 401 (bad token) and 403 (management off) before anything else.
AUTH_ERRORS = (401, 403)


class Replanner(Protocol):
    """The part of `reminders.service.ReminderService` this blueprint uses."""

    def request_plan(self) -> None: ...


class _Reject(Exception):
    """Stop handling the request and answer with `response` (a problem)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


@bp.errorhandler(_Reject)
def _rejected(exc: _Reject) -> Response:
    return exc.response


@bp.errorhandler(SubscriptionNotFound)
def _not_found(exc: SubscriptionNotFound) -> Response:
    return problem(404, "No such subscription", str(exc), subscription_id=exc.subscription_id)


@bp.errorhandler(SubscriptionDisabled)
def _disabled(exc: SubscriptionDisabled) -> Response:
    return problem(409, "Subscription disabled", str(exc), subscription_id=exc.subscription_id)


@bp.errorhandler(SubscriptionChanged)
def _changed(exc: SubscriptionChanged) -> Response:
    response = problem(412, "Subscription changed", str(exc), subscription_id=exc.subscription_id)
    response.headers["ETag"] = exc.current
    return response


@bp.errorhandler(SubscriptionLimit)
def _limit(exc: SubscriptionLimit) -> Response:
    return problem(409, "Too many subscriptions", str(exc), limit=exc.limit)


@bp.errorhandler(SubscriptionInvalid)
def _invalid(exc: SubscriptionInvalid) -> Response:
    fields = ", ".join(dict.fromkeys(e["field"] for e in exc.errors))
    return problem(400, "Invalid subscription", f"fix these fields: {fields}", errors=exc.errors)


# --- authentication ----------------------------------------------------------------------------------


@bp.before_request
def _authenticate() -> Response | None:
    return admin_refusal(
        off=(
            "Subscription management is off",
            "subscription management is off; set TRADE_CALENDAR_ADMIN_TOKENS",
        ),
        unauthorized="send `Authorization: Bearer <token>` with one of the TRADE_CALENDAR_ADMIN_TOKENS",
        log=log,
    )


@bp.before_request
def _printable_id() -> None:
    # After `_authenticate`. No id has a control character, and PostgreSQL refuses a NUL in a query
    # outright (a 500), so such an id is not found without asking the database.
    subscription_id = (request.view_args or {}).get("subscription_id")
    if isinstance(subscription_id, str) and not subscription_id.isprintable():
        raise SubscriptionNotFound(subscription_id)


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


# --- request bodies ----------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_json(limit: int) -> Any:
    """The request body as JSON: 413 over `limit` bytes (declared or read), 415 not JSON, 400 malformed."""
    if request.content_length is not None and request.content_length > limit:
        raise _Reject(_too_large(limit))
    if request.mimetype not in JSON_TYPES and not request.mimetype.endswith("+json"):
        raise _Reject(
            problem(
                415,
                "Unsupported Media Type",
                f"send the body as application/json, not {request.mimetype or 'no content type'}",
            )
        )
    # Read at most one byte past the limit: a chunked body has no Content-Length to check up front.
    try:
        raw = request.stream.read(limit + 1)
        # With the app's MAX_CONTENT_LENGTH the stream stops quietly at the limit and raises only on
        # the next read, so a body that filled the limit must show that nothing follows.
        if len(raw) >= limit and request.stream.read(1):
            raise RequestEntityTooLarge()
    except RequestEntityTooLarge:
        raise _Reject(_too_large(limit)) from None
    if len(raw) > limit:
        raise _Reject(_too_large(limit))
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SubscriptionInvalid([{"field": "body", "message": f"not valid JSON: {exc}"}]) from None
    except RecursionError:  # the parser's own guard against a body of [[[[...]]]] nested 1,000 deep
        too_deep = {"field": "body", "message": "nested too deeply to be a subscription"}
        raise SubscriptionInvalid([too_deep]) from None


def _too_large(limit: int) -> Response:
    return problem(413, "Content Too Large", f"the body may be at most {limit} bytes")


# --- routes ------------------------------------------------------------------------------------------


def _public(sub: Subscription) -> dict[str, Any]:
    return sub.to_public_dict()


def _tagged(response: Response, sub: Subscription) -> Response:
    """`response` with the subscription's ETag, for a later `If-Match`."""
    response.headers["ETag"] = sub.etag
    return response


def if_match() -> frozenset[int] | None:
    """The versions a request's `If-Match` names; None without the header or with `*` (any version).

    RFC 9110 §13.1.1: a strong comparison, so a weak tag (W/"v3") or one of ours that is malformed
    names no version, and the write is refused with 412 as for a stale one.
    """
    if "If-Match" not in request.headers:
        return None
    tags = request.if_match
    if tags.star_tag:
        return None
    return frozenset(
        int(tag[1:]) for tag in tags.as_set() if isinstance(tag, str) and _OUR_TAG.fullmatch(tag)
    )


_OUR_TAG = re.compile(r"v[0-9]{1,18}")
IF_MATCH = {
    "If-Match": "Write only if the subscription is still at this ETag (from a GET or an earlier write); "
    "412 if someone changed it since"
}


@bp.post("")
@operation(
    PATH, method="post", tag="subscriptions", body=SubscriptionInput, response=SubscriptionCreated,
    status=201, errors=(400, *AUTH_ERRORS, 409, 413, 415, 503), security=BEARER,
    headers={"Location": "The subscription's address", "ETag": "Its version, for If-Match"},
)  # fmt: skip
def create() -> tuple[Response, int, dict[str, str]]:
    """Register a subscription; the answer carries its signing secret, shown this once."""
    parts = services()
    sub = usecases.create_subscription(parts, read_json(parts.settings.max_body_bytes))
    body = {**_public(sub), "secret": sub.secret}
    location = url_for(".show", subscription_id=sub.id)
    return respond(SubscriptionCreated, body), 201, {"Location": location, "ETag": sub.etag}


@bp.get("")
@operation(
    PATH, tag="subscriptions", query=SubscriptionsQuery, response=SubscriptionList,
    errors=(400, *AUTH_ERRORS, 503), security=BEARER,
    headers={"Link": 'The next page as `<...>; rel="next"`, absent on the last page'},
)  # fmt: skip
def index() -> Response:
    """A page of subscriptions, oldest first (without secrets); `next` leads to the following page."""
    query = parse_query(SubscriptionsQuery, request.args.to_dict(flat=False))
    page = usecases.list_page(services(), limit=query.limit, after=query.after)
    body = {"subscriptions": [_public(s) for s in page.subscriptions], "next": page.next}
    response = respond(SubscriptionList, body)
    if page.next is not None:
        following = url_for(".index", limit=query.limit, after=page.next)
        response.headers["Link"] = f'<{following}>; rel="next"'
    return response


@bp.get("/<subscription_id>")
@operation(
    ONE, tag="subscriptions", path_params=ID_PARAM, response=SubscriptionOut,
    errors=(*AUTH_ERRORS, 404, 503), security=BEARER, headers={"ETag": "Its version, for If-Match"},
)  # fmt: skip
def show(subscription_id: str) -> Response:
    """One subscription (without its secret)."""
    sub = usecases.get_subscription(services(), subscription_id)
    return _tagged(respond(SubscriptionOut, _public(sub)), sub)


@bp.patch("/<subscription_id>")
@operation(
    ONE, method="patch", tag="subscriptions", path_params=ID_PARAM, body=SubscriptionPatch,
    response=SubscriptionOut, errors=(400, *AUTH_ERRORS, 404, 412, 413, 415, 503), security=BEARER,
    request_headers=IF_MATCH, headers={"ETag": "Its new version"},
)  # fmt: skip
def change(subscription_id: str) -> Response:
    """Change the fields sent, and only those; nothing changes unless every field sent is valid."""
    parts = services()
    usecases.get_subscription(parts, subscription_id)  # 404 before the body is looked at
    body = read_json(parts.settings.max_body_bytes)
    updated = usecases.change_subscription(parts, subscription_id, body, if_match=if_match())
    return _tagged(respond(SubscriptionOut, _public(updated)), updated)


@bp.delete("/<subscription_id>")
@operation(
    ONE, method="delete", tag="subscriptions", path_params=ID_PARAM, status=204,
    errors=(*AUTH_ERRORS, 404, 412, 503), security=BEARER, request_headers=IF_MATCH,
)  # fmt: skip
def remove(subscription_id: str) -> Response:
    """Delete a subscription and cancel the reminders it still had pending."""
    usecases.delete_subscription(services(), subscription_id, if_match=if_match())
    return Response(status=204)


@bp.post("/<subscription_id>/enable")
@operation(
    ONE + "/enable", method="post", tag="subscriptions", path_params=ID_PARAM, response=SubscriptionEnabled,
    errors=(*AUTH_ERRORS, 404, 503), security=BEARER,
)  # fmt: skip
def enable(subscription_id: str) -> Response:
    """Re-enable an endpoint; the answer says why it had been disabled."""
    sub, reason = usecases.enable_subscription(services(), subscription_id)
    return respond(SubscriptionEnabled, {**_public(sub), "previous_disabled_reason": reason})


@bp.post("/<subscription_id>/rotate-secret")
@operation(
    ONE + "/rotate-secret", method="post", tag="subscriptions", path_params=ID_PARAM, body=RotationInput,
    body_required=False, response=SecretRotated, errors=(400, *AUTH_ERRORS, 404, 409, 413, 415, 503),
    security=BEARER,
)  # fmt: skip
def rotate_secret(subscription_id: str) -> Response:
    """Replace the signing secret; during the grace (`PT24H` unless sent) messages carry both signatures."""
    parts = services()
    usecases.get_subscription(parts, subscription_id)  # 404 before the body is looked at
    # The body is optional: none at all (RFC 9112 §6.3: no Content-Length or a zero one, not chunked)
    # keeps the default grace, whatever the Content-Type says.
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    body = read_json(parts.settings.max_body_bytes) if request.content_length or chunked else None
    sub = usecases.rotate_secret(parts, subscription_id, body)
    return respond(SecretRotated, {**_public(sub), "secret": sub.secret})


@bp.get("/<subscription_id>/deliveries")
@operation(
    ONE + "/deliveries", tag="subscriptions", path_params=ID_PARAM, query=DeliveriesQuery,
    response=DeliveryLog, errors=(400, *AUTH_ERRORS, 404, 503), security=BEARER,
)  # fmt: skip
def deliveries(subscription_id: str) -> Response:
    """The delivery log, newest first (`?limit=`, default 100, at most 500)."""
    parts = services()
    usecases.get_subscription(parts, subscription_id)  # 404 for an unknown id before the limit is read
    raw_limit = request.args.get("limit", "100")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_DELIVERIES:
        raise SubscriptionInvalid(
            [{"field": "limit", "message": f"must be a whole number from 1 to {MAX_DELIVERIES}"}]
        )
    attempts = usecases.delivery_log(parts, subscription_id, int(raw_limit))
    return respond(DeliveryLog, {"deliveries": [_jsonable(a.as_dict()) for a in attempts]})


@bp.post("/<subscription_id>/test")
@operation(
    ONE + "/test", method="post", tag="subscriptions", path_params=ID_PARAM, response=TestDelivery,
    errors=(*AUTH_ERRORS, 404, 503), security=BEARER,
)  # fmt: skip
def send_test(subscription_id: str) -> Response:
    """Send a `test` message now (one attempt, no retries), record it in the delivery log, report it."""
    sent = usecases.send_test(services(), subscription_id)
    message, attempt = sent.message, sent.attempt
    return respond(
        TestDelivery,
        _jsonable(
            {
                "webhook_id": message.id,
                "type": "test",
                "at": attempt.started_at,
                "status": attempt.status,
                "latency_ms": attempt.latency_ms,
                "outcome": attempt.outcome,
                "error": attempt.error,
            }
        ),
    )


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {
        key: utc_text(value) if isinstance(value, dt.datetime) else value for key, value in record.items()
    }
