"""Two writers at once on one subscription, through a real server: no change is lost (issue 17, finding 3).

Each round two threads meet at a barrier and PATCH different fields of the same subscription at the
same moment; both answer 200 and both changes must be there afterwards, a pause among them. With
`If-Match`, two writers holding the same ETag cannot both win: one gets 200, the other 412 with the
current ETag, and its retry on that ETag lands. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from calendar_service.adapters.settings import Settings
from calendar_service.web import create_app
from tests.support.webapp import sample_yaml, serving

TOKEN = "concurrent-writes-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROUNDS = 30


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[str]:
    """The app on a free loopback port (werkzeug's threaded server), on SQLite or PostgreSQL."""
    data = tmp_path / "events.yaml"
    data.write_text(sample_yaml(), encoding="utf-8")
    settings = Settings.from_env(
        {}, data_path=data, state_dir=tmp_path / "state", database_url=database_url, admin_tokens=(TOKEN,),
        reload_interval=60, reload_settle=0,
    )  # fmt: skip
    with serving(create_app(settings)) as base:
        yield f"{base}/api/v1/subscriptions"


def _create(base: str) -> dict[str, Any]:
    response = requests.post(base, json={"url": "https://93.184.215.14/hook"}, headers=AUTH, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _at_once(*calls: Any) -> list[requests.Response]:
    """Run each call in its own thread, released together by a barrier; their responses in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait(timeout=10)
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    return results


def _patch(url: str, body: dict[str, Any], **headers: str) -> Any:
    return lambda: requests.patch(url, json=body, headers={**AUTH, **headers}, timeout=10)


def test_two_patches_of_different_fields_at_once_both_land(server: str) -> None:
    sub = _create(server)
    one = f"{server}/{sub['id']}"
    lost = []
    for n in range(ROUNDS):
        leads = [f"PT{n + 1}M"]  # under an hour: each the one spelling of itself
        paused = n % 2 == 0  # a pause, then a resume: each must survive the other writer
        first, second = _at_once(
            _patch(one, {"lead_times": leads}), _patch(one, {"digest": paused, "enabled": not paused})
        )
        assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
        now = requests.get(one, headers=AUTH, timeout=10).json()
        seen = (now["lead_times"], now["digest"], now["enabled"])
        if seen != (leads, paused, not paused):
            lost.append((n, seen))
    assert lost == [], f"changes lost in {len(lost)} of {ROUNDS} rounds: {lost[:3]}"
    final = requests.get(one, headers=AUTH, timeout=10).json()
    assert final["disabled_reason"] is None  # the last round resumed it: no stale pause reason


def test_if_match_lets_one_of_two_writers_on_the_same_version_win(server: str) -> None:
    sub = _create(server)
    one = f"{server}/{sub['id']}"
    for n in range(ROUNDS // 2):
        tag = requests.get(one, headers=AUTH, timeout=10).headers["ETag"]
        bodies = [{"lead_times": [f"P{n + 1}D"]}, {"format": "slack" if n % 2 else "teams"}]
        answers = _at_once(*(_patch(one, body, **{"If-Match": tag}) for body in bodies))
        assert sorted(a.status_code for a in answers) == [200, 412], [a.text for a in answers]
        won = next(i for i, a in enumerate(answers) if a.status_code == 200)
        winner, loser = answers[won], answers[1 - won]
        assert loser.headers["Content-Type"] == "application/problem+json"
        assert "changed since you read it" in loser.json()["detail"]
        assert loser.headers["ETag"] == winner.headers["ETag"] != tag
        # The loser retries on the version it was told about: now it lands.
        retried = _patch(one, bodies[1 - won], **{"If-Match": loser.headers["ETag"]})()
        assert retried.status_code == 200, retried.text
        now = requests.get(one, headers=AUTH, timeout=10).json()
        assert now["lead_times"] == [f"P{n + 1}D"]
        assert now["format"] == ("slack" if n % 2 else "teams")


def test_a_stale_if_match_changes_nothing_and_a_delete_obeys_it_too(server: str) -> None:
    sub = _create(server)
    one = f"{server}/{sub['id']}"
    created_tag = requests.get(one, headers=AUTH, timeout=10).headers["ETag"]
    assert requests.patch(one, json={"digest": True}, headers=AUTH, timeout=10).status_code == 200
    stale = requests.patch(
        one, json={"lead_times": ["P2D"]}, headers={**AUTH, "If-Match": created_tag}, timeout=10
    )
    assert stale.status_code == 412
    assert requests.get(one, headers=AUTH, timeout=10).json()["lead_times"] == ["P7D", "P1D", "PT1H"]
    weak = requests.delete(one, headers={**AUTH, "If-Match": "W/" + stale.headers["ETag"]}, timeout=10)
    assert weak.status_code == 412  # If-Match compares strongly (RFC 9110 §13.1.1)
    gone = requests.delete(one, headers={**AUTH, "If-Match": stale.headers["ETag"]}, timeout=10)
    assert gone.status_code == 204
    assert requests.get(one, headers=AUTH, timeout=10).status_code == 404
