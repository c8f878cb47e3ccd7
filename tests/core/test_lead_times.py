"""Lead times at the door: bounded to PT1M..P366D (the 400 says so), stored in one spelling.

`P99999999999D` was accepted and made planning raise OverflowError at every wake-up; a 38-character
spelling of one day overflowed the ledger's VARCHAR(32) on PostgreSQL. Both must stop here.
"""

from __future__ import annotations

import pytest

from calendar_service.core.errors import SubscriptionInvalid
from calendar_service.core.subscriptions import parse_input, parse_patch

URL = "https://93.184.215.14/hook"


def _accept(url: str) -> None:
    return None


def _lead_times(*values: str) -> list[str]:
    checked = parse_input({"url": URL, "lead_times": list(values)}, check_url=_accept)
    return list(checked.lead_times)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("P1D", "P1D"),
        ("P" + "0" * 35 + "1D", "P1D"),  # 38 characters of one day
        ("PT24H", "P1D"),
        ("P1W", "P7D"),
        ("PT90M", "PT1H30M"),
        ("P1DT1M", "P1DT1M"),
        ("PT1M", "PT1M"),  # the lower bound
        ("P366D", "P366D"),  # the upper bound
        (" P2D ", "P2D"),
    ],
)
def test_a_lead_time_is_stored_in_its_one_spelling(sent: str, stored: str) -> None:
    assert _lead_times(sent) == [stored]


@pytest.mark.parametrize(
    "sent",
    ["P99999999999D", "P367D", "PT8785H", "P53W", "PT0M", "P0D", "P" + "9" * 5000 + "D", "-P1D"],
)
def test_a_lead_time_outside_the_range_is_refused_naming_it(sent: str) -> None:
    with pytest.raises(SubscriptionInvalid) as caught:
        _lead_times(sent)
    (error,) = caught.value.errors
    assert error["field"] == "lead_times[0]"
    assert "PT1M..P366D" in error["message"] or "positive" in error["message"], error
    assert len(error["message"]) < 200  # names the value (or its length), not megabytes of digits


def test_two_spellings_of_one_lead_time_are_one_lead_time() -> None:
    with pytest.raises(SubscriptionInvalid, match="distinct"):
        _lead_times("P1D", "PT24H")


def test_a_patch_is_checked_the_same_way() -> None:
    with pytest.raises(SubscriptionInvalid, match=r"PT1M\.\.P366D"):
        parse_patch({"lead_times": ["P99999999999D"]}, check_url=_accept)
    patched = parse_patch({"lead_times": ["P0001D"]}, check_url=_accept)
    assert patched.lead_times == ["P1D"]
