"""Figures a test measured, printed in the run's summary: pytest captures what a passing test prints."""

from __future__ import annotations

import pytest

FIGURES = pytest.StashKey[list[str]]()


def report_figures(config: pytest.Config, text: str) -> None:
    """Keep `text` for the "figures measured by the tests" section at the end of the run."""
    config.stash.setdefault(FIGURES, []).append(text.strip("\n"))
