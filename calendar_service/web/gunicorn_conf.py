"""gunicorn hooks: each worker's reload thread, and prometheus_client's multiprocess mode.

    gunicorn --config python:calendar_service.web.gunicorn_conf --workers 4 \
        'calendar_service.web:create_app()'

With `PROMETHEUS_MULTIPROC_DIR` set, every worker writes its counters to files in that directory and
`/metrics` adds them up. The files must not outlive the server: counts from a previous run would be
added to this one's, so the master removes them when it starts (a tmpfs mount does the same). When a
worker exits its files stay (its requests still happened); `mark_process_dead` drops only its live
gauges, as prometheus_client's documentation asks (all of this is inert without the variable).

`post_worker_init` starts each worker's reload thread (adapters/live.py): without it a worker looks at
the data file only when a request comes, and answers that request from the version before.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Protocol

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The names prometheus_client gives its per-process files: counter_<pid>.db, gauge_max_<pid>.db, ...
_METRIC_FILES = ("counter_*.db", "gauge_*.db", "histogram_*.db", "summary_*.db")


class _Worker(Protocol):
    pid: int


def multiproc_dir() -> Path | None:
    """The multiprocess directory from the environment, or None when the mode is off."""
    value = os.environ.get(MULTIPROC_ENV, "")
    return Path(value) if value else None


def clear_metric_files(directory: Path) -> None:
    """Remove prometheus_client's files left by an earlier run (and nothing else)."""
    for pattern in _METRIC_FILES:
        for path in directory.glob(pattern):
            path.unlink(missing_ok=True)


def refuse_bad_settings() -> None:
    """Stop gunicorn in one line, exit 2, on a bad TRADE_CALENDAR_* setting (as `serve` and the CLI do).

    Without this every worker raises the ConfigError from `create_app()`: a traceback per worker, then
    "Worker failed to boot".
    """
    from calendar_service.adapters.settings import Settings
    from calendar_service.core.errors import ConfigError

    try:
        Settings.from_env()
    except ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


def on_starting(server: object) -> None:
    """Start the counts from zero (empty the multiprocess directory), then refuse a bad setting."""
    directory = multiproc_dir()
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        clear_metric_files(directory)
    # After the directory exists: the settings check wants PROMETHEUS_MULTIPROC_DIR to be one.
    refuse_bad_settings()


def child_exit(server: object, worker: _Worker) -> None:
    """Tell prometheus_client a worker has gone (drops its live gauges)."""
    if multiproc_dir() is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


class _LoadedWorker(Protocol):
    wsgi: object


def post_worker_init(worker: _LoadedWorker) -> None:
    """Start this worker's reload thread, so it follows the file and the stored state when idle too.

    In the worker, after the fork: a thread started in the master would not be copied into it.
    """
    from flask import Flask

    from calendar_service.web.extension import services

    if isinstance(worker.wsgi, Flask):
        services(worker.wsgi).live.start_polling()
