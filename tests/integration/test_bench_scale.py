"""The scale bench runs end to end on a tiny calendar: both processes, every figure, every goal line."""

from __future__ import annotations

from pathlib import Path

from bench.bench_scale import measure, report


def test_tiny_calendar_is_measured_against_the_empty_server(tmp_path: Path) -> None:
    results = measure([40], rounds=2, profile=False, directory=tmp_path)
    figures = results["sizes"][40]
    assert figures["events"] >= 40  # repeating entries may add dates
    assert results["empty"]["rss_kb"] > 0
    assert len(figures["bare_cpu"]) == len(figures["reload_cpu"]) == 2
    assert all(seconds > 0 for seconds in figures["reload_cpu"])
    lines = "\n".join(report(results))
    assert "KB per event beyond the empty server" in lines
    assert "reload / bare parse, median of 2" in lines
    assert "peak RSS during reloads" in lines
