"""Fixtures for webhook tests: a live loopback receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A recording HTTP receiver on a free 127.0.0.1 port, stopped after the test."""
    rx = Receiver()
    try:
        yield rx
    finally:
        rx.stop()
