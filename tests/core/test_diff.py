"""`trade-calendar diff`: what a reviewer sees for each kind of change, in each format, and exit codes."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from calendar_service.cli import main
from calendar_service.core.datafile import load_calendar
from calendar_service.core.diff import diff_calendars, shift_text
from tests.support.paths import CALENDAR_HEAD, TESTS_DATA

OLD = str(TESTS_DATA / "diff" / "old.yaml")
NEW = str(TESTS_DATA / "diff" / "new.yaml")
TODAY = dt.date(2025, 6, 10)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["diff", *args])


def test_core_sorts_each_change_into_its_kind() -> None:
    old = load_calendar(OLD, today=TODAY).calendar
    new = load_calendar(NEW, today=TODAY).calendar
    changes = diff_calendars(old, new)
    assert [e.id for e in changes.added] == ["cbam-declaration-2027"]
    assert [e.id for e in changes.removed] == ["dropped-hearing"]
    by_id = {c.id: c for c in changes.changed}
    assert set(by_id) == {"london-talks", "eu-steel", "reciprocal-july-9"}  # cn-rare-earths is unchanged
    moved = by_id["reciprocal-july-9"].moved
    assert moved is not None
    assert (moved.old, moved.new) == (
        "2025-07-09 00:01 America/New_York",
        "2025-08-01 00:01 America/New_York",
    )
    assert moved.shift == dt.timedelta(days=23)
    assert by_id["london-talks"].status is not None
    assert (by_id["london-talks"].status.old, by_id["london-talks"].status.new) == ("scheduled", "held")
    assert by_id["london-talks"].moved is None
    assert by_id["london-talks"].fields == ()
    steel = by_id["eu-steel"]
    assert steel.sources is not None
    assert steel.sources.added == ("Official Journal <https://eur-lex.europa.eu/oj>",)
    assert steel.sources.removed == ("European Commission <https://trade.ec.europa.eu/n>",)
    assert [f.field for f in steel.fields] == ["title"]
    assert [f.field for f in changes.calendar] == ["calendar.reviewed", "actions"]
    assert [f.field for f in by_id["reciprocal-july-9"].fields] == ["history", "chapter99"]


def test_same_file_is_no_change_and_exit_0() -> None:
    result = run(NEW, NEW)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"No changes between {NEW} and {NEW}.\n"


def test_table_shows_every_change_and_exits_1() -> None:
    result = run(OLD, NEW)
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "added    cbam-declaration-2027  2027-09-30  [scheduled]  CBAM annual declaration due" in out
    assert "removed  dropped-hearing        2025-08-01  [scheduled]  Court hearing later withdrawn" in out
    assert (
        "moved:       2025-07-09 00:01 America/New_York → 2025-08-01 00:01 America/New_York (+23 days)" in out
    )
    assert "status:      scheduled → held" in out
    assert "sources:     + EO 14316 <https://www.federalregister.gov/d/2025-12962>" in out
    assert "history:     + 2025-07-07 rescheduled: Deferred by EO 14316" in out
    assert "calendar.reviewed: 2025-06-01 → 2025-07-10" in out
    # Fields the format grew later come through without the diff knowing them by name.
    assert "chapter99:   + 9903.01.25" in out
    assert "actions: + cbam: EU Carbon Border Adjustment Mechanism" in out
    assert "actions: ~ reciprocal-tariffs: summary changed" in out
    assert "cn-rare-earths" not in out
    assert out.rstrip().endswith(
        "1 added, 1 removed, 3 changed (1 moved, 1 re-statused, 2 re-sourced, 2 calendar field(s))"
    )


def test_json_is_machine_readable() -> None:
    result = run(OLD, NEW, "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["summary"] == {
        "added": 1,
        "removed": 1,
        "changed": 3,
        "moved": 1,
        "restatused": 1,
        "resourced": 2,
    }
    changed = {c["id"]: c for c in data["changed"]}
    assert changed["reciprocal-july-9"]["moved"] == {
        "old": "2025-07-09 00:01 America/New_York",
        "new": "2025-08-01 00:01 America/New_York",
        "shift_seconds": 23 * 86400,
    }
    assert changed["reciprocal-july-9"]["fields"]["history"]["new"][0]["was"]["date"] == "2025-07-09"
    assert changed["london-talks"]["status"] == {"old": "scheduled", "new": "held"}
    assert data["added"][0]["id"] == "cbam-declaration-2027"
    assert data["calendar"]["calendar.reviewed"] == {"old": "2025-06-01", "new": "2025-07-10"}
    assert [a["id"] for a in data["calendar"]["actions"]["new"]] == ["reciprocal-tariffs", "cbam"]
    assert changed["reciprocal-july-9"]["fields"]["chapter99"] == {"old": [], "new": ["9903.01.25"]}


def test_markdown_tables_for_a_pull_request() -> None:
    result = run(OLD, NEW, "--format", "markdown")
    assert result.exit_code == 1
    md = result.stdout
    assert md.startswith(f"### Calendar changes: {OLD} → {NEW}\n")
    assert "| `cbam-declaration-2027` | CBAM annual declaration due | 2027-09-30 | scheduled |" in md
    assert (
        "| `reciprocal-july-9` | Reciprocal tariffs rise from the 10% baseline | "
        "2025-07-09 00:01 America/New_York | 2025-08-01 00:01 America/New_York | +23 days |"
    ) in md
    assert "| `london-talks` | London talks | scheduled | held |" in md
    # A pipe in a title would end the cell: it is escaped.
    assert "EU steel safeguard review → EU steel safeguard review \\| final" in md
    assert (
        "| (calendar) | actions | + cbam: EU Carbon Border Adjustment Mechanism<br>"
        "~ reciprocal-tariffs: summary changed |"
    ) in md
    for heading in ("Added", "Removed", "Moved", "Status changed", "Sources changed", "Other changes"):
        assert f"#### {heading}\n" in md


def test_invalid_input_is_exit_2_with_one_message(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(Path(NEW).read_text().replace("kind: talks", "kind: chat"), encoding="utf-8")
    result = run(OLD, str(broken))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(
        f"error: {broken} is not a valid event file (1 error(s)); first: {broken}:"
    )
    assert "'chat'" in result.stderr
    assert "Traceback" not in result.output
    # The same broken bytes on both sides are still broken, not "no changes".
    assert run(str(broken), str(broken)).exit_code == 2


def test_missing_file_is_exit_2(tmp_path: Path) -> None:
    result = run(OLD, str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'nope.yaml'}: cannot read: No such file or directory\n"


def test_one_file_without_git_is_a_usage_error() -> None:
    result = run(OLD)
    assert result.exit_code == 2
    assert "give two files, OLD and NEW, or --git REV" in result.stderr


def test_shift_text() -> None:
    assert shift_text(dt.timedelta(days=1)) == "+1 day"
    assert shift_text(-dt.timedelta(days=2, hours=3)) == "-2 days 3 h"
    assert shift_text(dt.timedelta(minutes=30)) == "+30 min"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose first commit has the old file and second the new one, as data/events.yaml."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "curators"
    (root / "data").mkdir(parents=True)

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=T", "-c", "user.email=t@example.org", *args],
            cwd=root,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    shutil.copy(OLD, root / "data" / "events.yaml")
    git("add", "data/events.yaml")
    git("commit", "-q", "-m", "old")
    shutil.copy(NEW, root / "data" / "events.yaml")
    git("commit", "-q", "-am", "new")
    return root


def test_git_revision_against_the_working_file(repo: Path) -> None:
    target = repo / "data" / "events.yaml"
    assert run("--git", "HEAD", str(target)).exit_code == 0
    result = run("--git", "HEAD~1", str(target))
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith(f"--- HEAD~1:{target}\n+++ {target}\n")
    assert "(+23 days)" in result.stdout


def test_git_two_revisions(repo: Path) -> None:
    target = str(repo / "data" / "events.yaml")
    result = run("--git", "HEAD~1", "--git", "HEAD", target, "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["summary"]["added"] == 1


def test_git_unknown_revision_is_exit_2(repo: Path) -> None:
    result = run("--git", "no-such-branch", str(repo / "data" / "events.yaml"))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot read ")
    assert "at git revision 'no-such-branch'" in result.stderr


def test_git_defaults_to_the_data_file_in_the_current_folder(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    result = run("--git", "HEAD~1", "--format", "markdown")
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("### Calendar changes: HEAD~1:data/events.yaml → data/events.yaml\n")


def test_markdown_of_no_changes() -> None:
    result = run(OLD, OLD, "--format", "markdown")
    assert result.exit_code == 0
    assert result.stdout == f"### Calendar changes: {OLD} → {OLD}\n\nNo changes.\n"


def test_a_revision_that_looks_like_an_option_is_refused(repo: Path, tmp_path: Path) -> None:
    written = tmp_path / "written"
    result = run(f"--git=--output={written}", str(repo / "data" / "events.yaml"))
    assert result.exit_code == 2
    assert "is not a revision — name a branch, tag or commit" in result.stderr
    assert not written.exists()


@pytest.mark.parametrize(
    ("event_id", "expected"),
    [
        ("london-talks", "2025-06-09 10:00–17:00 Europe/London"),
        ("reciprocal-july-9", "2025-07-09 00:01 America/New_York"),
        ("eu-steel", "2025-06-30"),
    ],
)
def test_when_text_is_the_time_as_written(event_id: str, expected: str) -> None:
    from calendar_service.core.diff import when_text

    assert when_text(load_calendar(OLD, today=TODAY).calendar.get(event_id)) == expected


def test_a_span_reads_as_first_and_last_day(tmp_path: Path) -> None:
    from calendar_service.core.diff import when_text

    span = tmp_path / "span.yaml"
    span.write_text(
        Path(OLD)
        .read_text(encoding="utf-8")
        .replace("    date: 2025-06-30\n", "    date: 2025-06-30\n    end_date: 2025-07-02\n"),
        encoding="utf-8",
    )
    assert when_text(load_calendar(span, today=TODAY).calendar.get("eu-steel")) == "2025-06-30..2025-07-02"


WHOLE_DAY = (
    CALENDAR_HEAD
    + """\
  - id: filing
    title: Annual filing
    kind: deadline
    countries: [EU]
    date: {date}
    sources: [{title: OJ, url: "https://example.org/oj"}]
"""
)


def test_a_whole_day_move_is_counted_in_calendar_days(tmp_path: Path) -> None:
    # 15 January to 16 July crosses the spring clock change: 182 days, not "181 days 23 h".
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(WHOLE_DAY.replace("{date}", "2026-01-15"), encoding="utf-8")
    new.write_text(WHOLE_DAY.replace("{date}", "2026-07-16"), encoding="utf-8")
    result = run(str(old), str(new))
    assert result.exit_code == 1, result.output
    assert "2026-01-15 → 2026-07-16 (+182 days)" in result.stdout
    data = json.loads(run(str(old), str(new), "--format", "json").stdout)
    (moved,) = data["changed"]
    # The deadline (end of the day in Brussels) moved with the date: no separate deadline line.
    assert moved["moved"] == {"old": "2026-01-15", "new": "2026-07-16", "shift_seconds": 182 * 86400}
