"""Logging set-up shared by the long-running commands (`serve`, `worker`)."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    """Log to stderr at `level`; keep APScheduler's per-wake INFO lines out of the way."""
    logging.basicConfig(level=level, format=FORMAT)
    # The reminder service re-arms one wake-up job after every run: APScheduler announces each
    # "Added job"/"Running job" at INFO, which buries the lines an operator needs.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLevelName(level)))
