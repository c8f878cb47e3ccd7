"""Errors as RFC 9457 `application/problem+json`: a title, a status and a detail a person can act on."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Flask, Response, request
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from calendar_service.core.errors import MAX_ECHO, CalendarNotLoaded, EventNotFound, FilterError

bp = Blueprint("problems", __name__)
log = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"
# Seconds a client is asked to wait while the database is away: the engine gives up on a connection
# within about this long, so a retry after it meets a recovered database or a quick 503 again.
RETRY_AFTER = 5


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    """A problem response; `extra` adds members such as `parameter` (RFC 9457 §3.2 extensions)."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body["instance"] = request.path
    body.update({key: value for key, value in extra.items() if value is not None})
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


class BadParameter(ValueError):
    """A query parameter outside the filters that the web layer checks itself (from, to, limit, ...)."""

    def __init__(self, parameter: str, value: str, hint: str) -> None:
        self.parameter = parameter
        self.value = value if len(value) <= MAX_ECHO else value[:MAX_ECHO] + "…"
        super().__init__(f"{parameter}={self.value!r} is not valid: {hint}")


def filter_problem(exc: FilterError | BadParameter) -> Response:
    """400 naming the parameter and the value that failed."""
    return problem(400, "Invalid query parameter", str(exc), parameter=exc.parameter, value=exc.value)


@bp.app_errorhandler(FilterError)
def _filter_error(exc: FilterError) -> Response:
    return filter_problem(exc)


@bp.app_errorhandler(BadParameter)
def _bad_parameter(exc: BadParameter) -> Response:
    return filter_problem(exc)


@bp.app_errorhandler(EventNotFound)
def _not_found(exc: EventNotFound) -> Response:
    return problem(404, "No such event", str(exc), event_id=exc.event_id)


def calendar_not_loaded() -> Response:
    """503 before any valid data file has been loaded (the last failure is on /healthz)."""
    return problem(503, "Calendar not loaded", str(CalendarNotLoaded()))


@bp.app_errorhandler(CalendarNotLoaded)
def _calendar_not_loaded(exc: CalendarNotLoaded) -> Response:
    return calendar_not_loaded()


@bp.app_errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    code = exc.code or 500
    detail = exc.description or ""
    if code == 404:
        detail = f"nothing at {request.path}; see /docs for the feed and API addresses"
    elif code == 405:
        detail = f"{request.method} is not allowed on {request.path}; see /openapi.json"
    response = problem(code, exc.name, detail)
    if code == 405 and exc.get_response().headers.get("Allow"):
        response.headers["Allow"] = exc.get_response().headers["Allow"]
    return response


def database_unavailable() -> Response:
    """503 with `Retry-After`: the database cannot be reached or written right now."""
    response = problem(
        503,
        "Database unavailable",
        "the database cannot be reached or written right now; feeds and the read API still serve the "
        f"last loaded calendar. Try again in {RETRY_AFTER} seconds",
    )
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


# Errors that say the database is away (down, restarting, read-only, locked, pool exhausted), not that
# the request was wrong; IntegrityError and DataError are neither, and stay with their own handlers.
@bp.app_errorhandler(OperationalError)
@bp.app_errorhandler(InterfaceError)
@bp.app_errorhandler(DisconnectionError)
@bp.app_errorhandler(PoolTimeout)
def _database_error(exc: Exception) -> Response:
    first_line = (str(exc).strip().splitlines() or [""])[0]
    log.warning("database unavailable on %s %s: %s", request.method, request.path, first_line[:300])
    return database_unavailable()


@bp.app_errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return problem(500, "Internal Server Error", "the server failed; the error was logged — try again later")


def init_app(app: Flask) -> None:
    """Register the handlers (the blueprint has no routes of its own)."""
    app.register_blueprint(bp)
