"""`validate` and `diff` run on every commit: they must not pay for the web, database and webhook stacks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.paths import TESTS_DATA

HEAVY = ("flask", "sqlalchemy", "requests", "apscheduler", "icalendar", "psycopg", "prometheus_client")
SAMPLE = str(TESTS_DATA / "valid" / "cli-sample.yaml")
OLD, NEW = str(TESTS_DATA / "diff" / "old.yaml"), str(TESTS_DATA / "diff" / "new.yaml")


@pytest.mark.parametrize(
    "args", [["validate", SAMPLE], ["diff", OLD, NEW], ["review", "--data", SAMPLE]], ids=lambda a: a[0]
)
def test_curators_commands_import_no_adapter_stack(args: list[str]) -> None:
    code = (
        "import sys\nfrom calendar_service.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.splitlines()[-1] == "[]", done.stdout


def test_help_still_lists_every_command() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from calendar_service.cli import main; main(['--help'])"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    for name in ("validate", "diff", "review", "serve", "worker", "subscriptions", "deliveries", "events"):
        assert f"  {name} " in done.stdout
