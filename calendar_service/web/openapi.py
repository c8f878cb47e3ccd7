"""A small route registry that turns the views' pydantic models into an OpenAPI 3.1 document.

Each documented view is decorated with `@operation(...)`, naming the query model it parses with
`parse_query`, the JSON body model it validates, and the response model `respond` validates against;
`/openapi.json` is built from those same models (`model_json_schema`), so what the document says is
what the code checks and sends. Operations behind an admin token name `security=BEARER`.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from flask import Blueprint, Response
from pydantic import BaseModel, ValidationError

from calendar_service.web.errorhandlers import BadParameter
from calendar_service.web.ignored import HEADER as IGNORED_HEADER
from calendar_service.web.ignored import register
from calendar_service.web.schemas import ProblemOut

bp = Blueprint("openapi", __name__)

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=BaseModel)
REF = "#/components/schemas/{model}"
BEARER = ("bearerAuth",)
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "One of the tokens in TRADE_CALENDAR_ADMIN_TOKENS; with none configured, 403",
    }
}
# Descriptions of the problem (RFC 9457) answers an operation lists in `errors`.
ERROR_DESCRIPTIONS = {
    400: "Bad parameter or body: the problem names each field",
    401: "Missing or wrong bearer token",
    403: "Management is off: no admin token is configured",
    404: "Not found",
    409: "Conflict: the subscription is disabled (enable it first), or the most subscriptions are kept",
    412: "If-Match names a version the subscription no longer has: read it again",
    413: "Body too large",
    415: "Body is not application/json",
    503: "Not ready",
}


@dataclass(frozen=True)
class Operation:
    """One documented path and method."""

    path: str
    method: str
    operation_id: str
    summary: str
    tag: str
    query: type[BaseModel] | None = None
    path_params: Mapping[str, str] = field(default_factory=dict)
    response: type[BaseModel] | None = None
    content_type: str = "application/json"
    errors: tuple[int, ...] = ()
    extra_statuses: Mapping[int, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    request_headers: Mapping[str, str] = field(default_factory=dict)  # optional request headers it reads
    body: type[BaseModel] | None = None  # an application/json request body, validated by this model
    body_required: bool = True  # False: the body may be left out (the model's defaults then apply)
    status: int = 200  # the success status; 204 has no body
    security: tuple[str, ...] = ()  # names in SECURITY_SCHEMES, any one of which is required


OPERATIONS: list[Operation] = []
IGNORED_DESCRIPTION = (
    "Query parameters this address does not take, comma-separated (e.g. `cuntry, utm_source`): they were "
    "ignored, not refused; absent when there were none"
)


def operation(path: str, **details: Any) -> Callable[[F], F]:
    """Record the decorated view in the document (`details` are `Operation` fields)."""

    def record(view: F) -> F:
        details.setdefault("operation_id", view.__name__)
        details.setdefault("summary", (view.__doc__ or "").strip().splitlines()[0] if view.__doc__ else "")
        details.setdefault("method", "get")
        op = Operation(path=path, **details)
        OPERATIONS.append(op)
        register(view, query_names(op.query) if op.query is not None else ())
        return view

    return record


# --- requests and responses ---------------------------------------------------------------------------


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) is list:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return False


def query_names(model: type[BaseModel]) -> list[str]:
    """The query parameters `model` takes, as a URL spells them."""
    return [f.alias or name for name, f in model.model_fields.items()]


def parse_query(model: type[M], args: Mapping[str, Sequence[str]]) -> M:
    """Validate the query parameters `model` takes; BadParameter names the first one refused.

    Other names are left out here (and listed in the `Trade-Calendar-Ignored` header by `ignored`).
    """
    names = {(f.alias or name): _is_list(f.annotation) for name, f in model.model_fields.items()}
    values: dict[str, Any] = {}
    for name, raw in args.items():
        if name in names:
            values[name] = list(raw) if names[name] else raw[-1]
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "?"
        raw_value = ",".join(args.get(name, ()))
        raise BadParameter(name, raw_value, error["msg"]) from None


def respond(model: type[BaseModel], data: Any, status: int = 200) -> Response:
    """Validate `data` against `model` and send it as JSON."""
    body = model.model_validate(data).model_dump_json(exclude_none=False)
    return Response(body, status=status, mimetype="application/json")


# --- the document -------------------------------------------------------------------------------------


def _schema(model: type[BaseModel], components: dict[str, Any], mode: str) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault(model.__name__, schema)
    return {"$ref": REF.format(model=model.__name__)}


def _parameters(op: Operation, components: dict[str, Any]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "description": text, "schema": {"type": "string"}}
        for name, text in op.path_params.items()
    ]
    params += [
        {"name": name, "in": "header", "required": False, "description": text, "schema": {"type": "string"}}
        for name, text in op.request_headers.items()
    ]
    if op.query is None:
        return params
    schema = op.query.model_json_schema(ref_template=REF, mode="validation")
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    required = set(schema.get("required", ()))
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", "")
        prop.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            param["description"] = description
        if prop.get("type") == "array":
            param["style"] = "form"
            param["explode"] = True
        params.append(param)
    return params


def build_document(title: str, version: str, operations: Sequence[Operation]) -> dict[str, Any]:
    """The OpenAPI 3.1 document for `operations`."""
    components: dict[str, Any] = {}
    problem_ref = _schema(ProblemOut, components, "serialization")
    schemes: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        responses: dict[str, Any] = {}
        ok: dict[str, Any] = {"description": {201: "Created", 204: "No Content"}.get(op.status, "OK")}
        if op.status != 204:
            if op.response is not None:
                content = {op.content_type: {"schema": _schema(op.response, components, "serialization")}}
            else:
                raw = {"type": "object"} if op.content_type == "application/json" else {"type": "string"}
                content = {op.content_type: {"schema": raw}}
            ok["content"] = content
        headers = dict(op.headers)
        if op.method == "get":
            headers[IGNORED_HEADER] = IGNORED_DESCRIPTION
        if headers:
            ok["headers"] = {
                name: {"description": text, "schema": {"type": "string"}} for name, text in headers.items()
            }
        responses[str(op.status)] = ok
        for status, text in op.extra_statuses.items():
            responses[str(status)] = {"description": text}
        for status in op.errors:
            responses[str(status)] = {
                "description": ERROR_DESCRIPTIONS.get(status, "Error"),
                "content": {"application/problem+json": {"schema": problem_ref}},
            }
        entry: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": _parameters(op, components),
            "responses": responses,
        }
        if op.body is not None:
            entry["requestBody"] = {
                "required": op.body_required,
                "content": {"application/json": {"schema": _schema(op.body, components, "validation")}},
            }
        if op.security:
            entry["security"] = [{name: []} for name in op.security]
            schemes.update({name: SECURITY_SCHEMES[name] for name in op.security})
        paths.setdefault(op.path, {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Trade-policy deadlines as iCalendar feeds and a JSON API. Errors are RFC 9457 "
            "problem details naming the parameter. Filter values are checked against the vocabulary, not "
            "the data: a valid value no event has yet gives an empty result. Query parameters an address "
            f"does not take are ignored and named in the `{IGNORED_HEADER}` response header.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(components.items())), **_security_schemes(schemes)},
    }


def _security_schemes(schemes: dict[str, Any]) -> dict[str, Any]:
    return {"securitySchemes": dict(sorted(schemes.items()))} if schemes else {}


@cache
def _document_json(title: str, version: str, count: int) -> str:
    return json.dumps(build_document(title, version, OPERATIONS[:count]), indent=1)


def document() -> dict[str, Any]:
    """The document for the running app's operations."""
    return typing.cast(
        dict[str, Any], json.loads(_document_json("Trade Calendar", _version(), len(OPERATIONS)))
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("trade-calendar")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


@bp.get("/openapi.json")
@operation("/openapi.json", tag="meta", summary="This OpenAPI 3.1 document")
def openapi_json() -> Response:
    """The OpenAPI document."""
    return Response(
        _document_json("Trade Calendar", _version(), len(OPERATIONS)), mimetype="application/json"
    )
