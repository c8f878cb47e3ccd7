"""The pure core imports no adapter: no web framework, database layer, HTTP client or scheduler."""

from __future__ import annotations

import subprocess
import sys

import pytest

CORE = [
    "calendar_service.model",
    "calendar_service.yamlsource",
    "calendar_service.validation",
    "calendar_service.timing",
    "calendar_service.store",
    "calendar_service.filters",
    "calendar_service.jsonview",
    "calendar_service.feeds",
    "calendar_service.vtimezone",
    "calendar_service.publication",
    "calendar_service.subscriptions",
    "calendar_service.reminders.planning",
    "calendar_service.diff",
    "calendar_service.diffreport",
    "calendar_service.review",
    "calendar_service.annotations",
]
ADAPTERS = ("flask", "werkzeug", "sqlalchemy", "requests", "urllib3", "apscheduler", "psycopg")


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_adapter(module: str) -> None:
    # A fresh interpreter, so modules other tests imported do not hide a leak.
    probe = (
        f"import sys, {module}\n"
        f"print(','.join(sorted(m for m in {ADAPTERS!r} if m in sys.modules)))"
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "", f"{module} pulls in {found.stdout.strip()}"
