"""The one polling helper: wait for something a background thread or process will do, with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(what: str, probe: Callable[[], T | None], timeout: float = 15.0, interval: float = 0.02) -> T:
    """Call `probe` until it returns something other than None and return that; fail after `timeout` s.

    The timeout is a bound for a loaded machine (CI shares its cores), not how long things should take.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def wait_until(condition: Callable[[], object], timeout: float = 15.0, what: str = "the condition") -> None:
    """Return once `condition()` is true; fail after `timeout` s, naming `what` was awaited."""
    poll(what, lambda: True if condition() else None, timeout)
