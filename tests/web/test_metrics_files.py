"""A scrape in multiprocess mode survives a process caught creating its metrics file.

prometheus_client creates a process's file and sizes it after (prometheus/client_python#1199); a scrape
in between found a 0-byte file and answered 500 for every metric (seen once in a CI run of
test_delivery_metrics_multiprocess). Real files, written by the library itself.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector

from calendar_service.web.prometheus import _AllWorkers

NAME = "trade_calendar_webhook_deliveries"


def _counter_file(directory: Path, pid: int, value: float) -> None:
    values = MmapedDict(str(directory / f"counter_{pid}.db"))
    values.write_value(mmap_key(NAME, f"{NAME}_total", ["outcome"], ["delivered"], "Deliveries"), value, 0)
    values.close()


def test_a_file_being_created_is_left_out_of_the_scrape(tmp_path: Path) -> None:
    _counter_file(tmp_path, 101, 3.0)
    _counter_file(tmp_path, 102, 4.0)
    (tmp_path / "counter_103.db").touch()  # a third process between creating and sizing its file
    with pytest.raises(struct.error):  # what the library alone does with it
        MultiProcessCollector(None, str(tmp_path)).collect()  # type: ignore[no-untyped-call]
    (metric,) = [m for m in _AllWorkers(str(tmp_path)).collect() if m.name == NAME]
    assert [s.value for s in metric.samples if s.name == f"{NAME}_total"] == [7.0]


def test_no_files_yet_is_an_empty_scrape(tmp_path: Path) -> None:
    assert list(_AllWorkers(str(tmp_path)).collect()) == []
