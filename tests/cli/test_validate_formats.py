"""`validate --format github` (annotations on a pull request's lines), several files, the pre-commit hook."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from calendar_service.cli import main
from calendar_service.render.annotations import escape_data, escape_property, github_annotation
from tests.support.paths import ROOT, TESTS_DATA

NOW = "2025-06-10T12:00:00Z"
INVALID = TESTS_DATA / "invalid"
VALID = TESTS_DATA / "valid"


def test_escaping_follows_the_workflow_commands_spec() -> None:
    assert escape_data("100% sure\r\nnext") == "100%25 sure%0D%0Anext"
    assert escape_property("a,b:c%d\n") == "a%2Cb%3Ac%25d%0A"
    assert (
        github_annotation("error", "bad: value, 50%", file="dir:x/a,b.yaml", line=3, col=7)
        == "::error file=dir%3Ax/a%2Cb.yaml,line=3,col=7::bad: value, 50%25"
    )


def test_errors_become_error_annotations_on_their_line() -> None:
    path = str(INVALID / "unknown-kind.yaml")
    result = CliRunner().invoke(main, ["validate", "--format", "github", "--now", NOW, path])
    assert result.exit_code == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith(
        f"::error file={path},line=9,col=11::unknown kind 'tarif' — did you mean 'tariff'?"
    )
    assert f"{path}: 1 error(s), 0 warning(s)" in result.stderr


def test_warnings_become_warning_annotations() -> None:
    path = str(VALID / "warn-http-source.yaml")
    result = CliRunner().invoke(main, ["validate", "--format", "github", "--now", NOW, path])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"::warning file={path},line=")
    assert "::source URL is not https" in lines[0]
    assert lines[-1] == f"{path}: valid, 1 events, 1 warning(s)"


def test_unreadable_file_is_an_annotation_and_exit_2(tmp_path: Path) -> None:
    missing = str(tmp_path / "gone.yaml")
    result = CliRunner().invoke(main, ["validate", "--format", "github", missing])
    assert result.exit_code == 2
    assert (
        result.stdout == f"::error file={escape_property(missing)}::cannot read: No such file or directory\n"
    )


def test_several_files_exit_with_the_worst_code() -> None:
    good, bad = str(VALID / "cli-sample.yaml"), str(INVALID / "unknown-kind.yaml")
    result = CliRunner().invoke(main, ["validate", "--now", NOW, good, bad])
    assert result.exit_code == 1
    assert f"{good}: valid, 5 events" in result.stdout
    assert f"{bad}:9:11: error: unknown kind 'tarif'" in result.stderr


def test_pre_commit_manifest_runs_validate_on_the_event_file() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "trade-calendar-validate"
    assert hook["entry"] == "trade-calendar validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is True
    assert re.search(hook["files"], "data/events.yaml")
    assert not re.search(hook["files"], "data/events.schema.json")


def test_pre_commit_itself_accepts_the_manifest() -> None:
    pytest.importorskip("pre_commit", reason="pre-commit is in the dev extra: pip install -e '.[dev]'")
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_garbage_collector_is_back_on_after_a_run(tmp_path: Path) -> None:
    import gc

    CliRunner().invoke(main, ["validate", "--now", NOW, str(INVALID / "unknown-kind.yaml")])
    CliRunner().invoke(main, ["validate", str(tmp_path / "gone.yaml")])
    assert gc.isenabled()
