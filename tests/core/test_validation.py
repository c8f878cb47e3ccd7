"""Every rule of the validator, one file per defect under tests/data/{invalid,valid}/.

Each `<case>.yaml` has a sibling `<case>.expected`: one `LINE:COL: severity: message` per problem the
validator must print, exactly and nothing else, and `exit: 2` for a file that cannot be read. After changing
a message on purpose, update the `.expected` files (they are the curator-facing contract).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from calendar_service.cli import main
from calendar_service.core.validation import validate_bytes
from tests.support.expected import expectations
from tests.support.paths import DATA, TESTS_DATA

NOW = "2025-06-10T12:00:00Z"
TODAY = dt.date(2025, 6, 10)
INVALID = sorted((TESTS_DATA / "invalid").glob("*.yaml"))
VALID = sorted((TESTS_DATA / "valid").glob("*.yaml"))
PROBLEM = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning): ")


def run_validate(path: Path) -> tuple[int, list[str], str]:
    """Run `trade-calendar validate` in-process; return exit code, problem lines, and all output."""
    result = CliRunner().invoke(main, ["validate", "--now", NOW, str(path)])
    output = result.stdout + result.stderr
    return result.exit_code, [line for line in output.splitlines() if PROBLEM.match(line)], output


def test_there_is_a_case_for_every_required_rule() -> None:
    names = {path.stem for path in INVALID}
    required = {
        "yaml-syntax", "duplicate-key", "duplicate-id", "missing-required", "unknown-kind",
        "unknown-status", "unknown-country", "bad-url", "unknown-tz-event", "unknown-tz-calendar",
        "impossible-date", "end-before-start-dates", "end-before-start-times", "tz-on-all-day",
        "missing-after-event", "missing-superseded-by", "missing-related", "derived-cycle",
        "superseded-without-successor", "date-and-after", "duration-and-end-date", "unknown-field",
        "not-utf8", "dst-gap", "multi-defect",
    }  # fmt: skip
    assert required <= names, f"missing cases: {sorted(required - names)}"
    assert {"warn-past-scheduled", "warn-http-source", "warn-stale-deadline"} <= {p.stem for p in VALID}


@pytest.mark.parametrize("case", INVALID, ids=lambda p: p.stem)
def test_invalid_file_reports_exactly_its_problems(case: Path) -> None:
    code, expected = expectations(case)
    exit_code, problems, output = run_validate(case)
    if code == 2:
        assert exit_code == 2, output
        for line in expected:
            assert line in output
        return
    assert exit_code == 1, output
    assert any(" error: " in line for line in expected), f"{case.name}.expected names no error"
    assert sorted(problems) == sorted(f"{case}:{line}" for line in expected), output


@pytest.mark.parametrize("case", VALID, ids=lambda p: p.stem)
def test_valid_file_passes_with_exactly_its_warnings(case: Path) -> None:
    _, expected = expectations(case)
    exit_code, problems, output = run_validate(case)
    assert exit_code == 0, output
    assert sorted(problems) == sorted(f"{case}:{line}" for line in expected), output
    assert "valid," in output


def test_every_problem_of_a_multi_defect_file_is_reported_at_once() -> None:
    case = TESTS_DATA / "invalid" / "multi-defect.yaml"
    _, problems, _ = run_validate(case)
    lines = {int(PROBLEM.match(p)["line"]) for p in problems}  # type: ignore[index]
    assert len(problems) == 9
    assert len(lines) == 9  # nine different places, across six events


def test_a_reference_to_a_broken_event_is_not_reported_as_missing() -> None:
    # geneva-statement derives from geneva-talks, whose kind is wrong: one error, not a second one.
    _, problems, _ = run_validate(TESTS_DATA / "invalid" / "multi-defect.yaml")
    assert not any("'geneva-talks'" in p for p in problems)


def test_missing_file_exits_2_with_the_reason(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = CliRunner().invoke(main, ["validate", str(missing)])
    assert result.exit_code == 2
    assert f"{missing}: error: cannot read:" in result.stderr
    assert "No such file" in result.stderr


def test_bundled_data_validates_without_errors() -> None:
    outcome = validate_bytes(DATA.read_bytes(), str(DATA), today=TODAY)
    assert not outcome.errors, "\n".join(p.format() for p in outcome.errors)
    assert outcome.calendar is not None
    assert len(outcome.calendar) > 100


def test_a_byte_order_mark_is_accepted() -> None:
    raw = b"\xef\xbb\xbf" + (TESTS_DATA / "small.yaml").read_bytes()
    assert not validate_bytes(raw, "bom.yaml", today=TODAY).errors


def test_problems_come_in_file_order() -> None:
    raw = (TESTS_DATA / "invalid" / "multi-defect.yaml").read_bytes()
    problems = validate_bytes(raw, "m.yaml", today=TODAY).problems
    assert [(p.line, p.column) for p in problems] == sorted((p.line, p.column) for p in problems)
