"""What a hostile or huge event file costs the validator: bounded work, and a message instead of a crash."""

from __future__ import annotations

import datetime as dt
import difflib
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import calendar_service.core.validation as validation
from calendar_service.cli import main
from calendar_service.core.validation import validate_bytes
from calendar_service.core.validation.rules import MAX_CHAIN
from calendar_service.core.validation.suggestions import IdSuggester

TODAY = dt.date(2025, 6, 10)
HEAD = "calendar: {name: T, timezone: UTC, reviewed: 2025-06-01, contact: c@example.org}\nevents:\n"


def event(event_id: str, *, related: str | None = None, after: str | None = None) -> str:
    when = f"after: {{event: {after}, offset: P1D}}" if after else "date: 2025-07-01"
    refs = f", related: [{related}]" if related else ""
    return (
        f"  - {{id: {event_id}, title: Title {event_id}, kind: talks, countries: [US], {when}{refs}, "
        "sources: [{title: x}]}\n"
    )


def test_dangling_references_cost_linear_work(monkeypatch: pytest.MonkeyPatch) -> None:
    # 2,000 references unlike any of 2,000 ids: before, difflib compared each with every id (4 million
    # comparisons, about a minute); now the index answers most and a budget caps the rest.
    n = 2_000
    text = HEAD + "".join(event(f"event-{i}", related=f"nothing-like-this-{i}") for i in range(n))
    compared = 0
    real = difflib.SequenceMatcher.set_seq1

    def counting(self: difflib.SequenceMatcher[str], a: str) -> None:
        nonlocal compared
        compared += 1
        assert compared <= 50_000, "validation compares every dangling reference with every id"
        real(self, a)

    monkeypatch.setattr(difflib.SequenceMatcher, "set_seq1", counting)
    outcome = validate_bytes(text.encode(), "f.yaml", today=TODAY)
    assert len(outcome.errors) == n
    assert all("no event with id 'nothing-like-this-" in p.message for p in outcome.errors)


def test_a_typo_still_gets_its_suggestion_after_many_dangling_references() -> None:
    n = 500
    events = [event(f"event-{i}", related=f"nothing-like-this-{i}") for i in range(n)]
    events.append(event("last", related="evnet-42"))
    outcome = validate_bytes((HEAD + "".join(events)).encode(), "f.yaml", today=TODAY)
    (last,) = [p for p in outcome.errors if "evnet-42" in p.message]
    assert last.message == "no event with id 'evnet-42' in this file — did you mean 'event-42'?"


@pytest.mark.parametrize(
    ("ids", "ref", "meant"),
    [
        (["us-cn-talks-2025", "eu-hearing"], "us-cn-taks-2025", "us-cn-talks-2025"),  # a letter dropped
        (["us-cn-talks-2025", "eu-hearing"], "us-cn-tlaks-2025", "us-cn-talks-2025"),  # two swapped
        (["us-cn-talks-2025", "eu-hearing"], "eu-hearings", "eu-hearing"),  # one added
        (["us-cn-talks-2025", "eu-hearing"], "us-cn-talks-2026", "us-cn-talks-2025"),  # one replaced
        (["us-cn-talks-2025", "eu-hearing"], "mx-steel", None),  # far from both: no guess
    ],
)
def test_suggestions_find_small_edits(ids: list[str], ref: str, meant: str | None) -> None:
    assert IdSuggester(ids).suggest(ref) == meant


def test_a_long_after_chain_is_an_error_not_a_recursion_error() -> None:
    # Listed after-first, resolving each event recursed through the whole chain: RecursionError at ~330.
    n = 400
    events = [event(f"e{i}", after=f"e{i - 1}") for i in range(n - 1, 0, -1)] + [event("e0")]
    outcome = validate_bytes((HEAD + "".join(events)).encode(), "f.yaml", today=TODAY)
    assert len(outcome.errors) == n - 1 - MAX_CHAIN
    first = outcome.errors[0]
    assert (first.line, first.message) == (
        3,
        f"derived through a chain of {n - 1} `after:` links, more than {MAX_CHAIN} — give one of the "
        "events in the chain a `date:`",
    )


def test_a_chain_within_the_limit_resolves() -> None:
    events = [event(f"e{i}", after=f"e{i - 1}") for i in range(MAX_CHAIN, 0, -1)] + [event("e0")]
    outcome = validate_bytes((HEAD + "".join(events)).encode(), "f.yaml", today=TODAY)
    assert outcome.errors == ()
    assert outcome.calendar is not None
    assert outcome.calendar.get(f"e{MAX_CHAIN}").start == dt.date(2025, 7, 1) + dt.timedelta(days=MAX_CHAIN)


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (MemoryError(), "checking the file ran out of memory"),
        (
            RecursionError("maximum recursion depth exceeded"),
            "checking the file ran out of stack (something is nested or chained too deeply)",
        ),
        (
            ZeroDivisionError("division by zero"),
            "checking the file failed unexpectedly (ZeroDivisionError: division by zero) — "
            "please report this",
        ),
    ],
)
def test_validate_reports_a_crash_as_a_sentence_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception, said: str
) -> None:
    path = tmp_path / "events.yaml"
    path.write_text(HEAD + event("a"), encoding="utf-8")

    def crash(raw: bytes, path: str, *, today: dt.date) -> None:
        raise error

    monkeypatch.setattr(validation, "validate_bytes", crash)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2  # before: the exception (a traceback)
    assert result.stderr == f"{path}: error: {said}\n"


def test_validate_refuses_a_file_over_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "events.yaml"
    path.write_text(HEAD + event("a"), encoding="utf-8")
    size = path.stat().st_size
    result = CliRunner().invoke(main, ["validate", str(path)], env={"TRADE_CALENDAR_MAX_DATA_BYTES": "100"})
    assert result.exit_code == 2
    assert f"the file has {size:,} bytes, more than the limit of 100" in result.stderr
    assert CliRunner().invoke(main, ["validate", "--max-bytes", str(size), str(path)]).exit_code == 0


def test_validate_does_not_wait_on_a_fifo(tmp_path: Path) -> None:
    path = tmp_path / "events.yaml"
    os.mkfifo(path)  # before: open() waited for a writer for ever
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert "not a regular file" in result.stderr
