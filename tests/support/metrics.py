"""Reading Prometheus text: samples by name and labels, and the two events the metrics tests deliver."""

from __future__ import annotations

import datetime as dt

from prometheus_client.parser import text_string_to_metric_families

from tests.support.reminders import event


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus exposition, by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


FIRST = event("first", dt.datetime(2027, 3, 1, 15, 0, tzinfo=dt.UTC))


SECOND = event("second", dt.datetime(2027, 4, 1, 15, 0, tzinfo=dt.UTC))


DELIVERED = ("trade_calendar_webhook_deliveries_total", (("format", "standard"), ("outcome", "delivered")))
