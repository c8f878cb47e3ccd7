"""The installed `trade-calendar` command run as a real process: exit codes and one-line errors on stderr.

The same commands run in-process (Click's runner) in tests/cli/ and tests/core/test_validation.py;
these check what only a real process shows (the console script, its stderr, no traceback).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.expected import expectations
from tests.support.paths import ROOT, TESTS_DATA

TRADE_CALENDAR = Path(sys.executable).with_name("trade-calendar")  # the installed console script
CLI = str(TRADE_CALENDAR)
NOW = "2025-06-10T12:00:00Z"


def _validate(path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "validate", "--now", NOW, path],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )


def test_real_subprocess_prints_problems_to_stderr_and_exits_1() -> None:
    case = TESTS_DATA / "invalid" / "multi-defect.yaml"
    done = _validate(str(case))
    assert done.returncode == 1, done.stderr
    _, expected = expectations(case)
    for line in expected:
        assert f"{case}:{line}" in done.stderr.splitlines()
    assert done.stderr.rstrip().endswith("9 error(s), 0 warning(s)")


def test_real_subprocess_on_a_valid_file_exits_0() -> None:
    done = _validate("tests/data/small.yaml")
    assert done.returncode == 0, done.stderr
    assert "tests/data/small.yaml: valid, 3 events" in done.stdout


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TRADE_CALENDAR_")}
    environ.update(TRADE_CALENDAR_STATE_DIR=str(tmp_path / "state"), **env)
    return subprocess.run(
        [str(TRADE_CALENDAR), *args], env=environ, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )


def test_serve_refuses_a_bad_number_without_a_traceback(tmp_path: Path) -> None:
    done = _run(tmp_path, "serve", "--port", "0", TRADE_CALENDAR_RELOAD_INTERVAL="abc")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "Error: TRADE_CALENDAR_RELOAD_INTERVAL: must be a number of seconds above 0; got 'abc'"
    ]


def test_worker_refuses_an_unreachable_database_in_one_line(tmp_path: Path) -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    url = "postgresql+psycopg://someone:pw-never-shown@127.0.0.1:1/nothing"
    done = _run(tmp_path, "worker", "--data", str(TESTS_DATA / "small.yaml"), TRADE_CALENDAR_DATABASE_URL=url)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error: TRADE_CALENDAR_DATABASE_URL: cannot use the database at ")
    assert "127.0.0.1:1" in lines[0]
    assert "pw-never-shown" not in lines[0]
