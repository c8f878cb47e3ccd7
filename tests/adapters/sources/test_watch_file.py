"""watch.yaml: validated like the events file, every mistake at its line; a bad edit keeps the last list."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from calendar_service.cli import main
from calendar_service.core.errors import WatchInvalid
from calendar_service.core.watch import parse_watch

GOOD = b"""\
settings:
  per_host: 2
federal_register:
  - id: ustr
    agencies: [trade-representative-office-of-united-states]
    every: PT6H
feeds:
  - id: cbp-csms
    url: https://content.govdelivery.com/accounts/USDHSCBP/bulletins.rss
"""


def problems(text: str) -> list[str]:
    with pytest.raises(WatchInvalid) as caught:
        parse_watch(text.encode(), "watch.yaml")
    return [p.format() for p in caught.value.problems]


def test_a_good_list_parses() -> None:
    watch = parse_watch(GOOD, "watch.yaml")
    assert [w.id for w in watch.watches()] == ["ustr", "cbp-csms"]
    assert watch.federal_register[0].types == ["RULE", "PRORULE", "NOTICE", "PRESDOCU"]


def test_bad_url_unknown_agency_and_negative_interval_are_located() -> None:
    text = """\
federal_register:
  - id: ustr
    agencies: [trade-representative-office-of-united-state]
    every: -PT6H
feeds:
  - id: csms
    url: ftp://example.org/feed
  - id: csms
    url: https://example.org/feed
    evry: P1D
"""
    assert problems(text) == [
        "watch.yaml:3:15: error: agencies: unknown Federal Register agency slug "
        "'trade-representative-office-of-united-state' — did you mean "
        "'trade-representative-office-of-united-states'?",
        "watch.yaml:4:12: error: every: '-PT6H' is not a positive interval — write e.g. PT6H or P1D",
        "watch.yaml:7:10: error: url: 'ftp://example.org/feed' is not an http(s) URL — write it as "
        "https://host/path",
        "watch.yaml:10:5: error: unknown field 'evry' — did you mean 'every'?",
    ]


def test_duplicate_ids_and_unknown_sections() -> None:
    text = """\
feeds:
  - id: a
    url: https://example.org/a
  - id: a
    url: https://example.org/b
feed: []
"""
    assert problems(text) == [
        "watch.yaml:6:1: error: unknown top-level key 'feed' — did you mean 'feeds'?",
        "watch.yaml:4:9: error: duplicate watch id 'a' (first at line 2) — ids must differ",
    ]


def test_validate_command_prints_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "watch.yaml"
    path.write_text("feeds:\n  - id: x\n    url: nope\n    every: PT1M\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["sources", "validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:3:10: error: url: 'nope' is not an http(s) URL" in result.output
    assert f"{path}:4:12: error: every: 'PT1M' is shorter than five minutes" in result.output
    path.write_bytes(GOOD)
    result = CliRunner().invoke(main, ["sources", "validate", str(path)])
    assert result.exit_code == 0
    assert "OK (1 Federal Register searches, 1 feeds)" in result.output
