"""Query parameters a route does not take: ignored, and named in a `Trade-Calendar-Ignored` header.

Calendar apps, link shorteners and mail clients add `utm_source`, a cache-busting `_=1700000000` and
the like to a subscribed URL. Refusing them would break the subscription; dropping them silently would
hide a typo (`cuntry=GB` filters nothing). So a route declares the names it takes — `operation(query=...)`
does it from the query model, `takes(...)` for a page — and every other name is listed in the header.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Any, TypeVar
from urllib.parse import quote

from flask import Blueprint, Response, current_app, request

bp = Blueprint("ignored", __name__)

HEADER = "Trade-Calendar-Ignored"
MAX_LISTED = 20  # a header is for a developer to read, not a copy of the query string
MAX_NAME = 64

F = TypeVar("F", bound=Callable[..., Any])
_TAKES: dict[Callable[..., Any], frozenset[str]] = {}


def register(view: Callable[..., Any], names: Iterable[str]) -> None:
    """Record the query parameters `view` takes."""
    _TAKES[view] = frozenset(names)


def takes(*names: str) -> Callable[[F], F]:
    """Decorate a view that takes the query parameters `names` and no others."""

    def record(view: F) -> F:
        register(view, names)
        return view

    return record


def ignored(names: Iterable[str], accepted: Collection[str]) -> list[str]:
    """The names not in `accepted`, each once, in the order given."""
    return list(dict.fromkeys(name for name in names if name not in accepted))


def header_value(names: Iterable[str]) -> str | None:
    """The header's value for these ignored names (None when there are none).

    Names are percent-encoded (a query may decode to any character, CR and LF included) and the
    list is capped.
    """
    listed = [quote(name[:MAX_NAME], safe="", errors="replace") or '""' for name in names]
    if not listed:
        return None
    more = ", ..." if len(listed) > MAX_LISTED else ""
    return ", ".join(listed[:MAX_LISTED]) + more


@bp.after_app_request
def _name_ignored(response: Response) -> Response:
    if HEADER in response.headers or not request.args or request.endpoint is None:
        return response
    accepted = _TAKES.get(current_app.view_functions.get(request.endpoint))  # type: ignore[arg-type]
    if accepted is not None:
        value = header_value(ignored(request.args, accepted))
        if value is not None:
            response.headers[HEADER] = value
    return response
