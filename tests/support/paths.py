"""Where the tests find the project's files, and the head of a small test calendar."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "events.yaml"
TESTS_DATA = ROOT / "tests" / "data"
# The `calendar:` block of a small test file, up to `events:`; tests append their events.
CALENDAR_HEAD = """\
calendar:
  name: Test calendar
  timezone: America/New_York
  reviewed: 2026-11-01
  contact: curators@example.org
events:
"""


def replace_file(path: Path, content: str | bytes) -> None:
    """Give `path` new content in one step (a sibling file renamed over it), as editors and git do.

    No request waits for a reload: a check an earlier request started can read the file at any moment,
    and a file rewritten in place can be read half-written (an empty file is "not a mapping"). The
    tests' settings read edits at once (`reload_settle` 0), so they replace files whole.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
