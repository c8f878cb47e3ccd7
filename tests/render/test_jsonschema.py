"""The committed JSON Schema matches the models, and agrees with the validator on structure."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from calendar_service.cli import main
from calendar_service.core.yamlsource import parse_yaml
from calendar_service.render.jsonschema import schema_json
from tests.support.paths import DATA, ROOT, TESTS_DATA

COMMITTED = ROOT / "data" / "events.schema.json"
VALID_FILES = [TESTS_DATA / "small.yaml", *sorted((TESTS_DATA / "valid").glob("*.yaml"))]


def test_committed_schema_is_in_sync() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == schema_json(), (
        "data/events.schema.json is out of date with calendar_service/core/model.py — run `make schema` "
        "and commit the result"
    )


def test_schema_command_prints_it() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(schema_json())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("path", [*VALID_FILES, DATA], ids=lambda p: str(Path(p).relative_to(ROOT)))
def test_every_valid_file_passes_the_json_schema(path: Path) -> None:
    # The same plain data the validator sees (scalars as text), so editors and CI agree on structure.
    data = parse_yaml(path.read_text(encoding="utf-8"), str(path)).data
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator().iter_errors(data)]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize(
    "case",
    [
        "unknown-kind",
        "unknown-field",
        "missing-required",
        "bad-id",
        "no-sources",
        "bad-time",
        "chapter99-bad-shape",
        "unknown-day-moment",
        "action-misspelt-field",
    ],
)
def test_structural_defects_fail_the_json_schema_too(case: str) -> None:
    path = TESTS_DATA / "invalid" / f"{case}.yaml"
    data = parse_yaml(path.read_text(encoding="utf-8"), str(path)).data
    assert list(validator().iter_errors(data)), f"the schema accepts {case}.yaml but the validator does not"


def test_bundled_data_names_the_schema_for_editors() -> None:
    head = DATA.read_text(encoding="utf-8").splitlines()[:5]
    assert any("yaml-language-server: $schema=" in line and "events.schema.json" in line for line in head)
