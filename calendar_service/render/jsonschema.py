"""The JSON Schema of the event file, generated from the models the validator uses."""

from __future__ import annotations

import json

from calendar_service.core.model import Document

SCHEMA_ID = "https://trade-calendar.invalid/events.schema.json"


def schema_json() -> str:
    """The schema as stable, pretty JSON text (committed as `data/events.schema.json`)."""
    schema = Document.model_json_schema(mode="validation")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
