"""The events-file editor keeps the file as written: comments, quotes, long lines, order."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from calendar_service.adapters.datafile_editor import roundtrip, set_verified
from calendar_service.core.errors import EventNotFound
from tests.support.paths import DATA, TESTS_DATA


@pytest.mark.parametrize("path", [DATA, TESTS_DATA / "small.yaml"], ids=lambda p: p.name)
def test_loading_and_dumping_changes_no_byte(path: Path) -> None:
    raw = path.read_bytes()
    assert roundtrip(raw) == raw


def test_verify_touches_one_line_and_adds_the_key_where_missing(tmp_path: Path) -> None:
    path = tmp_path / "events.yaml"
    original = (TESTS_DATA / "small.yaml").read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    set_verified(path, "london", dt.date(2026, 12, 8))
    new = path.read_text(encoding="utf-8").splitlines()
    old = original.splitlines()
    assert len(new) == len(old) + 1
    added = [line for line in new if line not in old]
    assert added == ["    verified: 2026-12-08"]
    assert "    sources: [{title: Bloomberg}]" in new  # the edited entry keeps its flow style
    set_verified(path, "truce", dt.date(2026, 12, 9))
    set_verified(path, "london", dt.date(2026, 12, 9))
    assert path.read_text(encoding="utf-8").count("verified: 2026-12-09") == 2
    assert len(path.read_text(encoding="utf-8").splitlines()) == len(old) + 2
    with pytest.raises(EventNotFound):
        set_verified(path, "nope", dt.date(2026, 12, 9))
