"""Figures a test measured, printed in the run's summary: pytest captures what a passing test prints.

Under pytest-xdist the tests run in worker processes and only the controller prints the summary, so a
worker hands its lines over at the end of its session (`hand_over`, in `config.workeroutput`, which
xdist sends to the controller) and the controller adds them to its own (`take_over`, on
`pytest_testnodedown`). The same way carries each worker's line about the PostgreSQL it used.
"""

from __future__ import annotations

from typing import Any

import pytest

FIGURES = pytest.StashKey[list[str]]()
POSTGRES_LINES = pytest.StashKey[list[str]]()  # from the workers; empty in a run without xdist
_OUTPUT_KEY = "trade_calendar_summary"


def report_figures(config: pytest.Config, text: str) -> None:
    """Keep `text` for the "figures measured by the tests" section at the end of the run."""
    config.stash.setdefault(FIGURES, []).append(text.strip("\n"))


def hand_over(stash: pytest.Stash, workeroutput: dict[str, Any], postgres_line: str) -> None:
    """On a worker: put this process's figures and PostgreSQL line where xdist sends them home."""
    workeroutput[_OUTPUT_KEY] = {"figures": stash.get(FIGURES, []), "postgres": postgres_line}


def take_over(stash: pytest.Stash, workeroutput: dict[str, Any]) -> None:
    """On the controller: add a finished worker's figures and PostgreSQL line to the run's summary."""
    handed = workeroutput.get(_OUTPUT_KEY)
    if handed is None:  # a worker that crashed sends nothing
        return
    stash.setdefault(FIGURES, []).extend(handed["figures"])
    lines = stash.setdefault(POSTGRES_LINES, [])
    if handed["postgres"] not in lines:
        lines.append(handed["postgres"])
