"""`trade-calendar coverage` on the bundled data, read at a fixed instant."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from calendar_service.cli import main
from tests.support.paths import DATA

NOW = "2026-12-07T12:00:00Z"


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, ["coverage", "--data", str(DATA), "--now", NOW, *args])
    assert result.exit_code == 0, result.output
    return result


def test_the_table_shows_each_front_with_its_next_step_or_a_gap() -> None:
    lines = run().stdout.splitlines()
    assert lines[0] == f"Coverage as of {NOW}"
    row = {line.split()[0]: line for line in lines if line and not line.startswith(("By ", "Coverage"))}
    assert "2027-12-31 us-232-metals-reduced-rates-end-2027-12-31" in row["section-232-steel-aluminum"]
    assert "scheduled (approximate)" in row["section-301-semiconductors"]
    assert row["section-232-pharmaceuticals"].split()[1:3] == ["3", "—"]  # no dated next step
    assert row["section-232-pharmaceuticals"].rstrip().endswith("2")  # two past dates unconfirmed
    assert any(line.endswith("past event(s) whose outcome no source confirms.") for line in lines)


def test_json_has_every_authority_and_the_next_steps_check_date() -> None:
    report = json.loads(run("--format", "json").stdout)
    authorities = {row["key"]: row for row in report["authorities"]}
    assert authorities["Section 201"] == {
        "key": "Section 201",
        "title": "Section 201",
        "events": 0,
        "next_step": None,
        "last_verified": None,
        "unconfirmed": 0,
    }
    step = authorities["Section 301"]["next_step"]
    assert (step["id"], step["when"], step["verified"]) == (
        "us-301-nicaragua-10pct-2027",
        "2027-01-01",
        "2026-12-07",
    )


def test_markdown_for_the_readme() -> None:
    text = run("--format", "markdown").stdout
    assert "#### By action" in text
    assert "#### By authority" in text
    assert "| section-232-pharmaceuticals | 3 | — | — | 2026-12-07 | 2 |" in text
