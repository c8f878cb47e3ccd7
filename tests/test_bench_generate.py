"""The benchmarks' calendars are valid files, to `validate` and to the published JSON Schema alike.

A bench measured on data that the schema refuses (HS codes written as YAML numbers, say) measures a file
no curator could publish; checking every data file the benches write with both keeps the two from drifting.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bench import bench_reminders
from bench.bench_validate import dangling_yaml
from bench.generate import generate_yaml
from calendar_service.core.datafile import parse_calendar
from calendar_service.core.validation import validate_bytes
from tests.support.paths import DATA, ROOT
from tests.support.webapp import sample_yaml

SCHEMA = ROOT / "data" / "events.schema.json"  # the published one (kept in sync by tests/render)
CHECK_JSONSCHEMA = str(Path(sys.executable).with_name("check-jsonschema"))
TODAY = dt.date(2026, 1, 15)


def _reminders_yaml() -> str:
    """The calendar bench_reminders builds in memory, as the text it parses."""
    seen: list[bytes] = []

    def spy(raw: bytes, path: str, *, today: dt.date) -> object:
        seen.append(raw)
        return parse_calendar(raw, path, today=today)

    deadlines = [dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=i) for i in range(5)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bench_reminders, "parse_calendar", spy)
        bench_reminders.calendar_of(deadlines)
    return seen[0].decode()


# Each data file a bench writes or reads, at a small size; `generate_yaml` with every seed a bench uses.
BENCH_FILES: dict[str, Callable[[], str]] = {
    "generate-empty": lambda: generate_yaml(0, seed=1),
    "generate-seed1 (serve, pages, pages_api, feed_params, validate)": lambda: generate_yaml(600, seed=1),
    "generate-seed17 (planning)": lambda: generate_yaml(600, seed=17),
    "reminders": _reminders_yaml,
    "sample (attack_reloads)": sample_yaml,
    "bundled (curate, creations)": lambda: DATA.read_text(encoding="utf-8"),
}


@pytest.fixture(scope="module")
def bench_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bench-data")
    files = {}
    for number, (name, make) in enumerate(BENCH_FILES.items()):
        files[name] = folder / f"{number}.yaml"
        files[name].write_text(make(), encoding="utf-8")
    return files


def test_generated_file_validates_with_its_action_records() -> None:
    text = generate_yaml(80, seed=3)
    calendar = parse_calendar(text.encode(), "gen.yaml", today=TODAY).calendar
    named = {event.action for event in calendar if event.action}
    assert named
    assert named == {action.id for action in calendar.actions}


def test_generated_file_has_hs_codes_as_text() -> None:
    assert "hs: ['" in generate_yaml(200, seed=1)  # the case the schema refused: present, and quoted


@pytest.mark.parametrize("name", BENCH_FILES)
def test_bench_file_passes_validate(name: str, bench_files: dict[str, Path]) -> None:
    path = bench_files[name]
    errors = validate_bytes(path.read_bytes(), str(path), today=TODAY).errors
    assert not errors, "\n".join(map(str, errors[:20]))


def test_every_bench_file_passes_the_published_json_schema(bench_files: dict[str, Path]) -> None:
    # The real tool, as a curator's editor or CI runs it: YAML 1.2 typing, not our text-only reader.
    result = subprocess.run(
        [CHECK_JSONSCHEMA, "--schemafile", str(SCHEMA), *map(str, bench_files.values())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    names = {str(path): name for name, path in bench_files.items()}
    report = result.stdout + result.stderr
    for path, name in names.items():
        report = report.replace(path, name)
    assert result.returncode == 0, report


def test_dangling_bench_file_fits_the_schema_and_fails_only_on_its_references(tmp_path: Path) -> None:
    # bench_validate's --dangling file is meant to be refused, for its missing ids alone.
    text, _, refs = dangling_yaml(40)
    path = tmp_path / "dangling.yaml"
    path.write_text(text, encoding="utf-8")
    checked = subprocess.run(
        [CHECK_JSONSCHEMA, "--schemafile", str(SCHEMA), str(path)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    errors = validate_bytes(text.encode(), str(path), today=TODAY).errors
    assert len(errors) == len(refs)
    assert all(problem.message.startswith("no event with id") for problem in errors), errors[:3]
