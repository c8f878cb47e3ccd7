"""The API description types every date, timestamp and duration, so generated clients do too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask.testing import FlaskClient

# Property names that hold a date, an instant or a duration wherever they appear.
TIME_NAMES = {
    "at", "utc", "local", "date", "end_date", "changed", "verified", "since", "now", "within", "remaining",
    "reviewed", "loaded_at", "created_at", "updated_at", "last_reload", "last_check", "last_run",
    "failing_since", "oldest_due", "lead_times", "alarm", "from", "to",
}  # fmt: skip
FORMATS = {"date", "date-time", "duration"}


def formats_of(schema: dict[str, Any], components: dict[str, Any]) -> set[str]:
    """Every `format` a value of `schema` may carry (through $ref, anyOf, items)."""
    if "$ref" in schema:
        return formats_of(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    found = {schema["format"]} if "format" in schema else set()
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, ()):
            found |= formats_of(part, components)
    if "items" in schema:
        found |= formats_of(schema["items"], components)
    return found


def time_properties(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, name, schema) for every property and query parameter named like a time."""
    for model, definition in spec["components"]["schemas"].items():
        for name, schema in definition.get("properties", {}).items():
            if name in TIME_NAMES:
                yield model, name, schema
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            for parameter in operation.get("parameters", ()):
                if parameter["name"] in TIME_NAMES:
                    yield f"{method.upper()} {path}", parameter["name"], parameter["schema"]


def test_every_time_in_the_api_description_carries_its_format(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    components = spec["components"]["schemas"]
    found = list(time_properties(spec))
    assert len(found) > 30  # the walk reaches the models and the query parameters
    untyped = [(where, name) for where, name, schema in found if not formats_of(schema, components) & FORMATS]
    assert untyped == []
    moment = components["Moment"]["properties"]
    assert formats_of(moment["utc"], components) == {"date-time"}
    assert formats_of(components["UpcomingDeadline"]["properties"]["remaining"], components) == {"duration"}
    assert formats_of(components["ChangeEntry"]["properties"]["at"], components) == {"date", "date-time"}
