"""bench_serve's bare 304 (gunicorn's ceiling) answers exactly the headers it is given, as ours would."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
from werkzeug.test import Client

from bench.bench_serve import BARE_304_APP, BARE_APP, app_headers, write_bare_app


def test_bare_304_app_sends_the_given_headers_and_no_body(monkeypatch: pytest.MonkeyPatch) -> None:
    ours = [("ETag", '"abc"'), ("Last-Modified", "Mon, 07 Dec 2026 23:24:48 GMT"), ("Cache-Control", "x")]
    monkeypatch.setenv("BARE_304_HEADERS", json.dumps(ours))
    module = types.ModuleType("bare304")
    exec(compile(BARE_304_APP, "bare304.py", "exec"), module.__dict__)  # as gunicorn imports it
    response = Client(module.app).get("/calendar.ics", headers={"If-None-Match": '"abc"'})
    assert (response.status_code, response.data) == (304, b"")
    assert app_headers(dict(response.headers)) == ours
    assert app_headers({"Server": "gunicorn", "Date": "x", "Connection": "keep-alive", **dict(ours)}) == ours


def test_bare_flask_app_answers_the_captured_bytes_and_304(tmp_path: Path) -> None:
    body = tmp_path / "feed.ics"
    body.write_bytes(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    write_bare_app(tmp_path, {"/calendar.ics": [str(body), "text/calendar; charset=utf-8", '"abc"']})
    module = types.ModuleType("bareapp")
    module.__file__ = str(tmp_path / "bareapp.py")
    exec(compile(BARE_APP, module.__file__, "exec"), module.__dict__)  # as gunicorn imports it
    client = module.create_app().test_client()
    full = client.get("/calendar.ics")
    assert (full.status_code, full.data, full.headers["ETag"]) == (200, body.read_bytes(), '"abc"')
    assert full.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert client.get("/calendar.ics", headers={"If-None-Match": '"abc"'}).status_code == 304
