"""The reminder burst bench runs end to end on a tiny burst: a worker process, the receiver, the figures."""

from __future__ import annotations

import json
from pathlib import Path

from bench.bench_reminders import SINGLE, realistic_body, run_scenario, start_receiver


def test_tiny_burst_is_delivered_once_each_and_measured(tmp_path: Path) -> None:
    body = json.loads(realistic_body())
    assert body["type"] == "reminder.due"
    receiver = start_receiver()
    try:
        result = run_scenario(
            SINGLE, "tiny", f"sqlite:///{tmp_path}/burst.sqlite3", receiver, digest=False, workers=1,
            burst=20, subscribers=2, concurrency=4, max_seconds=60, lead_seconds=1.5,
        )
    finally:
        receiver.close()
    assert [w.get("error") for w in result.workers] == [None]
    assert result.states == {"delivered": 20}
    assert len(result.lateness) == 20
    assert result.once_each, result.received
    pid = str(result.workers[0]["pid"])
    assert result.received["by_pid"] == {pid: 20}  # attributed to the worker process that sent them
    assert result.peak_rss_kb > 0
