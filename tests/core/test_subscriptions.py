"""The pure subscription core: the record, request validation, field names, and the import boundary."""

from __future__ import annotations

import datetime as dt

import pytest

from calendar_service.core.errors import SubscriptionInvalid, UnsafeWebhookURL
from calendar_service.core.subscriptions import (
    SubscriptionInput,
    apply_patch,
    field_name,
    new_subscription,
    parse_input,
    parse_patch,
)

T0 = dt.datetime(2025, 6, 10, 12, tzinfo=dt.UTC)


def allow(url: str) -> None:
    """An address check that lets everything through (the real one is tested with the API)."""


def refuse(url: str) -> None:
    raise UnsafeWebhookURL(url, "loopback")


def valid(**body: object) -> SubscriptionInput:
    return parse_input({"url": "https://example.com/h", **body}, check_url=allow)


def test_defaults_and_normalised_filter() -> None:
    checked = valid(filter={"country": ["us", "CN,us"], "importance": "HIGH"})
    sub = new_subscription(checked, secret="whsec_abc", now=T0)
    assert sub.lead_times == ("P7D", "P1D", "PT1H")
    assert sub.format == "standard"
    assert sub.filter == {"country": ("CN", "US"), "importance": ("high",)}
    assert sub.event_filter().country == ("CN", "US")
    assert sub.id.startswith("sub_")
    assert len(sub.id) >= 20


def test_the_secret_stays_out_of_repr_and_public_dict() -> None:
    sub = new_subscription(valid(), secret="whsec_topsecret", now=T0)
    assert "topsecret" not in repr(sub)
    assert "topsecret" not in str(sub.to_public_dict())
    assert sub.to_public_dict()["created_at"] == "2025-06-10T12:00:00Z"


@pytest.mark.parametrize(
    ("loc", "name"),
    [(("lead_times", 1), "lead_times[1]"), (("filter", "country", 0), "filter.country[0]"), ((), "body")],
)
def test_field_names(loc: tuple[int | str, ...], name: str) -> None:
    assert field_name(loc) == name


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SubscriptionInvalid) as info:
        parse_input(
            {"url": "http://127.0.0.1/", "lead_times": ["P1D", "PT0M"], "format": "xml"},
            check_url=refuse,
        )
    assert [e["field"] for e in info.value.errors] == ["url", "lead_times[1]", "format"]
    assert "loopback" in info.value.errors[0]["message"]


def test_filter_values_are_checked_against_the_vocabulary_not_the_data() -> None:
    """Every feed filter, with a value no event in any data file has yet: accepted and normalised."""
    checked = valid(
        filter={
            "country": "de", "kind": "TARIFF", "tag": "Rare-Earths", "importance": "low",
            "status": "Postponed", "authority": "section-232", "hs": "9903.88.15", "action": "eu-steel-quota",
        }
    )  # fmt: skip
    assert checked.filter.to_query() == {
        "country": ("DE",), "kind": ("tariff",), "tag": ("rare-earths",), "importance": ("low",),
        "status": ("postponed",), "authority": ("Section 232",), "hs": ("9903.88.15",),
        "action": ("eu-steel-quota",),
    }  # fmt: skip


def test_a_patch_changes_only_what_was_sent() -> None:
    sub = new_subscription(valid(format="teams"), secret="s", now=T0)
    later = T0 + dt.timedelta(hours=1)
    patched = apply_patch(sub, parse_patch({"lead_times": ["P3D"]}, check_url=refuse), now=later)
    assert (patched.lead_times, patched.format, patched.url, patched.updated_at) == (
        ("P3D",), "teams", sub.url, later
    )  # fmt: skip


def test_resuming_by_patch_clears_the_failures() -> None:
    from dataclasses import replace

    sub = replace(
        new_subscription(valid(), secret="s", now=T0),
        enabled=False,
        disabled_reason="x",
        failure_count=9,
    )
    resumed = apply_patch(sub, parse_patch({"enabled": True}, check_url=allow), now=T0)
    assert (resumed.enabled, resumed.disabled_reason, resumed.failure_count) == (True, None, 0)
