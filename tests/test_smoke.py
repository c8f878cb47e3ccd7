import datetime as dt

from calendar_service.core.datafile import load_calendar
from tests.support.paths import TESTS_DATA


def test_derived_expiry_is_ninety_days_after_truce_start_in_new_york() -> None:
    calendar = load_calendar(TESTS_DATA / "small.yaml", today=dt.date(2025, 6, 10)).calendar
    expiry = calendar.get("expiry")
    assert isinstance(expiry.start, dt.datetime)
    assert expiry.start.isoformat() == "2025-08-12T00:01:00-04:00"
    assert calendar.get("truce").end == dt.date(2025, 8, 12)
