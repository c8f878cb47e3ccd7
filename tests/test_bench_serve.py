"""bench_serve's bare 304 (gunicorn's ceiling) answers exactly the headers it is given, as ours would."""

from __future__ import annotations

import json
import types

import pytest
from werkzeug.test import Client

from bench.bench_serve import BARE_304_APP, app_headers


def test_bare_304_app_sends_the_given_headers_and_no_body(monkeypatch: pytest.MonkeyPatch) -> None:
    ours = [("ETag", '"abc"'), ("Last-Modified", "Mon, 07 Dec 2026 23:24:48 GMT"), ("Cache-Control", "x")]
    monkeypatch.setenv("BARE_304_HEADERS", json.dumps(ours))
    module = types.ModuleType("bare304")
    exec(compile(BARE_304_APP, "bare304.py", "exec"), module.__dict__)  # as gunicorn imports it
    response = Client(module.app).get("/calendar.ics", headers={"If-None-Match": '"abc"'})
    assert (response.status_code, response.data) == (304, b"")
    assert app_headers(dict(response.headers)) == ours
    assert app_headers({"Server": "gunicorn", "Date": "x", "Connection": "keep-alive", **dict(ours)}) == ours
