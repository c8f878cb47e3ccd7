"""Subscriptions at scale, through a real server: the list pages, the number is capped, creation under load.

Issue 17, finding 6: `GET /api/v1/subscriptions` answered every subscription at once (1.8 MB for
5,229), nothing bounded how many there are, and creations at 30 a second met `503 database is locked`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from calendar_service.adapters.settings import Settings
from calendar_service.web import create_app
from calendar_service.web.extension import services
from tests.support.webapp import sample_yaml, serving

TOKEN = "subscriptions-scale-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HOOK = "https://93.184.215.14/hook"

Serve = Callable[..., str]


@pytest.fixture
def serve(database_url: str, tmp_path: Path) -> Iterator[Serve]:
    """Start the app on a free loopback port with settings as asked; the list's URL.

    `reminders=True` runs the reminder service in the same process, as `trade-calendar serve` does.
    """
    data = tmp_path / "events.yaml"
    data.write_text(sample_yaml(), encoding="utf-8")
    with contextlib.ExitStack() as stack:

        def start(*, reminders: bool = False, **overrides: Any) -> str:
            settings = Settings.from_env(
                {}, data_path=data, state_dir=tmp_path / "state", database_url=database_url,
                admin_tokens=(TOKEN,), reload_interval=60, reload_settle=0, **overrides,
            )  # fmt: skip
            app = create_app(settings)
            if reminders:
                stack.callback(services(app).start_reminders().shutdown)
            return stack.enter_context(serving(app)) + "/api/v1/subscriptions"

        yield start


def _create(base: str) -> requests.Response:
    return requests.post(base, json={"url": HOOK, "lead_times": ["P1D"]}, headers=AUTH, timeout=30)


def _at_once(count: int, call: Callable[[], requests.Response]) -> list[requests.Response]:
    barrier = threading.Barrier(count)
    results: list[requests.Response] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait(timeout=10)
        response = call()
        with lock:
            results.append(response)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_the_list_pages_oldest_first_and_a_deletion_mid_walk_skips_nothing(serve: Serve) -> None:
    base = serve()
    created = [_create(base).json()["id"] for _ in range(7)]
    first = requests.get(base, params={"limit": 3}, headers=AUTH, timeout=10)
    assert first.status_code == 200
    page = first.json()
    assert [s["id"] for s in page["subscriptions"]] == created[:3]
    assert first.headers["Link"].endswith('>; rel="next"')
    # Deleting one already listed does not shift the next page (a position, not an offset).
    assert requests.delete(f"{base}/{created[0]}", headers=AUTH, timeout=10).status_code == 204
    seen = [s["id"] for s in page["subscriptions"]]
    while page["next"] is not None:
        page = requests.get(base, params={"limit": 3, "after": page["next"]}, headers=AUTH, timeout=10).json()
        seen += [s["id"] for s in page["subscriptions"]]
    assert seen == created
    everything = requests.get(base, headers=AUTH, timeout=10)
    assert [s["id"] for s in everything.json()["subscriptions"]] == created[1:]
    assert everything.json()["next"] is None
    assert "Link" not in everything.headers


@pytest.mark.parametrize("cursor", ["nonsense", "bm90IGEgY3Vyc29y", "%%%"])
def test_a_cursor_the_list_did_not_give_is_a_400_naming_it(serve: Serve, cursor: str) -> None:
    base = serve()
    refused = requests.get(base, params={"after": cursor}, headers=AUTH, timeout=10)
    assert refused.status_code == 400
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in refused.json()["errors"]] == ["after"]


def test_the_cap_holds_under_simultaneous_creations_and_frees_up_on_delete(serve: Serve) -> None:
    base = serve(max_subscriptions=5)
    answers = _at_once(12, lambda: _create(base))
    assert sorted(a.status_code for a in answers) == [201] * 5 + [409] * 7
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert "TRADE_CALENDAR_MAX_SUBSCRIPTIONS" in refused.json()["detail"]
    listed = requests.get(base, headers=AUTH, timeout=10).json()["subscriptions"]
    assert len(listed) == 5
    assert requests.delete(f"{base}/{listed[0]['id']}", headers=AUTH, timeout=10).status_code == 204
    assert _create(base).status_code == 201
    assert _create(base).status_code == 409


def test_thirty_creations_at_once_beside_the_reminder_service_all_succeed(serve: Serve) -> None:
    base = serve(reminders=True)
    for _ in range(3):  # each wave re-plans while the next one writes
        answers = _at_once(30, lambda: _create(base))
        assert [a.status_code for a in answers] == [201] * 30, {a.status_code: a.text for a in answers}
    listed = requests.get(base, params={"limit": 1000}, headers=AUTH, timeout=10).json()
    assert len(listed["subscriptions"]) == 90
