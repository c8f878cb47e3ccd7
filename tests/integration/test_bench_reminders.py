"""The reminder burst bench runs end to end on a tiny burst: a worker process, the receiver, the figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.bench_reminders import (
    DIGESTS,
    SINGLE,
    TWO_WORKERS,
    ScenarioResult,
    median_of,
    realistic_body,
    run_scenario,
    start_receiver,
    summary_rows,
)


def test_tiny_burst_is_delivered_once_each_and_measured(tmp_path: Path) -> None:
    body = json.loads(realistic_body())
    assert body["type"] == "reminder.due"
    receiver = start_receiver()
    try:
        result = run_scenario(
            SINGLE,
            "tiny",
            f"sqlite:///{tmp_path}/burst.sqlite3",
            receiver,
            digest=False,
            workers=1,
            burst=20,
            subscribers=2,
            concurrency=4,
            max_seconds=60,
            lead_seconds=1.5,
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


def _run(
    name: str, *, total: int, distinct: int, expected: int, rate: float, p99: float, cpu: float = 0.002
) -> ScenarioResult:
    result = ScenarioResult(name, f"{name}: a run", expected, rate=rate, lateness=[p99 / 2, p99])
    result.received = {"total": total, "distinct": distinct}
    result.workers = [{"pid": 1, "peak_rss_kb": 1024 * (80 + len(name)), "cpu_seconds": cpu}]
    return result


def _bare(rate: float) -> dict[str, Any]:
    return {
        "rate": rate,
        "cpu_seconds": 0.001,
        "p50": 0.1,
        "p99": 0.2,
        "max": 0.2,
        "peak_rss_kb": 70 * 1024,
        "received": {"total": 10, "distinct": 10},
    }


def test_several_runs_give_medians_and_one_duplicate_in_one_run_fails_the_goal() -> None:
    runs = {
        DIGESTS: [_run(DIGESTS, total=10, distinct=10, expected=10, rate=r, p99=0.5) for r in (1, 2, 3)],
        SINGLE: [_run(SINGLE, total=10, distinct=10, expected=10, rate=r, p99=0.5) for r in (70, 10, 90)],
        TWO_WORKERS: [
            _run(TWO_WORKERS, total=t, distinct=10, expected=10, rate=1, p99=0.5) for t in (10, 11, 10)
        ],
    }
    bare = {"aiohttp": [_bare(100), _bare(50), _bare(100)], "requests": [_bare(10)] * 3}
    rows = {row.label[:2]: row for row in summary_rows(runs, bare, 3)}
    assert rows["a)"].figures["rate"] == 2  # the median run by run, not the mean
    assert rows["b)"].ratio == 0.7  # the median of the per-round ratios 0.7, 0.2, 0.9
    assert rows["b)"].goal.startswith(">= 0.7x bare async: met")
    assert "CPU/msg 2.00x bare's, <= 2x: met" in rows["b)"].goal  # 200 us a message against 100 us
    assert rows["c)"].dups == 1
    assert "nothing sent twice: NOT met" in rows["c)"].goal  # though the median run sent each once
    assert "NOT met" not in rows["a)"].goal

    runs[DIGESTS][1].received = {"total": 11, "distinct": 10}
    rows = {row.label[:2]: row for row in summary_rows(runs, bare, 3)}
    assert rows["a)"].goal.endswith("nothing sent twice: NOT met (1 dup(s) over 3 run(s))")

    runs[SINGLE][0].workers[0]["cpu_seconds"] = runs[SINGLE][2].workers[0]["cpu_seconds"] = 0.0025
    rows = {row.label[:2]: row for row in summary_rows(runs, bare, 3)}
    assert "CPU/msg 2.50x bare's, <= 2x: NOT met" in rows["b)"].goal  # the median of 2.5, 2.0, 2.5

    assert median_of([1.0, float("nan"), 3.0]) != median_of([1.0, float("nan"), 3.0])  # NaN: not skipped
